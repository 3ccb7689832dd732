"""MON-4 against EventBridge's matcher (moto's server, over HTTP with boto3): a rule with the generated
pattern and an SQS target receives every IAM policy-change event of the project's CloudTrail fixtures,
and nothing else. MON-10 against the remote audit: the role allows what iam-guard's own auditor asks for.
(moto does not implement TestEventPattern, so the pattern is exercised through PutEvents and a rule.)"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from monitoring_helpers import STACK, role_statements

from iam_guard.blocks.events import IAM_POLICY_CHANGE_EVENTS
from iam_guard.remote_audit import AUDIT_ACTIONS
from support import FIXTURES
from template_helpers import props, template

CLOUDTRAIL = FIXTURES / "cloudtrail"
IAM_SOURCE = "iam.amazonaws.com"


def fixture_events() -> list[dict[str, Any]]:
    """Every fixture EventBridge could deliver (a JSON object as detail); the malformed shapes that only
    the handler tests use are left out."""
    events = [json.loads(path.read_text()) for path in sorted(CLOUDTRAIL.glob("*.json"))]
    return [event for event in events if isinstance(event.get("detail"), dict)]


def is_policy_change(event: dict[str, Any]) -> bool:
    detail = event["detail"]
    return detail.get("eventName") in IAM_POLICY_CHANGE_EVENTS and detail.get("eventSource") == IAM_SOURCE


class RuleProbe:
    """A rule on moto's default bus with the generated pattern, delivering matches to an SQS queue."""

    def __init__(self, pattern: dict[str, Any]) -> None:
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queue_url = self.sqs.create_queue(QueueName="pattern-probe")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(Name="probe", EventPattern=json.dumps(pattern), State="ENABLED")
        self.events.put_targets(Rule="probe", Targets=[{"Id": "queue", "Arn": queue_arn}])

    def put(self, event: dict[str, Any]) -> None:
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
        }
        response = self.events.put_events(Entries=[entry])
        assert response["FailedEntryCount"] == 0, response

    def delivered_event_names(self) -> list[str]:
        names = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return sorted(names)
            for message in messages:
                names.append(json.loads(message["Body"])["detail"]["eventName"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def generated_pattern() -> dict[str, Any]:
    return props(template("dev", STACK), "IamPolicyChangeRule")["EventPattern"]


@pytest.mark.integration
def test_mon_4_pattern_matches_every_policy_change_fixture(aws: str) -> None:
    probe = RuleProbe(generated_pattern())
    fixtures = fixture_events()
    for event in fixtures:
        probe.put(event)
    expected = sorted(
        e["detail"]["eventName"]
        for e in fixtures
        if e["detail"].get("eventName") in IAM_POLICY_CHANGE_EVENTS
        and e["detail"].get("eventSource") == IAM_SOURCE
    )
    delivered = probe.delivered_event_names()
    assert delivered == expected
    # Every event name of the rule has at least one fixture that proves it matches.
    assert set(delivered) == set(IAM_POLICY_CHANGE_EVENTS)


@pytest.mark.integration
def test_mon_4_pattern_ignores_reads_and_other_services(aws: str) -> None:
    probe = RuleProbe(generated_pattern())
    base = json.loads((CLOUDTRAIL / "create_role.json").read_text())
    read = json.loads(json.dumps(base))
    read["detail"]["eventName"] = "GetRole"
    other = json.loads(json.dumps(base))
    other["source"] = "aws.s3"
    other["detail"]["eventSource"] = "s3.amazonaws.com"
    other["detail"]["eventName"] = "PutBucketPolicy"
    for event in (read, other, base):
        probe.put(event)
    assert probe.delivered_event_names() == ["CreateRole"]


@pytest.mark.parametrize("cfg_name", ["dev", "prod"])
def test_mon_10_audit_role_allows_every_call_of_the_remote_audit(cfg_name: str) -> None:
    """iam-guard's remote audit narrows its session to AUDIT_ACTIONS: the role must allow each of them."""
    tpl = template(cfg_name, STACK)
    allowed = {
        action
        for stmt in role_statements(tpl, "CrossAccountAuditRole")
        if stmt["Effect"] == "Allow"
        for action in stmt["Action"]
    }
    assert set(AUDIT_ACTIONS) <= allowed
