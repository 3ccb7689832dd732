"""S3 buckets: private, encrypted, versioned, TLS-only, retained (DS-3, DS-7 to DS-9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from awacs.aws import Statement
from troposphere import GetAtt, Ref, kms, s3

from iam_guard import arns
from iam_guard.policies import document
from iam_guard.policies.common import deny_insecure_transport_statement
from iam_guard.policies.s3 import deny_outdated_tls_statement

RETAIN = "Retain"


@dataclass(frozen=True)
class Lifecycle:
    """Lifecycle of a versioned bucket: what moves to Glacier when, and when stray uploads are aborted."""

    glacier_transition_days: int | None = None
    noncurrent_glacier_transition_days: int | None = None
    expiration_days: int | None = None
    noncurrent_expiration_days: int | None = None
    abort_incomplete_multipart_days: int = 7


def _block_all_public_access() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
    )


def _owner_enforced() -> s3.OwnershipControls:
    return s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")])


def _lifecycle_rules(lifecycle: Lifecycle) -> s3.LifecycleConfiguration:
    rules = [
        s3.LifecycleRule(
            Id="AbortIncompleteMultipartUploads",
            Status="Enabled",
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                DaysAfterInitiation=lifecycle.abort_incomplete_multipart_days
            ),
        )
    ]
    if lifecycle.glacier_transition_days is not None:
        rules.append(
            s3.LifecycleRule(
                Id="CurrentVersionsToGlacier",
                Status="Enabled",
                Transitions=[
                    s3.LifecycleRuleTransition(
                        StorageClass="GLACIER", TransitionInDays=lifecycle.glacier_transition_days
                    )
                ],
            )
        )
    if lifecycle.noncurrent_glacier_transition_days is not None:
        rules.append(
            s3.LifecycleRule(
                Id="NoncurrentVersionsToGlacier",
                Status="Enabled",
                NoncurrentVersionTransitions=[
                    s3.NoncurrentVersionTransition(
                        StorageClass="GLACIER", TransitionInDays=lifecycle.noncurrent_glacier_transition_days
                    )
                ],
            )
        )
    if lifecycle.expiration_days is not None:
        rules.append(
            s3.LifecycleRule(
                Id="ExpireObjects",
                Status="Enabled",
                ExpirationInDays=lifecycle.expiration_days,
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                    NoncurrentDays=lifecycle.noncurrent_expiration_days or lifecycle.expiration_days
                ),
            )
        )
    return s3.LifecycleConfiguration(Rules=rules)


def kms_encrypted_bucket(
    logical_id: str,
    *,
    name: Any,
    key: kms.Key,
    access_log_bucket: s3.Bucket,
    log_prefix: str,
    lifecycle: Lifecycle,
    object_lock_days: int | None = None,
) -> s3.Bucket:
    """A data bucket: SSE-KMS with the customer key and an S3 Bucket Key (fewer KMS calls), versioning,
    all public access blocked, ACLs disabled, server access logs to `access_log_bucket`, Retain. With
    `object_lock_days`, every new object version is locked in governance mode for that many days: only a
    principal granted s3:BypassGovernanceRetention can delete or overwrite it earlier."""
    extra: dict[str, Any] = {}
    if object_lock_days is not None:
        extra["ObjectLockEnabled"] = True
        extra["ObjectLockConfiguration"] = s3.ObjectLockConfiguration(
            ObjectLockEnabled="Enabled",
            Rule=s3.ObjectLockRule(
                DefaultRetention=s3.DefaultRetention(Mode="GOVERNANCE", Days=object_lock_days)
            ),
        )
    return s3.Bucket(
        logical_id,
        BucketName=name,
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    BucketKeyEnabled=True,
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                        SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")
                    ),
                )
            ]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=_block_all_public_access(),
        OwnershipControls=_owner_enforced(),
        LoggingConfiguration=s3.LoggingConfiguration(
            DestinationBucketName=Ref(access_log_bucket), LogFilePrefix=log_prefix
        ),
        LifecycleConfiguration=_lifecycle_rules(lifecycle),
        DeletionPolicy=RETAIN,
        UpdateReplacePolicy=RETAIN,
        **extra,
    )


ACCESS_LOG_BUCKET_REASON = (
    "S3 server access logging does not deliver to a bucket whose default encryption is SSE-KMS, so this "
    "log bucket uses SSE-S3 (AES256)."
)
ACCESS_LOG_SELF_LOGGING_REASON = (
    "This is the access-log destination; logging it into itself would loop, and into another bucket "
    "would need a third bucket with the same finding."
)


def access_log_bucket(logical_id: str, *, name: Any, retention_days: int) -> s3.Bucket:
    """The destination of S3 server access logs: SSE-S3 (see ACCESS_LOG_BUCKET_REASON), versioned,
    private, ACLs disabled, logs expired after `retention_days`, Retain. The SSE-S3 choice is explained in
    its Metadata; checkov's access-logging check is suppressed there with its reason."""
    return s3.Bucket(
        logical_id,
        BucketName=name,
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
                )
            ]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=_block_all_public_access(),
        OwnershipControls=_owner_enforced(),
        LifecycleConfiguration=_lifecycle_rules(
            Lifecycle(expiration_days=retention_days, noncurrent_expiration_days=30)
        ),
        Metadata={
            "checkov": {
                "skip": [
                    {"id": "CKV_AWS_18", "comment": ACCESS_LOG_SELF_LOGGING_REASON},
                ]
            },
            "iam-guard": {"notes": [ACCESS_LOG_BUCKET_REASON]},
        },
        DeletionPolicy=RETAIN,
        UpdateReplacePolicy=RETAIN,
    )


def tls_only_bucket_policy(
    logical_id: str, *, bucket: s3.Bucket, statements: Sequence[Statement], retain: bool = False
) -> s3.BucketPolicy:
    """A bucket policy that always starts with the TLS-only and TLS 1.2 denies (DS-7), then `statements`.
    `retain` keeps the policy when the stack goes: a bucket that outlives its stack keeps its guards."""
    bucket_arn = arns.bucket(bucket)
    objects_arn = arns.bucket_objects(bucket)
    guards = [
        deny_insecure_transport_statement([bucket_arn, objects_arn], "s3"),
        deny_outdated_tls_statement([bucket_arn, objects_arn]),
    ]
    extra: dict[str, str] = {"DeletionPolicy": RETAIN, "UpdateReplacePolicy": RETAIN} if retain else {}
    return s3.BucketPolicy(
        logical_id, Bucket=Ref(bucket), PolicyDocument=document([*guards, *statements]), **extra
    )
