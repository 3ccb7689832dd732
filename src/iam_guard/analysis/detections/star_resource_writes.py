"""IAMG002 and IAMG014 (ANA-2): write and permissions-management actions that support resource-level
permissions, granted on '*'. Resource-policy changes have their own code; iam:PassRole has IAMG007."""

from __future__ import annotations

from iam_guard.analysis.detections.facts import action_sets, canonical, narrowing_for, short_list
from iam_guard.analysis.detections.unit import GRANT, IDENTITY, Detection, Example, allow, policy
from iam_guard.analysis.grants import Grant
from iam_guard.analysis.knowledge import LOW_IMPACT_WRITES
from iam_guard.analysis.model import Finding, Severity


def check_writes(grant: Grant, policy_type: str) -> list[Finding]:
    if policy_type != IDENTITY or not grant.star_resource or not grant.named_actions:
        return []
    sets = action_sets()
    writes = list(grant.named_actions & sets.writes)
    permissions = list(grant.named_actions & sets.permissions)
    if not writes and not permissions:
        return []
    found = writes + permissions
    if permissions:
        severity = Severity.HIGH
    elif LOW_IMPACT_WRITES.issuperset(writes):  # ANA-13: logs, agent status, a service's interfaces
        severity = Severity.LOW
    else:
        severity = Severity.MEDIUM
    kind = "permissions-management" if permissions else "write"
    statement = grant.statement
    shown = canonical(found)
    return [
        WRITES.finding(
            severity,
            f"statement {statement.index} allows {kind} actions on every resource '*': {short_list(shown)}",
            statement,
            shown,
            grant.resources,
            narrowing_for(statement, found),
        )
    ]


def check_resource_policy_changes(grant: Grant, policy_type: str) -> list[Finding]:
    if policy_type != IDENTITY or not grant.star_resource or not grant.named_actions:
        return []
    exposures = list(grant.named_actions & action_sets().exposure)
    if not exposures:
        return []
    statement = grant.statement
    shown = canonical(exposures)
    return [
        RESOURCE_POLICY_CHANGES.finding(
            Severity.HIGH,
            f"statement {statement.index} may change resource policies on every resource '*': "
            f"{short_list(shown)}",
            statement,
            shown,
            grant.resources,
            narrowing_for(statement, exposures),
        )
    ]


_NAMED_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
_LOG_WRITES = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]

WRITES = Detection(
    code="IAMG002",
    requirement="ANA-2",
    title="Write or permissions-management action on every resource",
    detects="`*` resource for Write / Permissions-management actions that support resource-level permissions",
    severity=Severity.HIGH,
    severity_rule="high (permissions management), medium (write), low when every write only appends logs, "
    "reports the SSM agent's state or manages a service's network interfaces (ANA-13)",
    scope=GRANT,
    policy_types=frozenset({IDENTITY}),
    after_star_action=False,
    remediation="Name the resource ARNs (or ARN patterns) the actions need instead of '*'.",
    good=(
        Example(policy(allow("dynamodb:PutItem", _NAMED_TABLE))),
        Example(policy(allow("s3:ListAllMyBuckets"))),  # no resource-level permissions
    ),
    bad=(
        Example(policy(allow("iam:AttachRolePolicy")), severity=Severity.HIGH),
        Example(policy(allow("dynamodb:PutItem")), severity=Severity.MEDIUM),
        Example(policy(allow(_LOG_WRITES)), severity=Severity.LOW),
    ),
    check=check_writes,
)

RESOURCE_POLICY_CHANGES = Detection(
    code="IAMG014",
    requirement="ANA-2",
    title="Resource-policy changes on every resource",
    detects="resource-policy changes on `*` (s3:PutBucketPolicy, kms:PutKeyPolicy, "
    "iam:UpdateAssumeRolePolicy...)",
    severity=Severity.HIGH,
    severity_rule="high",
    scope=GRANT,
    policy_types=frozenset({IDENTITY}),
    after_star_action=False,
    remediation="Scope resource-policy changes to named resources; they can expose data to other accounts or "
    "the public.",
    good=(
        Example(policy(allow("s3:PutBucketPolicy", "arn:aws:s3:::reports"))),
        Example(policy(allow("kms:RetireGrant"))),  # lets nobody in (ANA-13)
    ),
    bad=(Example(policy(allow("s3:PutBucketPolicy")), severity=Severity.HIGH),),
    check=check_resource_policy_changes,
)
