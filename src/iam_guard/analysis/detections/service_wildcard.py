"""IAMG003 (ANA-3): 'service:*' in Action; the severity follows the most powerful access level it holds."""

from __future__ import annotations

from iam_guard.analysis.detections.facts import (
    OWN_ACCOUNT_NOTE,
    delegates_to_own_account,
    has_level,
    narrowing_for,
)
from iam_guard.analysis.detections.unit import GRANT, IDENTITY, RESOURCE, Detection, Example, allow, policy
from iam_guard.analysis.grants import Grant
from iam_guard.analysis.index import PERMISSIONS, WRITE, expand_all, is_known_service
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.patterns import FULL, SERVICE, is_service_wildcard, pattern_kinds


def check(grant: Grant, policy_type: str) -> list[Finding]:
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
    if not grant.star_resource or policy_type == RESOURCE:
        severity = severity.lowered(1)
    delegated = policy_type == RESOURCE and delegates_to_own_account(statement)
    if delegated:
        severity = min(severity, Severity.LOW)
    return [
        UNIT.finding(
            severity,
            f"statement {statement.index} allows every action of {', '.join(sorted(wildcards))} "
            f"({len(actions)} actions)" + (OWN_ACCOUNT_NOTE if delegated else ""),
            statement,
            sorted(wildcards),
            grant.resources,
            narrowing_for(statement, actions),
        )
    ]


_DEFAULT_KEY_POLICY = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"},
    "Action": "kms:*",
    "Resource": "*",
}

UNIT = Detection(
    code="IAMG003",
    requirement="ANA-3",
    title="Service-wide wildcard",
    detects="service wildcard (`iam:*`, `s3:*`)",
    severity=Severity.HIGH,
    severity_rule="high if it holds permissions management on `*`, medium for write, low for read-only; low "
    "in a resource policy whose only principal is this account (the default key policy, ANA-13)",
    scope=GRANT,
    policy_types=frozenset({IDENTITY, RESOURCE}),
    after_star_action=False,
    remediation="List the service's actions the workload needs instead of 'service:*'.",
    good=(
        Example(policy(allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::reports/*"))),
        Example(policy(allow(["*", "iam:*"]))),  # '*' subsumes it: IAMG001 only
    ),
    bad=(
        Example(policy(allow("iam:*")), severity=Severity.HIGH),
        Example(policy(allow("athena:*")), severity=Severity.MEDIUM),
        Example(
            policy(allow("athena:*", "arn:aws:athena:us-east-1:123456789012:workgroup/*")),
            severity=Severity.LOW,
        ),
        Example(policy(_DEFAULT_KEY_POLICY), RESOURCE, severity=Severity.LOW),
    ),
    check=check,
)
