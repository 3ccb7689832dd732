"""The CloudTrail trail that feeds EventBridge its IAM events (MON-11)."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, cloudtrail, kms, s3


def trail_arn(name: str) -> Sub:
    """This account's trail in this region, by name (the form of aws:SourceArn and the KMS context)."""
    return Sub(f"arn:${{AWS::Partition}}:cloudtrail:${{AWS::Region}}:${{AWS::AccountId}}:trail/{name}")


def trail_logs_arn(bucket: s3.Bucket) -> Sub:
    """Where CloudTrail writes: AWSLogs/<this account>/ of the trail bucket."""
    return Sub("${BucketArn}/AWSLogs/${AWS::AccountId}/*", BucketArn=GetAtt(bucket, "Arn"))


def hardened_trail(logical_id: str, *, name: str, bucket: s3.Bucket, key: kms.Key) -> cloudtrail.Trail:
    """Logging, every region, global service events (IAM), digest files for log file validation,
    SSE-KMS with the stack key. Management events are on by default, and that is what EventBridge needs."""
    return cloudtrail.Trail(
        logical_id,
        TrailName=name,
        IsLogging=True,
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KMSKeyId=GetAtt(key, "Arn"),
        S3BucketName=Ref(bucket),
    )
