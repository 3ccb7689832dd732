"""Does an identity policy allow one action on one resource? The analyzer's own matching answers: actions
through the action index's expansion (patterns.summarize, case-insensitive), resources through the
H-6 wildcard matcher (wildcard.compile_wildcard, case-sensitive, one ARN field at a time).

IAM's rules, as documented in "Policy evaluation logic" and "IAM JSON policy elements: Resource":
- a statement applies when its Action (or the complement of its NotAction) holds the action and its
  Resource holds (or its NotResource does not hold) the resource;
- an applying Deny wins; otherwise an applying Allow allows; otherwise the request is implicitly denied;
- a resource pattern matches an ARN field by field (arn:partition:service:region:account:resource, the
  resource field keeping any further ':'); '*' alone matches every resource; a '*' ending a pattern that
  has fewer fields expands across the colons (the missing fields count as '*').
A statement with a Condition is taken at its worst for the caller: a conditional Allow may apply (it counts),
a conditional Deny may not (it does not count), as grants.py does. The differential test
(tests/dev/test_ana_differential.py) holds these answers against an independent simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iam_guard.analysis.document import Statement, parse_document
from iam_guard.analysis.index import action_info
from iam_guard.analysis.patterns import summarize
from iam_guard.analysis.wildcard import compile_wildcard

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitly denied", "implicitly denied"


def resource_matches(pattern: str, arn: str) -> bool:
    """True when the Resource element `pattern` holds the ARN, field by field: the first five fields
    (partition, service, region, account: lower-case identifiers) ignore case, the resource field does not.
    A pattern with fewer fields is padded with '*' (a trailing '*' expands across the colons)."""
    if pattern == "*":
        return True
    arn_fields = arn.split(":", 5)
    if len(arn_fields) != 6:
        return False
    pattern_fields = pattern.split(":", 5)
    pattern_fields += ["*"] * (6 - len(pattern_fields))
    return all(
        compile_wildcard(want, ignore_case=position < 5).match(have)
        for position, (want, have) in enumerate(zip(pattern_fields, arn_fields, strict=True))
    )


def _holds_action(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return action in summarize(statement.actions).matched
    return action not in summarize(statement.not_actions or ()).matched


ResourceMatcher = Callable[[str, str], bool]


def _holds_resource(statement: Statement, arn: str, matches: ResourceMatcher) -> bool:
    if statement.not_resources is not None:
        return not any(matches(pattern, arn) for pattern in statement.not_resources)
    if statement.resources is None:  # no Resource element: not an identity statement, nothing applies
        return False
    return any(matches(pattern, arn) for pattern in statement.resources)


def decision(policy: Any, action: str, arn: str, matches: ResourceMatcher = resource_matches) -> str:
    """ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY for one request against one identity policy (a dict or
    JSON text). The action must be one the index knows; a malformed statement applies to nothing.
    `matches` decides whether a Resource pattern holds an ARN (another reading of IAM's rule can be
    swapped in, as the differential test does to explain a simulator's differences)."""
    info = action_info(action)
    if info is None:
        raise ValueError(f"action {action!r} is not in the action index")
    key = info.name.lower()
    allowed = False
    for statement in parse_document(policy).statements:
        if not (_holds_action(statement, key) and _holds_resource(statement, arn, matches)):
            continue
        if statement.effect == "Deny":
            if not statement.conditions:
                return EXPLICIT_DENY
        elif statement.effect == "Allow":
            allowed = True
    return ALLOWED if allowed else IMPLICIT_DENY


def allows(policy: Any, action: str, arn: str) -> bool:
    """True when the identity policy allows `action` on the resource `arn`."""
    return decision(policy, action, arn) == ALLOWED
