"""H-4: malformed or unexpected events are logged and acknowledged; throttling is retried by botocore;
what still fails raises (so EventBridge retries and the dead-letter queue keeps the event)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from handler_helpers import (
    FakeContext,
    Monitoring,
    load_event,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import daily_audit
import lambda_support
import policy_change
from fault_injection import FaultProxy, FaultRule

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(load_event("unknown_event_name"), id="iam-call-the-rule-does-not-match"),
        pytest.param(load_event("unknown_scheduled_event"), id="scheduled-event"),
        pytest.param(load_event("unknown_detail_not_object"), id="detail-is-a-string"),
        pytest.param(load_event("put_role_policy_without_role_name"), id="put-role-policy-without-role"),
        pytest.param({}, id="empty-object"),
        pytest.param(["not", "an", "object"], id="list"),
        pytest.param(None, id="null"),
    ],
)
def test_h_4_unexpected_policy_change_events_are_logged_and_acknowledged(
    monitoring: Monitoring, event: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "ignored"
    [line] = log_lines(capsys.readouterr().out)
    assert line["level"] == "WARN"
    assert line["message"] == "unexpected event acknowledged without analysis"
    assert line["reason"] == result["reason"]
    assert monitoring.records() == []
    assert monitoring.alerts() == []


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            {"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": "{not json"}]}, id="bad-json"
        ),
        pytest.param(
            {"Records": [{"eventSource": "aws:sqs", "messageId": "m-2", "body": '{"version": 99}'}]}, id="v99"
        ),
        pytest.param(
            {"Records": [{"eventSource": "aws:sns", "messageId": "m-3", "body": "{}"}]}, id="not-sqs"
        ),
        pytest.param(
            {
                "Records": [
                    {
                        "eventSource": "aws:sqs",
                        "messageId": "m-4",
                        "body": '{"version": 1, "run_id": "r", "started_at": 0, "markers": ["pol-2"]}',
                    }
                ]
            },
            id="markers-not-an-object",
        ),
        pytest.param(
            {
                "Records": [
                    {
                        "eventSource": "aws:sqs",
                        "messageId": "m-5",
                        "body": '{"version": 1, "run_id": "r", "started_at": 0, "phase": 7}',
                    }
                ]
            },
            id="phase-out-of-range",
        ),
    ],
)
def test_h_4_malformed_continuation_messages_are_logged_and_acknowledged(
    monitoring: Monitoring, event: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = daily_audit.handler(event, FakeContext(function_name="iam-guard-daily-audit-dev"))

    assert result == {"status": "ok", "runs": []}
    [line] = log_lines(capsys.readouterr().out)
    assert line["message"] == "continuation message acknowledged without audit"
    assert monitoring.alerts() == []


def test_h_4_unknown_audit_event_is_logged_and_acknowledged(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    result = daily_audit.handler({"detail-type": "Something Else"}, FakeContext())

    assert result == {"status": "ignored"}
    [line] = log_lines(capsys.readouterr().out)
    assert line["message"] == "unexpected event acknowledged without audit"


def test_h_4_a_failure_that_retries_cannot_fix_raises(monitoring: Monitoring) -> None:
    boto_sns = lambda_support.aws_client("sns")
    boto_sns.delete_topic(TopicArn=monitoring.topic_arn)

    with pytest.raises(ClientError) as raised:
        policy_change.handler(load_event("put_role_policy_url_encoded"), FakeContext())

    assert raised.value.response["Error"]["Code"] == "NotFound"


def test_h_4_a_missing_security_log_group_raises(monitoring: Monitoring) -> None:
    monitoring.logs.delete_log_group(logGroupName="/iam-guard/dev/us-east-1/security-events")

    with pytest.raises(ClientError) as raised:
        policy_change.handler(load_event("put_role_policy_url_encoded"), FakeContext())

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_h_4_clients_keep_botocore_retries_short(monitoring: Monitoring) -> None:
    """botocore retries once at most: the handlers' own retries (call_within) know the deadline."""
    for service in ("iam", "sns", "logs", "sqs", "dynamodb"):
        assert lambda_support.aws_client(service).meta.config.retries == {
            "mode": "standard",
            "total_max_attempts": 2,
        }
    assert lambda_support.aws_client("iam") is lambda_support.aws_client("iam")


def test_h_4_a_throttled_iam_call_is_retried(monitoring: Monitoring, fault_proxy: FaultProxy) -> None:
    """The server answers Throttling once, then the real moto answer: the handler succeeds."""
    arn = monitoring.iam.create_policy(
        PolicyName="wide-open",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    )["Policy"]["Arn"]
    rule = fault_proxy.add(FaultRule("iam", "GetPolicy", "throttle", times=1))

    result = policy_change.handler(load_event("attach_role_policy_customer"), FakeContext())

    assert rule.applied == 1
    assert fault_proxy.count("iam", "GetPolicy") == 2
    assert result["status"] == "analyzed"
    assert any(record["target"].get("policyArn") == arn for record in monitoring.records())


def test_h_4_missing_environment_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERT_TOPIC_ARN", raising=False)
    with pytest.raises(lambda_support.SettingsError, match="ALERT_TOPIC_ARN"):
        lambda_support.load_settings("policy_change", {"SECURITY_LOG_GROUP": "g"})
    with pytest.raises(lambda_support.SettingsError, match="REMEDIATION_MODE: 'delete'"):
        lambda_support.load_settings(
            "policy_change", {"ALERT_TOPIC_ARN": "t", "SECURITY_LOG_GROUP": "g", "REMEDIATION_MODE": "delete"}
        )
    with pytest.raises(lambda_support.SettingsError, match="ALERT_SEVERITY: 'severe'"):
        lambda_support.load_settings(
            "policy_change", {"ALERT_TOPIC_ARN": "t", "SECURITY_LOG_GROUP": "g", "ALERT_SEVERITY": "severe"}
        )
    with pytest.raises(lambda_support.SettingsError, match="AUDIT_CONTINUATION_QUEUE_URL"):
        lambda_support.load_settings("daily_audit", {"ALERT_TOPIC_ARN": "t", "SECURITY_LOG_GROUP": "g"})
    with pytest.raises(lambda_support.SettingsError, match="STATE_TABLE_NAME"):
        lambda_support.load_settings("policy_change", {"ALERT_TOPIC_ARN": "t", "SECURITY_LOG_GROUP": "g"})
