"""Every ARN the templates use, built with ${AWS::Partition} so they work in every partition (cfn-lint I3042).

awacs' ARN classes hard-code `arn:aws:`, so they are not used for IAM, S3, KMS or logs.
"""

from __future__ import annotations

from troposphere import AWSObject, GetAtt, Ref, Sub


def account_root() -> Sub:
    return Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")


def account_root_of(account_id: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::{account_id}:root")


def bucket(resource: AWSObject) -> GetAtt:
    return GetAtt(resource, "Arn")


def bucket_objects(resource: AWSObject, prefix: str = "") -> Sub:
    """Objects of a bucket, optionally under a prefix: arn:...:s3:::bucket/prefix*."""
    return Sub(f"${{BucketArn}}/{prefix}*", BucketArn=GetAtt(resource, "Arn"))


def key(resource: AWSObject) -> GetAtt:
    return GetAtt(resource, "Arn")


def log_group(name: str) -> Sub:
    """A log group by name, with its streams (the form logs:PutLogEvents is authorised against)."""
    return Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}:*")


def log_group_bare(name: str) -> Sub:
    """A log group by name without streams: the form of the KMS encryption context."""
    return Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}")


def role(name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}")


def iam_resource(kind: str, name: str = "*") -> Sub:
    """IAM resources of this account: kind is role, user, group, policy, instance-profile..."""
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{kind}/{name}")


def regional(service: str, resource: str) -> Sub:
    """arn:partition:service:region:account:resource, for this stack's region and account."""
    return Sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def ref_arn(resource: AWSObject) -> Ref:
    """Resources whose Ref is their ARN (SNS topics, IAM managed policies)."""
    return Ref(resource)
