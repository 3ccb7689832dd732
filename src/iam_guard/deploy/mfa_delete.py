"""S3 MFA delete for the data bucket (DS-2): report a bucket's state, and switch MFA delete on.

CloudFormation cannot switch MFA delete on: only the bucket owner's root user can, through
PutBucketVersioning with the `x-amz-mfa: <serial> <code>` header of its MFA device. And S3 does not
support lifecycle configuration on an MFA-delete-enabled bucket, while the data store relies on its
lifecycle rules (DS-3), so `enable` refuses while rules exist unless the operator accepts the conflict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.errors import UsageError

Say = Callable[[str], None]

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A virtual MFA device ARN (the root's is arn:aws:iam::<account>:mfa/root-account-mfa-device), or the
# serial number printed on a hardware token.
_MFA_SERIAL = re.compile(r"^(arn:aws(-cn|-us-gov)?:iam::\d{12}:mfa/[\w+=,.@-]{1,256}|[A-Z0-9]{9,32})$")
_MFA_CODE = re.compile(r"^\d{6}$")

ROOT_ONLY_EXPLANATION = (
    "MFA delete can only be switched on by the bucket owner's root user with its MFA device "
    "(S3 PutBucketVersioning with the x-amz-mfa header). CloudFormation, IAM users and roles cannot do it, "
    "which is why the template enforces MFA in the bucket policy instead. Run this with the root user's "
    "credentials (for instance AWS_PROFILE=<root profile>), then remove those credentials."
)
LIFECYCLE_CONSEQUENCE = (
    "S3 does not support lifecycle configuration on an MFA-delete-enabled bucket: the bucket's {count} "
    "lifecycle rule(s) (Glacier transitions, expiry of incomplete multipart uploads, DS-3) can no longer be "
    "changed and are not honoured, so noncurrent versions and incomplete uploads accumulate in S3 Standard "
    "and cost money until MFA delete is switched off again."
)


@dataclass(frozen=True)
class BucketVersioningState:
    """What S3 reports: versioning (Enabled, Suspended or Off), MFA delete (Enabled or Disabled) and how
    many lifecycle rules the bucket has."""

    bucket: str
    versioning: str
    mfa_delete: str
    lifecycle_rules: int

    def describe(self) -> str:
        lines = [
            f"bucket {self.bucket}",
            f"  versioning:      {self.versioning}",
            f"  MFA delete:      {self.mfa_delete}",
            f"  lifecycle rules: {self.lifecycle_rules}",
        ]
        if self.mfa_delete != "Enabled" and self.lifecycle_rules:
            lines.append("  note: MFA delete is off; switching it on conflicts with the lifecycle rules")
        return "\n".join(lines)


def validate_bucket(bucket: str) -> str:
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"--bucket: {bucket!r} is not a valid S3 bucket name")
    return bucket


def validate_serial(serial: str) -> str:
    if not _MFA_SERIAL.fullmatch(serial):
        raise UsageError(
            f"--serial: {serial!r} is not an MFA device ARN "
            "(arn:aws:iam::123456789012:mfa/root-account-mfa-device) or a hardware token serial"
        )
    return serial


def validate_code(code: str) -> str:
    if not _MFA_CODE.fullmatch(code):
        raise UsageError(f"--code: {code!r} is not a 6-digit MFA code")
    return code


def read_state(s3: Any, bucket: str) -> BucketVersioningState:
    """GetBucketVersioning and GetBucketLifecycleConfiguration, as one state."""
    try:
        versioning = s3.get_bucket_versioning(Bucket=bucket)
    except ClientError as error:
        if _code(error) == "NoSuchBucket":
            raise UsageError(f"--bucket: bucket {bucket!r} does not exist") from None
        raise
    return BucketVersioningState(
        bucket=bucket,
        versioning=str(versioning.get("Status", "Off (never enabled)")),
        mfa_delete=str(versioning.get("MFADelete", "Disabled")),
        lifecycle_rules=_lifecycle_rule_count(s3, bucket),
    )


def _lifecycle_rule_count(s3: Any, bucket: str) -> int:
    try:
        return len(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except ClientError as error:
        if _code(error) == "NoSuchLifecycleConfiguration":
            return 0
        raise


def enable(
    s3: Any, bucket: str, serial: str, code: str, accept_lifecycle_conflict: bool, say: Say = print
) -> int:
    """Switch versioning and MFA delete on with the root user's MFA device. Refuses (1) while the bucket
    has lifecycle rules unless the conflict is accepted; 0 only when S3 then reports MFA delete Enabled."""
    say(ROOT_ONLY_EXPLANATION)
    before = read_state(s3, bucket)
    if before.mfa_delete == "Enabled":
        say(f"bucket {bucket}: MFA delete is already Enabled; nothing to do")
        return 0
    if before.lifecycle_rules:
        consequence = LIFECYCLE_CONSEQUENCE.format(count=before.lifecycle_rules)
        if not accept_lifecycle_conflict:
            say(f"refusing: {consequence} Pass --accept-lifecycle-conflict to switch it on anyway.")
            return 1
        say(f"--accept-lifecycle-conflict given. Consequence: {consequence}")
    try:
        s3.put_bucket_versioning(
            Bucket=bucket,
            MFA=f"{serial} {code}",
            VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
        )
    except ClientError as error:
        say(f"S3 refused PutBucketVersioning: {_code(error)}: {error.response['Error'].get('Message', '')}")
        return 1
    after = read_state(s3, bucket)
    say(after.describe())
    if after.mfa_delete != "Enabled":
        say("S3 accepted the request but does not report MFA delete as Enabled: it is NOT on.")
        return 1
    say(f"bucket {bucket}: MFA delete is Enabled")
    return 0


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
