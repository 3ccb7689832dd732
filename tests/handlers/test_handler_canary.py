"""MON-13: the canary's TagPolicy of the quarantine policy, arriving through CloudTrail and EventBridge, is
the heartbeat: the policy-change handler emits the heartbeat metric (EMF) and nothing else."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from handler_helpers import (
    ACCOUNT,
    QUARANTINE_POLICY_ARN,
    STATE_TABLE_NAME,
    FakeContext,
    Monitoring,
    emf_records,
    load_event,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import policy_change
from iam_guard import contract

pytestmark = pytest.mark.integration


def canary_event() -> dict[str, Any]:
    return copy.deepcopy(load_event("tag_policy_canary"))


def test_mon_13_the_canary_fixture_tags_the_quarantine_policy_with_the_contract_key() -> None:
    request = canary_event()["detail"]["requestParameters"]
    assert request["policyArn"] == QUARANTINE_POLICY_ARN
    assert [tag["key"] for tag in request["tags"]] == [contract.CANARY_TAG_KEY]


def test_mon_13_the_canary_emits_the_heartbeat_metric_and_no_alert_or_record(
    monitoring: Monitoring, aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = policy_change.handler(canary_event(), FakeContext())

    assert result == {"status": "heartbeat"}
    out = capsys.readouterr().out
    [metrics] = emf_records(out)
    [directive] = metrics["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "IamGuard"
    assert directive["Dimensions"] == [["Environment"]]
    assert directive["Metrics"] == [{"Name": contract.CANARY_METRIC_NAME, "Unit": "Count"}]
    assert (metrics["Environment"], metrics[contract.CANARY_METRIC_NAME]) == ("dev", 1.0)
    [line] = log_lines(out)
    assert line["message"] == "canary heartbeat"
    assert monitoring.alerts() == []
    assert monitoring.records() == []
    assert boto3.client("dynamodb", endpoint_url=aws).scan(TableName=STATE_TABLE_NAME)["Items"] == []


def _other_policy(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["policyArn"] = f"arn:aws:iam::{ACCOUNT}:policy/app-policy"


def _other_tag(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["tags"] = [{"key": "team", "value": "platform"}]


def _other_account(event: dict[str, Any]) -> None:
    event["account"] = event["detail"]["recipientAccountId"] = "210987654321"


@pytest.mark.parametrize(
    "change", [_other_policy, _other_tag, _other_account], ids=["other-policy", "other-tag", "other-account"]
)
def test_mon_13_a_tag_policy_that_is_not_the_canary_gives_no_heartbeat(
    monitoring: Monitoring, change: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    event = canary_event()
    change(event)

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "ignored"
    out = capsys.readouterr().out
    assert emf_records(out) == []
    [line] = log_lines(out)
    assert line["message"] == "unexpected event acknowledged without analysis"
    assert monitoring.alerts() == []


def test_mon_13_a_canary_call_that_failed_gives_no_heartbeat(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    """A canary that lost its permission must let the "no heartbeat" alarm fire."""
    event = canary_event()
    event["detail"]["errorCode"] = "AccessDenied"

    result = policy_change.handler(event, FakeContext())

    assert result == {"status": "skipped", "reason": "the call failed with AccessDenied"}
    assert emf_records(capsys.readouterr().out) == []
