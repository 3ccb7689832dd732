"""ORG-1 / MON-13 per member account, the heartbeat check (org_heartbeat_check.py, the org audit scheduler's
second event kind), on the moto server: an organization of three member accounts, one whose heartbeat is
fresh, one whose heartbeat is older than two intervals and one never seen. The heartbeats are written by
the analyzer's own recording code (member_heartbeats.record_arrival) at chosen times; the check is run at a
chosen "now" three intervals after the accounts joined (moto stamps JoinedTimestamp with the real clock),
and once through the Lambda entry point at the real time (every account still inside its first two
intervals: none expected yet)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from org_fixtures import client, create_organization, create_runtime, receive

from fault_injection import FaultProxy, FaultRule
from iam_guard import contract

pytestmark = pytest.mark.integration

INTERVAL = 60
SECURITY_ACCOUNT = "123456789012"  # moto's default account: the management account of the organization


class Context:
    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "iam-guard-org-audit-scheduler-dev-us-east-1"
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:{SECURITY_ACCOUNT}:function:{self.function_name}"
        )

    def get_remaining_time_in_millis(self) -> int:
        return 55_000


@pytest.fixture
def org_env(aws: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    organization = create_organization(aws, 3)
    runtime = create_runtime(aws, organization.organization_id)
    for name, value in runtime.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(contract.ENV_CANARY_INTERVAL_MINUTES, str(INTERVAL))
    return {"organization": organization, "runtime": runtime, "sqs": client("sqs", aws), "endpoint": aws}


def _check(now: float) -> dict[str, Any]:
    from lambda_support import Deadline
    from org_audit_support import load_org_settings
    from org_heartbeat_check import check_member_heartbeats

    return check_member_heartbeats(
        load_org_settings(), INTERVAL, SECURITY_ACCOUNT, Deadline(Context(), 3_000), now=now
    )


def _record(account: str, at: float) -> None:
    import boto3

    from lambda_support import Deadline
    from member_heartbeats import record_arrival

    assert record_arrival(
        boto3.client("dynamodb"),
        "iam-guard-org-audit-state-dev-us-east-1",
        account,
        Deadline(Context(), 1_000),
        now=at,
    )


def _alerts(env: dict[str, Any]) -> list[str]:
    messages = receive(env["sqs"], env["runtime"].alerts_queue_url)
    for message in messages:
        env["sqs"].delete_message(
            QueueUrl=env["runtime"].alerts_queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
    return [message["Body"] for message in messages]


def _blind_metric(out: str) -> float:
    [record] = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Environment"]]
    assert directive["Metrics"] == [{"Name": "MemberAccountsBlind", "Unit": "Count"}]
    return float(record["MemberAccountsBlind"])


def test_mon_13_check_alerts_once_naming_exactly_the_stale_and_the_never_seen_account(
    org_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    fresh, stale, never = sorted(org_env["organization"].members)
    now = time.time() + 3 * INTERVAL * 60  # three intervals after the accounts joined
    _record(fresh, now - 60)
    _record(stale, now - 2 * INTERVAL * 60 - 60)
    capsys.readouterr()

    result = _check(now)

    assert result["status"] == "checked" and result["expected"] == 3
    assert sorted(result["blind"]) == sorted([stale, never]) and result["alerted"] is True
    assert _blind_metric(capsys.readouterr().out) == 2.0
    [alert] = _alerts(org_env)
    assert "blind: IAM changes in these 2 member account(s) are not reaching iam-guard" in alert
    named = {line.split()[1] for line in alert.splitlines() if line.startswith("- ")}
    assert named == {stale, never}
    assert fresh not in alert and SECURITY_ACCOUNT not in alert  # the management account is not expected
    assert f"- {never} member-" in alert and "never seen" in alert

    # A second check within the interval (a retried or duplicated delivery): the metric, no second alert.
    again = _check(now + 60)
    assert sorted(again["blind"]) == sorted([stale, never]) and again["alerted"] is False
    assert _blind_metric(capsys.readouterr().out) == 2.0
    assert _alerts(org_env) == []

    # One interval later the still-blind accounts are alerted again.
    later = _check(now + INTERVAL * 60)
    assert later["alerted"] is True and len(_alerts(org_env)) == 1


def test_mon_13_an_alert_sns_refused_gives_the_interval_mark_back_so_the_retry_alerts(
    org_env: dict[str, Any], fault_proxy: FaultProxy
) -> None:
    """SNS refuses the publish (server side): the check fails loudly and releases the alert mark it took,
    so the retried invocation, within the same interval, still alerts, once."""
    now = time.time() + 3 * INTERVAL * 60
    refused = fault_proxy.add(FaultRule("sns", "Publish", "access_denied"))

    with pytest.raises(ClientError):
        _check(now)
    assert refused.applied >= 1 and _alerts(org_env) == []

    fault_proxy.clear()
    retried = _check(now + 60)
    assert retried["alerted"] is True and len(retried["blind"]) == 3
    assert len(_alerts(org_env)) == 1


def test_mon_13_check_with_every_account_beating_sends_nothing_and_reports_zero(
    org_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time() + 3 * INTERVAL * 60
    for account in org_env["organization"].members:
        _record(account, now - 120)
    capsys.readouterr()
    result = _check(now)
    assert result["blind"] == [] and result["alerted"] is False
    assert _blind_metric(capsys.readouterr().out) == 0.0
    assert _alerts(org_env) == []


def test_mon_13_accounts_that_joined_within_two_intervals_are_not_yet_expected(
    org_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import org_audit_scheduler

    result = org_audit_scheduler.handler(dict(contract.HEARTBEAT_CHECK_EVENT), Context())

    assert result == {"status": "checked", "expected": 0, "blind": [], "alerted": False}
    assert _blind_metric(capsys.readouterr().out) == 0.0
    assert _alerts(org_env) == []


@pytest.mark.parametrize(
    "event",
    [
        {"iamGuardCheck": "member-heartbeats", "extra": 1},
        {"iamGuardCheck": "member-heartbeat"},
        {"iamGuardCheck": ["member-heartbeats"]},
    ],
    ids=["extra-key", "other-value", "list-value"],
)
def test_mon_13_only_the_exact_check_input_runs_the_check(
    org_env: dict[str, Any], event: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import org_audit_scheduler

    assert org_audit_scheduler.handler(event, Context()) == {"status": "ignored"}
    assert '"_aws"' not in capsys.readouterr().out
