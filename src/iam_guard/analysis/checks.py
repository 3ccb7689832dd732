"""Per-statement detections. Each check takes a Grant (an Allow statement with its effective actions) and
returns findings; trust and resource-policy principal checks take the Statement."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from iam_guard.analysis import codes
from iam_guard.analysis.conditions import NO_NARROWING, Narrowing, narrowing
from iam_guard.analysis.document import Statement
from iam_guard.analysis.grants import Grant, keeps_most_actions, without_placeholder_colons
from iam_guard.analysis.index import (
    PERMISSIONS,
    WRITE,
    expand_all,
    is_known_service,
    load_index,
    unknown_service_note,
)
from iam_guard.analysis.knowledge import (
    AWS_DEFINED_PERMISSIONS,
    CREDENTIAL_ACTIONS,
    LOW_IMPACT_WRITES,
    NOT_EXPOSURE,
    SENSITIVE_DATA_ACTIONS,
    SINGLE_ACTION_ESCALATIONS,
    is_read_only_name,
    is_resource_policy_change,
)
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.patterns import (
    FULL,
    SERVICE,
    UNKNOWN_ACTION,
    UNKNOWN_SERVICE,
    is_full,
    is_service_wildcard,
    pattern_kind,
    pattern_kinds,
)


def finding(
    code: str,
    severity: Severity,
    message: str,
    statement: Statement | None,
    actions: Iterable[str] = (),
    resources: Iterable[str] = (),
    narrowed: Narrowing | None = None,
) -> Finding:
    """A Finding with the code's remediation, lowered by `narrowed` (ANA-10) and saying so."""
    levels = narrowed.levels if narrowed else 0
    note = narrowed.note() if narrowed else ""
    return Finding(
        code=code,
        severity=severity.lowered(levels),
        message=message + note,
        statement_index=statement.index if statement else None,
        sid=statement.sid if statement else None,
        actions=tuple(actions),
        resources=tuple(resources),
        remediation=codes.CODES[code].remediation,
    )


def canonical(actions: Iterable[str]) -> list[str]:
    """Catalogue spelling ('iam:PassRole'), sorted."""
    known = load_index().actions
    return sorted(info.name if (info := known.get(action)) else action for action in actions)


def services_of(actions: Iterable[str]) -> frozenset[str]:
    return frozenset(action.partition(":")[0] for action in actions)


def narrowing_for(statement: Statement, actions: Iterable[str]) -> Narrowing:
    """ANA-10 narrowing of a statement for findings about `actions` (their services are only worked out
    when the statement has conditions at all)."""
    if not statement.conditions:
        return NO_NARROWING
    return narrowing(statement.conditions, services_of(actions))


def specific_actions(grant: Grant) -> frozenset[str]:
    """Effective actions named by patterns other than '*' and 'service:*' (those have their own checks)."""
    return grant.named_actions


@dataclass(frozen=True)
class ActionSets:
    """Catalogue-wide sets, built once, so the checks use C-level set operations instead of per-action
    lookups: every action at an access level, the ones that support resource-level permissions, and the
    ANA-2 categories for '*' (resource-policy changes, other permissions management, other writes)."""

    by_level: dict[str, frozenset[str]]
    scoped: frozenset[str]
    exposure: frozenset[str]
    permissions: frozenset[str]
    writes: frozenset[str]


@functools.cache
def action_sets() -> ActionSets:
    actions = load_index().actions
    by_level: dict[str, set[str]] = {}
    for action, info in actions.items():
        by_level.setdefault(info.level, set()).add(action)
    scoped = frozenset(action for action, info in actions.items() if info.resource_types)
    changing = by_level.get(PERMISSIONS, set()) | by_level.get(WRITE, set())
    reads = frozenset(a for a in changing if is_read_only_name(a))
    candidates = (scoped & changing) - {"iam:passrole"} - reads  # ANA-7 reports iam:PassRole
    exposure = frozenset(a for a in candidates if is_resource_policy_change(a, actions[a].level))
    # ANA-13: permissions-management actions that let nobody in count as writes
    as_writes = AWS_DEFINED_PERMISSIONS | NOT_EXPOSURE
    permissions = (candidates & by_level.get(PERMISSIONS, set())) - exposure - as_writes
    writes = (candidates & by_level.get(WRITE, set())) - exposure
    return ActionSets(
        by_level={level: frozenset(names) for level, names in by_level.items()},
        scoped=scoped,
        exposure=exposure,
        permissions=permissions,
        writes=writes | (candidates & as_writes),
    )


def has_level(actions: frozenset[str], level: str) -> bool:
    return not actions.isdisjoint(action_sets().by_level.get(level, frozenset()))


# ---------------------------------------------------------------- identity and resource policies

# This account as CloudFormation writes it: ${AWS::AccountId} alone or in its root ARN (placeholder colons
# already turned into dots by without_placeholder_colons).
_OWN_ACCOUNT = re.compile(r"(arn:[^:]+:iam::)?\$\{AWS\.\.AccountId\}(:root)?")
OWN_ACCOUNT_NOTE = " to this account only, whose own IAM policies decide who may use it"


def delegates_to_own_account(statement: Statement) -> bool:
    """ANA-13: a resource-policy statement whose only principal is this account, as in AWS's default key
    policy (the account root with kms:*). It exposes nothing: it hands the resource to the account's IAM
    policies, which are analyzed where they are. A literal account ID may be another account: not this."""
    principal = statement.principal
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    values = principal["AWS"] if isinstance(principal["AWS"], list) else [principal["AWS"]]
    return bool(values) and all(
        isinstance(value, str) and _OWN_ACCOUNT.fullmatch(without_placeholder_colons(value.strip()))
        for value in values
    )


def check_wildcard_action(grant: Grant, policy_type: str) -> list[Finding]:
    """ANA-1: '*' in Action."""
    statement = grant.statement
    if statement.actions is None or not any(map(is_full, statement.actions)):
        return []
    if not keeps_most_actions(grant.actions):  # denies took most of '*': the other checks judge the rest
        return []
    narrowed = narrowing(statement.conditions)
    if policy_type == "resource" and delegates_to_own_account(statement):
        severity, where = Severity.LOW, "on this resource" + OWN_ACCOUNT_NOTE
    elif policy_type == "resource":
        severity, where = Severity.HIGH, "on this resource"
    elif grant.star_resource:
        severity, where = Severity.CRITICAL, "on every resource (administrator access)"
    else:
        severity, where = Severity.MEDIUM, "on the named resources"
    return [
        finding(
            codes.WILDCARD_ACTION,
            severity,
            f"statement {statement.index} allows every action '*' {where}",
            statement,
            ("*",),
            grant.resources,
            narrowed,
        )
    ]


def check_service_wildcards(grant: Grant, policy_type: str) -> list[Finding]:
    """ANA-3: 'service:*' in Action; severity follows the most powerful access level it includes."""
    statement = grant.statement
    if statement.actions is None:
        return []
    kinds = pattern_kinds(statement.actions)
    if SERVICE not in kinds or FULL in kinds:
        return []
    wildcards = [
        p for p in statement.actions if is_service_wildcard(p) and is_known_service(p.partition(":")[0])
    ]
    if not wildcards:
        return []
    actions = expand_all(tuple(p.lower() for p in wildcards)) & grant.actions
    if not actions:
        return []
    if has_level(actions, PERMISSIONS):
        severity = Severity.HIGH
    elif has_level(actions, WRITE):
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    if not grant.star_resource or policy_type == "resource":
        severity = severity.lowered(1)
    delegated = policy_type == "resource" and delegates_to_own_account(statement)
    if delegated:
        severity = min(severity, Severity.LOW)
    narrowed = narrowing_for(statement, actions)
    return [
        finding(
            codes.SERVICE_WILDCARD,
            severity,
            f"statement {statement.index} allows every action of {', '.join(sorted(wildcards))} "
            f"({len(actions)} actions)" + (OWN_ACCOUNT_NOTE if delegated else ""),
            statement,
            sorted(wildcards),
            grant.resources,
            narrowed,
        )
    ]


def check_star_resource_writes(grant: Grant, policy_type: str) -> list[Finding]:
    """ANA-2 and IAMG014: write / permissions-management actions that support resource-level permissions,
    granted on '*'. Resource-policy changes get their own code; iam:PassRole has ANA-7."""
    if policy_type != "identity" or not grant.star_resource:
        return []
    statement = grant.statement
    named = specific_actions(grant)
    if not named:
        return []
    sets = action_sets()
    writes = list(named & sets.writes)
    permissions = list(named & sets.permissions)
    exposures = list(named & sets.exposure)
    findings = []
    if writes or permissions:
        found = writes + permissions
        if permissions:
            severity = Severity.HIGH
        elif LOW_IMPACT_WRITES.issuperset(writes):  # ANA-13: logs, agent status, a service's interfaces
            severity = Severity.LOW
        else:
            severity = Severity.MEDIUM
        kind = "permissions-management" if permissions else "write"
        findings.append(
            finding(
                codes.STAR_RESOURCE_WRITE,
                severity,
                f"statement {statement.index} allows {kind} actions on every resource '*': "
                f"{_short_list(canonical(found))}",
                statement,
                canonical(found),
                grant.resources,
                narrowing_for(statement, found),
            )
        )
    if exposures:
        findings.append(
            finding(
                codes.RESOURCE_POLICY_CHANGE_STAR,
                Severity.HIGH,
                f"statement {statement.index} may change resource policies on every resource '*': "
                f"{_short_list(canonical(exposures))}",
                statement,
                canonical(exposures),
                grant.resources,
                narrowing_for(statement, exposures),
            )
        )
    return findings


def check_not_action(grant: Grant, policy_type: str) -> list[Finding]:
    """ANA-4: Allow with NotAction grants every action not listed."""
    statement = grant.statement
    if statement.not_actions is None:
        return []
    severity = Severity.HIGH if grant.star_resource else Severity.MEDIUM
    return [
        finding(
            codes.ALLOW_NOT_ACTION,
            severity,
            f"statement {statement.index} allows every action except {', '.join(statement.not_actions)} "
            f"({len(grant.actions)} actions)",
            statement,
            statement.not_actions,
            grant.resources,
            narrowing(statement.conditions),
        )
    ]


def check_not_resource(grant: Grant, policy_type: str) -> list[Finding]:
    """ANA-5: Allow with NotResource grants on every resource not listed."""
    statement = grant.statement
    if statement.not_resources is None:
        return []
    severity = Severity.HIGH if has_level(grant.actions, PERMISSIONS) else Severity.MEDIUM
    return [
        finding(
            codes.ALLOW_NOT_RESOURCE,
            severity,
            f"statement {statement.index} allows its actions on every resource except "
            f"{', '.join(statement.not_resources)}",
            statement,
            statement.action_patterns,
            statement.not_resources,
            narrowing_for(statement, grant.actions),
        )
    ]


def check_passrole_star(grant: Grant, policy_type: str) -> list[Finding]:
    """ANA-7: iam:PassRole on every role."""
    if policy_type != "identity" or not grant.every_of_type:
        return []
    if "iam:passrole" not in specific_actions(grant):
        return []
    statement = grant.statement
    return [
        finding(
            codes.PASSROLE_STAR,
            Severity.HIGH,
            f"statement {statement.index} allows iam:PassRole on every role: any role, however powerful, "
            f"can be handed to a service",
            statement,
            ("iam:PassRole",),
            grant.resources,
            narrowing(statement.conditions, frozenset({"iam"})),
        )
    ]


def check_sensitive_data(grant: Grant, policy_type: str) -> list[Finding]:
    """ANA-8: secrets, parameters, key decryption and object/table reads on '*'."""
    if policy_type != "identity" or not grant.star_resource:
        return []
    found = specific_actions(grant) & SENSITIVE_DATA_ACTIONS
    if not found:
        return []
    statement = grant.statement
    return [
        finding(
            codes.SENSITIVE_DATA_STAR,
            Severity.MEDIUM,
            f"statement {statement.index} allows reading sensitive data on every resource '*': "
            f"{', '.join(canonical(found))}",
            statement,
            canonical(found),
            grant.resources,
            narrowing_for(statement, found),
        )
    ]


def check_credentials_exposure(grant: Grant, policy_type: str) -> list[Finding]:
    """Actions that return credentials, on '*' (escalation techniques report their own)."""
    if policy_type != "identity" or not grant.star_resource:
        return []
    found = list(
        (specific_actions(grant) & CREDENTIAL_ACTIONS & action_sets().scoped) - SINGLE_ACTION_ESCALATIONS
    )
    if not found:
        return []
    statement = grant.statement
    return [
        finding(
            codes.CREDENTIALS_EXPOSURE,
            Severity.MEDIUM,
            f"statement {statement.index} allows actions that return credentials on every resource '*': "
            f"{', '.join(canonical(found))}",
            statement,
            canonical(found),
            grant.resources,
            narrowing_for(statement, found),
        )
    ]


GRANT_CHECKS = (
    check_wildcard_action,
    check_service_wildcards,
    check_star_resource_writes,
    check_not_action,
    check_not_resource,
    check_passrole_star,
    check_sensitive_data,
    check_credentials_exposure,
)


def check_unknown_actions(statement: Statement) -> list[Finding]:
    """Unknown service prefixes and actions (or wildcards matching nothing), one finding of each kind per
    statement: a typo grants nothing in an Allow and, worse, denies nothing in a Deny."""
    kinds = pattern_kinds(statement.action_patterns)
    if UNKNOWN_SERVICE not in kinds and UNKNOWN_ACTION not in kinds:
        return []
    unknown_services: list[str] = []
    unknown_actions: list[str] = []
    for pattern in statement.action_patterns:
        kind = pattern_kind(pattern)
        if kind == UNKNOWN_SERVICE:
            unknown_services.append(pattern)
        elif kind == UNKNOWN_ACTION:
            unknown_actions.append(pattern)
    base = Severity.LOW if statement.is_allow else Severity.MEDIUM
    effect = "grants" if statement.is_allow else "denies"
    findings = []
    for code, found, what in (
        (codes.UNKNOWN_SERVICE, unknown_services, f"name a service {unknown_service_note()}"),
        (codes.UNKNOWN_ACTION, unknown_actions, "match no action known to the action index"),
    ):
        if found:
            findings.append(
                finding(
                    code,
                    base,
                    f"statement {statement.index}: {_short_list(found)} {what} (a typo {effect} nothing)",
                    statement,
                    found,
                    statement.shown_resources,
                )
            )
    return findings


def _short_list(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
