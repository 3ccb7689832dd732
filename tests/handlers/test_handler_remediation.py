"""H-3: remediation modes off | notify | quarantine, against real IAM in moto."""

from __future__ import annotations

import copy
import json
import urllib.parse
from typing import Any

import pytest
from botocore.exceptions import ClientError
from handler_helpers import (
    ACCOUNT,
    QUARANTINE_POLICY_ARN,
    FakeContext,
    Monitoring,
    emf_records,
    load_event,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import policy_change
from remediation import QUARANTINE_TAG_KEY, Principal, is_exempt, principal_key_from_arn

pytestmark = pytest.mark.integration

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
READ_LOGS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "arn:aws:logs:*:*:log-group:app"}
    ],
}


def run(event: dict[str, Any]) -> dict[str, Any]:
    return policy_change.handler(event, FakeContext())


def attached(monitoring: Monitoring, kind: str, name: str) -> list[str]:
    method = getattr(monitoring.iam, f"list_attached_{kind}_policies")
    reply = method(**{f"{kind.capitalize()}Name": name})
    return sorted(item["PolicyArn"] for item in reply["AttachedPolicies"])


def role_tags(monitoring: Monitoring, name: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in monitoring.iam.list_role_tags(RoleName=name)["Tags"]}


@pytest.fixture
def app_runner(monitoring: Monitoring) -> str:
    """Role app-runner with an inline and an attached policy in place (to check nothing is removed)."""
    iam = monitoring.iam
    iam.create_role(RoleName="app-runner", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.put_role_policy(RoleName="app-runner", PolicyName="read-logs", PolicyDocument=json.dumps(READ_LOGS))
    arn = iam.create_policy(PolicyName="existing", PolicyDocument=json.dumps(READ_LOGS))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="app-runner", PolicyArn=arn)
    return arn


def test_h_3_quarantine_attaches_the_deny_policy_and_tags_the_role(
    monitoring: Monitoring,
    app_runner: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")

    result = run(load_event("put_role_policy_url_encoded"))  # s3:* on *: high

    assert result["remediation"] == "quarantined"
    assert attached(monitoring, "role", "app-runner") == sorted([app_runner, QUARANTINE_POLICY_ARN])
    tag = role_tags(monitoring, "app-runner")[QUARANTINE_TAG_KEY]
    code, _, stamp = tag.partition("/")
    assert code == "IAMG003"
    assert stamp.endswith("Z") and stamp.startswith("20")
    assert monitoring.iam.list_role_policies(RoleName="app-runner")["PolicyNames"] == ["read-logs"]
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["RemediationsApplied"] == 1
    [alert] = monitoring.alerts()
    assert (
        f"Remediation: quarantined - attached {QUARANTINE_POLICY_ARN} to role app-runner" in alert["Message"]
    )


def test_h_3_quarantine_is_idempotent(
    monitoring: Monitoring,
    app_runner: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    event = load_event("put_role_policy_url_encoded")
    run(event)
    tags_after_first = role_tags(monitoring, "app-runner")
    capsys.readouterr()
    again = copy.deepcopy(event)  # the same change made a second time: another CloudTrail event
    again["detail"]["eventID"] = "5f6e7d8c-0000-4000-8000-000000000099"

    second = run(again)

    assert second["remediation"] == "already-quarantined"
    assert attached(monitoring, "role", "app-runner") == sorted([app_runner, QUARANTINE_POLICY_ARN])
    assert role_tags(monitoring, "app-runner") == tags_after_first
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["RemediationsApplied"] == 0


def test_h_3_quarantine_of_users_and_groups(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    monitoring.iam.create_user(UserName="deploy-bot")
    monitoring.iam.create_group(GroupName="developers")

    user = run(load_event("put_user_policy_json_text"))
    group = run(load_event("put_group_policy_json_text"))

    assert user["remediation"] == group["remediation"] == "quarantined"
    assert attached(monitoring, "user", "deploy-bot") == [QUARANTINE_POLICY_ARN]
    assert attached(monitoring, "group", "developers") == [QUARANTINE_POLICY_ARN]
    user_tags = {t["Key"]: t["Value"] for t in monitoring.iam.list_user_tags(UserName="deploy-bot")["Tags"]}
    assert user_tags[QUARANTINE_TAG_KEY].split("/")[0] in {"IAMG003", "IAMG006"}


def test_h_3_exempt_principals_are_never_quarantined(
    monitoring: Monitoring, app_runner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    # The exempt ARN carries a path; the CloudTrail event names the role without it.
    monkeypatch.setenv("EXEMPT_PRINCIPAL_ARNS", f"arn:aws:iam::{ACCOUNT}:role/break-glass/app-runner")

    result = run(load_event("put_role_policy_url_encoded"))

    assert result["remediation"] == "exempt"
    assert attached(monitoring, "role", "app-runner") == [app_runner]
    assert QUARANTINE_TAG_KEY not in role_tags(monitoring, "app-runner")


def test_h_3_notify_mode_alerts_what_quarantine_would_do_and_changes_nothing(
    monitoring: Monitoring, app_runner: str
) -> None:
    result = run(load_event("put_role_policy_url_encoded"))

    assert result["remediation"] == "would-quarantine"
    assert attached(monitoring, "role", "app-runner") == [app_runner]
    [alert] = monitoring.alerts()
    assert f"would attach {QUARANTINE_POLICY_ARN} to role app-runner" in alert["Message"]


def test_h_3_off_mode_records_findings_but_neither_alerts_nor_quarantines(
    monitoring: Monitoring, app_runner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "off")

    result = run(load_event("put_role_policy_url_encoded"))

    assert result["remediation"] == "none"
    assert result["alerted"] is False
    assert monitoring.alerts() == []
    assert attached(monitoring, "role", "app-runner") == [app_runner]
    assert {record["kind"] for record in monitoring.records()} == {"policy-finding"}


def test_h_3_medium_findings_are_alerted_but_not_quarantined(
    monitoring: Monitoring, app_runner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    monkeypatch.setenv("ALERT_SEVERITY", "low")
    event = copy.deepcopy(load_event("put_role_policy_narrow"))
    secrets = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    }
    event["detail"]["requestParameters"]["policyDocument"] = urllib.parse.quote(json.dumps(secrets))

    result = run(event)

    severities = {record["finding"]["severity"] for record in monitoring.records()}
    assert severities and max(severities, key=["info", "low", "medium", "high", "critical"].index) == "medium"
    assert result["alerted"] is True
    assert result["remediation"] == "none"
    assert attached(monitoring, "role", "app-runner") == [app_runner]


def test_h_3_changes_that_name_no_principal_are_not_quarantined(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")

    result = run(load_event("create_policy_json_text"))

    assert result["remediation"] == "none"
    [alert] = monitoring.alerts()
    assert "names no role, user or group" in alert["Message"]


def test_h_3_exempt_matching_uses_account_type_and_name() -> None:
    role = Principal(kind="role", name="ops", account_id=ACCOUNT)
    assert principal_key_from_arn(f"arn:aws:iam::{ACCOUNT}:role/a/b/ops") == (ACCOUNT, "role", "ops")
    assert principal_key_from_arn("arn:aws:sts::123456789012:assumed-role/ops/x") is None
    assert is_exempt(role, (f"arn:aws-us-gov:iam::{ACCOUNT}:role/ops",))
    assert not is_exempt(role, ("arn:aws:iam::210987654321:role/ops",))
    assert not is_exempt(role, (f"arn:aws:iam::{ACCOUNT}:user/ops",))


def test_h_3_failed_quarantine_still_records_and_alerts_then_raises_for_retry(
    monitoring: Monitoring, app_runner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    monkeypatch.setenv("QUARANTINE_POLICY_ARN", f"arn:aws:iam::{ACCOUNT}:policy/deleted-quarantine")

    with pytest.raises(ClientError) as raised:
        run(load_event("put_role_policy_url_encoded"))

    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
    records = monitoring.records()
    assert records and {record["remediation"]["action"] for record in records} == {"failed"}
    [alert] = monitoring.alerts()
    assert "Remediation: failed - quarantine failed: NoSuchEntity" in alert["Message"]
    assert attached(monitoring, "role", "app-runner") == [app_runner]
