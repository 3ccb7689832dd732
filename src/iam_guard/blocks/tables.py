"""DynamoDB tables, secure by default (H-5): encrypted with the customer-managed key, point-in-time
recovery, on-demand capacity, TTL, deletion protection, and retained when the stack goes."""

from __future__ import annotations

from troposphere import GetAtt, dynamodb, kms

RETAIN = "Retain"


def encrypted_table(
    logical_id: str,
    *,
    name: str,
    key: kms.Key,
    partition_key: str,
    sort_key: str,
    ttl_attribute: str,
) -> dynamodb.Table:
    """A table with a string partition and sort key, billed per request (no idle capacity to size or
    pay for), SSE-KMS with `key` (the key's policy must admit DynamoDB for the table's users), PITR on
    (35 days of restorable history), TTL on `ttl_attribute` (epoch seconds), deletion protection on, and
    Retain on delete and replace: it holds audit state an investigation may need after the stack is gone."""
    return dynamodb.Table(
        logical_id,
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            dynamodb.AttributeDefinition(AttributeName=partition_key, AttributeType="S"),
            dynamodb.AttributeDefinition(AttributeName=sort_key, AttributeType="S"),
        ],
        KeySchema=[
            dynamodb.KeySchema(AttributeName=partition_key, KeyType="HASH"),
            dynamodb.KeySchema(AttributeName=sort_key, KeyType="RANGE"),
        ],
        SSESpecification=dynamodb.SSESpecification(
            SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=GetAtt(key, "Arn")
        ),
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True
        ),
        TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(AttributeName=ttl_attribute, Enabled=True),
        DeletionProtectionEnabled=True,
        DeletionPolicy=RETAIN,
        UpdateReplacePolicy=RETAIN,
    )
