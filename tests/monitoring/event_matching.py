"""EventBridge pattern matching on the moto server, through its API: a probe rule with the pattern (and
the input transformer under test) sends what it matches to an SQS queue, and each event is put on the bus
alone, so the queue says whether it matched and what the target received.

moto's TestEventPattern answers nothing (it is not implemented), so PutEvents through a real rule is the
way to run moto's matcher. A pattern from a template first has its intrinsic functions resolved for the
dev deployment (account 123456789012, us-east-1, the fixtures' key ID).
"""

from __future__ import annotations

import json
import re
from itertools import count
from typing import Any

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
KEY_ID = "0f1e2d3c-4b5a-4678-9abc-def012345678"
_probe_numbers = count(1)


def dev_references() -> dict[str, str]:
    """What Ref/GetAtt of the dev monitoring stack resolve to in the fixtures' account."""
    suffix = "dev-us-east-1"
    return {
        "MonitoringKey": KEY_ID,
        "MonitoringKey.Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}",
        "AlertTopic": f"arn:aws:sns:{REGION}:{ACCOUNT}:iam-guard-security-alerts-{suffix}",
        "StateTable": f"iam-guard-state-{suffix}",
        "StateTable.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iam-guard-state-{suffix}",
    }


def resolve(value: Any, references: dict[str, str], region: str = REGION) -> Any:
    """The value with Ref, Fn::GetAtt and Fn::Sub (pseudo parameters and references) resolved."""
    pseudo = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": region}
    if isinstance(value, list):
        return [resolve(item, references, region) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return pseudo.get(value["Ref"]) or references[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        return references[".".join(value["Fn::GetAtt"])]
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo.get(m[1]) or references[m[1]], text)
    return {key: resolve(inner, references, region) for key, inner in value.items()}


class MotoMatcher:
    """Runs moto's EventBridge matcher (and its input transformer) over events, one event at a time."""

    def __init__(self) -> None:
        self.events = boto3.client("events")
        self.sqs = boto3.client("sqs")

    def deliveries(
        self, pattern: dict[str, Any], events: list[dict[str, Any]], transformer: dict[str, Any] | None = None
    ) -> list[str | None]:
        """For each event, the body the probe rule's target received, or None when it did not match."""
        number = next(_probe_numbers)
        url = self.sqs.create_queue(QueueName=f"tamper-probe-{number}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule = f"tamper-probe-{number}"
        self.events.put_rule(Name=rule, EventPattern=json.dumps(pattern), State="ENABLED")
        target: dict[str, Any] = {"Id": "probe", "Arn": arn}
        if transformer is not None:
            target["InputTransformer"] = transformer
        self.events.put_targets(Rule=rule, Targets=[target])
        try:
            return [self._deliver(event, url) for event in events]
        finally:
            self.events.remove_targets(Rule=rule, Ids=["probe"])
            self.events.delete_rule(Name=rule)
            self.sqs.delete_queue(QueueUrl=url)

    def matches(self, pattern: dict[str, Any], events: list[dict[str, Any]]) -> list[bool]:
        return [body is not None for body in self.deliveries(pattern, events)]

    def _deliver(self, event: dict[str, Any], queue_url: str) -> str | None:
        reply = self.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event.get("resources", []),
                }
            ]
        )
        assert reply["FailedEntryCount"] == 0, reply
        messages = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        assert len(messages) <= 1, messages
        for message in messages:
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages[0]["Body"] if messages else None
