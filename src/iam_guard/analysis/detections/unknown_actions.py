"""IAMG011 and IAMG012: action patterns the action index does not know. A typo grants nothing in an Allow
and, worse, denies nothing in a Deny. One finding of each kind per statement."""

from __future__ import annotations

from iam_guard.analysis.detections.facts import short_list
from iam_guard.analysis.detections.unit import (
    ACTIONS,
    EVERY_POLICY_TYPE,
    Detection,
    Example,
    allow,
    policy,
)
from iam_guard.analysis.document import Statement
from iam_guard.analysis.index import unknown_service_note
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.patterns import summarize


def _severity_and_effect(statement: Statement) -> tuple[Severity, str]:
    return (Severity.LOW, "grants") if statement.is_allow else (Severity.MEDIUM, "denies")


def check_services(statement: Statement, policy_type: str) -> list[Finding]:
    found = list(summarize(statement.action_patterns).unknown_services)
    if not found:
        return []
    severity, effect = _severity_and_effect(statement)
    return [
        SERVICES.finding(
            severity,
            f"statement {statement.index}: {short_list(found)} name a service {unknown_service_note()}; "
            f"a typo {effect} nothing",
            statement,
            found,
            statement.shown_resources,
        )
    ]


def check_actions(statement: Statement, policy_type: str) -> list[Finding]:
    found = list(summarize(statement.action_patterns).unknown_actions)
    if not found:
        return []
    severity, effect = _severity_and_effect(statement)
    return [
        ACTIONS_UNIT.finding(
            severity,
            f"statement {statement.index}: {short_list(found)} match no action known to the action index "
            f"(a typo {effect} nothing)",
            statement,
            found,
            statement.shown_resources,
        )
    ]


_DENY_TYPO = {"Effect": "Deny", "Action": "s3:DeleteBuckett", "Resource": "*"}

SERVICES = Detection(
    code="IAMG011",
    requirement="ANA-1",
    title="Unknown service prefix",
    detects='unknown service prefix (a typo grants nothing, or denies nothing): "unknown to this index '
    '(built DATE)"',
    severity=Severity.MEDIUM,
    severity_rule="low (Allow), medium (Deny)",
    scope=ACTIONS,
    policy_types=EVERY_POLICY_TYPE,
    after_star_action=True,
    remediation="Fix the service prefix; an unknown prefix grants or denies nothing.",
    good=(Example(policy(allow("s3:GetObject", "arn:aws:s3:::reports/*"))),),
    bad=(
        Example(policy(allow("s4:GetObject", "arn:aws:s3:::reports/*")), severity=Severity.LOW),
        Example(policy({"Effect": "Deny", "Action": "iamm:*", "Resource": "*"}), severity=Severity.MEDIUM),
    ),
    check=check_services,
)

ACTIONS_UNIT = Detection(
    code="IAMG012",
    requirement="ANA-1",
    title="Unknown action",
    detects="unknown action or a wildcard that matches no action",
    severity=Severity.MEDIUM,
    severity_rule="low (Allow), medium (Deny)",
    scope=ACTIONS,
    policy_types=EVERY_POLICY_TYPE,
    after_star_action=True,
    remediation="Fix the action name; an unknown action grants or denies nothing.",
    good=(Example(policy(allow("s3:Get*", "arn:aws:s3:::reports/*"))),),
    bad=(
        Example(policy(allow("s3:GetObjekt", "arn:aws:s3:::reports/*")), severity=Severity.LOW),
        Example(policy(_DENY_TYPO), severity=Severity.MEDIUM),
    ),
    check=check_actions,
)
