"""The hardened trail and its bucket, or the note naming an existing trail (MON-11); the data bucket's
data events (DS-10); the trail bucket's MFA guard and Object Lock (DS-11)."""

from __future__ import annotations

from typing import Any

from troposphere import (
    Sub,
    Template,
    kms,
)

from iam_guard import arns, naming
from iam_guard.blocks.storage import (
    Lifecycle,
    access_log_bucket,
    kms_encrypted_bucket,
    tls_only_bucket_policy,
)
from iam_guard.blocks.trail import data_events_selectors, hardened_trail, trail_arn, trail_logs_arn
from iam_guard.config import Config
from iam_guard.policies import monitoring as mon
from iam_guard.policies.s3 import allow_access_log_delivery_statement, deny_destructive_without_mfa_statement
from iam_guard.stacks.monitoring.plan import Names


def existing_trail_metadata(trail: str) -> dict[str, Any]:
    """MON-11: the template says which trail it relies on when it creates none."""
    return {
        "iam-guard": {
            "existing_trail_arn": trail,
            "notes": [
                "No trail is created: EventBridge receives IAM events only while the existing "
                f"trail {trail} logs management events (multi-region, global service events)."
            ],
        }
    }


def add_trail(template: Template, config: Config, names: Names, key: kms.Key, trail_name: str) -> Any:
    """The hardened trail (MON-11) and its locked-down bucket, logged into an access-log bucket."""
    log_bucket = template.add_resource(
        access_log_bucket(
            "TrailAccessLogBucket",
            name=naming.global_name(config, "trail-logs"),
            retention_days=config.monitoring.trail_access_log_retention_days,
        )
    )
    bucket_base = naming.global_name(config, "trail")
    trail_bucket = kms_encrypted_bucket(
        "TrailBucket",
        name=bucket_base,
        key=key,
        access_log_bucket=log_bucket,
        log_prefix="trail-bucket/",
        lifecycle=Lifecycle(glacier_transition_days=90, noncurrent_glacier_transition_days=30),
        object_lock_days=config.monitoring.trail_object_lock_days,
    )
    log_bucket_policy = template.add_resource(
        tls_only_bucket_policy(
            "TrailAccessLogBucketPolicy",
            bucket=log_bucket,
            statements=[
                allow_access_log_delivery_statement(
                    arns.bucket_objects(log_bucket, "trail-bucket/"),
                    _bucket_arn_by_name(config, "trail"),
                )
            ],
            retain=True,
        )
    )
    trail_bucket.DependsOn = [log_bucket_policy.title]
    template.add_resource(trail_bucket)
    this_trail = trail_arn(trail_name)
    bucket_policy = template.add_resource(
        tls_only_bucket_policy(
            "TrailBucketPolicy",
            bucket=trail_bucket,
            statements=[
                *mon.trail_delivery_statements(
                    arns.bucket(trail_bucket), trail_logs_arn(trail_bucket), this_trail
                ),
                # DS-11: the data bucket's guard (DS-2): purging log files needs MFA.
                deny_destructive_without_mfa_statement(
                    arns.bucket(trail_bucket), arns.bucket_objects(trail_bucket)
                ),
            ],
            retain=True,
        )
    )
    selectors = None
    if config.monitoring.data_bucket_data_events:
        selectors = data_events_selectors(Sub(_bucket_arn_text(config, "data") + "/"))
    trail = hardened_trail("Trail", name=trail_name, bucket=trail_bucket, key=key, selectors=selectors)
    # CloudTrail checks the bucket policy when the trail is created.
    trail.DependsOn = [bucket_policy.title]
    return template.add_resource(trail)


def _bucket_arn_text(config: Config, base: str) -> str:
    return f"arn:${{AWS::Partition}}:s3:::{naming.PROJECT}-{base}-${{AWS::AccountId}}-{config.name_suffix}"


def _bucket_arn_by_name(config: Config, base: str) -> Any:
    """A bucket's ARN from its name pattern, so the access-log policy can name it without a cycle (and
    the trail the data store's bucket, in another stack)."""
    return Sub(_bucket_arn_text(config, base))
