"""What each Allow statement really grants: its actions expanded against the catalogue, minus what an
unconditional Deny on every resource takes away, plus the facts the checks need about its resources."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from iam_guard.analysis.conditions import narrowing, never_true
from iam_guard.analysis.document import Statement
from iam_guard.analysis.index import load_index
from iam_guard.analysis.patterns import complement, summarize

# arn:partition:service:region:account:resource where the resource part is only wildcards ('*', '*/*')
_ARN_ALL = re.compile(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:[*/]*\*", re.IGNORECASE)
# ...:role/* or ...:user/* : every resource of one type
_ARN_ALL_OF_TYPE = re.compile(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:[\w-]+/\*", re.IGNORECASE)


# no '$', '{' or '}' inside: each '${' scans only to the next one, so '${${${...' stays linear (H-6)
_PLACEHOLDER = re.compile(r"\$\{([^${}]*)\}")


def without_placeholder_colons(text: str) -> str:
    """'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' keeps 6 ARN fields: the colons inside
    ${...} placeholders (CloudFormation pseudo parameters) become dots."""
    if "${" not in text:
        return text
    return _PLACEHOLDER.sub(lambda match: "${" + match.group(1).replace(":", ".") + "}", text)


def is_star_resource(resource: str) -> bool:
    """'*', 'arn:*' or an ARN whose resource part is '*' (every resource of the service)."""
    text = without_placeholder_colons(resource.strip())
    if text in ("*", "arn:*") or _ARN_ALL.fullmatch(text):
        return True
    # a '*' ending a pattern short of fields expands across the colons: 'arn:aws:iam::*' is every IAM resource
    return text.startswith("arn:") and text.endswith("*") and text.count(":") < 5


def is_one_whole_type(resource: str) -> bool:
    """Every resource of one type ('arn:aws:iam::*:role/*')."""
    return bool(_ARN_ALL_OF_TYPE.fullmatch(without_placeholder_colons(resource.strip())))


def is_aws_owned(resource: str) -> bool:
    """ARNs in the 'aws' account (AWS managed policies) cannot be changed by any customer principal."""
    parts = without_placeholder_colons(resource).split(":", 5)
    return len(parts) == 6 and parts[4] == "aws"


@functools.lru_cache(maxsize=16384)
def resource_facts(resources: tuple[str, ...]) -> tuple[bool, bool, bool]:
    """(any '*' resource, any every-resource-of-a-type pattern, any resource a customer can change)."""
    star = any(map(is_star_resource, resources))
    every = star or any(map(is_one_whole_type, resources))
    exploitable = not all(is_aws_owned(r) for r in resources)
    return star, every, exploitable


class Grant(NamedTuple):
    """One Allow statement with the lower-case actions it grants after denies."""

    statement: Statement
    actions: frozenset[str]
    named_actions: frozenset[str]
    star_resource: bool
    every_of_type: bool
    exploitable: bool

    @property
    def resources(self) -> tuple[str, ...]:
        return self.statement.shown_resources


def statement_actions(statement: Statement) -> frozenset[str]:
    """Every action the statement's Action (or NotAction complement) matches."""
    if statement.actions is not None:
        return summarize(statement.actions).matched
    return complement(statement.not_actions or ())


def unconditional_denies(statements: Iterable[Statement]) -> frozenset[str]:
    """Actions denied on every resource without condition: nothing can grant them."""
    parts = [
        statement_actions(statement)
        for statement in statements
        if statement.effect == "Deny"
        and not statement.conditions
        and statement.not_resources is None
        and (statement.resources is None or resource_facts(statement.resources)[0])
    ]
    if len(parts) <= 1:
        return parts[0] if parts else frozenset()
    return frozenset().union(*parts)


def make_grant(statement: Statement, denied: frozenset[str]) -> Grant | None:
    """The statement's effective grant, or None for a Deny, a never-true condition or an all-denied Allow."""
    if statement.effect != "Allow" or (statement.conditions and never_true(statement.conditions)):
        return None
    actions = statement_actions(statement)
    if denied:
        actions = actions - denied
    if not actions:
        return None
    if statement.not_resources is not None:
        star, every, exploitable = True, True, True
    elif statement.resources is None:
        star, every, exploitable = True, True, True  # trust/resource policies: the resource is implied
    else:
        star, every, exploitable = resource_facts(statement.resources)
        if not star and any(resource.rstrip().endswith("*") for resource in statement.resources):
            star = counts_as_star(statement, actions)
            every = every or star
    named = summarize(statement.actions).named if statement.actions is not None else frozenset()
    if named and denied:
        named = named & actions
    if denied and statement.actions is not None and not keeps_most_actions(actions):
        named = actions  # '*' minus a Deny NotAction: what is left is checked as if it had been listed
    return Grant(statement, actions, named, star, every, exploitable)


# arn:PARTITION:SERVICE:REGION:ACCOUNT:TYPE/* or TYPE:* : every resource of one type of one service
_TYPE_WIDE = re.compile(r"arn:[^:]*:([^:]+):([^:]*):([^:]*):([a-z0-9-]+)[/:]\*", re.IGNORECASE)
_ANY = ("", "*")


@functools.lru_cache(maxsize=16384)  # the same ARN patterns recur across statements and policies
def type_wide(resource: str) -> tuple[str, str] | None:
    """(service, type) when the ARN covers every resource of that type in every region and account
    ('arn:*:cloudtrail:*:*:trail/*', 'arn:${AWS::Partition}:iam::*:role/*'); None when a region, an account
    or a name narrows it, or for a bucket's objects ('arn:aws:s3:::reports/*' names the bucket)."""
    match = _TYPE_WIDE.fullmatch(without_placeholder_colons(resource.strip()))
    if match is None or match.group(2) not in _ANY or match.group(3) not in _ANY:
        return None
    service = match.group(1).lower()
    if service == "s3" and not match.group(2) and not match.group(3):
        return None  # S3 ARNs have no region or account: 'arn:aws:s3:::NAME/*' is one bucket's objects
    return service, match.group(4).lower()


def counts_as_star(statement: Statement, actions: frozenset[str]) -> bool:
    """ANA-12 (conditions.py's table): resources that each cover every resource of a type count as '*'
    when every resource type of every granted action (that supports resource-level permissions) is one
    of them, and no narrowing condition of the table narrows the statement. 'cloudtrail:StopLogging' on
    'arn:*:cloudtrail:*:*:trail/*' stops every trail; 'ec2:CreateVolume' on volume/* under a tag
    condition naming a value (AmazonEBSCSIDriverPolicy) stays narrowed; an action that also involves a
    resource of another type (a snapshot, a VPC endpoint) is narrowed by the statement that allows it."""
    wanted: set[tuple[str, str]] = set()
    for resource in statement.resources or ():
        found = type_wide(resource)
        if found is None:
            return False
        wanted.add(found)
    known = load_index().actions
    covered = False
    for action in actions:
        info = known.get(action)
        if info is None or not info.resource_types:
            continue  # no resource-level permissions: the ARN grants it nothing
        service = action.partition(":")[0]
        if not all((service, kind.lower()) in wanted for kind in info.resource_types):
            return False  # a resource of another type is allowed (or not) by another statement
        covered = True
    if not covered:
        return False
    services = frozenset(action.partition(":")[0] for action in actions)
    return not narrowing(statement.conditions, services).levels


def keeps_most_actions(actions: frozenset[str]) -> bool:
    """True while a grant still holds more than half of every action: '*' is still an administrator grant.
    A Deny with NotAction can leave '*' one action ('Deny NotAction ec2:DescribeInstances')."""
    return len(actions) * 2 > len(load_index().everything)


def grants_of(statements: list[Statement], denied: frozenset[str] | None = None) -> list[Grant]:
    """The effective grants of a list of statements (denies taken from the same list unless given)."""
    deny = unconditional_denies(statements) if denied is None else denied
    return [grant for statement in statements if (grant := make_grant(statement, deny)) is not None]
