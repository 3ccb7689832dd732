"""The cross-account audit role (MON-10): read-only IAM metadata, with every other action and every data
read explicitly denied."""

from __future__ import annotations

from awacs.aws import Allow, Deny, Statement
from troposphere import Sub

from iam_guard import arns
from iam_guard.policies.common import (
    actions,
    deny_outside_regions_statement,
    deny_sensitive_actions_statement,
)
from iam_guard.policies.monitoring import stack_regions

# MON-10: what the cross-account auditor may read. Every other action is denied by a NotAction deny.
AUDIT_READ_ACTIONS: tuple[str, ...] = (
    "iam:GenerateCredentialReport",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountPasswordPolicy",
    "iam:GetAccountSummary",
    "iam:GetCredentialReport",
    "iam:GetGroup",
    "iam:GetGroupPolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:GetUser",
    "iam:GetUserPolicy",
    "iam:ListAttachedGroupPolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListAttachedUserPolicies",
    "iam:ListEntitiesForPolicy",
    "iam:ListGroupPolicies",
    "iam:ListGroups",
    "iam:ListPolicies",
    "iam:ListPolicyVersions",
    "iam:ListRolePolicies",
    "iam:ListRoles",
    "iam:ListUserPolicies",
    "iam:ListUsers",
)
# Account-wide reads that support no resource-level permission.
AUDIT_ACCOUNT_ACTIONS: tuple[str, ...] = (
    "iam:GenerateCredentialReport",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountPasswordPolicy",
    "iam:GetAccountSummary",
    "iam:GetCredentialReport",
    "iam:ListGroups",
    "iam:ListPolicies",
    "iam:ListRoles",
    "iam:ListUsers",
)
# Data reads the auditor must never make, denied explicitly even if a managed policy is attached later.
DATA_READ_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "kms:Decrypt",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameterHistory",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)


def audit_read_statements() -> list[Statement]:
    """Read-only IAM metadata: account-wide reads on "*", the rest on this account's IAM resources and
    AWS managed policies."""
    scoped = [name for name in AUDIT_READ_ACTIONS if name not in AUDIT_ACCOUNT_ACTIONS]
    return [
        Statement(
            Sid="ReadAccountWideIamMetadata",
            Effect=Allow,
            Action=actions(*AUDIT_ACCOUNT_ACTIONS),
            Resource=["*"],
        ),
        Statement(
            Sid="ReadIamEntitiesAndPolicies",
            Effect=Allow,
            Action=actions(*scoped),
            Resource=[
                arns.iam_resource("role"),
                arns.iam_resource("user"),
                arns.iam_resource("group"),
                arns.iam_resource("policy"),
                Sub("arn:${AWS::Partition}:iam::aws:policy/*"),
            ],
        ),
    ]


def deny_data_reads_statement() -> Statement:
    return Statement(Sid="DenyDataReads", Effect=Deny, Action=actions(*DATA_READ_ACTIONS), Resource=["*"])


def deny_everything_but_audit_reads_statement() -> Statement:
    """Every write, and every read not on the list, is denied, even if a broader policy is attached."""
    return Statement(
        Sid="DenyEverythingButAuditReads",
        Effect=Deny,
        NotAction=actions(*AUDIT_READ_ACTIONS),
        Resource=["*"],
    )


def read_only_audit_statements(region: str) -> list[Statement]:
    """The whole inline policy of an audit role (single-account MON-10 and organization member ORG-1):
    the audit reads, and explicit denies of data reads, of every other action, of other regions and of the
    sensitive actions."""
    return [
        *audit_read_statements(),
        deny_data_reads_statement(),
        deny_everything_but_audit_reads_statement(),
        deny_outside_regions_statement(stack_regions(region)),
        deny_sensitive_actions_statement(),
    ]
