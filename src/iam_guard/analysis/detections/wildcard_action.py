"""IAMG001 (ANA-1): '*' in the Action of an Allow."""

from __future__ import annotations

from iam_guard.analysis.conditions import narrowing
from iam_guard.analysis.detections.facts import OWN_ACCOUNT_NOTE, delegates_to_own_account
from iam_guard.analysis.detections.unit import GRANT, IDENTITY, RESOURCE, Detection, Example, allow, policy
from iam_guard.analysis.grants import Grant, keeps_most_actions
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.patterns import has_full


def check(grant: Grant, policy_type: str) -> list[Finding]:
    return star_action_findings(grant, policy_type)


def star_action_findings(grant: Grant, policy_type: str, after_timeout: bool = False) -> list[Finding]:
    """The finding for '*'; `after_timeout` says it was reported after the time budget ran out (H-6)."""
    statement = grant.statement
    if statement.actions is None or not has_full(statement.actions):
        return []
    if not keeps_most_actions(grant.actions):  # denies took most of '*': the other checks judge the rest
        return []
    if policy_type == RESOURCE and delegates_to_own_account(statement):
        severity, where = Severity.LOW, "on this resource" + OWN_ACCOUNT_NOTE
    elif policy_type == RESOURCE:
        severity, where = Severity.HIGH, "on this resource"
    elif grant.star_resource:
        severity, where = Severity.CRITICAL, "on every resource (administrator access)"
    else:
        severity, where = Severity.MEDIUM, "on the named resources"
    late = " (reported after the time budget ran out; denies not weighed)" if after_timeout else ""
    return [
        UNIT.finding(
            severity,
            f"statement {statement.index} allows every action '*' {where}{late}",
            statement,
            ("*",),
            grant.resources,
            narrowing(statement.conditions),
        )
    ]


_OTHER_ACCOUNT = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "*"}

UNIT = Detection(
    code="IAMG001",
    requirement="ANA-1",
    title="Wildcard action",
    detects="`*` in Action of an Allow",
    severity=Severity.CRITICAL,
    severity_rule="critical on `*` resource, medium on a named resource",
    scope=GRANT,
    policy_types=frozenset({IDENTITY, RESOURCE}),
    after_star_action=True,
    remediation="Name the actions the workload calls instead of '*'.",
    good=(
        Example(policy(allow("s3:GetObject", "arn:aws:s3:::reports/*"))),
        Example(policy({"Effect": "Deny", "Action": "*", "Resource": "*"})),
    ),
    bad=(
        Example(policy(allow("*")), severity=Severity.CRITICAL),
        Example(policy(allow("*", "arn:aws:s3:::reports")), severity=Severity.MEDIUM),
        Example(policy(_OTHER_ACCOUNT), RESOURCE, severity=Severity.HIGH),
    ),
    check=check,
)
