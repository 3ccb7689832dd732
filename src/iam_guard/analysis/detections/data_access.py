"""IAMG008 and IAMG015 (ANA-8): reading sensitive data, and actions that return credentials, on '*'."""

from __future__ import annotations

from iam_guard.analysis.detections.facts import action_sets, canonical, narrowing_for
from iam_guard.analysis.detections.unit import GRANT, IDENTITY, Detection, Example, allow, policy
from iam_guard.analysis.grants import Grant
from iam_guard.analysis.knowledge import CREDENTIAL_ACTIONS, SENSITIVE_DATA_ACTIONS, SINGLE_ACTION_ESCALATIONS
from iam_guard.analysis.model import Finding, Severity


def check_sensitive_data(grant: Grant, policy_type: str) -> list[Finding]:
    if policy_type != IDENTITY or not grant.star_resource:
        return []
    found = grant.named_actions & SENSITIVE_DATA_ACTIONS
    if not found:
        return []
    statement = grant.statement
    return [
        SENSITIVE_DATA.finding(
            Severity.MEDIUM,
            f"statement {statement.index} allows reading sensitive data on every resource '*': "
            f"{', '.join(canonical(found))}",
            statement,
            canonical(found),
            grant.resources,
            narrowing_for(statement, found),
        )
    ]


def check_credentials(grant: Grant, policy_type: str) -> list[Finding]:
    """Escalation techniques (IAMG006) report their own credential actions."""
    if policy_type != IDENTITY or not grant.star_resource:
        return []
    found = list(
        (grant.named_actions & CREDENTIAL_ACTIONS & action_sets().scoped) - SINGLE_ACTION_ESCALATIONS
    )
    if not found:
        return []
    statement = grant.statement
    return [
        CREDENTIALS.finding(
            Severity.MEDIUM,
            f"statement {statement.index} allows actions that return credentials on every resource '*': "
            f"{', '.join(canonical(found))}",
            statement,
            canonical(found),
            grant.resources,
            narrowing_for(statement, found),
        )
    ]


_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf"

SENSITIVE_DATA = Detection(
    code="IAMG008",
    requirement="ANA-8",
    title="Sensitive data readable on every resource",
    detects="sensitive data actions (secrets, parameters, kms:Decrypt, object reads) on `*`",
    severity=Severity.MEDIUM,
    severity_rule="medium",
    scope=GRANT,
    policy_types=frozenset({IDENTITY}),
    after_star_action=False,
    remediation="Name the secrets, parameters, keys or bucket prefixes, or add kms:ViaService / "
    "aws:SourceVpce conditions.",
    good=(Example(policy(allow("secretsmanager:GetSecretValue", _SECRET))),),
    bad=(
        Example(policy(allow("secretsmanager:GetSecretValue")), severity=Severity.MEDIUM),
        Example(
            policy(allow("kms:Decrypt", Condition={"StringEquals": {"kms:ViaService": "s3.amazonaws.com"}})),
            severity=Severity.INFO,
        ),
    ),
    check=check_sensitive_data,
)

CREDENTIALS = Detection(
    code="IAMG015",
    requirement="ANA-8",
    title="Credentials exposure",
    detects="actions that return credentials (sts:AssumeRole, iam:CreateServiceSpecificCredential...) on `*`",
    severity=Severity.MEDIUM,
    severity_rule="medium",
    scope=GRANT,
    policy_types=frozenset({IDENTITY}),
    after_star_action=False,
    remediation="Scope the credential-returning actions to named resources or remove them.",
    good=(Example(policy(allow("sts:AssumeRole", "arn:aws:iam::123456789012:role/deployer"))),),
    bad=(Example(policy(allow("sts:GetFederationToken")), severity=Severity.MEDIUM),),
    check=check_credentials,
)
