"""analyze_policy and analyze_principal: parse, expand, run the checks, sort."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iam_guard.analysis import codes
from iam_guard.analysis.checks import GRANT_CHECKS, check_unknown_actions, check_wildcard_action, finding
from iam_guard.analysis.document import Statement, parse_document
from iam_guard.analysis.escalation import escalation_findings, satisfied
from iam_guard.analysis.grants import Grant, grants_of, unconditional_denies
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.principals import check_resource_principals, check_trust

_POLICY_TYPES = frozenset({"identity", "resource", "trust"})


def _malformed(message: str, statement_index: int | None = None) -> Finding:
    return Finding(
        code=codes.MALFORMED,
        severity=Severity.HIGH,
        message=message,
        statement_index=statement_index,
        sid=None,
        actions=(),
        resources=(),
        remediation=codes.CODES[codes.MALFORMED].remediation,
    )


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


def _grant_findings(grant: Grant, policy_type: str) -> list[Finding]:
    """Every check on one grant; a '*' action subsumes the narrower checks of the same statement."""
    wildcard = check_wildcard_action(grant, policy_type)
    if wildcard:
        return wildcard + [f for check in GRANT_CHECKS[3:5] for f in check(grant, policy_type)]
    return [f for check in GRANT_CHECKS for f in check(grant, policy_type)]


def _is_admin(findings: list[Finding]) -> bool:
    return any(f.code == codes.WILDCARD_ACTION and f.severity is Severity.CRITICAL for f in findings)


def _analyze(document: Any, policy_type: str) -> list[Finding]:
    findings: list[Finding] = []
    kind = str(policy_type).lower()
    if kind not in _POLICY_TYPES:
        findings.append(_malformed(f"unknown policy type {policy_type!r}; analyzed as an identity policy"))
        kind = "identity"
    parsed = parse_document(document)
    findings += [_malformed(message, index) for index, message in parsed.problems]
    for statement in parsed.statements:
        findings += check_unknown_actions(statement)
    if kind == "trust":
        for statement in parsed.statements:
            findings += check_trust(statement)
        return _sorted(findings)
    if kind == "resource":
        for statement in parsed.statements:
            findings += check_resource_principals(statement)
    grants = grants_of(parsed.statements)
    for grant in grants:
        findings += _grant_findings(grant, kind)
    if kind == "identity" and not _is_admin(findings):
        findings += escalation_findings(satisfied(grants), "in this policy")
    return _sorted(findings)


def analyze_policy(document: dict[str, Any] | str, policy_type: str = "identity") -> list[Finding]:
    """Findings for one policy document: a dict, JSON text or URL-encoded JSON; policy_type is
    "identity", "resource" or "trust". Never raises. Sorted by severity (desc), then statement index."""
    try:
        return _analyze(document, policy_type)
    except Exception as error:  # the contract: a document can never crash the caller (a Lambda, CI)
        return [_malformed(f"policy document could not be analyzed: {type(error).__name__}: {error}")]


def _statements_of(documents: Iterable[Any]) -> tuple[list[list[Statement]], list[Finding]]:
    per_document: list[list[Statement]] = []
    problems: list[Finding] = []
    for number, document in enumerate(documents):
        parsed = parse_document(document)
        per_document.append(parsed.statements)
        problems += [_malformed(f"policy {number}: {message}", index) for index, message in parsed.problems]
    return per_document, problems


def _analyze_principal(documents: Iterable[Any]) -> list[Finding]:
    per_document, problems = _statements_of(documents)
    alone: set[str] = set()
    for statements in per_document:
        alone |= set(satisfied(grants_of(statements)))
    every_statement = [statement for statements in per_document for statement in statements]
    denied = unconditional_denies(every_statement)
    combined = satisfied(grants_of(every_statement, denied))
    only_combined = {name: reaches for name, reaches in combined.items() if name not in alone}
    findings = escalation_findings(only_combined, "when this principal's policies are combined")
    return _sorted(problems + [_without_statement(item, len(per_document)) for item in findings])


def _without_statement(item: Finding, document_count: int) -> Finding:
    """A principal-level finding spans documents: no single statement index, the message says so."""
    return finding(
        item.code,
        item.severity,
        item.message.split(" (statements")[0] + f" (across {document_count} policies)",
        None,
        item.actions,
        item.resources,
    )


def analyze_principal(documents: Iterable[dict[str, Any] | str]) -> list[Finding]:
    """Privilege escalation that only appears when all the identity policies attached to ONE principal
    are combined (each document alone is analyzed by analyze_policy). Never raises."""
    try:
        return _analyze_principal(list(documents))
    except Exception as error:  # same contract as analyze_policy
        return [_malformed(f"policies could not be analyzed: {type(error).__name__}: {error}")]
