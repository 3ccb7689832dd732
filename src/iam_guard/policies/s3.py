"""Bucket-policy and data-access statements for the data store (DS-2, DS-4 to DS-7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Condition,
    Deny,
    Null,
    NumericLessThan,
    Principal,
    Statement,
    StringEquals,
    StringNotEquals,
)
from troposphere import Ref, Sub

from iam_guard.policies.common import actions, deny_without_mfa_condition, source_ip_condition

SSE_HEADER = "s3:x-amz-server-side-encryption"
SSE_KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"

# DS-2: operations that destroy data or lift the protections; denied without MFA in the bucket policy,
# because CloudFormation cannot switch MFA delete on and lifecycle rules rule it out anyway.
MFA_PROTECTED_ACTIONS: tuple[str, ...] = (
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:DeleteObjectVersion",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
)

READ_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions")
READ_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion")
WRITE_BUCKET_ACTIONS = ("s3:ListBucketMultipartUploads",)
WRITE_OBJECT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectTagging",
)
DATA_ROLE_DENIED_ACTIONS = (
    *MFA_PROTECTED_ACTIONS,
    "s3:DeleteObjectVersionTagging",
    "s3:PutBucketAcl",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutEncryptionConfiguration",
    "s3:PutObjectAcl",
)


# Bucket policy -------------------------------------------------------------------------------------


def deny_outdated_tls_statement(resources: Sequence[Any]) -> Statement:
    """TLS is not enough: TLS 1.0 and 1.1 are denied too (s3:TlsVersion below 1.2)."""
    return Statement(
        Sid="DenyTlsBelow12",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[Action("s3", "*")],
        Resource=list(resources),
        Condition=Condition(NumericLessThan({"s3:TlsVersion": "1.2"})),
    )


def deny_wrong_encryption_statements(objects_arn: Any, key_arn: Any) -> list[Statement]:
    """Every upload is encrypted with the data key.

    An upload that names an encryption other than SSE-KMS, or a KMS key other than the data key, is
    denied. An upload that names none gets the bucket's default, SSE-KMS with the data key. The Null
    guard matters: UploadPart requests (s3:PutObject) never carry the encryption header, so a plain
    StringNotEquals would deny every multipart upload.
    """
    return [
        Statement(
            Sid="DenyUploadsNotEncryptedWithSseKms",
            Effect=Deny,
            Principal=Principal("*"),
            Action=actions("s3:PutObject"),
            Resource=[objects_arn],
            Condition=Condition([StringNotEquals({SSE_HEADER: "aws:kms"}), Null({SSE_HEADER: "false"})]),
        ),
        Statement(
            Sid="DenyUploadsWithAnotherKmsKey",
            Effect=Deny,
            Principal=Principal("*"),
            Action=actions("s3:PutObject"),
            Resource=[objects_arn],
            Condition=Condition(
                [StringNotEquals({SSE_KEY_HEADER: key_arn}), Null({SSE_KEY_HEADER: "false"})]
            ),
        ),
    ]


def deny_destructive_without_mfa_statement(bucket_arn: Any, objects_arn: Any) -> Statement:
    """DS-2: deleting versions, suspending versioning, changing lifecycle or the policy, and deleting the
    bucket all need an MFA-authenticated session."""
    return Statement(
        Sid="DenyDestructiveOperationsWithoutMfa",
        Effect=Deny,
        Principal=Principal("*"),
        Action=actions(*MFA_PROTECTED_ACTIONS),
        Resource=[bucket_arn, objects_arn],
        Condition=deny_without_mfa_condition(),
    )


def allow_access_log_delivery_statement(log_objects_arn: Any, source_bucket_arn: Any) -> Statement:
    """S3 server access logging writes with the logging service principal; only for the data bucket of
    this account (aws:SourceArn, aws:SourceAccount), since bucket-owner-enforced buckets take no ACLs."""
    return Statement(
        Sid="AllowServerAccessLogDeliveryFromDataBucket",
        Effect=Allow,
        Principal=Principal("Service", ["logging.s3.amazonaws.com"]),
        Action=actions("s3:PutObject"),
        Resource=[log_objects_arn],
        Condition=Condition(
            [
                ArnLike({"aws:SourceArn": source_bucket_arn}),
                StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
            ]
        ),
    )


# Identity policies of the data roles -----------------------------------------------------------------


def read_data_statements(bucket_arn: Any, objects_arn: Any, cidrs: Sequence[str]) -> list[Statement]:
    """DataAnalyst and DataEngineer: list and read, from the allowed networks only."""
    return [
        Statement(
            Sid="ListDataBucketFromAllowedNetworks",
            Effect=Allow,
            Action=actions(*READ_BUCKET_ACTIONS),
            Resource=[bucket_arn],
            Condition=source_ip_condition(cidrs),
        ),
        Statement(
            Sid="ReadDataObjectsFromAllowedNetworks",
            Effect=Allow,
            Action=actions(*READ_OBJECT_ACTIONS),
            Resource=[objects_arn],
            Condition=source_ip_condition(cidrs),
        ),
    ]


def write_data_statements(bucket_arn: Any, objects_arn: Any, cidrs: Sequence[str]) -> list[Statement]:
    """DataEngineer only: write and delete current versions (a delete marker; versions stay)."""
    return [
        Statement(
            Sid="ListUploadsFromAllowedNetworks",
            Effect=Allow,
            Action=actions(*WRITE_BUCKET_ACTIONS),
            Resource=[bucket_arn],
            Condition=source_ip_condition(cidrs),
        ),
        Statement(
            Sid="WriteDataObjectsFromAllowedNetworks",
            Effect=Allow,
            Action=actions(*WRITE_OBJECT_ACTIONS),
            Resource=[objects_arn],
            Condition=source_ip_condition(cidrs),
        ),
    ]


def use_data_key_through_s3_statement(key_arn: Any, key_actions: Sequence[str]) -> Statement:
    """The KMS calls S3 makes on the role's behalf for SSE-KMS objects (forward access sessions).

    Limited by kms:ViaService, deliberately without aws:SourceIp: KMS sees S3's address, not the
    caller's, so an IP condition here would make every encrypted object unreadable (DS-6).
    """
    return Statement(
        Sid="UseDataKeyOnlyThroughS3",
        Effect=Allow,
        Action=actions(*key_actions),
        Resource=[key_arn],
        Condition=Condition(StringEquals({"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")})),
    )


def deny_data_destruction_statement(bucket_arn: Any, objects_arn: Any, key_arn: Any) -> Statement:
    """Explicit denies (CON-2, DS-4): no version deletion, no policy, versioning or lifecycle changes, no
    weakening of the bucket's controls, no disabling or deleting the key."""
    return Statement(
        Sid="DenyDataDestructionAndPolicyChanges",
        Effect=Deny,
        Action=actions(
            *DATA_ROLE_DENIED_ACTIONS, "kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"
        ),
        Resource=[bucket_arn, objects_arn, key_arn],
    )
