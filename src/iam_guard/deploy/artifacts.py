"""The artifact bucket that holds the handler zips (and templates too large to pass inline), and the
uploads into it. The bucket is hardened like every bucket the project makes: versioned, encrypted by
default, TLS-only, public access blocked, bucket-owner-enforced ownership."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.errors import UsageError

Say = Callable[[str], None]

# CreateChangeSet accepts at most this many bytes inline; a larger template goes through S3.
MAX_INLINE_TEMPLATE_BYTES = 51_200
_BUCKET_NAME_LIMIT = 63


def default_bucket_name(account_id: str, region: str) -> str:
    """iam-guard-artifacts-<account>-<region>: one per account and region, as Lambda code must be in the
    function's region."""
    name = f"iam-guard-artifacts-{account_id}-{region}"
    return name[:_BUCKET_NAME_LIMIT]


def tls_only_policy(bucket: str, partition: str = "aws") -> dict[str, Any]:
    """Deny every request to the bucket or its objects that does not use TLS."""
    arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def ensure_artifact_bucket(s3: Any, bucket: str, region: str, say: Say = print) -> bool:
    """Create the bucket if it is missing, then (re)apply every hardening setting, so an existing bucket
    is brought up to the same standard. True when the bucket was created."""
    created = False
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("403", "Forbidden", "AccessDenied"):
            raise UsageError(f"--artifact-bucket: {bucket} exists but is not yours (access denied)") from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
        _create_bucket(s3, bucket, region)
        created = True
    _harden_bucket(s3, bucket)
    say(f"artifact bucket {bucket}: {'created' if created else 'exists'}, hardened")
    return created


def _create_bucket(s3: Any, bucket: str, region: str) -> None:
    args: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    if region != "us-east-1":  # us-east-1 rejects an explicit location constraint
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**args)


def _harden_bucket(s3: Any, bucket: str) -> None:
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
            ]
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(tls_only_policy(bucket, _partition(s3))))


def _partition(s3: Any) -> str:
    region = str(s3.meta.region_name or "")
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def upload_if_missing(s3: Any, bucket: str, key: str, payload: bytes) -> bool:
    """Upload under a content-addressed key unless it is already there (HeadObject). True if uploaded."""
    if object_exists(s3, bucket, key):
        return False
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=payload,
        ServerSideEncryption="AES256",
        ChecksumAlgorithm="SHA256",
    )
    return True


def upload_zips(s3: Any, bucket: str, zips: Mapping[str, Path], say: Say = print) -> dict[str, str]:
    """Upload every handler zip to lambda/<file name> (the content-hash key of packaging.zip_key);
    returns handler -> key."""
    keys: dict[str, str] = {}
    for handler, path in sorted(zips.items()):
        key = f"lambda/{path.name}"
        uploaded = upload_if_missing(s3, bucket, key, path.read_bytes())
        say(f"  s3://{bucket}/{key}: {'uploaded' if uploaded else 'already there, skipped'}")
        keys[handler] = key
    return keys


def upload_template(s3: Any, bucket: str, region: str, stack: str, body: str) -> str:
    """Put a template too large for an inline body under templates/<stack>-<sha256[:16]>.json; its URL."""
    key = f"templates/{stack}-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
    upload_if_missing(s3, bucket, key, body.encode("utf-8"))
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"
