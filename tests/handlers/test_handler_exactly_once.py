"""H-7: one CloudTrail event, one alert, whatever EventBridge and Lambda do; retries bounded by the time the
invocation has left. Real moto server; faults injected on the server side by the FaultProxy."""

from __future__ import annotations

import copy
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from handler_helpers import (
    STATE_TABLE_NAME,
    FakeContext,
    Monitoring,
    WallClockContext,
    emf_records,
    load_event,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import lambda_support
import policy_change
from event_marks import EventInProgress
from fault_injection import FaultProxy, FaultRule
from iam_guard import contract
from lambda_support import Deadline, OutOfTime, call_within

pytestmark = pytest.mark.integration

EVENT_ID = "5f6e7d8c-0000-4000-8000-000000000004"  # put_role_policy_url_encoded
FIRST_REQUEST = "c0ffee00-0000-4000-8000-00000000a001"
OTHER_REQUEST = "c0ffee00-0000-4000-8000-00000000b002"
# Small budgets so the tests are quick; the handler keeps 1 s back and starts no call with < 1.5 s left.
SHORT_BUDGET_MS = 4_000


def state_table(moto_url: str) -> Any:
    """A DynamoDB client straight to moto (not through the fault proxy)."""
    return boto3.client("dynamodb", endpoint_url=moto_url)


def event_mark(moto_url: str, event_id: str = EVENT_ID) -> dict[str, str]:
    key = {"pk": {"S": f"{contract.EVENT_KEY_PREFIX}{event_id}"}, "sk": {"S": "event"}}
    item = state_table(moto_url).get_item(TableName=STATE_TABLE_NAME, Key=key, ConsistentRead=True)["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def run_out_of_time_on_publish(fault_proxy: FaultProxy, event: dict[str, Any]) -> tuple[FaultRule, float]:
    """First delivery: SNS Publish is throttled for as long as the invocation lives; returns the rule and
    how long the invocation took before it raised OutOfTime."""
    rule = fault_proxy.add(FaultRule("sns", "Publish", "throttle"))
    context = WallClockContext(SHORT_BUDGET_MS, aws_request_id=FIRST_REQUEST)
    started = time.monotonic()
    with pytest.raises(OutOfTime):
        policy_change.handler(event, context)
    return rule, time.monotonic() - started


def test_h_7_a_duplicate_delivery_alerts_once_and_is_acknowledged_with_a_log_line(
    monitoring: Monitoring, aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("put_role_policy_url_encoded")
    first = policy_change.handler(event, FakeContext(aws_request_id=FIRST_REQUEST))
    records = monitoring.records()
    capsys.readouterr()

    second = policy_change.handler(copy.deepcopy(event), FakeContext(aws_request_id=OTHER_REQUEST))

    assert first["alerted"] is True
    assert second == {"status": "duplicate", "eventId": EVENT_ID}
    out = capsys.readouterr().out
    [line] = log_lines(out)
    assert line["message"] == "duplicate delivery of an event already handled: acknowledged"
    assert (line["level"], line["eventId"], line["eventName"]) == ("INFO", EVENT_ID, "PutRolePolicy")
    assert emf_records(out) == []  # the metrics were emitted once, by the first delivery
    assert len(monitoring.alerts()) == 1
    assert monitoring.records() == records
    mark = event_mark(aws)
    assert (mark["pk"], mark["sk"], mark["state"]) == (f"event#{EVENT_ID}", "event", "done")
    expected_expiry = time.time() + contract.EVENT_RETENTION_DAYS * 86_400
    assert abs(int(mark[contract.STATE_TABLE_TTL_ATTRIBUTE]) - expected_expiry) < 120
    assert mark["alert"].startswith("sent:")


def test_h_7_distinct_events_of_the_same_change_each_alert(monitoring: Monitoring) -> None:
    event = load_event("put_role_policy_url_encoded")
    again = copy.deepcopy(event)
    again["detail"]["eventID"] = "5f6e7d8c-0000-4000-8000-0000000000aa"

    policy_change.handler(event, FakeContext())
    policy_change.handler(again, FakeContext())

    assert len(monitoring.alerts()) == 2


def test_h_7_a_publish_throttled_past_the_deadline_is_retried_and_alerts_once(
    monitoring: Monitoring, fault_proxy: FaultProxy, aws: str
) -> None:
    event = load_event("put_role_policy_url_encoded")

    rule, elapsed = run_out_of_time_on_publish(fault_proxy, event)

    assert elapsed < SHORT_BUDGET_MS / 1000  # raised before the function's deadline, not killed at it
    assert rule.applied >= 2  # retried while the time allowed
    records = monitoring.records()
    assert records and {record["kind"] for record in records} == {"policy-finding"}
    assert monitoring.alerts() == []
    mark = event_mark(aws)
    assert mark["state"] == "processing"
    assert mark["outcomeAction"] == "would-quarantine"
    assert "alert" not in mark

    fault_proxy.clear()
    retried = policy_change.handler(event, FakeContext(aws_request_id=FIRST_REQUEST))  # Lambda's retry

    assert retried["alerted"] is True
    [alert] = monitoring.alerts()
    assert "PutRolePolicy role app-runner" in alert["Subject"]
    assert monitoring.records() == records  # the retry did not write the records again
    assert event_mark(aws)["state"] == "done"
    late = policy_change.handler(event, FakeContext(aws_request_id=OTHER_REQUEST))
    assert late["status"] == "duplicate"
    assert monitoring.alerts() == []


def test_h_7_a_second_container_waits_for_a_live_lease_and_takes_over_an_expired_one(
    monitoring: Monitoring, fault_proxy: FaultProxy, aws: str
) -> None:
    event = load_event("put_role_policy_url_encoded")
    run_out_of_time_on_publish(fault_proxy, event)
    fault_proxy.clear()
    records = monitoring.records()

    with pytest.raises(EventInProgress):
        policy_change.handler(event, FakeContext(aws_request_id=OTHER_REQUEST))
    assert monitoring.alerts() == []

    # The first invocation's lease runs out (it died): its end is moved into the past on the server.
    key = {"pk": {"S": f"event#{EVENT_ID}"}, "sk": {"S": "event"}}
    state_table(aws).update_item(
        TableName=STATE_TABLE_NAME,
        Key=key,
        UpdateExpression="SET leaseUntil = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    taken_over = policy_change.handler(event, FakeContext(aws_request_id=OTHER_REQUEST))

    assert taken_over["alerted"] is True
    assert len(monitoring.alerts()) == 1
    assert monitoring.records() == records
    mark = event_mark(aws)
    assert (mark["state"], mark["owner"], mark["attempts"]) == ("done", OTHER_REQUEST, "2")


def test_h_7_an_invocation_out_of_time_raises_before_its_deadline_and_leaves_the_event_to_a_retry(
    monitoring: Monitoring, fault_proxy: FaultProxy, aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monitoring.iam.create_policy(
        PolicyName="wide-open",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    )
    rule = fault_proxy.add(FaultRule("iam", "GetPolicy", "throttle"))
    event = load_event("attach_role_policy_customer")
    context = WallClockContext(SHORT_BUDGET_MS)

    started = time.monotonic()
    with pytest.raises(OutOfTime):
        policy_change.handler(event, context)

    assert time.monotonic() - started < SHORT_BUDGET_MS / 1000
    assert context.get_remaining_time_in_millis() > 0
    assert rule.applied >= 2
    assert monitoring.records() == []
    assert monitoring.alerts() == []
    [line] = [line for line in log_lines(capsys.readouterr().out) if line["level"] == "WARN"][-1:]
    assert line["message"] == "raised so the event is retried"
    assert event_mark(aws, event["detail"]["eventID"])["state"] == "processing"

    fault_proxy.clear()
    retried = policy_change.handler(event, FakeContext(aws_request_id=context.aws_request_id))
    assert retried["status"] == "analyzed"
    [alert] = monitoring.alerts()
    assert "CRITICAL" in alert["Subject"]


def test_h_7_call_within_retries_a_throttled_call_until_it_succeeds(
    monitoring: Monitoring, fault_proxy: FaultProxy
) -> None:
    rule = fault_proxy.add(FaultRule("iam", "ListRoles", "throttle", times=3))
    iam = lambda_support.aws_client("iam")  # created after the proxy: talks through it

    reply = call_within(Deadline(FakeContext(), reserve_ms=0), iam.list_roles)

    assert reply["Roles"] == []
    assert rule.applied == 3
    assert fault_proxy.count("iam", "ListRoles") == 4  # three throttled answers, then moto's


def test_h_7_call_within_gives_up_with_out_of_time_before_the_deadline(
    monitoring: Monitoring, fault_proxy: FaultProxy
) -> None:
    rule = fault_proxy.add(FaultRule("iam", "ListRoles", "throttle"))
    iam = lambda_support.aws_client("iam")
    context = WallClockContext(3_000)

    with pytest.raises(OutOfTime, match="list_roles"):
        call_within(Deadline(context, reserve_ms=0), iam.list_roles)

    assert context.get_remaining_time_in_millis() > 0
    assert rule.applied >= 2


def test_h_7_call_within_raises_an_error_retries_cannot_fix_at_once(
    monitoring: Monitoring, fault_proxy: FaultProxy
) -> None:
    fault_proxy.add(FaultRule("iam", "ListRoles", "access_denied"))
    iam = lambda_support.aws_client("iam")

    with pytest.raises(ClientError) as raised:
        call_within(Deadline(FakeContext(), reserve_ms=0), iam.list_roles)

    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert fault_proxy.count("iam", "ListRoles") == 1
