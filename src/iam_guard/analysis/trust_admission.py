"""ORG-3: which IAM principal a role's trust policy admits to sts:AssumeRole, and on which trust element
(standard library only; used by iam_guard.analysis.cross_account).

A trust statement admits a principal when it is an Allow whose actions include sts:AssumeRole, whose
Principal names it and whose conditions it can meet:
- Principal AWS `<arn of the user or role>` (or an `assumed-role/<name>/...` session of the role): that
  principal; within its own account no identity permission is needed (IAM's rule for a named principal);
- Principal AWS `<account id>` / `arn:...:iam::<account>:root`: every principal of that account whose own
  identity policies allow the sts:AssumeRole (the caller checks the identity side);
- Principal `*` (or an ARN with a wildcard account, or an Allow with NotPrincipal, taken as `*`): every
  principal, restricted only by the conditions;
- Service, Federated and CanonicalUser principals admit no IAM user or role.

Conditions, per key (every key of a statement must hold, as in IAM):
- evaluated exactly, as IAM evaluates them for an IAM principal: aws:PrincipalArn, aws:PrincipalAccount,
  aws:PrincipalType, aws:username (users; roles have none), aws:PrincipalOrgID (when the organization ID
  is known; without it every audited principal is taken to be in the organization a condition names:
  StringEquals holds, StringNotEquals does not). Operators
  String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals, Arn(Not)Like, with IfExists (the key is
  always present except aws:username for roles) and ForAnyValue/ForAllValues (single-valued keys). A
  wildcard in a value matches what IAM's wildcard matches, so `arn:aws:iam::*:role/ci` admits the role ci
  of every account: a wildcard narrows nothing (issue 12's rule).
- any other key that narrows by conditions.py's table (sts:ExternalId, aws:MultiFactorAuthPresent,
  aws:SourceIp, aws:PrincipalTag/...) cannot be decided from IAM data: the admission is kept
  (conservative) and the key is listed, so a report shows what the path still needs; a wildcard value
  narrows nothing and is not listed. Keys that narrow nothing (aws:SecureTransport...) are ignored.
- a condition that can never be true again (conditions.never_true) makes the statement admit no one.

A Deny statement on sts:AssumeRole removes the principals it names when its conditions are evaluated true
(or it has none); a Deny with NotPrincipal, or whose conditions cannot be decided, is ignored: a path it
might cut is still reported (conservative).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from iam_guard.analysis.conditions import narrowing, never_true, split_operator
from iam_guard.analysis.document import Statement, parse_document
from iam_guard.analysis.grants import statement_actions
from iam_guard.analysis.principals import account_of, is_public, principal_entries
from iam_guard.analysis.wildcard import matches

ASSUME_ROLE = "sts:assumerole"
_ARN = re.compile(r"arn:([^:]+):(iam|sts)::(\d{12}):(.+)")

# how specific a trust element is: a named principal beats its account root, which beats '*'
NAMED, ROOT, EVERYONE = 0, 1, 2


class Source(NamedTuple):
    """The facts about a would-be caller that a trust policy can test."""

    arn: str
    account: str
    kind: str  # "role" | "user"
    name: str


def source_of(arn: str, account: str, kind: str) -> Source:
    """A Source for a role or user ARN ('arn:aws:iam::111111111111:role/path/Name')."""
    return Source(arn, account, kind, arn.rsplit("/", 1)[-1])


class Element(NamedTuple):
    """The trust element that admits a source: its text and how specific it is."""

    text: str
    specificity: int


@dataclass(frozen=True)
class Admission:
    """A source admitted by a trust statement: the element, the statement, the conditions left open."""

    element: str
    statement: str
    named: bool  # the element names the principal itself (no identity permission needed in its account)
    open_conditions: tuple[str, ...]


def statement_label(statement: Statement, policy: int | None = None) -> str:
    """'policy 1 statement 0 (Sid AssumeDeploy)' / 'statement 0'."""
    where = (
        f"policy {policy} statement {statement.index}"
        if policy is not None
        else f"statement {statement.index}"
    )
    return where + (f" (Sid {shorter(statement.sid, 64)})" if statement.sid else "")


def shorter(text: str, limit: int) -> str:
    """Policy text shown in a hop or a label: at most `limit` characters, a cut marked with '...'."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def allows_assume_role(statement: Statement) -> bool:
    """The statement's Action (or NotAction complement) includes sts:AssumeRole."""
    return ASSUME_ROLE in statement_actions(statement)


@dataclass(frozen=True)
class TrustPolicy:
    """A role's trust policy, read once: its Allow and Deny statements on sts:AssumeRole, and an index of
    the principals it names (for the graph: which callers to even consider)."""

    allows: tuple[Statement, ...]
    denies: tuple[Statement, ...]
    named_arns: frozenset[str]  # lower-case user/role ARNs
    session_roles: frozenset[tuple[str, str]]  # (account, lower-case role name) of assumed-role sessions
    root_accounts: frozenset[str]
    everyone: bool  # '*', a wildcard account or NotPrincipal

    @classmethod
    def parse(cls, document: Any) -> TrustPolicy:
        """Only well-formed statements count (a malformed trust is the account audit's finding)."""
        statements = [
            statement
            for statement in (parse_document(document).statements if document is not None else [])
            if allows_assume_role(statement)
            and not (statement.conditions and never_true(statement.conditions))
        ]
        allows = tuple(statement for statement in statements if statement.is_allow)
        named: set[str] = set()
        sessions: set[tuple[str, str]] = set()
        roots: set[str] = set()
        everyone = False
        for statement in allows:
            if statement.not_principal is not None:
                everyone = True
            for kind, value in principal_entries(statement.principal):
                if kind != "AWS":
                    continue
                if is_public(value):
                    everyone = True
                elif (account := account_of(value)) is not None:
                    roots.add(account)
                elif (session := _session_role(value)) is not None:
                    sessions.add(session)
                else:
                    named.add(value.lower())
        return cls(
            allows,
            tuple(statement for statement in statements if not statement.is_allow),
            frozenset(named),
            frozenset(sessions),
            frozenset(roots),
            everyone,
        )

    def admission(self, source: Source, organization_id: str | None = None) -> Admission | None:
        """How this trust admits the source (the most specific element, then the first statement), or
        None when it does not."""
        for deny in self.denies:
            if (
                deny.not_principal is None
                and _element(deny.principal, source) is not None
                and _conditions_verdict(deny.conditions, source, organization_id)[0] is True
            ):
                return None
        best: tuple[int, int, Admission] | None = None
        for statement in self.allows:
            element = _allow_element(statement, source)
            if element is None:
                continue
            verdict, open_keys = _conditions_verdict(statement.conditions, source, organization_id)
            if verdict is False:
                continue
            admission = Admission(
                shorter(element.text, 256),
                statement_label(statement),
                element.specificity == NAMED,
                open_keys,
            )
            rank = (element.specificity, len(open_keys))
            if best is None or rank < best[:2]:
                best = (*rank, admission)
        return best[2] if best else None


def _session_role(value: str) -> tuple[str, str] | None:
    """('111111111111', 'deploy') for 'arn:aws:sts::111111111111:assumed-role/Deploy/session'."""
    match = _ARN.fullmatch(value)
    if not match or match.group(2) != "sts" or not match.group(4).startswith("assumed-role/"):
        return None
    parts = match.group(4).split("/")
    return (match.group(3), parts[1].lower()) if len(parts) >= 2 and parts[1] else None


def _element(principal: Any, source: Source) -> Element | None:
    """The most specific AWS entry of a Principal element that names the source."""
    best: Element | None = None
    for kind, value in principal_entries(principal):
        if kind != "AWS":
            continue
        found: Element | None
        if is_public(value):
            found = Element(value, EVERYONE)
        elif (account := account_of(value)) is not None:
            found = Element(value, ROOT) if account == source.account else None
        elif (session := _session_role(value)) is not None:
            named = source.kind == "role" and session == (source.account, source.name.lower())
            found = Element(value, NAMED) if named else None
        else:
            found = Element(value, NAMED) if value.lower() == source.arn.lower() else None
        if found is not None and (best is None or found.specificity < best.specificity):
            best = found
    return best


def _allow_element(statement: Statement, source: Source) -> Element | None:
    if statement.not_principal is not None:
        # Allow + NotPrincipal admits everyone not listed; a listed principal is left out
        if _element(statement.not_principal, source) is not None:
            return None
        return Element("NotPrincipal (everyone not listed)", EVERYONE)
    return _element(statement.principal, source)


# condition keys evaluated exactly for an IAM principal
EVALUATED_KEYS = frozenset(
    {"aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:username", "aws:principalorgid"}
)
_POSITIVE = {
    "stringequals": ("literal", True),
    "stringequalsignorecase": ("ignorecase", True),
    "stringlike": ("wildcard", True),
    "arnequals": ("wildcard", True),  # ArnEquals and ArnLike both take wildcards in IAM
    "arnlike": ("wildcard", True),
    "stringnotequals": ("literal", False),
    "stringnotequalsignorecase": ("ignorecase", False),
    "stringnotlike": ("wildcard", False),
    "arnnotequals": ("wildcard", False),
    "arnnotlike": ("wildcard", False),
}


def _key_value(key: str, source: Source, organization_id: str | None) -> str | None:
    """The value IAM would put in the request context for this key, or None when it is absent."""
    if key == "aws:principalarn":
        return source.arn
    if key == "aws:principalaccount":
        return source.account
    if key == "aws:principaltype":
        return "User" if source.kind == "user" else "AssumedRole"
    if key == "aws:username":
        return source.name if source.kind == "user" else None
    return organization_id  # aws:principalorgid


def _value_matches(how: str, pattern: str, value: str) -> bool:
    if how == "literal":
        return pattern == value
    if how == "ignorecase":
        return pattern.lower() == value.lower()
    return matches(pattern, value, ignore_case=False)


def _evaluate(
    operator: str, key: str, values: tuple[str, ...], source: Source, org: str | None
) -> bool | None:
    """True / False for an evaluated key and a known operator, None when it cannot be decided."""
    qualifier, base, if_exists = split_operator(operator)
    if base == "null":
        present = key == "aws:principalorgid" or _key_value(key, source, org) is not None
        wanted_absent = all(value.lower() == "true" for value in values)
        return present != wanted_absent
    if base not in _POSITIVE or qualifier not in ("", "foranyvalue", "forallvalues"):
        return None
    how, positive = _POSITIVE[base]
    if key == "aws:principalorgid" and org is None:
        return positive  # no organization ID given: every audited principal is in the one named
    value = _key_value(key, source, org)
    if value is None:
        # an absent key: IfExists and ForAllValues are true, the other operators false
        return if_exists or qualifier == "forallvalues"
    hit = any(_value_matches(how, pattern, value) for pattern in values)
    return hit if positive else not hit


def _conditions_verdict(
    conditions: dict[str, dict[str, tuple[str, ...]]], source: Source, organization_id: str | None
) -> tuple[bool | None, tuple[str, ...]]:
    """(False when a condition surely fails, True when all surely hold, None when some cannot be decided;
    the narrowing keys left undecided)."""
    open_keys: list[str] = []
    decided = True
    for operator, block in conditions.items():
        for key, values in block.items():
            lower = key.lower()
            if lower in EVALUATED_KEYS:
                verdict = _evaluate(operator, lower, values, source, organization_id)
                if verdict is False:
                    return False, ()
                if verdict is True:
                    continue
            decided = False
            if narrowing({operator: {key: values}}).levels and key not in open_keys:
                open_keys.append(key)
    return (True if decided else None), tuple(sorted(open_keys))
