"""ANA-9: who a trust policy or a resource policy admits (Principal / NotPrincipal)."""

from __future__ import annotations

import re
from typing import Any

from iam_guard.analysis import codes
from iam_guard.analysis.checks import finding
from iam_guard.analysis.conditions import Narrowing, has_condition_key, narrowing
from iam_guard.analysis.document import Statement
from iam_guard.analysis.federation import known_provider, trust_is_narrowed
from iam_guard.analysis.grants import without_placeholder_colons
from iam_guard.analysis.model import Finding, Severity

_ACCOUNT_ID = re.compile(r"\d{12}")
_ROOT_ARN = re.compile(r"arn:[^:]+:iam::([^:]+):root")
OWN_ACCOUNT_MARKERS = ("${AWS..AccountId}",)
SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths")


def principal_entries(value: Any) -> list[tuple[str, str]]:
    """[(type, value)] of a Principal element: '*' is ('AWS', '*')."""
    if value == "*":
        return [("AWS", "*")]
    if not isinstance(value, dict):
        return []
    entries = []
    for kind, raw in value.items():
        for item in raw if isinstance(raw, list) else [raw]:
            if isinstance(item, str):
                entries.append((str(kind), item.strip()))
    return entries


def is_public(principal: str) -> bool:
    """'*', or an ARN whose account is a wildcard ('arn:aws:iam::*:root'): anyone with an AWS account."""
    if principal == "*":
        return True
    parts = without_placeholder_colons(principal).split(":")
    return len(parts) >= 5 and "*" in parts[4]


def account_of(principal: str) -> str | None:
    """The account a whole-account principal names ('123456789012' or its :root ARN), else None."""
    text = without_placeholder_colons(principal)
    if _ACCOUNT_ID.fullmatch(text) or text in OWN_ACCOUNT_MARKERS:
        return text
    match = _ROOT_ARN.fullmatch(text)
    return match.group(1) if match else None


def _public_levels(narrowed: Narrowing) -> Narrowing:
    """For a principal of '*', a narrowing condition is the only boundary: it counts double."""
    return Narrowing(min(narrowed.levels * 2, 4), narrowed.keys) if narrowed.levels else narrowed


def check_not_principal(statement: Statement) -> list[Finding]:
    """Allow with NotPrincipal admits every principal not listed."""
    if not statement.is_allow or statement.not_principal is None:
        return []
    return [
        finding(
            codes.ALLOW_NOT_PRINCIPAL,
            Severity.HIGH,
            f"statement {statement.index} allows every principal except the NotPrincipal list",
            statement,
            statement.action_patterns,
            statement.shown_resources,
            narrowing(statement.conditions),
        )
    ]


def check_service_principals(statement: Statement, entries: list[tuple[str, str]]) -> list[Finding]:
    """A service principal without aws:SourceAccount / aws:SourceArn (confused deputy)."""
    services = sorted(value for kind, value in entries if kind == "Service")
    if not services or any(has_condition_key(statement.conditions, key) for key in SOURCE_KEYS):
        return []
    return [
        finding(
            codes.SERVICE_PRINCIPAL_UNSCOPED,
            Severity.LOW,
            f"statement {statement.index} admits {', '.join(services)} without aws:SourceAccount or "
            f"aws:SourceArn, so the service may act for any account",
            statement,
            statement.action_patterns,
            services,
        )
    ]


def check_trust(statement: Statement) -> list[Finding]:
    """ANA-9 for one trust-policy statement."""
    if not statement.is_allow:
        return []
    findings = check_not_principal(statement)
    entries = principal_entries(statement.principal)
    narrowed = narrowing(statement.conditions)
    public = [value for kind, value in entries if kind == "AWS" and is_public(value)]
    if public:
        findings.append(
            finding(
                codes.TRUST_TOO_OPEN,
                Severity.CRITICAL,
                f"statement {statement.index} lets any AWS principal ('*') assume this role",
                statement,
                statement.action_patterns,
                ("*",),
                _public_levels(narrowed),
            )
        )
    for kind, value in entries:
        account = account_of(value) if kind == "AWS" and not is_public(value) else None
        if account is None:
            continue
        own = any(marker in account for marker in OWN_ACCOUNT_MARKERS)
        severity = Severity.LOW if own else Severity.HIGH
        whose = "this account" if own else f"account {account}"
        findings.append(
            finding(
                codes.TRUST_TOO_OPEN,
                severity,
                f"statement {statement.index} lets every principal of {whose} assume this role"
                + ("" if own or narrowed.levels else " without sts:ExternalId or aws:PrincipalOrgID"),
                statement,
                statement.action_patterns,
                (value,),
                narrowed,
            )
        )
    federated = sorted(value for kind, value in entries if kind == "Federated")
    for principal, why in _open_federations(federated, statement.conditions, narrowed):
        findings.append(
            finding(
                codes.TRUST_TOO_OPEN,
                Severity.HIGH,
                f"statement {statement.index} lets any identity of {principal} assume this role ({why})",
                statement,
                statement.action_patterns,
                (principal,),
            )
        )
    findings += check_service_principals(statement, entries)
    return findings


def _open_federations(
    federated: list[str], conditions: dict[str, dict[str, tuple[str, ...]]], narrowed: Narrowing
) -> list[tuple[str, str]]:
    """(provider, why) for each federated principal the conditions leave open (federation.py's table for
    the well-known providers, an audience/subject claim for the others)."""
    open_to = []
    for principal in federated:
        provider = known_provider(principal)
        if provider is None:
            if not narrowed.levels:
                open_to.append((principal, "no audience/subject condition"))
        elif not trust_is_narrowed(provider, principal, conditions):
            claims = " and ".join(claim for claim, _ in provider.claims)
            open_to.append(
                (principal, f"every {provider.name} workload: no {claims} condition names your own")
            )
    return open_to


def check_resource_principals(statement: Statement) -> list[Finding]:
    """ANA-9 for a resource policy statement (bucket, key, topic, queue): public access, NotPrincipal,
    unscoped service principals."""
    if not statement.is_allow:
        return []
    findings = check_not_principal(statement)
    entries = principal_entries(statement.principal)
    if any(kind == "AWS" and is_public(value) for kind, value in entries):
        findings.append(
            finding(
                codes.PUBLIC_RESOURCE_POLICY,
                Severity.CRITICAL,
                f"statement {statement.index} admits everyone (Principal '*')",
                statement,
                statement.action_patterns,
                statement.shown_resources,
                _public_levels(narrowing(statement.conditions)),
            )
        )
    findings += check_service_principals(statement, entries)
    return findings
