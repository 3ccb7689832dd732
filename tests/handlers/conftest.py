"""Fixtures for the handler tests: the monitoring stack's runtime resources, created for real in the moto
server (an SNS topic with an SQS subscriber, the security log group, the continuation queue, the
quarantine policy), and the function's environment pointing at them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from handler_helpers import (
    ACCOUNT,
    DENY_ALL,
    QUARANTINE_POLICY_ARN,
    QUARANTINE_POLICY_NAME,
    SECURITY_LOG_GROUP,
    Monitoring,
)


@pytest.fixture
def monitoring(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Monitoring]:
    """The monitoring stack's runtime resources in moto and the function environment pointing at them."""
    sns = boto3.client("sns")
    sqs = boto3.client("sqs")
    logs = boto3.client("logs")
    iam = boto3.client("iam")
    topic_arn = sns.create_topic(Name="iam-guard-alerts-dev")["TopicArn"]
    alert_queue_url = sqs.create_queue(QueueName="alert-reader")["QueueUrl"]
    alert_queue_arn = sqs.get_queue_attributes(QueueUrl=alert_queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alert_queue_arn)
    continuation_queue_url = sqs.create_queue(QueueName="iam-guard-audit-continuation-dev")["QueueUrl"]
    logs.create_log_group(logGroupName=SECURITY_LOG_GROUP)
    iam.create_policy(PolicyName=QUARANTINE_POLICY_NAME, PolicyDocument=json.dumps(DENY_ALL))
    environment = {
        "ALERT_TOPIC_ARN": topic_arn,
        "SECURITY_LOG_GROUP": SECURITY_LOG_GROUP,
        "ALERT_SEVERITY": "medium",
        "METRICS_NAMESPACE": "IamGuard",
        "ENVIRONMENT": "dev",
        "LOG_LEVEL": "INFO",
        "REMEDIATION_MODE": "notify",
        "QUARANTINE_POLICY_ARN": QUARANTINE_POLICY_ARN,
        "EXEMPT_PRINCIPAL_ARNS": f"arn:aws:iam::{ACCOUNT}:role/iam-guard/iam-guard-policy-change-dev",
        "AUDIT_CONTINUATION_QUEUE_URL": continuation_queue_url,
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    yield Monitoring(topic_arn, alert_queue_url, continuation_queue_url, sqs, logs, iam)
