# ruff: noqa: E501 -- the docstring holds a Markdown table (one row per line) that the README reuses
"""ANA-10: which conditions narrow a grant, and by how much they lower a finding's severity.

A statement's reduction is the largest reduction among its narrowing conditions (they are not added up),
in severity levels (critical -> high is one level). A condition narrows only when its operator and value
really restrict the request:

| condition key | operator and value that narrows | lowers by | why |
| --- | --- | --- | --- |
| sts:ExternalId | StringEquals, a value | 2 | only a caller that knows the shared secret (third-party confused deputy) |
| aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:SourceOrgID, aws:SourceOrgPaths | StringEquals/Like, no wildcard in the organization ID | 2 | only principals of your organization |
| aws:PrincipalAccount, aws:PrincipalArn, aws:userid, aws:username | StringEquals/Like/ArnEquals/Like, no wildcard in the account (an ARN's account field), no leading wildcard in a user ID / name | 2 | only the named principals |
| aws:SourceAccount, aws:SourceArn | StringEquals/Like/ArnEquals/Like, no wildcard in the account (an ARN's account field, or anywhere in an ARN without one) | 2 | a service acts only for the named account/resource |
| iam:PassedToService | StringEquals/Like, no bare `*` | 2 | the role can be passed to the named service only |
| iam:PolicyARN, iam:PermissionsBoundary | ArnEquals/StringEquals, no wildcard | 2 | only the named policy can be attached / a boundary is forced |
| iam:AWSServiceName | StringEquals/Like, no bare `*` | 1 | iam:CreateServiceLinkedRole only for the named service |
| kms:ViaService | StringEquals/Like, no bare `*` | 2 | the key is usable only through the named AWS service |
| kms:GrantIsForAWSResource | Bool true | 2 | grants only for AWS services' own use |
| token audience / subject (`<provider>:aud`, `:sub`, `SAML:aud`) | StringEquals/Like, no bare `*` | 2 | only the named federated workloads |
| aws:SourceIp | IpAddress, not 0.0.0.0/0 or ::/0 | 1 | requests from the named networks only |
| aws:SourceVpc, aws:SourceVpce | StringEquals/Like, no bare `*` | 1 | requests through the named VPC / endpoint only |
| aws:MultiFactorAuthPresent | Bool true | 1 | an MFA-authenticated session is needed |
| aws:MultiFactorAuthAge | NumericLessThan(Equals) | 1 | a recent MFA login is needed |
| aws:ViaAWSService, aws:CalledVia, aws:CalledViaFirst, aws:CalledViaLast | Bool true / StringEquals | 1 | only when an AWS service calls on the principal's behalf |
| aws:ResourceTag/*, aws:PrincipalTag/*, aws:RequestTag/*, `<service>:ResourceTag/*` (`iam:ResourceTag/*` for sts:AssumeRole too), s3:ExistingObjectTag/* | equality, no bare `*` | 1 | attribute-based access: only tagged resources / principals |
| kms:EncryptionContext:*, kms:EncryptionContextKeys, kms:CallerAccount | equality, no bare `*` | 1 | only requests with the named context / account |
| s3:prefix, s3:DataAccessPointArn, s3:DataAccessPointAccount, aws:ResourceAccount, aws:ResourceOrgID | equality, no bare `*` | 1 | only the named prefixes / access points / accounts |
| a resource `arn:PARTITION:SERVICE:*:*:TYPE/*` (every resource of one type: no region, account or name in it) | not a condition: the statement has no narrowing condition above | counts as `*` (raises ANA-2 checks to `*`) when every resource type of every granted action is such a type | it names every trail, role or volume there is, as `*` does |

A wildcard where the identity is narrows nothing: `arn:aws:iam::*:role/ci` is a role named ci in any
account, `*1` any account ending in 1, `arn:aws:sns:*:*:*` any topic, `o-*` any organization.

Operators: a negated operator (StringNotEquals, ArnNotLike, NotIpAddress...) excludes some requests but
admits every other one, so it lowers nothing; `ForAllValues:` is true when the key is absent, so it lowers
nothing; `...IfExists` is true when the key is absent, so it lowers one level less; `Null` tests presence
only and lowers nothing; Bool narrows only with the restrictive value (MultiFactorAuthPresent "false"
lowers nothing). aws:SecureTransport, aws:RequestedRegion and date/time keys restrict how or when, not who
or what, so they lower nothing. A date condition that can never be true again (DateLessThan a past date on
aws:CurrentTime / aws:TokenIssueTime) makes the statement grant nothing: it raises no permissive finding.
Service-specific keys (kms:, iam:, s3:, `<service>:ResourceTag/`) lower only findings about that service.
When the principal is `*` (a public resource policy or trust policy), the condition is the only boundary
left, so its reduction counts double.
A resource that covers every resource of its type counts as `*` unless a narrowing condition narrows the
statement: `arn:*:cloudtrail:*:*:trail/*` and `arn:${AWS::Partition}:iam::*:role/*` are `*` for the
actions on trails and roles (`arn:aws:s3:::*` already is `*`); a region, an account or a name in the ARN
narrows it (`arn:aws:ec2:us-east-1:*:volume/*`, `arn:aws:iam::123456789012:role/*`, a bucket's objects
`arn:aws:s3:::reports/*`), and so does an action that involves another resource type too, which another
statement must allow (iam_guard.analysis.grants.counts_as_star).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

# lower-case key -> levels lowered
EXACT_KEYS: dict[str, int] = {
    "sts:externalid": 2,
    "aws:principalorgid": 2,
    "aws:principalorgpaths": 2,
    "aws:sourceorgid": 2,
    "aws:sourceorgpaths": 2,
    "aws:principalaccount": 2,
    "aws:principalarn": 2,
    "aws:userid": 2,
    "aws:username": 2,
    "aws:sourceaccount": 2,
    "aws:sourcearn": 2,
    "iam:passedtoservice": 2,
    "iam:policyarn": 2,
    "iam:permissionsboundary": 2,
    "iam:awsservicename": 1,
    "kms:viaservice": 2,
    "kms:grantisforawsresource": 2,
    "saml:aud": 2,
    "aws:sourceip": 1,
    "aws:sourcevpc": 1,
    "aws:sourcevpce": 1,
    "aws:multifactorauthpresent": 1,
    "aws:multifactorauthage": 1,
    "aws:viaawsservice": 1,
    "aws:calledvia": 1,
    "aws:calledviafirst": 1,
    "aws:calledvialast": 1,
    "kms:encryptioncontextkeys": 1,
    "kms:calleraccount": 1,
    "s3:prefix": 1,
    "s3:dataaccesspointarn": 1,
    "s3:dataaccesspointaccount": 1,
    "aws:resourceaccount": 1,
    "aws:resourceorgid": 1,
    "aws:resourceorgpaths": 1,
}
# lower-case key prefix (or suffix marker) -> levels lowered
PREFIX_KEYS: tuple[tuple[str, int], ...] = (
    ("aws:resourcetag/", 1),
    ("aws:principaltag/", 1),
    ("aws:requesttag/", 1),
    ("kms:encryptioncontext:", 1),
    ("s3:existingobjecttag/", 1),
)
TOKEN_CLAIMS = (":aud", ":sub", ":amr", ":oaud")
BOOL_TRUE_KEYS = frozenset({"aws:multifactorauthpresent", "aws:viaawsservice", "kms:grantisforawsresource"})
TIME_KEYS = frozenset({"aws:currenttime", "aws:tokenissuetime", "aws:epochtime"})
GENERIC_PREFIXES = frozenset({"aws", "sts", "saml"})
OPEN_NETWORKS = frozenset({"0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class Narrowing:
    """How much a statement's conditions narrow it for a set of services: levels and the keys that do it."""

    levels: int
    keys: tuple[str, ...]

    def note(self) -> str:
        """Text appended to a finding's message when the severity was lowered."""
        if not self.levels:
            return ""
        return f" (severity lowered {self.levels} level(s) by condition {', '.join(self.keys)})"


NO_NARROWING = Narrowing(0, ())


@functools.lru_cache(maxsize=1024)
def split_operator(operator: str) -> tuple[str, str, bool]:
    """'ForAnyValue:StringLikeIfExists' -> ('foranyvalue', 'stringlike', True)."""
    qualifier, _, base = operator.rpartition(":")
    base = base.lower()
    if_exists = base.endswith("ifexists")
    if if_exists:
        base = base[: -len("ifexists")]
    return qualifier.lower(), base, if_exists


def key_levels(key: str) -> int:
    """The table's reduction for one condition key (lower case), before looking at operator and value."""
    if key in EXACT_KEYS:
        return EXACT_KEYS[key]
    for prefix, levels in PREFIX_KEYS:
        if key.startswith(prefix):
            return levels
    if ":resourcetag/" in key:
        return 1
    if key.endswith(TOKEN_CLAIMS) and "/" not in key.partition(":")[0]:
        return 2
    return 0


def _value_narrows(base: str, key: str, values: tuple[str, ...]) -> bool:
    if not values:
        return False
    if base.startswith(("stringnot", "arnnot", "notipaddress", "numericnot", "null", "date")):
        return False
    if base == "bool":
        return key in BOOL_TRUE_KEYS and all(value.lower() == "true" for value in values)
    if key in BOOL_TRUE_KEYS:
        return False
    if base == "ipaddress":
        return not any(value.strip() in OPEN_NETWORKS for value in values)
    if base.startswith("numeric"):
        return key == "aws:multifactorauthage" and base.startswith("numericlessthan")
    if key in ("iam:policyarn", "iam:permissionsboundary") and any("*" in v or "?" in v for v in values):
        return False
    # a value of wildcards only ('*', '?*') matches anything: it narrows nothing
    return all(value.strip().strip("*?") and identifies(key, value.strip()) for value in values)


ACCOUNT_KEYS = frozenset(
    {
        "aws:principalaccount",
        "aws:sourceaccount",
        "aws:resourceaccount",
        "kms:calleraccount",
        "s3:dataaccesspointaccount",
        "aws:principalorgid",
        "aws:sourceorgid",
        "aws:resourceorgid",
    }
)
ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn", "s3:dataaccesspointarn"})
ORG_PATH_KEYS = frozenset({"aws:principalorgpaths", "aws:sourceorgpaths", "aws:resourceorgpaths"})
USER_KEYS = frozenset({"aws:userid", "aws:username"})


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def identifies(key: str, value: str) -> bool:
    """False when a wildcard sits where the value names who or what (an account, an organization, the
    account field of an ARN): such a value admits strangers, so it narrows nothing."""
    if key in ACCOUNT_KEYS:
        return not _wild(value)
    if key in ARN_KEYS:
        fields = value.split(":", 5)
        if len(fields) < 6:
            return not _wild(value)
        account = fields[4]
        return not _wild(account) if account else not _wild(fields[5])  # S3 ARNs have no account field
    if key in ORG_PATH_KEYS:
        return not _wild(value.partition("/")[0])
    if key in USER_KEYS:
        return not value.startswith(("*", "?"))
    return True


def key_service(key: str) -> str:
    return key.partition(":")[0]


@functools.lru_cache(maxsize=4096)
def _narrowing_cached(
    frozen: tuple[tuple[str, str, tuple[str, ...]], ...], services: frozenset[str]
) -> Narrowing:
    best = 0
    keys: list[str] = []
    for operator, key, values in frozen:
        qualifier, base, if_exists = split_operator(operator)
        lower_key = key.lower()
        levels = key_levels(lower_key)
        if not levels or qualifier == "forallvalues" or not _value_narrows(base, lower_key, values):
            continue
        service = key_service(lower_key)
        foreign = services and service not in GENERIC_PREFIXES and service not in services
        if foreign and lower_key.startswith("iam:resourcetag/") and "sts" in services:
            foreign = False  # the tags of the role being assumed
        if foreign and not lower_key.endswith(TOKEN_CLAIMS):
            continue
        levels -= 1 if if_exists else 0
        if levels <= 0:
            continue
        if levels > best:
            best, keys = levels, [key]
        elif levels == best:
            keys.append(key)
    return Narrowing(best, tuple(keys)) if best else NO_NARROWING


def freeze(conditions: dict[str, dict[str, tuple[str, ...]]]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """A hashable form of a parsed Condition block."""
    return tuple(
        (operator, key, values) for operator, block in conditions.items() for key, values in block.items()
    )


def narrowing(
    conditions: dict[str, dict[str, tuple[str, ...]]], services: frozenset[str] = frozenset()
) -> Narrowing:
    """How much the conditions lower a finding about actions of `services` (lower-case prefixes)."""
    if not conditions:
        return NO_NARROWING
    return _narrowing_cached(freeze(conditions), services)


def _parse_time(value: str) -> datetime | None:
    from datetime import UTC, datetime  # here: only date conditions need it, and few statements have one

    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def never_true(conditions: dict[str, dict[str, tuple[str, ...]]], now: datetime | None = None) -> bool:
    """True when a condition can never be met again, so the statement grants (or denies) nothing:
    DateLessThan(Equals) a past instant on the current time or on the session's issue time."""
    moment = now  # the clock is read only for a date condition (few statements have one)
    for operator, block in conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        if qualifier or if_exists or base not in ("datelessthan", "datelessthanequals"):
            continue
        for key, values in block.items():
            if key.lower() not in TIME_KEYS:
                continue
            if moment is None:
                from datetime import UTC, datetime

                moment = datetime.now(UTC)
            instants = [_parse_time(value) for value in values]
            if instants and all(instant is not None and instant < moment for instant in instants):
                return True
    return False


def has_condition_key(conditions: dict[str, dict[str, tuple[str, ...]]], key: str) -> bool:
    """True when any operator tests `key` (case-insensitive)."""
    wanted = key.lower()
    return any(candidate.lower() == wanted for block in conditions.values() for candidate in block)


def condition_values(conditions: dict[str, dict[str, tuple[str, ...]]], key: str) -> tuple[str, ...] | None:
    """The values a positive (non-negated, non-ForAllValues) operator requires for `key`, or None."""
    wanted = key.lower()
    found: list[str] = []
    seen = False
    for operator, block in conditions.items():
        qualifier, base, _ = split_operator(operator)
        if qualifier == "forallvalues" or base.startswith(("stringnot", "arnnot", "null")):
            continue
        for candidate, values in block.items():
            if candidate.lower() == wanted:
                seen = True
                found.extend(values)
    return tuple(found) if seen else None
