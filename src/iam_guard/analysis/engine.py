"""analyze_policy and analyze_principal: parse, expand, run the checks, sort; within a time budget (H-6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from iam_guard.analysis import budget, codes
from iam_guard.analysis.checks import GRANT_CHECKS, check_unknown_actions, check_wildcard_action, finding
from iam_guard.analysis.conditions import never_true
from iam_guard.analysis.document import Statement, parse_document
from iam_guard.analysis.escalation import escalation_findings, satisfied
from iam_guard.analysis.grants import Grant, grants_of, resource_facts, unconditional_denies
from iam_guard.analysis.index import load_index
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.patterns import is_full
from iam_guard.analysis.principals import check_resource_principals, check_trust

_POLICY_TYPES = frozenset({"identity", "resource", "trust"})
_AFTER_TIMEOUT = " (reported after the time budget ran out; denies not weighed)"


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


def _unfinished(seconds: float, stopped: budget.BudgetExceeded) -> Finding:
    """H-6: the budget ran out; what could not be analyzed is itself a finding."""
    return Finding(
        code=codes.ANALYSIS_TIMEOUT,
        severity=Severity.HIGH,
        message=f"could not be analyzed within {seconds:g} s: stopped while {stopped.activity}; the findings "
        f"before this one are incomplete",
        statement_index=None,
        sid=None,
        actions=(),
        resources=(),
        remediation=codes.CODES[codes.ANALYSIS_TIMEOUT].remediation,
    )


def _internal_error(error: Exception) -> Finding:
    """H-6: an analyzer bug must not pass for a clean (or a merely malformed) policy."""
    detail = str(error)
    detail = detail if len(detail) <= 120 else detail[:120] + "... (truncated)"
    return Finding(
        code=codes.ANALYSIS_ERROR,
        severity=Severity.HIGH,
        message=f"could not be analyzed: internal error {type(error).__name__}"
        + (f": {detail}" if detail else ""),
        statement_index=None,
        sid=None,
        actions=(),
        resources=(),
        remediation=codes.CODES[codes.ANALYSIS_ERROR].remediation,
    )


class _Progress:
    """What one analysis has found so far, and the statements it read (analyze_policy only: the cheap
    last look for administrator grants when the budget runs out)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.statements: list[Statement] = []
        self.kind = "identity"


def _guarded(work: Callable[[_Progress], None], budget_seconds: float | None) -> list[Finding]:
    """Run work(progress) within the budget; an exhausted budget or an exception adds its finding to the
    findings gathered so far. Never raises."""
    progress = _Progress()
    try:
        with budget.time_budget(budget_seconds):
            work(progress)
    except budget.BudgetExceeded as stopped:
        progress.findings += _admin_grants_not_yet_reported(progress)
        progress.findings.append(_unfinished(budget_seconds or 0.0, stopped))
    except Exception as error:  # the contract: a document can never crash the caller (a Lambda, CI)
        progress.findings.append(_internal_error(error))
    return _sorted(progress.findings)


def _admin_grants_not_yet_reported(progress: _Progress) -> list[Finding]:
    """H-6: when the budget runs out, an Allow of '*' read so far is still reported as IAMG001. It costs
    no expansion: a slow wildcard cannot hide an administrator grant. Deny statements are not weighed."""
    if progress.kind == "trust":
        return []
    reported = {f.statement_index for f in progress.findings if f.code == codes.WILDCARD_ACTION}
    found = []
    for statement in progress.statements:
        if statement.index in reported or not statement.is_allow or statement.actions is None:
            continue
        if not any(map(is_full, statement.actions)) or never_true(statement.conditions):
            continue
        if statement.resources is None or statement.not_resources is not None:
            star = True
        else:
            star = resource_facts(statement.resources)[0]
        grant = Grant(statement, load_index().everything, frozenset(), star, star, True)
        found += [
            replace(item, message=item.message + _AFTER_TIMEOUT)
            for item in check_wildcard_action(grant, progress.kind)
        ]
    return found


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


def _statement_label(statement: Statement) -> str:
    shown = ", ".join(statement.action_patterns)
    shown = shown if len(shown) <= 80 else shown[:80] + "..."
    return f"statement {statement.index} (actions {shown})"


def _analyze(document: Any, policy_type: str, progress: _Progress) -> None:
    """Append every finding of one document to the progress as it goes (so a budget that runs out keeps
    what was found before)."""
    findings = progress.findings
    kind = str(policy_type).lower()
    if kind not in _POLICY_TYPES:
        findings.append(_malformed(f"unknown policy type {policy_type!r}; analyzed as an identity policy"))
        kind = "identity"
    progress.kind = kind
    parsed = parse_document(document)  # linear in the text (json.loads): no deadline check before it
    progress.statements = parsed.statements
    findings += [_malformed(message, index) for index, message in parsed.problems]
    for statement in parsed.statements:
        budget.doing(f"expanding the actions of {_statement_label(statement)}")
        findings += check_unknown_actions(statement)
    if kind == "trust":
        for statement in parsed.statements:
            budget.doing(f"checking the principals of statement {statement.index}")
            findings += check_trust(statement)
        return
    if kind == "resource":
        for statement in parsed.statements:
            budget.doing(f"checking the principals of statement {statement.index}")
            findings += check_resource_principals(statement)
    budget.doing("working out what the statements grant after their denies")
    grants = grants_of(parsed.statements)
    for grant in grants:
        budget.doing(f"checking what {_statement_label(grant.statement)} grants")
        findings += _grant_findings(grant, kind)
    if kind == "identity" and not _is_admin(findings):
        budget.doing("looking for privilege escalation across the statements")
        findings += escalation_findings(satisfied(grants), "in this policy")


def analyze_policy(
    document: dict[str, Any] | str, policy_type: str = "identity", *, budget_seconds: float | None = None
) -> list[Finding]:
    """Findings for one policy document: a dict, JSON text or URL-encoded JSON; policy_type is
    "identity", "resource" or "trust". Sorted by severity (desc), then statement index. Never raises:
    when `budget_seconds` runs out, the findings so far come back with one HIGH IAMG019 finding; an
    internal error is one HIGH IAMG020 finding."""
    return _guarded(lambda progress: _analyze(document, policy_type, progress), budget_seconds)


def _statements_of(documents: Iterable[Any]) -> tuple[list[list[Statement]], list[Finding]]:
    per_document: list[list[Statement]] = []
    problems: list[Finding] = []
    for number, document in enumerate(documents):
        budget.doing(f"reading policy {number}")
        parsed = parse_document(document)
        per_document.append(parsed.statements)
        problems += [_malformed(f"policy {number}: {message}", index) for index, message in parsed.problems]
    return per_document, problems


def _analyze_principal(documents: list[Any], progress: _Progress) -> None:
    findings = progress.findings
    per_document, problems = _statements_of(documents)
    findings += problems
    alone: set[str] = set()
    for number, statements in enumerate(per_document):
        budget.doing(f"looking for privilege escalation in policy {number}")
        alone |= set(satisfied(grants_of(statements)))
    every_statement = [statement for statements in per_document for statement in statements]
    budget.doing(f"combining the {len(per_document)} policies")
    denied = unconditional_denies(every_statement)
    combined = satisfied(grants_of(every_statement, denied))
    only_combined = {name: reaches for name, reaches in combined.items() if name not in alone}
    escalations = escalation_findings(only_combined, "when this principal's policies are combined")
    findings += [_without_statement(item, len(per_document)) for item in escalations]


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


def analyze_principal(
    documents: Iterable[dict[str, Any] | str], *, budget_seconds: float | None = None
) -> list[Finding]:
    """Privilege escalation that only appears when all the identity policies attached to ONE principal
    are combined (each document alone is analyzed by analyze_policy). Never raises; the budget and
    internal errors behave as in analyze_policy."""
    return _guarded(lambda progress: _analyze_principal(list(documents), progress), budget_seconds)
