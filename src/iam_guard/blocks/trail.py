"""The CloudTrail trail that feeds EventBridge its IAM events (MON-11)."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, cloudtrail, kms, s3


def trail_arn(name: str) -> Sub:
    """This account's trail in this region, by name (the form of aws:SourceArn and the KMS context)."""
    return Sub(f"arn:${{AWS::Partition}}:cloudtrail:${{AWS::Region}}:${{AWS::AccountId}}:trail/{name}")


def trail_logs_arn(bucket: s3.Bucket) -> Sub:
    """Where CloudTrail writes: AWSLogs/<this account>/ of the trail bucket."""
    return Sub("${BucketArn}/AWSLogs/${AWS::AccountId}/*", BucketArn=GetAtt(bucket, "Arn"))


def data_events_selectors(bucket_objects_prefix: Any) -> list[cloudtrail.AdvancedEventSelector]:
    """Management events (advanced selectors replace the default, so they are named again) and the data
    events, reads and writes, of the objects under `bucket_objects_prefix` (arn:...:s3:::bucket/) only."""
    return [
        cloudtrail.AdvancedEventSelector(
            Name="Management events",
            FieldSelectors=[cloudtrail.AdvancedFieldSelector(Field="eventCategory", Equals=["Management"])],
        ),
        cloudtrail.AdvancedEventSelector(
            Name="Data bucket object reads and writes",
            FieldSelectors=[
                cloudtrail.AdvancedFieldSelector(Field="eventCategory", Equals=["Data"]),
                cloudtrail.AdvancedFieldSelector(Field="resources.type", Equals=["AWS::S3::Object"]),
                cloudtrail.AdvancedFieldSelector(Field="resources.ARN", StartsWith=[bucket_objects_prefix]),
            ],
        ),
    ]


def hardened_trail(
    logical_id: str,
    *,
    name: str,
    bucket: s3.Bucket,
    key: kms.Key,
    selectors: list[cloudtrail.AdvancedEventSelector] | None = None,
) -> cloudtrail.Trail:
    """Logging, every region, global service events (IAM), digest files for log file validation,
    SSE-KMS with the stack key. Management events are on by default, and that is what EventBridge needs;
    `selectors` (advanced event selectors) replace that default and must name management events again."""
    extra = {"AdvancedEventSelectors": selectors} if selectors else {}
    return cloudtrail.Trail(
        logical_id,
        TrailName=name,
        IsLogging=True,
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KMSKeyId=GetAtt(key, "Arn"),
        S3BucketName=Ref(bucket),
        **extra,
    )
