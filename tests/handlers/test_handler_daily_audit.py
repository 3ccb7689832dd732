"""H-2, MON-8 and EDGE-4: the daily audit against real IAM, SQS, SNS and CloudWatch Logs in moto, and its
pagination and continuation path through botocore's Stubber where moto cannot page."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from handler_helpers import (
    ACCOUNT,
    SECURITY_LOG_GROUP,
    FakeContext,
    Monitoring,
    emf_records,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
    monitoring_with_aws_managed_policies_fixture,  # noqa: F401 (pytest fixture)
)

import daily_audit
import lambda_support
from alerts import SecurityLog

pytestmark = pytest.mark.integration

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
NARROW = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/monthly/*"}
    ],
}
S3_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Bucket", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
OPEN_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
# Escalation only when combined: PassRole (one policy) + Lambda create/invoke (another).
PASS_ROLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
}
LAMBDA_CREATE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}
    ],
}
SCHEDULED = {"version": "0", "id": "sched-run-1", "detail-type": "Scheduled Event", "source": "aws.events"}


def audit_context(*remaining_ms: int) -> FakeContext:
    return FakeContext(
        function_name="iam-guard-daily-audit-dev", remaining_ms=list(remaining_ms or (55_000,))
    )


@pytest.fixture(autouse=True)
def cold_container() -> None:
    """Each test starts as a fresh Lambda container (no phase-1 documents, no AWS managed memo)."""
    daily_audit._reference = daily_audit.Reference()
    daily_audit._aws_managed_documents.clear()


def build_account(iam: Any) -> dict[str, int]:
    """A small account with something wrong of every kind; returns how many documents the audit must see."""
    iam.create_policy(PolicyName="wide-open", PolicyDocument=json.dumps(ADMIN))
    narrow = iam.create_policy(PolicyName="reports-read", PolicyDocument=json.dumps(NARROW))["Policy"]["Arn"]
    pass_role = iam.create_policy(PolicyName="pass-role", PolicyDocument=json.dumps(PASS_ROLE))["Policy"][
        "Arn"
    ]
    iam.create_role(RoleName="app-runner", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.put_role_policy(RoleName="app-runner", PolicyName="bucket-admin", PolicyDocument=json.dumps(S3_ALL))
    iam.attach_role_policy(RoleName="app-runner", PolicyArn=narrow)
    iam.create_role(RoleName="open-door", AssumeRolePolicyDocument=json.dumps(OPEN_TRUST))
    iam.create_group(GroupName="developers")
    iam.put_group_policy(
        GroupName="developers", PolicyName="lambda", PolicyDocument=json.dumps(LAMBDA_CREATE)
    )
    iam.create_user(UserName="deploy-bot")
    iam.add_user_to_group(GroupName="developers", UserName="deploy-bot")
    iam.attach_user_policy(UserName="deploy-bot", PolicyArn=pass_role)
    # customer-managed: wide-open, reports-read, pass-role and the stack's quarantine policy = 4;
    # inline: bucket-admin, lambda = 2; trust: app-runner, open-door = 2.
    return {"policies": 8, "principals": 3}


def test_h_2_audit_covers_managed_inline_trust_and_combined_policies(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = build_account(monitoring.iam)

    result = daily_audit.handler(SCHEDULED, audit_context())

    assert result["runs"] == [
        {"runId": "sched-run-1", "status": "complete", "policiesAudited": expected["policies"]}
    ]
    findings = [record for record in monitoring.records() if record["kind"] == "audit-finding"]
    found = {(record["entity"], record["code"]) for record in findings}
    assert ("policy/wide-open", "IAMG001") in found  # customer-managed default version
    assert ("role/app-runner", "IAMG003") in found  # inline s3:*
    assert ("role/open-door", "IAMG009") in found  # trust open to everyone
    assert ("user/deploy-bot", "IAMG006") in found  # PassRole (own) + Lambda (group): only combined
    assert not any(entity == "policy/reports-read" for entity, _ in found)
    combined = next(r for r in findings if r["entity"] == "user/deploy-bot" and r["code"] == "IAMG006")
    assert combined["policy"] == "all attached policies combined"

    [summary] = [record for record in monitoring.records() if record["kind"] == "audit-summary"]
    assert summary["policiesAudited"] == expected["policies"]
    assert summary["principalsAudited"] == expected["principals"]
    assert sum(summary["findings"].values()) == len(findings)

    [alert] = monitoring.alerts()
    assert alert["Subject"].startswith(
        f"[iam-guard dev] daily IAM audit: {len(findings)} finding(s), worst CRITICAL"
    )
    assert len(alert["Subject"]) < 100
    assert "1. CRITICAL" in alert["Message"]
    assert (
        f"audited {expected['policies']} policies of {expected['principals']} principals" in alert["Message"]
    )
    assert SECURITY_LOG_GROUP in alert["Message"]

    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["PoliciesAudited"] == expected["policies"]
    assert metrics["FindingsCritical"] == summary["findings"]["critical"] >= 2
    units = {item["Name"]: item["Unit"] for item in metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["AuditDurationSeconds"] == "Seconds"
    assert units["PoliciesAudited"] == "Count"
    assert 0 <= metrics["AuditDurationSeconds"] < 60


def test_h_2_aws_managed_policies_are_fetched_once_and_counted_once(
    monitoring_with_aws_managed_policies: Monitoring,
) -> None:
    monitoring = monitoring_with_aws_managed_policies
    iam = monitoring.iam
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    for name in ("first", "second", "third"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
        iam.attach_role_policy(RoleName=name, PolicyArn=admin)
    get_policy_calls: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        get_policy_calls.append(params["PolicyArn"])

    client = lambda_support.aws_client("iam")
    client.meta.events.register("provide-client-params.iam.GetPolicy", count)
    try:
        daily_audit.handler(SCHEDULED, audit_context())
    finally:
        client.meta.events.unregister("provide-client-params.iam.GetPolicy", count)

    assert get_policy_calls == [admin]
    findings = [r for r in monitoring.records() if r["kind"] == "audit-finding" and r["policy"] == admin]
    assert [r["code"] for r in findings].count("IAMG001") == 1
    assert findings[0]["firstAttachedTo"] == "role/first"


def test_h_2_out_of_time_hands_over_through_the_queue_and_summarises_once(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = build_account(monitoring.iam)

    # 1 s left after the first round: the run must hand over (phase 1 done, phase 2 not started).
    first = daily_audit.handler(SCHEDULED, audit_context(1_000))

    assert first["runs"][0]["status"] == "continued"
    assert monitoring.alerts() == []
    assert emf_records(capsys.readouterr().out) == []
    records = monitoring.continuation_messages()
    [record] = records
    state = json.loads(record["body"])
    assert state["phase"] == 1
    assert sorted(state["done"]) == ["Group", "LocalManagedPolicy"]
    assert state["policies_audited"] == 5  # 4 customer-managed + 1 group inline
    assert len(record["body"]) < 256 * 1024

    daily_audit._reference = daily_audit.Reference()  # the next invocation lands on a cold container
    second = daily_audit.handler({"Records": records}, audit_context(55_000))

    assert second["runs"] == [
        {"runId": "sched-run-1", "status": "complete", "policiesAudited": expected["policies"]}
    ]
    [alert] = monitoring.alerts()
    assert "(2 invocation(s), run sched-run-1)" in alert["Message"]
    found = {(r["entity"], r["code"]) for r in monitoring.records() if r["kind"] == "audit-finding"}
    assert ("user/deploy-bot", "IAMG006") in found  # the group's documents were reloaded for phase 2
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["PoliciesAudited"] == expected["policies"]


# -- pagination: moto's GetAccountAuthorizationDetails ignores MaxItems and always answers IsTruncated
# false, so paging with markers cannot be exercised against it. These tests put botocore's Stubber on a
# real IAM client for that one operation; SQS, SNS and CloudWatch Logs stay the real moto server.


def _policy(name: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        "DefaultVersionId": "v2",
        "PolicyVersionList": [
            {"VersionId": "v2", "IsDefaultVersion": True, "Document": json.dumps(document)},
            {"VersionId": "v1", "IsDefaultVersion": False, "Document": json.dumps(NARROW)},
        ],
    }


def _role(name: str, trust: dict[str, Any], attached: list[str]) -> dict[str, Any]:
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{name.upper():0<17}"[:21],
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "CreateDate": "2026-11-01T00:00:00Z",
        "AssumeRolePolicyDocument": json.dumps(trust),
        "RolePolicyList": [],
        "AttachedManagedPolicies": [
            {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in attached
        ],
    }


def _page(key: str, items: list[dict[str, Any]], marker: str | None) -> dict[str, Any]:
    page: dict[str, Any] = {key: items, "IsTruncated": marker is not None}
    if marker:
        page["Marker"] = marker
    return page


def _expect(stub: Stubber, entity: str, page: dict[str, Any], marker: str | None = None) -> None:
    params: dict[str, Any] = {"Filter": [entity], "MaxItems": 1000}
    if marker:
        params["Marker"] = marker
    stub.add_response("get_account_authorization_details", page, params)


def _clients(iam: Any) -> daily_audit.AuditClients:
    return daily_audit.AuditClients(
        iam,
        lambda_support.aws_client("sqs"),
        lambda_support.aws_client("sns"),
        lambda_support.aws_client("logs"),
    )


def _security_log(name: str) -> SecurityLog:
    return SecurityLog(lambda_support.aws_client("logs"), SECURITY_LOG_GROUP, name)


def test_h_2_pages_with_markers_and_resumes_from_them_in_the_next_invocation(monitoring: Monitoring) -> None:
    settings = lambda_support.load_settings("daily_audit")
    iam = boto3.client("iam")
    pass_role_arn = f"arn:aws:iam::{ACCOUNT}:policy/pass-role-2"
    with Stubber(iam) as stub:
        # invocation 1, round 1: first page of policies (truncated), the only page of groups
        _expect(stub, "LocalManagedPolicy", _page("Policies", [_policy("admin-1", ADMIN)], "pol-2"))
        _expect(stub, "Group", _page("GroupDetailList", [], None))
        state = daily_audit.AuditState.new("paged-run")
        first = daily_audit.Audit(state, audit_context(2_000), _clients(iam), settings, _security_log("a"), 1)
        assert first.run() == "continued"
        stub.assert_no_pending_responses()

    [message] = monitoring.continuation_messages()
    resumed = daily_audit.AuditState.from_json(message["body"])
    assert resumed.markers == {"LocalManagedPolicy": "pol-2"}
    assert resumed.done == ["Group"]
    assert resumed.policies_audited == 1
    assert resumed.findings["critical"] >= 1
    assert monitoring.alerts() == []

    daily_audit._reference = daily_audit.Reference()  # cold container for the next invocation
    iam = boto3.client("iam")
    with Stubber(iam) as stub:
        # invocation 2: the marker is sent back; then phase 2 needs phase 1's documents: reloaded in full
        _expect(
            stub, "LocalManagedPolicy", _page("Policies", [_policy("pass-role-2", PASS_ROLE)], None), "pol-2"
        )
        _expect(stub, "LocalManagedPolicy", _page("Policies", [_policy("admin-1", ADMIN)], "pol-2"))
        _expect(
            stub, "LocalManagedPolicy", _page("Policies", [_policy("pass-role-2", PASS_ROLE)], None), "pol-2"
        )
        _expect(stub, "Group", _page("GroupDetailList", [], None))
        _expect(stub, "Role", _page("RoleDetailList", [_role("r1", LAMBDA_TRUST, [pass_role_arn])], "role-2"))
        _expect(stub, "User", _page("UserDetailList", [], None))
        _expect(stub, "Role", _page("RoleDetailList", [_role("r2", OPEN_TRUST, [])], None), "role-2")
        second = daily_audit.Audit(
            resumed, audit_context(55_000), _clients(iam), settings, _security_log("b"), 1
        )
        assert second.run() == "complete"
        stub.assert_no_pending_responses()

    # admin-1 + pass-role-2 + the trust policies of r1 and r2: every page counted once, reload not counted
    assert resumed.policies_audited == 4
    assert resumed.principals_audited == 2
    [alert] = monitoring.alerts()
    assert "daily IAM audit" in alert["Subject"]
    assert "(2 invocation(s), run paged-run)" in alert["Message"]
    found = {(r["entity"], r["code"]) for r in monitoring.records() if r["kind"] == "audit-finding"}
    assert ("policy/admin-1", "IAMG001") in found
    assert ("role/r2", "IAMG009") in found


def test_h_2_a_warm_container_resumes_without_reloading(monitoring: Monitoring) -> None:
    settings = lambda_support.load_settings("daily_audit")
    iam = boto3.client("iam")
    with Stubber(iam) as stub:
        _expect(stub, "LocalManagedPolicy", _page("Policies", [_policy("admin-1", ADMIN)], None))
        _expect(stub, "Group", _page("GroupDetailList", [], None))
        state = daily_audit.AuditState.new("warm-run")
        first = daily_audit.Audit(state, audit_context(2_000), _clients(iam), settings, _security_log("a"), 1)
        assert first.run() == "continued"
        stub.assert_no_pending_responses()
    [message] = monitoring.continuation_messages()
    resumed = daily_audit.AuditState.from_json(message["body"])
    with Stubber(iam) as stub:
        # no reload pages: the same container saw all of phase 1
        _expect(stub, "Role", _page("RoleDetailList", [_role("r1", LAMBDA_TRUST, [])], None))
        _expect(stub, "User", _page("UserDetailList", [], None))
        second = daily_audit.Audit(
            resumed, audit_context(55_000), _clients(iam), settings, _security_log("b"), 1
        )
        assert second.run() == "complete"
        stub.assert_no_pending_responses()
    assert resumed.policies_audited == 2


def test_h_2_every_invocation_makes_progress_even_when_started_short_of_time(monitoring: Monitoring) -> None:
    build_account(monitoring.iam)

    result = daily_audit.handler(SCHEDULED, audit_context(1_000))

    assert result["runs"][0]["status"] == "continued"
    state = json.loads(monitoring.continuation_messages()[0]["body"])
    assert state["phase"] == 1  # one round was done despite the short budget, so the run cannot stall


def test_h_2_handover_state_is_compact_and_keeps_only_the_worst_findings() -> None:
    state = daily_audit.AuditState.new("compact")
    from iam_guard.analysis import analyze_policy

    findings = analyze_policy(ADMIN) + analyze_policy(S3_ALL)
    for number in range(200):
        state.record_findings(findings, {"entity": f"role/r{number}", "policy": "inline"})

    assert len(state.worst) == daily_audit.WORST_KEPT
    assert {item["severity"] for item in state.worst} == {"critical"}
    assert sum(state.findings.values()) == 200 * len(findings)
    assert len(state.to_json()) < 32 * 1024
    assert daily_audit.AuditState.from_json(state.to_json()) == state
