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

import lambda_support
import policy_change
from fault_injection import FaultProxy, FaultRule
from iam_guard.contract import QUARANTINE_INLINE_POLICY_NAME
from remediation import (
    QUARANTINE_INLINE_DOCUMENT,
    QUARANTINE_TAG_KEY,
    Principal,
    denies_everything,
    is_exempt,
    principal_key_from_arn,
)

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


# -- cannot be dodged or misdirected ---------------------------------------------------------------------

FOREIGN_ACCOUNT = "210987654321"
OTHER_EVENT_ID = "5f6e7d8c-0000-4000-8000-0000000000bb"


def inline_document(monitoring: Monitoring, role: str, name: str) -> dict[str, Any]:
    document = monitoring.iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return document if isinstance(document, dict) else json.loads(urllib.parse.unquote(document))


def fill_managed_policy_quota(monitoring: Monitoring, role: str, already: int) -> list[str]:
    """Attach managed policies until the role holds IAM's default quota of 10."""
    arns = []
    for number in range(10 - already):
        arn = monitoring.iam.create_policy(
            PolicyName=f"filler-{number}", PolicyDocument=json.dumps(READ_LOGS)
        )
        monitoring.iam.attach_role_policy(RoleName=role, PolicyArn=arn["Policy"]["Arn"])
        arns.append(arn["Policy"]["Arn"])
    return arns


def test_h_3_a_full_managed_policy_quota_falls_back_to_an_inline_deny_and_removes_nothing(
    monitoring: Monitoring, app_runner: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    fill_managed_policy_quota(monitoring, "app-runner", already=1)
    before = attached(monitoring, "role", "app-runner")
    # moto does not enforce the quota of 10 managed policies per role: the server answers as IAM would.
    quota = fault_proxy.add(FaultRule("iam", "AttachRolePolicy", "limit_exceeded"))

    result = run(load_event("put_role_policy_url_encoded"))

    assert quota.applied == 1
    assert result["remediation"] == "quarantined"
    assert len(before) == 10
    assert attached(monitoring, "role", "app-runner") == before  # nothing detached, nothing attached
    names = monitoring.iam.list_role_policies(RoleName="app-runner")["PolicyNames"]
    assert sorted(names) == sorted(["read-logs", QUARANTINE_INLINE_POLICY_NAME])
    [statement] = inline_document(monitoring, "app-runner", QUARANTINE_INLINE_POLICY_NAME)["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Deny", "*", "*")
    assert "Condition" not in statement
    assert role_tags(monitoring, "app-runner")[QUARANTINE_TAG_KEY].startswith("IAMG003/")
    [alert] = monitoring.alerts()
    assert "managed-policy quota of role app-runner is full" in alert["Message"]
    assert f"inline explicit deny {QUARANTINE_INLINE_POLICY_NAME} (Deny * on *)" in alert["Message"]

    fault_proxy.clear()
    again = load_event("put_role_policy_url_encoded")
    again["detail"]["eventID"] = OTHER_EVENT_ID
    assert run(again)["remediation"] == "already-quarantined"  # the inline deny counts as the quarantine


def test_h_3_a_planted_inline_policy_named_like_the_quarantine_is_no_quarantine(
    monitoring: Monitoring, app_runner: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker who fills the quota and plants an Allow under the quarantine's inline name first."""
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    fill_managed_policy_quota(monitoring, "app-runner", already=1)
    planted = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    monitoring.iam.put_role_policy(
        RoleName="app-runner", PolicyName=QUARANTINE_INLINE_POLICY_NAME, PolicyDocument=json.dumps(planted)
    )
    fault_proxy.add(FaultRule("iam", "AttachRolePolicy", "limit_exceeded"))

    result = run(load_event("put_role_policy_url_encoded"))

    assert result["remediation"] == "quarantined"
    [statement] = inline_document(monitoring, "app-runner", QUARANTINE_INLINE_POLICY_NAME)["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Deny", "*", "*")


def test_h_3_denies_everything_only_for_an_unconditional_deny_of_all() -> None:
    assert denies_everything(QUARANTINE_INLINE_DOCUMENT)
    assert denies_everything(urllib.parse.quote(json.dumps(QUARANTINE_INLINE_DOCUMENT)))
    conditional = copy.deepcopy(QUARANTINE_INLINE_DOCUMENT)
    conditional["Statement"][0]["Condition"] = {"Bool": {"aws:ViaAWSService": "true"}}
    assert not denies_everything(conditional)
    narrow = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    assert not denies_everything(narrow)
    assert not denies_everything({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert not denies_everything("not json")


@pytest.mark.parametrize(
    ("recipient", "envelope"),
    [(FOREIGN_ACCOUNT, FOREIGN_ACCOUNT), (FOREIGN_ACCOUNT, ACCOUNT), (ACCOUNT, FOREIGN_ACCOUNT)],
    ids=["foreign-event", "foreign-recipient", "foreign-envelope"],
)
def test_h_3_an_event_of_another_account_never_quarantines_a_local_role_of_the_same_name(
    monitoring: Monitoring, app_runner: str, monkeypatch: pytest.MonkeyPatch, recipient: str, envelope: str
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    event = load_event("put_role_policy_url_encoded")
    event["account"] = envelope
    event["detail"]["recipientAccountId"] = recipient

    result = run(event)

    assert result["remediation"] == "foreign-account"
    assert attached(monitoring, "role", "app-runner") == [app_runner]
    assert QUARANTINE_TAG_KEY not in role_tags(monitoring, "app-runner")
    [alert] = monitoring.alerts()
    assert f"not this account {ACCOUNT}: nothing is quarantined here" in alert["Message"]


def test_h_3_the_own_account_comes_from_sts_once_when_the_context_has_no_function_arn(
    monitoring: Monitoring, app_runner: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    monkeypatch.setattr(lambda_support, "_own_account", {})  # a fresh container: nothing cached yet
    event = load_event("put_role_policy_url_encoded")
    again = copy.deepcopy(event)
    again["detail"]["eventID"] = OTHER_EVENT_ID

    first = policy_change.handler(event, FakeContext(invoked_function_arn=""))
    second = policy_change.handler(again, FakeContext(invoked_function_arn=""))

    assert (first["remediation"], second["remediation"]) == ("quarantined", "already-quarantined")
    assert fault_proxy.count("sts", "GetCallerIdentity") == 1


@pytest.mark.parametrize("exempt_name", ["App-Runner", "APP-RUNNER"])
def test_h_3_exemptions_are_matched_case_insensitively_as_iam_names_are(
    monitoring: Monitoring, app_runner: str, monkeypatch: pytest.MonkeyPatch, exempt_name: str
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    monkeypatch.setenv("EXEMPT_PRINCIPAL_ARNS", f"arn:aws:iam::{ACCOUNT}:role/iam-guard/{exempt_name}")

    result = run(load_event("put_role_policy_url_encoded"))

    assert result["remediation"] == "exempt"
    assert attached(monitoring, "role", "app-runner") == [app_runner]
    assert is_exempt(Principal("role", "APP-runner", ACCOUNT), (f"arn:aws:iam::{ACCOUNT}:role/app-runner",))
    assert not is_exempt(
        Principal("role", "app-runner2", ACCOUNT), (f"arn:aws:iam::{ACCOUNT}:role/app-runner",)
    )


def test_h_3_a_tag_that_fails_after_the_attach_is_reported_accurately(
    monitoring: Monitoring, app_runner: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    fault_proxy.add(FaultRule("iam", "TagRole", "access_denied"))

    result = run(load_event("put_role_policy_url_encoded"))

    assert result["remediation"] == "quarantined"
    assert attached(monitoring, "role", "app-runner") == sorted([app_runner, QUARANTINE_POLICY_ARN])
    assert QUARANTINE_TAG_KEY not in role_tags(monitoring, "app-runner")
    [alert] = monitoring.alerts()
    assert (
        "Remediation: quarantined - quarantined; tag failed (AccessDenied): "
        f"attached {QUARANTINE_POLICY_ARN} to role app-runner" in alert["Message"]
    )


def test_h_3_a_principal_that_no_longer_exists_gets_one_alert_and_is_acknowledged(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    event = load_event("put_role_policy_url_encoded")  # role app-runner was never created (or is deleted)

    result = run(event)
    redelivered = policy_change.handler(
        event, FakeContext(aws_request_id="c0ffee00-0000-4000-8000-0000000000d2")
    )

    assert result["remediation"] == "principal-gone"
    assert redelivered["status"] == "duplicate"
    [alert] = monitoring.alerts()
    assert "Remediation: principal-gone - role app-runner no longer exists" in alert["Message"]
    records = monitoring.records()
    assert records and {record["remediation"]["action"] for record in records} == {"principal-gone"}
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["RemediationsApplied"] == 0


def test_h_3_a_failed_quarantine_that_succeeds_on_retry_is_recorded_without_a_second_alert(
    monitoring: Monitoring, app_runner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    late_policy = "late-quarantine"
    monkeypatch.setenv("QUARANTINE_POLICY_ARN", f"arn:aws:iam::{ACCOUNT}:policy/{late_policy}")
    event = load_event("put_role_policy_url_encoded")
    with pytest.raises(ClientError):
        run(event)
    first_records = monitoring.records()
    monitoring.iam.create_policy(
        PolicyName=late_policy, PolicyDocument=json.dumps(QUARANTINE_INLINE_DOCUMENT)
    )

    retried = run(event)  # Lambda's retry of the same invocation

    assert retried["remediation"] == "quarantined"
    assert attached(monitoring, "role", "app-runner") == sorted(
        [app_runner, f"arn:aws:iam::{ACCOUNT}:policy/{late_policy}"]
    )
    assert len(monitoring.alerts()) == 1  # the first attempt's alert ("quarantine failed") only
    records = monitoring.records()
    assert records[: len(first_records)] == first_records
    [retry_record] = records[len(first_records) :]
    assert retry_record["kind"] == "remediation-retried"
    assert retry_record["remediation"]["action"] == "quarantined"
