"""H-2, MON-8 and EDGE-4: the daily audit against real IAM, SQS, SNS, DynamoDB and CloudWatch Logs in moto;
paging and continuations through a server-side pager (audit_helpers.PagingProxy), since moto cannot page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from audit_helpers import (
    PagingProxy,
    TickingContext,
    drive,
    paged_fixture,  # noqa: F401 (pytest fixture)
)
from handler_helpers import (
    SECURITY_LOG_GROUP,
    FakeContext,
    Monitoring,
    emf_records,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
    monitoring_with_aws_managed_policies_fixture,  # noqa: F401 (pytest fixture)
)

import audit_run
import daily_audit
import lambda_support

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
    audit_run.set_container_memory(audit_run.ContainerMemory())


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

    [run] = result["runs"]
    assert (run["runId"], run["status"], run["policiesAudited"]) == (
        "sched-run-1",
        "complete",
        expected["policies"],
    )
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


# -- paging and continuations: moto answers GetAccountAuthorizationDetails in one page, so these tests
# put audit_helpers.PagingProxy (server side, 100 entries a page) between the handler and moto.


def build_paged_account(iam: Any) -> None:
    """250 customer-managed policies (3 pages), 120 roles (2 pages) each attaching one of them."""
    arns = [
        iam.create_policy(
            PolicyName=f"p-{n:03d}", PolicyDocument=json.dumps(S3_ALL if n % 50 == 0 else NARROW)
        )["Policy"]["Arn"]
        for n in range(249)
    ]
    for n in range(120):
        iam.create_role(RoleName=f"r-{n:03d}", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
        iam.attach_role_policy(RoleName=f"r-{n:03d}", PolicyArn=arns[n])


def test_h_2_pages_with_markers_and_resumes_in_the_middle_of_a_page(
    monitoring: Monitoring, paged: PagingProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    build_paged_account(monitoring.iam)
    bodies: list[str] = []

    results = drive(
        daily_audit.handler,
        monitoring,
        SCHEDULED,
        lambda n: TickingContext(15_000, 100, aws_request_id=f"inv-{n}"),
        seen_bodies=bodies,
    )

    assert [r["status"] for r in results][-1] == "complete"
    invocations = len(results)
    assert invocations >= 3
    assert paged.pages_served >= 3 + 2  # every page at least once, MaxItems honoured by the pager
    # 250 policies (249 + the stack's quarantine policy) + 120 trust policies, each counted once
    [summary] = [r for r in monitoring.records() if r["kind"] == "audit-summary"]
    assert summary["policiesAudited"] == 370
    assert summary["principalsAudited"] == 120
    assert summary["invocations"] == invocations
    s3_all = {
        r["entity"] for r in monitoring.records() if r["kind"] == "audit-finding" and r["code"] == "IAMG003"
    }
    assert s3_all == {f"policy/p-{n:03d}" for n in range(0, 249, 50)}
    assert all(
        json.loads(body) == {"runId": "sched-run-1", "step": json.loads(body)["step"]} for body in bodies
    )
    [alert] = monitoring.alerts()
    assert f"({invocations} invocation(s), run sched-run-1)" in alert["Message"]
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["PoliciesAudited"] == 370


def test_h_2_a_warm_container_resumes_without_reloading_and_a_cold_one_reloads(
    monitoring: Monitoring, paged: PagingProxy
) -> None:
    build_paged_account(monitoring.iam)
    warm = audit_run.ContainerMemory()
    audit_run.set_container_memory(warm)
    drive(daily_audit.handler, monitoring, SCHEDULED, lambda n: TickingContext(15_000, 100, f"w-{n}"))
    assert warm.reloads == 0

    cold = [audit_run.ContainerMemory() for _ in range(20)]

    def new_container(invocation: int) -> None:
        audit_run.set_container_memory(cold[invocation])

    results = drive(
        daily_audit.handler,
        monitoring,
        {**SCHEDULED, "id": "cold-run"},
        lambda n: TickingContext(15_000, 100, f"c-{n}"),
        new_container,
    )
    assert results[-1]["status"] == "complete"
    assert sum(container.reloads for container in cold) >= 1
    runs = {r["runId"]: r for r in monitoring.records() if r["kind"] == "audit-summary"}
    assert runs["cold-run"]["policiesAudited"] == runs["sched-run-1"]["policiesAudited"] == 370
