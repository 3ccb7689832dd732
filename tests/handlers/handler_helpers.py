"""Helpers of the handler tests: a fake Lambda context, the monitoring stack's runtime resources in moto
and readers for what the handlers wrote (alerts read back from an SQS queue subscribed to the topic,
records read back from the security log group, EMF metrics parsed from stdout)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
HANDLERS_DIR = REPO_ROOT / "handlers"
if str(HANDLERS_DIR) not in sys.path:
    # Lambda puts the zip's root on sys.path; the handlers import each other as top-level modules.
    sys.path.insert(0, str(HANDLERS_DIR))

ACCOUNT = "123456789012"  # moto's default account, also the fixtures' account
SECURITY_LOG_GROUP = "/iam-guard/dev/us-east-1/security-events"
QUARANTINE_POLICY_NAME = "iam-guard-quarantine-dev"
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
    remaining_ms: list[int] = field(default_factory=lambda: [55_000])
    calls: int = 0

    def get_remaining_time_in_millis(self) -> int:
        value = self.remaining_ms[min(self.calls, len(self.remaining_ms) - 1)]
        self.calls += 1
        return value


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
