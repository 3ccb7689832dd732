"""H-2 / MON-10: one account traversal (iam_guard.analysis.account) for the daily audit and
`iam-guard audit-account`: fed the same moto account, both report the same findings."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from audit_helpers import ClockContext, scheduled
from handler_helpers import (
    Monitoring,
    monitoring_with_aws_managed_policies_fixture,  # noqa: F401 (pytest fixture)
)

import audit_run
import daily_audit
from iam_guard.analysis.account import Reference, Traversal, default_version_document
from iam_guard.remote_audit import audit_details, authorization_details

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
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


def build_disputed_account(iam: Any) -> None:
    """What the two audits used to disagree on: an AWS managed policy attached on its own, and a user whose
    escalation needs its group's policy."""
    iam.create_role(RoleName="admin-on-its-own", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="admin-on-its-own", PolicyArn=ADMIN_ARN)
    pass_role = iam.create_policy(PolicyName="pass-role", PolicyDocument=json.dumps(PASS_ROLE))["Policy"][
        "Arn"
    ]
    iam.create_group(GroupName="developers")
    iam.put_group_policy(
        GroupName="developers", PolicyName="lambda", PolicyDocument=json.dumps(LAMBDA_CREATE)
    )
    iam.create_user(UserName="deploy-bot")
    iam.add_user_to_group(GroupName="developers", UserName="deploy-bot")
    iam.attach_user_policy(UserName="deploy-bot", PolicyArn=pass_role)


@pytest.mark.integration
def test_h_2_mon_10_daily_audit_and_audit_account_report_the_same_findings(
    monitoring_with_aws_managed_policies: Monitoring,
) -> None:
    monitoring = monitoring_with_aws_managed_policies
    build_disputed_account(monitoring.iam)
    audit_run.set_container_memory(audit_run.ContainerMemory())

    [run] = daily_audit.handler(scheduled("agree"), ClockContext(120_000))["runs"]
    iam = boto3.client("iam")
    remote = audit_details(authorization_details(iam), iam)

    assert run["status"] == "complete"
    daily = Counter(
        (r["entity"], str(r["policy"]), r["code"])
        for r in monitoring.records()
        if r["kind"] == "audit-finding"
    )
    assert Counter((f.entity, f.policy, f.finding.code) for f in remote) == daily
    entities = {entity for entity, _, _ in daily}
    assert "aws-policy/AdministratorAccess" in entities  # attached on its own, analyzed once
    assert (
        "user/deploy-bot",
        "all attached policies combined",
        "IAMG006",
    ) in daily  # with its group's policy


@pytest.mark.integration
def test_h_2_mon_10_a_policy_deleted_between_two_reads_is_skipped_not_fatal(aws: str) -> None:
    iam = boto3.client("iam")
    build_role = {
        "RoleName": "orphaned",
        "Arn": "arn:aws:iam::123456789012:role/orphaned",
        "AssumeRolePolicyDocument": json.dumps(TRUST),
        "RolePolicyList": [{"PolicyName": "pass", "PolicyDocument": json.dumps(PASS_ROLE)}],
        "AttachedManagedPolicies": [
            {"PolicyArn": "arn:aws:iam::aws:policy/DeletedSinceTheListing"},
            {"PolicyArn": "arn:aws:iam::123456789012:policy/deleted-customer-policy"},
        ],
    }
    details = {"Policies": [], "GroupDetailList": [], "UserDetailList": [], "RoleDetailList": [build_role]}

    findings = audit_details(details, iam)

    assert {(f.entity, f.policy) for f in findings} >= {("role/orphaned", "pass")}


def test_h_2_default_version_falls_back_on_default_version_id() -> None:
    policy = {
        "DefaultVersionId": "v3",
        "PolicyVersionList": [
            {"VersionId": "v1", "Document": "old"},
            {"VersionId": "v3", "Document": "current"},
        ],
    }
    assert default_version_document(policy) == "current"
    flagged = {
        **policy,
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": "a"}],
    }
    assert default_version_document(flagged) == "a"
    assert default_version_document({"PolicyVersionList": [{"VersionId": "v1", "Document": "x"}]}) is None


def test_h_2_traversal_combines_a_users_own_and_group_policies_and_audits_aws_managed_once() -> None:
    reference = Reference()
    reference.add(
        "Group", {"GroupName": "g", "GroupPolicyList": [{"PolicyName": "l", "PolicyDocument": "G"}]}
    )
    fetched: list[str] = []

    def fetch(arn: str) -> Any:
        fetched.append(arn)
        return None if arn.endswith("Gone") else f"doc:{arn}"

    traversal = Traversal(reference, fetch)
    admin = {"PolicyArn": ADMIN_ARN}
    user = {
        "UserName": "u",
        "UserPolicyList": [{"PolicyName": "own", "PolicyDocument": "U"}],
        "GroupList": ["g"],
    }
    user["AttachedManagedPolicies"] = [admin, {"PolicyArn": "arn:aws:iam::aws:policy/Gone"}]
    first = traversal.units("User", user)
    second = traversal.units("Role", {"RoleName": "r", "AttachedManagedPolicies": [admin]})

    [combined] = [unit for unit in first if unit.context()["policy"] == "all attached policies combined"]
    assert combined.documents == ("U", f"doc:{ADMIN_ARN}", "G")
    assert [unit.entity for unit in first + second if unit.entity.startswith("aws-policy/")] == [
        "aws-policy/AdministratorAccess"
    ]
    assert traversal.audited_aws_managed == {ADMIN_ARN}


def test_h_2_a_document_that_cannot_be_analyzed_is_a_high_finding_not_an_error() -> None:
    from iam_guard.analysis.account import PolicyToAudit, PrincipalToAudit, analyze_unit

    [alone] = analyze_unit(PolicyToAudit("role/r", "inline", "identity", object()))
    combined = analyze_unit(PrincipalToAudit("role/r", (object(), {"Statement": 7})))

    assert (alone.code, alone.severity.label) == ("IAMG016", "high")
    assert combined and all(f.severity.label == "high" for f in combined)
