"""IAMG007 (ANA-7): iam:PassRole on every role."""

from __future__ import annotations

from iam_guard.analysis.conditions import narrowing
from iam_guard.analysis.detections.unit import GRANT, IDENTITY, Detection, Example, allow, policy
from iam_guard.analysis.grants import Grant
from iam_guard.analysis.model import Finding, Severity


def check(grant: Grant, policy_type: str) -> list[Finding]:
    if policy_type != IDENTITY or not grant.every_of_type or "iam:passrole" not in grant.named_actions:
        return []
    statement = grant.statement
    return [
        UNIT.finding(
            Severity.HIGH,
            f"statement {statement.index} allows iam:PassRole on every role: any role, however powerful, "
            f"can be handed to a service",
            statement,
            ("iam:PassRole",),
            grant.resources,
            narrowing(statement.conditions, frozenset({"iam"})),
        )
    ]


_PASSED_TO_LAMBDA = {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}

UNIT = Detection(
    code="IAMG007",
    requirement="ANA-7",
    title="iam:PassRole on every role",
    detects="iam:PassRole on `*`",
    severity=Severity.HIGH,
    severity_rule="high",
    scope=GRANT,
    policy_types=frozenset({IDENTITY}),
    after_star_action=False,
    remediation="Scope iam:PassRole to the role ARNs and add an iam:PassedToService condition.",
    good=(Example(policy(allow("iam:PassRole", "arn:aws:iam::123456789012:role/app-worker"))),),
    bad=(
        Example(policy(allow("iam:PassRole")), severity=Severity.HIGH),
        Example(policy(allow("iam:PassRole", "arn:aws:iam::*:role/*")), severity=Severity.HIGH),
        Example(policy(allow("iam:PassRole", Condition=_PASSED_TO_LAMBDA)), severity=Severity.LOW),
    ),
    check=check,
)
