"""IAMG004 (ANA-4) and IAMG005 (ANA-5): an Allow with NotAction or NotResource grants everything else."""

from __future__ import annotations

from iam_guard.analysis.conditions import narrowing
from iam_guard.analysis.detections.facts import has_level, narrowing_for
from iam_guard.analysis.detections.unit import GRANT, IDENTITY, RESOURCE, Detection, Example, allow, policy
from iam_guard.analysis.grants import Grant
from iam_guard.analysis.index import PERMISSIONS
from iam_guard.analysis.model import Finding, Severity


def check_not_action(grant: Grant, policy_type: str) -> list[Finding]:
    statement = grant.statement
    if statement.not_actions is None:
        return []
    severity = Severity.HIGH if grant.star_resource else Severity.MEDIUM
    return [
        NOT_ACTION.finding(
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
    statement = grant.statement
    if statement.not_resources is None:
        return []
    severity = Severity.HIGH if has_level(grant.actions, PERMISSIONS) else Severity.MEDIUM
    return [
        NOT_RESOURCE.finding(
            severity,
            f"statement {statement.index} allows its actions on every resource except "
            f"{', '.join(statement.not_resources)}",
            statement,
            statement.action_patterns,
            statement.not_resources,
            narrowing_for(statement, grant.actions),
        )
    ]


_BUCKET = "arn:aws:s3:::reports"

NOT_ACTION = Detection(
    code="IAMG004",
    requirement="ANA-4",
    title="Allow with NotAction",
    detects="Allow with NotAction",
    severity=Severity.HIGH,
    severity_rule="high on `*`, medium on named resources",
    scope=GRANT,
    policy_types=frozenset({IDENTITY, RESOURCE}),
    after_star_action=True,
    remediation="Use Action with an explicit list; NotAction in an Allow grants every other action.",
    good=(
        Example(policy({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"})),
        Example(policy(allow("s3:GetObject", _BUCKET + "/*"))),
    ),
    bad=(
        Example(policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), severity=Severity.HIGH),
        Example(
            policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": _BUCKET}), severity=Severity.MEDIUM
        ),
    ),
    check=check_not_action,
)

NOT_RESOURCE = Detection(
    code="IAMG005",
    requirement="ANA-5",
    title="Allow with NotResource",
    detects="Allow with NotResource",
    severity=Severity.HIGH,
    severity_rule="high with permissions management, else medium",
    scope=GRANT,
    policy_types=frozenset({IDENTITY, RESOURCE}),
    after_star_action=True,
    remediation="Use Resource with explicit ARNs; NotResource in an Allow grants everything else.",
    good=(
        Example(policy({"Effect": "Deny", "Action": "s3:*", "NotResource": _BUCKET})),
        Example(policy(allow("s3:GetObject", _BUCKET + "/*"))),
    ),
    bad=(
        Example(
            policy({"Effect": "Allow", "Action": "iam:PutRolePolicy", "NotResource": _BUCKET}),
            severity=Severity.HIGH,
        ),
        Example(
            policy({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": _BUCKET}),
            severity=Severity.MEDIUM,
        ),
    ),
    check=check_not_resource,
)
