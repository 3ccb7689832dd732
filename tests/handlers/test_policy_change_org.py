"""ORG-1, the analyzer across accounts: the security account's PolicyAnalyzer handles a member account's IAM
policy change in that account, through the member roles, with sessions narrowed to one policy or one
principal (member_sessions.py).

Two accounts on one moto server: the security account (moto's default, where the monitoring resources and
the handler's own clients live) and a member account, whose IAM content the test creates through an STS
session (moto keeps one backend per account and switches to it by the session's access key). moto neither
enforces IAM policies (so session policies are unit-tested here on what the handler builds) nor refuses to
assume a role that does not exist (that refusal is injected on the server side: AWS answers AccessDenied).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import boto3
import pytest
from handler_helpers import (
    ACCOUNT,
    DENY_ALL,
    FakeContext,
    Monitoring,
    load_event,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
    monitoring_with_aws_managed_policies_fixture,  # noqa: F401 (pytest fixture)
)

import member_sessions
import policy_change
from fault_injection import FaultProxy, FaultRule
from iam_guard import contract
from lambda_support import SettingsError
from member_sessions import (
    MemberUnreachable,
    OrgSettings,
    member_account,
    principal_arns,
    quarantine_session_policy,
    read_session_policy,
    session_name,
)

pytestmark = pytest.mark.integration

MEMBER = "111122223333"
ORGANIZATION_ID = "o-a1b2c3d4e5"
AUDIT_ROLE = "IamGuardOrgMemberAudit-dev-us-east-1"
REMEDIATION_ROLE = "IamGuardOrgMemberRemediation-dev-us-east-1"
MEMBER_QUARANTINE = "IamGuardOrgMemberQuarantine-dev-us-east-1"
MEMBER_QUARANTINE_ARN = f"arn:aws:iam::{MEMBER}:policy/{MEMBER_QUARANTINE}"
EVENT_ID = "9e8d7c6b-0000-4000-8000-0000000000a1"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TRUST_SECURITY_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}
# What STS accepts as a RoleSessionName.
STS_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def member_iam() -> Any:
    """An IAM client of the member account, for the test's own setup and reads (moto maps the session's
    access key to the member's backend; it does not check that the assumed role exists)."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole",
        RoleSessionName="test-setup",
    )["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@pytest.fixture
def org(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The organization environment of the PolicyAnalyzer (as the monitoring stack sets it with an
    organization), and a member account holding what org-member deploys plus a user and a wide policy."""
    return _member_account(monkeypatch)


def _member_account(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(contract.ENV_ORGANIZATION_ID, ORGANIZATION_ID)
    monkeypatch.setenv(contract.ENV_MEMBER_AUDIT_ROLE, AUDIT_ROLE)
    monkeypatch.setenv(contract.ENV_MEMBER_REMEDIATION_ROLE, REMEDIATION_ROLE)
    monkeypatch.setenv(contract.ENV_MEMBER_QUARANTINE_POLICY, MEMBER_QUARANTINE)
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")
    iam = member_iam()
    for role in (AUDIT_ROLE, REMEDIATION_ROLE):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_SECURITY_ACCOUNT))
    iam.create_policy(PolicyName=MEMBER_QUARANTINE, PolicyDocument=json.dumps(DENY_ALL))
    wide = iam.create_policy(PolicyName="wide-open", PolicyDocument=json.dumps(ADMIN))["Policy"]["Arn"]
    iam.create_user(UserName="dev-alice")
    iam.attach_user_policy(UserName="dev-alice", PolicyArn=wide)  # the change the event reports
    return iam


def member_event(name: str = "attach_role_policy_customer", account: str = MEMBER) -> dict[str, Any]:
    """A member's AttachUserPolicy of its own "wide-open" policy to dev-alice, as the central bus delivers
    it (the EventBridge account and recipientAccountId are the member's)."""
    event = copy.deepcopy(load_event(name))
    detail = event["detail"]
    event["account"] = account
    detail["recipientAccountId"] = account
    detail["userIdentity"]["accountId"] = account
    detail["eventName"] = "AttachUserPolicy"
    detail["eventID"] = EVENT_ID
    detail["requestParameters"] = {
        "policyArn": f"arn:aws:iam::{account}:policy/wide-open",
        "userName": "dev-alice",
    }
    return event


def attached_user_policies(iam: Any, user: str) -> list[str]:
    return sorted(p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"])


def sessions_opened(stdout: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(stdout) if line.get("message") == "member session opened"]


# -- moto, two accounts --------------------------------------------------------------------------------------


def test_org_1_member_attach_is_read_through_the_audit_role_and_quarantined_in_the_member_account(
    monitoring: Monitoring, org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = policy_change.handler(member_event(), FakeContext())

    assert result["status"] == "analyzed" and result["findings"] >= 1
    assert result["remediation"] == "quarantined" and result["alerted"] is True
    # The quarantine is in the member account: the member's own quarantine policy on the member's user.
    assert attached_user_policies(org, "dev-alice") == sorted(
        [f"arn:aws:iam::{MEMBER}:policy/wide-open", MEMBER_QUARANTINE_ARN]
    )
    tags = {tag["Key"]: tag["Value"] for tag in org.list_user_tags(UserName="dev-alice")["Tags"]}
    assert tags[contract.QUARANTINE_TAG_KEY].startswith("IAMG001/")
    # Nothing of it in the security account: no such user, the stack's quarantine policy attached nowhere.
    assert [user["UserName"] for user in monitoring.iam.list_users()["Users"]] == []
    own_quarantine = monitoring.iam.list_policies(Scope="Local")["Policies"][0]
    assert own_quarantine["AttachmentCount"] == 0
    # One read session through the audit role, one quarantine session through the remediation role, both
    # named after the CloudTrail event.
    sessions = sessions_opened(capsys.readouterr().out)
    assert [(s["roleArn"], s["sessionName"]) for s in sessions] == [
        (f"arn:aws:iam::{MEMBER}:role/{AUDIT_ROLE}", f"iam-guard-read-{EVENT_ID}"),
        (f"arn:aws:iam::{MEMBER}:role/{REMEDIATION_ROLE}", f"iam-guard-quarantine-{EVENT_ID}"),
    ]
    assert sessions[0]["policy"] == read_session_policy(f"arn:aws:iam::{MEMBER}:policy/wide-open")
    [alert] = monitoring.alerts()
    assert f"account {MEMBER}" in alert["Message"]
    assert "Remediation: quarantined - attached " + MEMBER_QUARANTINE_ARN in alert["Message"]
    [record] = [r for r in monitoring.records() if r["finding"]["code"] == "IAMG001"]
    assert record["account"] == MEMBER


def test_org_1_member_whose_audit_role_is_missing_is_a_loud_alert_naming_the_account_not_a_retry(
    monitoring: Monitoring, org: Any, fault_proxy: FaultProxy
) -> None:
    """AWS answers AccessDenied to an AssumeRole of a role that does not exist (or does not trust us)."""
    fault_proxy.add(FaultRule("sts", "AssumeRole", "access_denied"))

    result = policy_change.handler(member_event(), FakeContext())

    assert result["status"] == "member-unreachable" and result["alerted"] is True
    assert result["remediation"] == "none"
    assert fault_proxy.count("sts", "AssumeRole") == 1  # refused once, not retried
    [alert] = monitoring.alerts()
    assert "HIGH: member account unreachable: AttachUserPolicy user dev-alice" in alert["Subject"]
    assert (
        f"member account {MEMBER}: cannot assume arn:aws:iam::{MEMBER}:role/{AUDIT_ROLE}"
        in (alert["Message"])
    )
    assert "AccessDenied" in alert["Message"] and "NOT analyzed" in alert["Message"]
    [record] = monitoring.records()
    assert record["status"] == "member-unreachable" and record["account"] == MEMBER
    assert MEMBER in record["reason"]
    # The event is done: a second delivery is a duplicate, not another attempt.
    assert policy_change.handler(member_event(), FakeContext())["status"] == "duplicate"
    assert fault_proxy.count("sts", "AssumeRole") == 1
    assert attached_user_policies(org, "dev-alice") == [f"arn:aws:iam::{MEMBER}:policy/wide-open"]


def test_org_1_member_refusing_the_quarantine_is_a_failed_remediation_alerted_not_retried(
    monitoring: Monitoring, org: Any, fault_proxy: FaultProxy
) -> None:
    """The member remediation role's explicit denies (a protected role) answer AccessDenied."""
    fault_proxy.add(FaultRule("iam", "AttachUserPolicy", "access_denied"))

    result = policy_change.handler(member_event(), FakeContext())

    assert result["status"] == "analyzed" and result["remediation"] == "failed"
    assert fault_proxy.count("iam", "AttachUserPolicy") == 1
    [alert] = monitoring.alerts()
    assert f"quarantine failed: member account {MEMBER}: AccessDenied" in alert["Message"]
    assert attached_user_policies(org, "dev-alice") == [f"arn:aws:iam::{MEMBER}:policy/wide-open"]


def test_org_1_member_attach_of_an_aws_managed_policy_is_read_at_home_and_quarantined_in_the_member(
    monitoring_with_aws_managed_policies: Monitoring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """AdministratorAccess is the same document in every account: no read session is opened for it."""
    iam = _member_account(monkeypatch)
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.attach_user_policy(UserName="dev-alice", PolicyArn=admin)
    event = member_event()
    event["detail"]["requestParameters"]["policyArn"] = admin

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "analyzed" and result["remediation"] == "quarantined"
    assert [s["sessionName"] for s in sessions_opened(capsys.readouterr().out)] == [
        f"iam-guard-quarantine-{EVENT_ID}"
    ]
    assert MEMBER_QUARANTINE_ARN in attached_user_policies(iam, "dev-alice")


def test_org_1_member_event_naming_a_policy_of_a_third_account_is_unreachable_not_read(
    monitoring: Monitoring, org: Any, fault_proxy: FaultProxy
) -> None:
    event = member_event()
    event["detail"]["requestParameters"]["policyArn"] = "arn:aws:iam::444455556666:policy/wide-open"

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "member-unreachable"
    assert fault_proxy.count("sts", "AssumeRole") == 0 and fault_proxy.count("iam", "GetPolicy") == 0
    [alert] = monitoring.alerts()
    assert "neither a policy of this account nor an AWS managed policy" in alert["Message"]


def test_org_1_event_naming_an_invalid_account_opens_no_session(
    monitoring: Monitoring, org: Any, fault_proxy: FaultProxy
) -> None:
    event = member_event()
    event["account"] = event["detail"]["recipientAccountId"] = "11112222333x"

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "member-unreachable" and result["alerted"] is True
    assert fault_proxy.count("sts", "AssumeRole") == 0
    [alert] = monitoring.alerts()
    assert "member account 11112222333x: not a 12-digit account ID" in alert["Message"]


def test_org_1_without_an_organization_a_member_event_is_never_assumed_into(
    monitoring: Monitoring, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single-account deployment (no ORGANIZATION_ID): the old behaviour, no session anywhere: the
    policy is looked up in the function's own account (where it does not exist), and the H-3 guard keeps
    remediation at home."""
    monkeypatch.setenv("REMEDIATION_MODE", "quarantine")

    result = policy_change.handler(member_event(), FakeContext())

    assert result["status"] == "document-unavailable" and result["remediation"] == "none"
    assert fault_proxy.count("sts", "AssumeRole") == 0
    assert fault_proxy.count("iam", "GetPolicy") == 1


def test_org_1_member_without_a_remediation_role_is_alerted_not_quarantined(
    monitoring: Monitoring, org: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(contract.ENV_MEMBER_REMEDIATION_ROLE)

    result = policy_change.handler(member_event(), FakeContext())

    assert result["status"] == "analyzed" and result["remediation"] == "none" and result["alerted"]
    assert [s["roleArn"] for s in sessions_opened(capsys.readouterr().out)] == [
        f"arn:aws:iam::{MEMBER}:role/{AUDIT_ROLE}"
    ]
    assert attached_user_policies(org, "dev-alice") == [f"arn:aws:iam::{MEMBER}:policy/wide-open"]


# -- what the sessions may do (moto does not evaluate session policies: their content is the proof) --------


def test_org_1_read_session_policy_is_the_policy_reads_on_the_one_policy() -> None:
    arn = f"arn:aws:iam::{MEMBER}:policy/wide-open"
    policy = read_session_policy(arn)
    [stmt] = policy["Statement"]
    assert stmt == {
        "Sid": "ReadTheOnePolicy",
        "Effect": "Allow",
        "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
        "Resource": arn,
    }
    assert policy["Version"] == "2012-10-17"


@pytest.mark.parametrize(
    ("kind", "attach", "tag", "listing"),
    [
        ("user", "iam:AttachUserPolicy", "iam:TagUser", "iam:ListAttachedUserPolicies"),
        ("role", "iam:AttachRolePolicy", "iam:TagRole", "iam:ListAttachedRolePolicies"),
        ("group", "iam:AttachGroupPolicy", None, "iam:ListAttachedGroupPolicies"),
    ],
)
def test_org_1_quarantine_session_policy_is_one_attach_of_the_quarantine_policy_on_one_principal(
    kind: str, attach: str, tag: str | None, listing: str
) -> None:
    resources = principal_arns("aws", MEMBER, kind, "dev-alice")
    assert resources == [
        f"arn:aws:iam::{MEMBER}:{kind}/dev-alice",
        f"arn:aws:iam::{MEMBER}:{kind}/*/dev-alice",
    ]
    statements = quarantine_session_policy(kind, resources, MEMBER_QUARANTINE_ARN)["Statement"]
    # One action per statement, every statement on exactly the one principal, nothing but Allow.
    assert all(isinstance(s["Action"], str) and s["Resource"] == resources for s in statements)
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = {s["Action"]: s for s in statements}
    assert set(actions) == {attach, listing} | ({tag} if tag else set())
    assert actions[attach]["Condition"] == {"ArnEquals": {"iam:PolicyARN": MEMBER_QUARANTINE_ARN}}
    assert "Condition" not in actions[listing]
    if tag:
        assert actions[tag]["Condition"] == {
            "ForAllValues:StringEquals": {"aws:TagKeys": [contract.QUARANTINE_TAG_KEY]}
        }


def test_org_1_session_names_carry_the_event_id_in_what_sts_accepts() -> None:
    assert session_name("read", EVENT_ID) == f"iam-guard-read-{EVENT_ID}"
    hostile = "a b/c:d" + "x" * 100
    name = session_name("quarantine", hostile)
    assert STS_SESSION_NAME.fullmatch(name)
    assert name.startswith("iam-guard-quarantine-a_b_c_d") and len(name) == 64


def test_org_1_member_account_is_one_account_of_twelve_digits() -> None:
    assert member_account(frozenset({MEMBER}), ACCOUNT) == MEMBER
    assert member_account(frozenset({ACCOUNT}), ACCOUNT) is None
    assert member_account(frozenset(), ACCOUNT) is None
    for accounts in ({"11112222333"}, {"1111222233334"}, {"11112222333\n"}, {MEMBER, "444455556666"}):
        with pytest.raises(MemberUnreachable):
            member_account(frozenset(accounts), ACCOUNT)
    with pytest.raises(ValueError):
        member_sessions.role_arn("aws", "11112222333*", AUDIT_ROLE)
    with pytest.raises(ValueError):
        member_sessions.role_arn("aws", MEMBER, "role/../other")


def test_org_1_org_settings_only_with_an_organization_id() -> None:
    assert OrgSettings.from_environment({}) is None
    settings = OrgSettings.from_environment(
        {
            contract.ENV_ORGANIZATION_ID: ORGANIZATION_ID,
            contract.ENV_MEMBER_AUDIT_ROLE: AUDIT_ROLE,
        }
    )
    assert settings == OrgSettings(ORGANIZATION_ID, AUDIT_ROLE, "", "")
    with pytest.raises(SettingsError, match=contract.ENV_MEMBER_AUDIT_ROLE):
        OrgSettings.from_environment({contract.ENV_ORGANIZATION_ID: ORGANIZATION_ID})
    with pytest.raises(SettingsError, match=contract.ENV_ORGANIZATION_ID):
        OrgSettings.from_environment({contract.ENV_ORGANIZATION_ID: "o-BAD"})


def test_org_1_document_in_the_request_is_analyzed_even_from_an_invalid_account_and_never_remediated(
    monitoring: Monitoring, org: Any, fault_proxy: FaultProxy
) -> None:
    event = member_event("put_role_policy_url_encoded")
    event["account"] = event["detail"]["recipientAccountId"] = "11112222333x"
    event["detail"]["eventName"] = "PutRolePolicy"
    event["detail"]["requestParameters"] = {
        "roleName": "app-runner",
        "policyName": "wide",
        "policyDocument": json.dumps(ADMIN),
    }

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "analyzed" and result["findings"] >= 1
    assert result["remediation"] == "foreign-account"
    assert fault_proxy.count("sts", "AssumeRole") == 0
