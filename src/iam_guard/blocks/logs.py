"""CloudWatch log groups, always KMS-encrypted and retained (MON-3, CON-4, DS-1)."""

from __future__ import annotations

from troposphere import GetAtt, kms, logs

RETAIN = "Retain"


def encrypted_log_group(logical_id: str, *, name: str, key: kms.Key, retention_days: int) -> logs.LogGroup:
    """A log group created by the stack (so a function's logs never land in an unencrypted group Lambda
    creates on its own), encrypted with the customer-managed key, with a retention period, kept when the
    stack is deleted. The key's policy must let CloudWatch Logs use it for this group's ARN."""
    return logs.LogGroup(
        logical_id,
        LogGroupName=name,
        KmsKeyId=GetAtt(key, "Arn"),
        RetentionInDays=retention_days,
        DeletionPolicy=RETAIN,
        UpdateReplacePolicy=RETAIN,
    )
