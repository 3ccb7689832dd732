"""Key-policy statements (CON-3, DS-1): administrators manage a key but cannot use it; only named services
use it, each narrowed to this account's resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import Allow, ArnEquals, ArnLike, Condition, Deny, Principal, Statement, StringEquals
from troposphere import Ref, Sub

from iam_guard import arns
from iam_guard.policies.common import actions, deny_without_mfa_condition

# Management without use: no Encrypt/Decrypt/GenerateDataKey, and no CreateGrant (a grant would let an
# administrator hand use of the key to anyone, itself included).
KEY_ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)

ENCRYPT_DECRYPT_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)

KEY_DESTRUCTION_ACTIONS: tuple[str, ...] = (
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:ScheduleKeyDeletion",
)

# Why the analyzer's "service principal without aws:SourceAccount/SourceArn" finding (IAMG010) is safe on
# the CloudWatch Logs statement; both stacks' keys carry it as a suppression.
LOGS_ENCRYPTION_CONTEXT_REASON = (
    "CloudWatch Logs is admitted only with kms:EncryptionContext:aws:logs:arn equal to this stack's own "
    "log group ARNs, which carry this account's ID: the service cannot use the key for another account."
)

VIA_SERVICE = "kms:ViaService"
CALLER_ACCOUNT = "kms:CallerAccount"
LOGS_CONTEXT = "kms:EncryptionContext:aws:logs:arn"


def key_administration_statement() -> Statement:
    """The account's administrators (IAM principals the account allows) manage the key, never use it."""
    return Statement(
        Sid="AllowAccountAdministratorsToManageNotUseKey",
        Effect=Allow,
        Principal=Principal("AWS", [arns.account_root()]),
        Action=actions(*KEY_ADMIN_ACTIONS),
        Resource=["*"],
    )


def deny_key_destruction_without_mfa_statement() -> Statement:
    """Disabling the key or scheduling its deletion would make every encrypted log and object unreadable:
    it needs an MFA-authenticated session."""
    return Statement(
        Sid="DenyKeyDestructionWithoutMfa",
        Effect=Deny,
        Principal=Principal("AWS", [arns.account_root()]),
        Action=actions(*KEY_DESTRUCTION_ACTIONS),
        Resource=["*"],
        Condition=deny_without_mfa_condition(),
    )


def cloudwatch_logs_statement(log_group_arns: Sequence[Any]) -> Statement:
    """CloudWatch Logs encrypts the named log groups only: the encryption context carries the log group's
    ARN, so the service cannot use the key for any other log group."""
    return Statement(
        Sid="AllowCloudWatchLogsForThisStacksLogGroups",
        Effect=Allow,
        Principal=Principal("Service", [_regional_service_principal("logs")]),
        Action=actions(*ENCRYPT_DECRYPT_ACTIONS),
        Resource=["*"],
        Condition=Condition(ArnEquals({LOGS_CONTEXT: list(log_group_arns)})),
    )


def use_through_service_statement(
    sid: str, principal_arns: Sequence[Any], service: str, key_actions: Sequence[str]
) -> Statement:
    """Named principals of this account may use the key only through `service` (kms:ViaService), e.g. the
    data roles through S3. No aws:SourceIp here: KMS sees the service's address, not the caller's."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("AWS", [arns.account_root()]),
        Action=actions(*key_actions),
        Resource=["*"],
        Condition=Condition(
            [
                StringEquals({VIA_SERVICE: via_service(service), CALLER_ACCOUNT: account_id()}),
                ArnLike({"aws:PrincipalArn": list(principal_arns)}),
            ]
        ),
    )


def via_service(service: str) -> Sub:
    """The kms:ViaService value of a service in this stack's region, e.g. s3.eu-west-1.amazonaws.com."""
    return Sub(f"{service}.${{AWS::Region}}.amazonaws.com")


def account_id() -> Ref:
    return Ref("AWS::AccountId")


def _regional_service_principal(service: str) -> Sub:
    return Sub(f"{service}.${{AWS::Region}}.amazonaws.com")
