"""analyze_policy and analyze_principal: parse, expand, run the detection units of the registry that apply
(iam_guard.analysis.detections), sort; within a time budget (H-6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from iam_guard.analysis import budget
from iam_guard.analysis.conditions import never_true
from iam_guard.analysis.detections import STAR_ACTION, units
from iam_guard.analysis.detections.escalation import escalation_findings
from iam_guard.analysis.detections.incomplete import internal_error, malformed, unfinished
from iam_guard.analysis.detections.unit import (
    ACTIONS,
    GRANT,
    IDENTITY,
    POLICY,
    PRINCIPAL,
    PRINCIPALS,
    TRUST,
)
from iam_guard.analysis.detections.wildcard_action import star_action_findings
from iam_guard.analysis.document import Statement, parse_document
from iam_guard.analysis.escalation import satisfied
from iam_guard.analysis.grants import Grant, grants_of, resource_facts, unconditional_denies
from iam_guard.analysis.index import load_index
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.patterns import has_full

_POLICY_TYPES = frozenset({"identity", "resource", "trust"})


class _Progress:
    """What one analysis has found so far, and the statements it read (analyze_policy only: the cheap
    last look for administrator grants when the budget runs out)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.statements: list[Statement] = []
        self.kind = IDENTITY


def _guarded(work: Callable[[_Progress], None], budget_seconds: float | None) -> list[Finding]:
    """Run work(progress) within the budget; an exhausted budget or an exception adds its finding to the
    findings gathered so far. Never raises."""
    progress = _Progress()
    try:
        with budget.time_budget(budget_seconds):
            work(progress)
    except budget.BudgetExceeded as stopped:
        progress.findings += _admin_grants_not_yet_reported(progress)
        progress.findings.append(unfinished(budget_seconds or 0.0, stopped.activity))
    except Exception as error:  # the contract: a document can never crash the caller (a Lambda, CI)
        progress.findings.append(internal_error(error))
    return _sorted(progress.findings)


def _admin_grants_not_yet_reported(progress: _Progress) -> list[Finding]:
    """H-6: when the budget runs out, an Allow of '*' read so far is still reported as IAMG001. It costs
    no expansion: a slow wildcard cannot hide an administrator grant. Deny statements are not weighed."""
    if progress.kind == TRUST:
        return []
    reported = {f.statement_index for f in progress.findings if f.code == STAR_ACTION.code}
    found = []
    for statement in progress.statements:
        if statement.index in reported or not statement.is_allow or statement.actions is None:
            continue
        if not has_full(statement.actions) or never_true(statement.conditions):
            continue
        if statement.resources is None or statement.not_resources is not None:
            star = True
        else:
            star = resource_facts(statement.resources)[0]
        grant = Grant(statement, load_index().everything, frozenset(), star, star, True)
        found += star_action_findings(grant, progress.kind, after_timeout=True)
    return found


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


def _grant_findings(grant: Grant, policy_type: str) -> list[Finding]:
    """Every grant unit in registry order; once the '*' action is reported, only the units that still run
    after it (the '*' subsumes the narrower checks of the same statement)."""
    findings: list[Finding] = []
    star_reported = False
    for unit in units(GRANT, policy_type):
        if star_reported and not unit.after_star_action:
            continue
        assert unit.check is not None
        found = unit.check(grant, policy_type)
        findings += found
        star_reported = star_reported or (unit is STAR_ACTION and bool(found))
    return findings


def _is_admin(findings: list[Finding]) -> bool:
    return any(f.code == STAR_ACTION.code and f.severity is Severity.CRITICAL for f in findings)


def _statement_label(statement: Statement) -> str:
    shown = ", ".join(statement.action_patterns)
    shown = shown if len(shown) <= 80 else shown[:80] + "..."
    return f"statement {statement.index} (actions {shown})"


def _about(template: str, statement: Statement) -> Callable[[], str]:
    """The activity `template` words for one statement ("checking what {} grants"), for budget.doing:
    the label is only built when the budget runs out there."""
    return lambda: template.format(_statement_label(statement))


def _statement_findings(scope: str, statement: Statement, policy_type: str) -> list[Finding]:
    return [f for unit in units(scope, policy_type) if unit.check for f in unit.check(statement, policy_type)]


def _analyze(document: Any, policy_type: str, progress: _Progress) -> None:
    """Append every finding of one document to the progress as it goes (so a budget that runs out keeps
    what was found before)."""
    findings = progress.findings
    kind = str(policy_type).lower()
    if kind not in _POLICY_TYPES:
        findings.append(malformed(f"unknown policy type {policy_type!r}; analyzed as an identity policy"))
        kind = IDENTITY
    progress.kind = kind
    parsed = parse_document(document)  # linear in the text (json.loads): no deadline check before it
    progress.statements = parsed.statements
    findings += [malformed(message, index) for index, message in parsed.problems]
    for statement in parsed.statements:
        budget.doing(_about("expanding the actions of {}", statement))
        findings += _statement_findings(ACTIONS, statement, kind)
    if units(PRINCIPALS, kind):
        for statement in parsed.statements:
            budget.doing(f"checking the principals of statement {statement.index}")
            findings += _statement_findings(PRINCIPALS, statement, kind)
    if not units(GRANT, kind) and not units(POLICY, kind):
        return  # a trust policy grants no actions to analyze
    budget.doing("working out what the statements grant after their denies")
    grants = grants_of(parsed.statements)
    for grant in grants:
        budget.doing(_about("checking what {} grants", grant.statement))
        findings += _grant_findings(grant, kind)
    admin = _is_admin(findings)
    for unit in units(POLICY, kind):
        if admin and not unit.after_star_action:
            continue
        budget.doing("looking for privilege escalation across the statements")
        assert unit.check is not None
        findings += unit.check(grants, kind)


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
        problems += [malformed(f"policy {number}: {message}", index) for index, message in parsed.problems]
    return per_document, problems


def _analyze_principal(documents: list[Any], progress: _Progress) -> None:
    findings = progress.findings
    per_document, problems = _statements_of(documents)
    findings += problems
    if not units(POLICY, PRINCIPAL):
        return
    alone: set[str] = set()
    for number, statements in enumerate(per_document):
        budget.doing(f"looking for privilege escalation in policy {number}")
        alone |= set(satisfied(grants_of(statements)))
    every_statement = [statement for statements in per_document for statement in statements]
    budget.doing(f"combining the {len(per_document)} policies")
    denied = unconditional_denies(every_statement)
    combined = satisfied(grants_of(every_statement, denied))
    only_combined = {name: reaches for name, reaches in combined.items() if name not in alone}
    findings += escalation_findings(
        only_combined, "when this principal's policies are combined", policies=len(per_document)
    )


def analyze_principal(
    documents: Iterable[dict[str, Any] | str], *, budget_seconds: float | None = None
) -> list[Finding]:
    """Privilege escalation that only appears when all the identity policies attached to ONE principal
    are combined (each document alone is analyzed by analyze_policy). Never raises; the budget and
    internal errors behave as in analyze_policy."""
    return _guarded(lambda progress: _analyze_principal(list(documents), progress), budget_seconds)
