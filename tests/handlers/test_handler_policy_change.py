"""H-1 and EDGE-4: the policy-change handler against real IAM, SNS, SQS and CloudWatch Logs in moto."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from handler_helpers import (
    ACCOUNT,
    FIXTURES,
    QUARANTINE_POLICY_ARN,
    FakeContext,
    Monitoring,
    emf_records,
    load_event,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
    monitoring_with_aws_managed_policies_fixture,  # noqa: F401 (pytest fixture)
)

import policy_change
from iam_guard import contract
from iam_guard.blocks.events import IAM_POLICY_CHANGE_EVENTS

pytestmark = pytest.mark.integration

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
NARROW = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports-bucket/monthly/*"}
    ],
}
PASSROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DeployFunctions",
            "Effect": "Allow",
            "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
            "Resource": "*",
        }
    ],
}
RULE_EVENT_NAMES = {
    "CreatePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "PutRolePolicy",
    "PutUserPolicy",
    "PutGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "AttachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "DetachGroupPolicy",
    "DeleteRolePolicy",
    "DeleteUserPolicy",
    "DeleteGroupPolicy",
    "DeletePolicy",
    "DeletePolicyVersion",
    "UpdateAssumeRolePolicy",
    "CreateRole",
}


def run(event: dict[str, Any]) -> dict[str, Any]:
    return policy_change.handler(event, FakeContext())


def finding_records(monitoring: Monitoring) -> list[dict[str, Any]]:
    return [record for record in monitoring.records() if record["kind"] == "policy-finding"]


def codes(records: list[dict[str, Any]]) -> set[str]:
    return {record["finding"]["code"] for record in records}


def test_h_1_every_event_name_of_the_rule_has_a_recorded_event_and_a_handling() -> None:
    details = [json.loads(path.read_text())["detail"] for path in FIXTURES.glob("cloudtrail/*.json")]
    recorded = {detail.get("eventName") for detail in details if isinstance(detail, dict)}
    rule_events = RULE_EVENT_NAMES | set(IAM_POLICY_CHANGE_EVENTS)  # the brief's list and the stack's rule
    assert recorded >= rule_events
    assert rule_events == policy_change.HANDLED_EVENTS
    assert "TagPolicy" in recorded  # the canary's heartbeat (MON-13) is parsed as well


@pytest.mark.parametrize(
    ("name", "target"),
    [
        (
            "add_user_to_group",
            {"principalType": "user", "principalName": "deploy-bot", "groupName": "developers"},
        ),
        (
            "put_role_permissions_boundary",
            {
                "principalType": "role",
                "principalName": "app-runner",
                "permissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
            },
        ),
        ("delete_user_permissions_boundary", {"principalType": "user", "principalName": "deploy-bot"}),
    ],
)
def test_h_1_membership_and_boundary_changes_are_recorded_without_alert(
    monitoring: Monitoring, name: str, target: dict[str, str]
) -> None:
    result = run(load_event(name))

    assert result["status"] == "recorded"
    [record] = monitoring.records()
    assert record["kind"] == "policy-change"
    assert record["target"] == target
    assert record["reason"]
    assert monitoring.alerts() == []


def test_h_1_put_role_policy_url_encoded_document_is_analyzed_logged_and_alerted(
    monitoring: Monitoring,
) -> None:
    event = load_event("put_role_policy_url_encoded")
    assert event["detail"]["requestParameters"]["policyDocument"].startswith("%7B")

    result = run(event)

    assert result["status"] == "analyzed"
    records = finding_records(monitoring)
    assert len(records) == result["findings"] >= 1
    assert "IAMG003" in codes(records)  # s3:* service wildcard
    service_wildcard = next(record for record in records if record["finding"]["code"] == "IAMG003")
    assert service_wildcard["who"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformAdmin/alice"
    assert service_wildcard["sourceIPAddress"] == "203.0.113.17"
    assert service_wildcard["eventName"] == "PutRolePolicy"
    assert service_wildcard["target"] == {
        "principalType": "role",
        "principalName": "app-runner",
        "policyName": "bucket-admin",
    }
    assert service_wildcard["finding"]["statement_index"] == 0
    assert service_wildcard["finding"]["sid"] == "BucketAdmin"
    assert "s3:*" in service_wildcard["finding"]["actions"]

    [alert] = monitoring.alerts()
    assert len(alert["Subject"]) < 100
    assert alert["Subject"].startswith("[iam-guard dev] ")
    assert "PutRolePolicy role app-runner" in alert["Subject"]
    message = alert["Message"]
    assert f"Who:   arn:aws:sts::{ACCOUNT}:assumed-role/PlatformAdmin/alice" in message
    assert "From:  203.0.113.17" in message
    assert 'What:  PutRolePolicy on role app-runner, inline policy "bucket-admin"' in message
    assert 'statement 0 (Sid "BucketAdmin")' in message
    assert "How to fix: " in message


def test_h_1_json_text_documents_of_user_and_group_policies_are_analyzed(monitoring: Monitoring) -> None:
    user_event = load_event("put_user_policy_json_text")
    assert user_event["detail"]["requestParameters"]["policyDocument"].startswith("{")

    run(user_event)
    run(load_event("put_group_policy_json_text"))

    records = finding_records(monitoring)
    by_principal = {(r["target"]["principalType"], r["target"]["principalName"]) for r in records}
    assert by_principal == {("user", "deploy-bot"), ("group", "developers")}
    user_codes = codes([r for r in records if r["target"]["principalType"] == "user"])
    assert {"IAMG003", "IAMG006"} <= user_codes  # iam:* on *: service wildcard and privilege escalation
    group_findings = [r["finding"] for r in records if r["target"]["principalType"] == "group"]
    assert {"code": "IAMG001", "severity": "critical"} in [
        {"code": f["code"], "severity": f["severity"]} for f in group_findings
    ]
    assert len(monitoring.alerts()) == 2


def test_h_1_create_policy_and_policy_version_are_analyzed_from_the_request(monitoring: Monitoring) -> None:
    created = run(load_event("create_policy_json_text"))
    versioned = run(load_event("create_policy_version_url_encoded"))

    assert created["status"] == versioned["status"] == "analyzed"
    records = finding_records(monitoring)
    create_records = [r for r in records if r["eventName"] == "CreatePolicy"]
    assert create_records[0]["target"]["policyArn"] == f"arn:aws:iam::{ACCOUNT}:policy/wide-open"
    assert "IAMG001" in codes(create_records)
    version_records = [r for r in records if r["eventName"] == "CreatePolicyVersion"]
    assert version_records[0]["target"]["setAsDefault"] is True
    version_codes = codes(version_records)
    assert {"IAMG006", "IAMG007"} <= version_codes  # PassRole + Lambda escalation, PassRole on *


def test_h_1_attach_fetches_the_default_version_of_the_attached_policy(monitoring: Monitoring) -> None:
    iam = monitoring.iam
    iam.create_role(RoleName="app-runner", AssumeRolePolicyDocument=json.dumps(_lambda_trust()))
    arn = iam.create_policy(PolicyName="wide-open", PolicyDocument=json.dumps(NARROW))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ADMIN), SetAsDefault=True)
    iam.attach_role_policy(RoleName="app-runner", PolicyArn=arn)

    result = run(load_event("attach_role_policy_customer"))

    assert result["status"] == "analyzed"
    records = finding_records(monitoring)
    assert "IAMG001" in codes(records)  # v2 (the default) is the admin document, v1 was narrow
    assert records[0]["target"] == {
        "principalType": "role",
        "principalName": "app-runner",
        "policyArn": arn,
        "versionId": "v2",
    }


def test_h_1_attach_of_a_narrow_default_version_raises_no_finding(monitoring: Monitoring) -> None:
    arn = monitoring.iam.create_policy(PolicyName="wide-open", PolicyDocument=json.dumps(ADMIN))["Policy"][
        "Arn"
    ]
    monitoring.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(NARROW), SetAsDefault=True)

    result = run(load_event("attach_group_policy"))

    assert result == {"status": "analyzed", "findings": 0, "alerted": False, "remediation": "none"}
    [record] = monitoring.records()
    assert record["kind"] == "policy-change"
    assert record["target"]["principalName"] == "developers"
    assert monitoring.alerts() == []


def test_h_1_set_default_policy_version_analyzes_the_version_made_default(monitoring: Monitoring) -> None:
    arn = monitoring.iam.create_policy(PolicyName="deployer", PolicyDocument=json.dumps(NARROW))["Policy"][
        "Arn"
    ]
    monitoring.iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps(PASSROLE), SetAsDefault=True
    )

    result = run(load_event("set_default_policy_version"))

    assert result["status"] == "analyzed"
    records = finding_records(monitoring)
    assert "IAMG007" in codes(records)
    assert records[0]["target"]["versionId"] == "v2"


def test_h_1_attach_of_an_aws_managed_policy_fetches_it_from_iam(
    monitoring_with_aws_managed_policies: Monitoring,
) -> None:
    monitoring = monitoring_with_aws_managed_policies

    result = run(load_event("attach_user_policy_aws_managed"))

    assert result["status"] == "analyzed"
    records = finding_records(monitoring)
    admin = [r for r in records if r["finding"]["code"] == "IAMG001"]
    assert admin and admin[0]["finding"]["severity"] == "critical"
    assert admin[0]["target"]["policyArn"] == "arn:aws:iam::aws:policy/AdministratorAccess"
    [alert] = monitoring.alerts()
    assert "CRITICAL" in alert["Subject"]


def test_h_1_trust_policies_of_create_role_and_update_assume_role_policy(monitoring: Monitoring) -> None:
    run(load_event("create_role"))
    run(load_event("update_assume_role_policy"))

    records = finding_records(monitoring)
    assert {r["policyType"] for r in records} == {"trust"}
    severity_by_event = {
        r["eventName"]: r["finding"]["severity"] for r in records if r["finding"]["code"] == "IAMG009"
    }
    assert severity_by_event == {"CreateRole": "high", "UpdateAssumeRolePolicy": "critical"}


def test_h_1_alerts_only_at_or_above_alert_severity(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_SEVERITY", "critical")

    result = run(load_event("put_role_policy_url_encoded"))  # s3:* on *: high, below critical

    assert result["alerted"] is False
    assert monitoring.alerts() == []
    assert len(finding_records(monitoring)) == result["findings"] >= 1  # still recorded


def test_h_1_narrow_policy_is_recorded_as_a_change_without_alert(monitoring: Monitoring) -> None:
    result = run(load_event("put_role_policy_narrow"))

    assert result["findings"] == 0
    [record] = monitoring.records()
    assert record["kind"] == "policy-change"
    assert record["status"] == "analyzed"
    assert monitoring.alerts() == []


@pytest.mark.parametrize(
    "name",
    [
        "detach_role_policy",
        "detach_user_policy",
        "detach_group_policy",
        "delete_role_policy",
        "delete_user_policy",
        "delete_group_policy",
        "delete_policy",
        "delete_policy_version",
    ],
)
def test_h_1_removals_are_recorded_as_changes_without_analysis_or_alert(
    monitoring: Monitoring, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event(name)

    result = run(event)

    assert result["status"] == "removal"
    [record] = monitoring.records()
    assert record["kind"] == "policy-change"
    assert record["eventName"] == event["detail"]["eventName"]
    assert record["who"] == event["detail"]["userIdentity"]["arn"]
    assert monitoring.alerts() == []
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["PolicyChangesAnalyzed"] == 0


def test_h_1_detaching_the_quarantine_policy_is_alerted(monitoring: Monitoring) -> None:
    event = load_event("detach_role_policy_quarantine")
    assert event["detail"]["requestParameters"]["policyArn"] == QUARANTINE_POLICY_ARN

    run(event)

    [record] = monitoring.records()
    assert record["liftsQuarantine"] is True
    [alert] = monitoring.alerts()
    assert "quarantine lifted role app-runner" in alert["Subject"]


def test_h_1_deleting_the_inline_quarantine_deny_is_alerted_as_a_lifted_quarantine(
    monitoring: Monitoring,
) -> None:
    event = load_event("delete_role_policy")
    event["detail"]["requestParameters"]["policyName"] = contract.QUARANTINE_INLINE_POLICY_NAME

    run(event)

    [record] = monitoring.records()
    assert record["liftsQuarantine"] is True
    [alert] = monitoring.alerts()
    assert "quarantine lifted role app-runner" in alert["Subject"]


def test_h_1_failed_calls_are_skipped_with_a_log_line(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = run(load_event("failed_put_role_policy_access_denied"))
    missing = run(load_event("failed_attach_user_policy_no_such_entity"))

    assert denied == {"status": "skipped", "reason": "the call failed with AccessDenied"}
    assert missing["status"] == "skipped"
    lines = log_lines(capsys.readouterr().out)
    assert [line["errorCode"] for line in lines] == ["AccessDenied", "NoSuchEntityException"]
    assert monitoring.records() == []
    assert monitoring.alerts() == []


def test_h_1_policy_deleted_before_it_could_be_fetched_is_recorded_as_unavailable(
    monitoring: Monitoring,
) -> None:
    result = run(load_event("attach_role_policy_deleted_policy"))

    assert result["status"] == "document-unavailable"
    [record] = monitoring.records()
    assert record["status"] == "document-unavailable"
    assert "already-deleted no longer exists" in record["reason"]
    assert monitoring.alerts() == []


def test_h_1_document_omitted_by_cloudtrail_is_fetched_from_the_created_version(
    monitoring: Monitoring,
) -> None:
    monitoring.iam.create_policy(PolicyName="huge-policy", PolicyDocument=json.dumps(ADMIN))

    result = run(load_event("create_policy_document_omitted"))

    assert result["status"] == "analyzed"
    assert "IAMG001" in codes(finding_records(monitoring))


def test_h_1_alert_subject_stays_under_100_characters_for_long_names(monitoring: Monitoring) -> None:
    event = load_event("put_role_policy_url_encoded")
    event["detail"]["requestParameters"]["roleName"] = "r" * 64  # IAM's longest role name

    run(event)

    [alert] = monitoring.alerts()
    assert len(alert["Subject"]) <= 99
    assert alert["Subject"].endswith("...")
    assert "r" * 64 in alert["Message"]


def test_edge_4_policy_change_emits_emf_metrics_matching_its_findings(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    run(load_event("put_user_policy_json_text"))

    out = capsys.readouterr().out
    [metrics] = emf_records(out)
    [directive] = metrics["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "IamGuard"
    assert directive["Dimensions"] == [["Environment"]]
    assert metrics["Environment"] == "dev"
    units = {item["Name"]: item["Unit"] for item in directive["Metrics"]}
    assert units == {
        "PolicyChangesAnalyzed": "Count",
        "FindingsCritical": "Count",
        "FindingsHigh": "Count",
        "FindingsMedium": "Count",
        "FindingsLow": "Count",
        "FindingsInfo": "Count",
        "RemediationsApplied": "Count",
    }
    assert metrics["PolicyChangesAnalyzed"] == 1
    severities = [record["finding"]["severity"] for record in finding_records(monitoring)]
    for label in ("critical", "high", "medium", "low", "info"):
        assert metrics[f"Findings{label.capitalize()}"] == severities.count(label)


def _lambda_trust() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


def test_h_1_url_encoded_fixture_decodes_to_the_same_document_as_json_text() -> None:
    encoded = load_event("put_role_policy_url_encoded")["detail"]["requestParameters"]["policyDocument"]
    assert json.loads(urllib.parse.unquote(encoded))["Statement"][0]["Action"] == "s3:*"
