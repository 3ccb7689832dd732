"""Customer-managed KMS keys (MON-2, DS-1, CON-3)."""

from __future__ import annotations

from collections.abc import Sequence

from awacs.aws import Statement
from troposphere import Ref, kms

from iam_guard.policies import document
from iam_guard.policies.kms import deny_key_destruction_without_mfa_statement, key_administration_statement

RETAIN = "Retain"


def customer_managed_key(logical_id: str, *, description: str, usage: Sequence[Statement]) -> kms.Key:
    """A symmetric key with yearly automatic rotation, a 30-day deletion window and Retain on delete and
    replace. Its policy always carries the manage-not-use administrator statement and the MFA guard on
    key destruction; `usage` names the services that may use it (CON-3)."""
    statements = [key_administration_statement(), *usage, deny_key_destruction_without_mfa_statement()]
    return kms.Key(
        logical_id,
        Description=description,
        EnableKeyRotation=True,
        RotationPeriodInDays=365,
        PendingWindowInDays=30,
        KeySpec="SYMMETRIC_DEFAULT",
        KeyUsage="ENCRYPT_DECRYPT",
        KeyPolicy=document(statements),
        DeletionPolicy=RETAIN,
        UpdateReplacePolicy=RETAIN,
    )


def key_alias(logical_id: str, *, alias: str, key: kms.Key) -> kms.Alias:
    """alias/<name>, so operators find the key by name; `alias` is given without the alias/ prefix."""
    return kms.Alias(logical_id, AliasName=f"alias/{alias}", TargetKeyId=Ref(key))
