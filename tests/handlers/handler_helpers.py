"""Helpers and fixtures of the handler tests: a fake Lambda context; the monitoring stack's runtime
resources created for real in the moto server (an SNS topic with an SQS subscriber, the security log
group, the continuation queue, the quarantine policy) with the function environment pointing at them;
and readers for what the handlers wrote (alerts read back from the subscribed queue, records read back
from the security log group, EMF metrics parsed from stdout).

The fixtures live here rather than in a conftest.py, because several test folders of this project import
names from `conftest` and a second conftest module would shadow theirs; test modules import them."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from iam_guard import contract
from support import HANDLERS_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
if str(HANDLERS_DIR) not in sys.path:
    # Lambda puts the zip's root on sys.path; the handlers import each other as top-level modules.
    sys.path.insert(0, str(HANDLERS_DIR))

ACCOUNT = "123456789012"  # moto's default account, also the fixtures' account
SECURITY_LOG_GROUP = "/iam-guard/dev/us-east-1/security-events"
QUARANTINE_POLICY_NAME = "iam-guard-quarantine-dev"
STATE_TABLE_NAME = "iam-guard-state-dev"
QUARANTINE_POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{QUARANTINE_POLICY_NAME}"
DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Quarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}


@dataclass
class FakeContext:
    """The parts of the Lambda context the handlers read; remaining time is scripted per call."""

    function_name: str = "iam-guard-policy-change-dev"
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000001"
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:iam-guard-policy-change-dev"
    remaining_ms: list[int] = field(default_factory=lambda: [55_000])
    calls: int = 0

    def get_remaining_time_in_millis(self) -> int:
        value = self.remaining_ms[min(self.calls, len(self.remaining_ms) - 1)]
        self.calls += 1
        return value


@dataclass
class WallClockContext:
    """A Lambda context whose remaining time runs down with the wall clock, as Lambda's does: for tests of
    what a handler does when its time runs out."""

    budget_ms: int
    function_name: str = "iam-guard-policy-change-dev"
    aws_request_id: str = "c0ffee00-0000-4000-8000-00000000c10c"
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:iam-guard-policy-change-dev"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return self.budget_ms - int((time.monotonic() - self.started) * 1000)


@dataclass
class Monitoring:
    """The runtime resources of the monitoring stack in moto, and readers for what handlers wrote."""

    topic_arn: str
    alert_queue_url: str
    continuation_queue_url: str
    sqs: Any
    logs: Any
    iam: Any

    def alerts(self) -> list[dict[str, Any]]:
        """Every SNS notification delivered to the subscribed queue so far (Subject, Message, ...)."""
        notifications = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=self.alert_queue_url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return notifications
            for message in messages:
                notifications.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.alert_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def records(self) -> list[dict[str, Any]]:
        """Every JSON record in the security log group, oldest first."""
        events: list[dict[str, Any]] = []
        for page in self.logs.get_paginator("filter_log_events").paginate(logGroupName=SECURITY_LOG_GROUP):
            events.extend(page["events"])
        return [json.loads(event["message"]) for event in sorted(events, key=lambda item: item["timestamp"])]

    def continuation_messages(self) -> list[dict[str, Any]]:
        """Messages waiting in the continuation queue, as SQS event records for the audit handler."""
        reply = self.sqs.receive_message(QueueUrl=self.continuation_queue_url, MaxNumberOfMessages=10)
        return [
            {"messageId": message["MessageId"], "eventSource": "aws:sqs", "body": message["Body"]}
            for message in reply.get("Messages", [])
        ]


def load_event(name: str) -> dict[str, Any]:
    """A CloudTrail EventBridge event from tests/fixtures/cloudtrail."""
    return json.loads((FIXTURES / "cloudtrail" / f"{name}.json").read_text())


def emf_records(stdout: str) -> list[dict[str, Any]]:
    """The EMF metric records among the JSON lines a handler printed."""
    records = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def log_lines(stdout: str) -> list[dict[str, Any]]:
    """The structured log lines (not EMF) a handler printed."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and '"_aws"' not in line]


def create_state_table(dynamodb: Any) -> None:
    """The stack's state table (H-5): the contract's key schema and TTL attribute."""
    dynamodb.create_table(
        TableName=STATE_TABLE_NAME,
        KeySchema=[
            {"AttributeName": contract.STATE_TABLE_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.STATE_TABLE_SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": contract.STATE_TABLE_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": contract.STATE_TABLE_SORT_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=STATE_TABLE_NAME,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": contract.STATE_TABLE_TTL_ATTRIBUTE},
    )


def _create_monitoring(monkeypatch: pytest.MonkeyPatch) -> Monitoring:
    sns = boto3.client("sns")
    sqs = boto3.client("sqs")
    logs = boto3.client("logs")
    iam = boto3.client("iam")
    topic_arn = sns.create_topic(Name="iam-guard-alerts-dev")["TopicArn"]
    alert_queue_url = sqs.create_queue(QueueName="alert-reader")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=alert_queue_url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=attributes["QueueArn"])
    continuation_queue_url = sqs.create_queue(QueueName="iam-guard-audit-continuation-dev")["QueueUrl"]
    logs.create_log_group(logGroupName=SECURITY_LOG_GROUP)
    create_state_table(boto3.client("dynamodb"))
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
        contract.ENV_STATE_TABLE_NAME: STATE_TABLE_NAME,
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return Monitoring(topic_arn, alert_queue_url, continuation_queue_url, sqs, logs, iam)


@pytest.fixture(name="monitoring")
def monitoring_fixture(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Monitoring]:
    """The monitoring stack's runtime resources in moto and the function environment pointing at them."""
    yield _create_monitoring(monkeypatch)


@pytest.fixture(name="monitoring_with_aws_managed_policies")
def monitoring_with_aws_managed_policies_fixture(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Monitoring]:
    """As `monitoring`, with moto's copy of the AWS managed policies loaded (moto skips them by default;
    the server runs in this process, so the environment switch reaches it; reset so IAM is rebuilt)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    request = urllib.request.Request(f"{aws}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    yield _create_monitoring(monkeypatch)
