"""ORG-3: what one user or role brings to the cross-account graph (PrincipalReach), read from its own
identity policies, trust policy and findings (standard library only; public API:
iam_guard.analysis.cross_account).

Each account's audit turns every user and role into a PrincipalReach (reach_of_principal): the role ARN
patterns its own identity policies allow sts:AssumeRole on, the role's trust policy, and its own admin /
escalation codes. The consolidator loads the reaches of every account and calls reach_paths, which
follows sts:AssumeRole from principal to role (a hop: the role's trust admits the caller, the caller's own
policies allow the call) and reports the paths, of 1 to 3 hops, that cross at least one account boundary
and end at a role that is admin-equivalent or can escalate (severity high or above).

The identity side (what a principal may assume), from its identity policies combined (inline, attached,
its groups'):
- an Allow whose actions include sts:AssumeRole (Action, wildcards or NotAction, expanded against the
  action catalogue by grants.statement_actions) adds its Resource patterns; an Allow with NotResource adds
  `*` (conservative: it allows every role but the listed ones, and another statement may allow those);
  `${...}` policy variables in a pattern match anything (conservative);
- an Allow whose condition can never be true again (conditions.never_true) adds nothing; one whose
  conditions narrow (conditions.py's table: aws:MultiFactorAuthPresent, aws:ResourceTag/...) is kept and
  its label names the keys, as the request context of a future call cannot be known;
- a Deny on sts:AssumeRole without condition removes the roles its Resource patterns match (an allowed
  pattern it covers entirely is dropped from `assumable`; every Deny pattern is kept in `denied` and
  checked for each target role, even one whose trust names the principal: an explicit Deny always wins);
  a Deny with a condition or NotResource is ignored: it might not apply (conservative);
- role ARNs are matched case-insensitively (conservative: IAM role names are unique regardless of case);
- bounded work: a principal with more than MAX_PATTERNS (256) distinct patterns is taken to allow `*`,
  and more than 256 Deny patterns are ignored (both conservative; IAM's policy size quotas make either
  rare in a real account, and a crafted account cannot make the organization's graph slow).
  Service control policies and permissions boundaries are not weighed (they are not in
  GetAccountAuthorizationDetails' identity documents): a path they cut is still reported.
The trust side: see iam_guard.analysis.trust_admission.

Which codes make a role a path's end (its `codes`): the findings given by the account audit, of the codes
in ESCALATION_CODES at high or above, plus the same codes found by analyzing the role's identity policies
merged into one document (so that an AWS managed policy analyzed once per account, on the first principal
it was found on, still makes every role it is attached to admin). An IAMG006 whose only technique is
AssumeRoleOnAnyRole is left out: assuming roles is what the hops model. IAMG019/IAMG020 (could not be
analyzed) count: what cannot be analyzed is never taken to be safe.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from iam_guard.analysis import codes as finding_codes
from iam_guard.analysis.conditions import narrowing, never_true
from iam_guard.analysis.document import load_document, parse_document
from iam_guard.analysis.engine import analyze_policy
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.trust_admission import allows_assume_role, statement_label
from iam_guard.analysis.wildcard import matches

# the codes that make a principal admin-equivalent or able to escalate, at high or above
ESCALATION_CODES: frozenset[str] = frozenset(
    {
        finding_codes.WILDCARD_ACTION,
        finding_codes.SERVICE_WILDCARD,
        finding_codes.ALLOW_NOT_ACTION,
        finding_codes.ALLOW_NOT_RESOURCE,
        finding_codes.PRIVILEGE_ESCALATION,
        finding_codes.ANALYSIS_TIMEOUT,
        finding_codes.ANALYSIS_ERROR,
    }
)
ASSUME_ANY_ROLE_TECHNIQUE = "AssumeRoleOnAnyRole"
KINDS = ("role", "user")
END_SEVERITIES = ("critical", "high")
OWN_ANALYSIS_BUDGET_SECONDS = 2.0

# bounds on what crosses S3 (each account's reaches are written by a Lambda in that account's audit and
# read by the consolidator: treated as attacker-written)
MAX_PATTERNS = (
    256  # distinct sts:AssumeRole patterns kept per principal; beyond, '*' (see reach_of_principal)
)
MAX_TEXT = 2048
MAX_LABEL = 512
MAX_CODES = 64
MAX_TRUST_JSON = 65536

REACH_FIELDS = frozenset(
    {"arn", "account", "kind", "assumable", "assumeStatements", "denied", "trust", "codes", "severity"}
)
_ACCOUNT = re.compile(r"\d{12}")
_CODE = re.compile(r"IAMG\d{3}")
_PRINCIPAL_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::(\d{12}):(role|user)/([\x21-\x7e]{1,1024})")
_NAME = re.compile(r"[\w+=,.@-]{1,128}")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def principal_arn_parts(arn: str) -> tuple[str, str]:
    """(account, kind) of a role or user ARN; ValueError when it is not one."""
    match = _PRINCIPAL_ARN.fullmatch(arn)
    if not match or not _NAME.fullmatch(arn.rsplit("/", 1)[-1]):
        raise ValueError(f"not an IAM role or user ARN: {arn[:200]!r}")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class PrincipalReach:
    """What one user or role brings to the organization's graph.

    `assumable`: the role-ARN patterns its identity policies allow sts:AssumeRole on, after explicit Deny
    (`*` included); `assume_statements`: for each pattern, the statement that allows it ('policy 1
    statement 0 (Sid AssumeDeploy)', with ' if <keys>' when a condition narrows it); empty when unknown.
    `denied`: the patterns of unconditional Deny statements on sts:AssumeRole (checked for each target
    role, also when its trust names the principal and no identity permission is needed). `trust`: a
    role's trust policy (None for a user). `codes` / `severity`: its own admin/escalation codes at high
    or above and the worst severity among them ("critical" / "high"), None when it has none."""

    arn: str
    account: str
    kind: str
    assumable: tuple[str, ...]
    trust: dict[str, Any] | None
    codes: tuple[str, ...]
    severity: str | None
    assume_statements: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def is_end(self) -> bool:
        """A role a path may end at: admin-equivalent or able to escalate."""
        return self.kind == "role" and self.severity in END_SEVERITIES

    def statement_for(self, index: int) -> str:
        """The label of the statement behind assumable[index]."""
        if index < len(self.assume_statements):
            return self.assume_statements[index]
        return "identity policy"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (camelCase keys, as the audit records)."""
        return {
            "arn": self.arn,
            "account": self.account,
            "kind": self.kind,
            "assumable": list(self.assumable),
            "assumeStatements": list(self.assume_statements),
            "denied": list(self.denied),
            "trust": self.trust,
            "codes": list(self.codes),
            "severity": self.severity,
        }

    @classmethod
    def from_dict(cls, data: Any) -> PrincipalReach:
        """Read what to_dict wrote, checking every field: ValueError naming the field and its value."""
        return _reach_from_dict(data)


MAX_REACHES_PER_ACCOUNT = 20000  # IAM's quotas: at most 5,000 roles and 5,000 users per account


def load_reaches(account: str, data: Any) -> list[PrincipalReach]:
    """One account's reaches as its audit wrote them (a JSON list of to_dict()), every record checked by
    from_dict and required to be a principal of `account` (a member account cannot speak for another):
    ValueError naming the field and the value otherwise."""
    if not isinstance(data, list) or len(data) > MAX_REACHES_PER_ACCOUNT:
        raise _bad(
            "(reaches)", type(data).__name__, f"must be a list of at most {MAX_REACHES_PER_ACCOUNT} records"
        )
    reaches = [PrincipalReach.from_dict(item) for item in data]
    for reach in reaches:
        if reach.account != account:
            raise _bad("account", reach.account, f"is not the account whose results these are ({account})")
    return reaches


# Most roles of an organization share a handful of trust documents (lambda.amazonaws.com, the management
# account...): equal documents read back are one object, which keeps a 500,000-principal graph in memory.
# Bounded; the documents are never modified.
_SHARED_TRUSTS: dict[str, dict[str, Any]] = {}
MAX_SHARED_TRUSTS = 100_000


def _shared_trust(text: str, trust: dict[str, Any]) -> dict[str, Any]:
    if text in _SHARED_TRUSTS:
        return _SHARED_TRUSTS[text]
    if len(_SHARED_TRUSTS) < MAX_SHARED_TRUSTS:
        _SHARED_TRUSTS[text] = trust
    return trust


def _bad(field: str, value: Any, why: str) -> ValueError:
    shown = repr(value)
    shown = shown if len(shown) <= 200 else shown[:200] + "...(truncated)"
    return ValueError(f"PrincipalReach field {field!r}: {shown} {why}")


def _text(data: dict[str, Any], field: str, limit: int) -> str:
    value = data.get(field)
    if type(value) is not str or not value or len(value) > limit:
        raise _bad(field, value, f"must be a non-empty string of at most {limit} characters")
    return value


def _texts(data: dict[str, Any], field: str, limit: int, count: int) -> tuple[str, ...]:
    value = data.get(field, [])
    if type(value) is not list or len(value) > count:
        raise _bad(field, value, f"must be a list of at most {count} strings")
    for item in value:
        if type(item) is not str or not item or len(item) > limit:
            raise _bad(field, item, f"must be a non-empty string of at most {limit} characters")
    return tuple(value)


def _reach_from_dict(data: Any) -> PrincipalReach:
    if not isinstance(data, dict):
        raise _bad("(record)", data, "must be a JSON object")
    if not data.keys() <= REACH_FIELDS:
        unknown = sorted((str(key), value) for key, value in data.items() if key not in REACH_FIELDS)
        raise _bad(unknown[0][0], unknown[0][1], "is not a known field")
    arn = _text(data, "arn", MAX_TEXT)
    try:
        arn_account, arn_kind = principal_arn_parts(arn)
    except ValueError:
        raise _bad("arn", arn, "is not an IAM role or user ARN") from None
    account = data.get("account")
    if type(account) is not str or not _ACCOUNT.fullmatch(account) or account != arn_account:
        raise _bad("account", account, f"must be the 12-digit account of the ARN ({arn_account})")
    kind = data.get("kind")
    if kind not in KINDS or kind != arn_kind:
        raise _bad("kind", kind, f"must be the ARN's kind ({arn_kind})")
    assumable = _texts(data, "assumable", MAX_TEXT, MAX_PATTERNS)
    statements = _texts(data, "assumeStatements", MAX_LABEL, MAX_PATTERNS)
    if statements and len(statements) != len(assumable):
        raise _bad(
            "assumeStatements", len(statements), f"must hold one label per assumable ({len(assumable)})"
        )
    denied = _texts(data, "denied", MAX_TEXT, MAX_PATTERNS)
    trust = data.get("trust")
    if trust is not None:
        if kind != "role" or not isinstance(trust, dict):
            raise _bad("trust", trust, "must be a role's trust policy (a JSON object) or null")
        try:
            text = json.dumps(trust, sort_keys=True)
        except (TypeError, ValueError, RecursionError):
            raise _bad("trust", trust, "must be JSON") from None
        if len(text) > MAX_TRUST_JSON:
            raise _bad(
                "trust", f"{len(text)} characters", f"must be at most {MAX_TRUST_JSON} characters of JSON"
            )
        trust = _shared_trust(text, trust)
    found_codes = _texts(data, "codes", 16, MAX_CODES)
    for code in found_codes:
        if not _CODE.fullmatch(code):
            raise _bad("codes", code, "is not a finding code (IAMGnnn)")
    severity = data.get("severity")
    if found_codes and severity not in END_SEVERITIES:
        raise _bad("severity", severity, "must be critical or high when there are codes")
    if not found_codes and severity is not None:
        raise _bad("severity", severity, "must be null when there are no codes")
    return PrincipalReach(
        arn, account, kind, assumable, trust, tuple(sorted(set(found_codes))), severity, statements, denied
    )


def is_assume_any_role_only(item: Finding) -> bool:
    """An IAMG006 whose only technique is AssumeRoleOnAnyRole ('privilege escalation ...: <names> (...')."""
    if item.code != finding_codes.PRIVILEGE_ESCALATION:
        return False
    names = item.message.partition(": ")[2].partition(" (")[0]
    return [name.strip() for name in names.split(",")] == [ASSUME_ANY_ROLE_TECHNIQUE]


def escalation_findings_of(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that make a principal admin-equivalent or able to escalate (see the module doc)."""
    return [
        item
        for item in findings
        if item.code in ESCALATION_CODES
        and item.severity >= Severity.HIGH
        and not is_assume_any_role_only(item)
    ]


def merged_identity_findings(documents: Sequence[Any], budget_seconds: float | None) -> list[Finding]:
    """The analyzer's findings on every identity statement of a principal merged into one document (its
    denies then apply to all its allows, as in IAM). Unreadable documents are skipped: the account audit
    reports them."""
    statements: list[Any] = []
    for document in documents:
        loaded, _ = load_document(document)
        raw = loaded.get("Statement") if loaded else None
        statements += raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    if not statements:
        return []
    merged = {"Version": "2012-10-17", "Statement": statements}
    return analyze_policy(merged, "identity", budget_seconds=budget_seconds)


def _resource_pattern(pattern: str) -> str:
    """A Resource pattern as matched against role ARNs: policy variables match anything."""
    return _PLACEHOLDER.sub("*", pattern.strip())


def _covers(deny: str, allow: str) -> bool:
    """The deny pattern matches every ARN the allow pattern matches (conservatively: '*', or the allow is
    a plain ARN the deny matches, or both are the same text)."""
    return deny == "*" or deny == allow or ("*" not in allow and "?" not in allow and matches(deny, allow))


def assume_role_grants(documents: Sequence[Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """([(allowed role-ARN pattern, statement label)], [unconditionally denied patterns]) of the identity
    documents, before the denies are applied."""
    allowed: list[tuple[str, str]] = []
    denied: list[str] = []
    for number, document in enumerate(documents):
        for statement in parse_document(document).statements:
            if not allows_assume_role(statement):
                continue
            if statement.conditions and never_true(statement.conditions):
                continue
            if not statement.is_allow:
                if not statement.conditions and statement.not_resources is None:
                    denied += [_resource_pattern(r) for r in statement.resources or ("*",)]
                continue
            label = statement_label(statement, number)
            keys = narrowing(statement.conditions, frozenset({"sts"})).keys if statement.conditions else ()
            if keys:
                label += " if " + ", ".join(keys)
            if statement.not_resources is not None:
                allowed.append(("*", label + " (NotResource: taken as *)"))
            else:
                allowed += [(_resource_pattern(r), label) for r in statement.resources or ("*",)]
    return allowed, denied


def reach_of_principal(
    account: str,
    arn: str,
    kind: str,
    identity_documents: Sequence[Any],
    trust: dict[str, Any] | None,
    findings: Sequence[Finding],
    *,
    budget_seconds: float | None = OWN_ANALYSIS_BUDGET_SECONDS,
) -> PrincipalReach:
    """The PrincipalReach of one user or role: `identity_documents` are all its identity policies (inline,
    attached, its groups'), `trust` a role's trust policy, `findings` the account audit's findings on its
    identity policies. A role's identity documents are also analyzed merged, within `budget_seconds`
    (see the module doc). ValueError when account / arn / kind do not agree."""
    arn_account, arn_kind = principal_arn_parts(arn)
    if account != arn_account or kind != arn_kind:
        raise ValueError(
            f"principal {arn!r} is a {arn_kind} of account {arn_account}, not a {kind} of {account}"
        )
    allowed, denied = assume_role_grants(identity_documents)
    kept = [(pattern, label) for pattern, label in allowed if not any(_covers(d, pattern) for d in denied)]
    first_label: dict[str, str] = {}
    for pattern, label in kept:
        first_label.setdefault(pattern, label)
    unique = list(first_label.items())
    if len(unique) > MAX_PATTERNS:  # bounded work for the graph: more patterns than that is taken as '*'
        unique = [("*", f"{len(unique)} sts:AssumeRole resource patterns (over {MAX_PATTERNS}): taken as *")]
    remaining_denies = tuple(sorted(set(denied)))  # they also bind a trust that names the principal
    if len(remaining_denies) > MAX_PATTERNS:
        remaining_denies = ()  # ignored, as a conditional Deny is: the paths they might cut are reported
    relevant = escalation_findings_of(findings)
    if kind == "role":
        relevant += escalation_findings_of(merged_identity_findings(identity_documents, budget_seconds))
    worst = max((item.severity for item in relevant), default=None)
    return PrincipalReach(
        arn=arn,
        account=account,
        kind=kind,
        assumable=tuple(pattern for pattern, _ in unique),
        trust=trust if kind == "role" else None,
        codes=tuple(sorted({item.code for item in relevant})),
        severity=worst.label if worst is not None else None,
        assume_statements=tuple(label for _, label in unique),
        denied=remaining_denies,
    )
