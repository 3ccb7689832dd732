"""ORG-1: the organization deployment of templates/org.yaml. The org-member template (StackSet member):
who may assume its roles, what the remediation role can never do (checked by reading the statements and by
the project's own analyzer), the forwarding to the central bus (DLQ, retries, max age, alarms). The
org-security template: the central bus's policy, its rules, the StackSet. The organization config section:
strict, one line per bad value, exit code 2."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from iam_guard.blocks.events import IAM_POLICY_CHANGE_EVENTS, MAX_EVENT_AGE_SECONDS, MAX_RETRY_ATTEMPTS
from iam_guard.build import build_stacks
from iam_guard.config import ConfigError, parse_config
from iam_guard.policies.organization import REMEDIATION_ACTIONS
from iam_guard.scan import scan_paths
from iam_guard.scan.model import ScanFinding
from iam_guard.stacks.org_plan import TRAIL_TAMPER_EVENTS
from iam_guard.stacks.org_security import FAILURE_TOLERANCE_PERCENTAGE, MAX_CONCURRENT_PERCENTAGE
from support import REPO_ROOT
from template_helpers import (
    as_list,
    config,
    inline_policy_documents,
    props,
    resource,
    resources,
    stack_names,
    statement,
    statements,
    sub_text,
    template,
)

SECURITY_ACCOUNT = "222233334444"
ORGANIZATION_ID = "o-a1b2c3d4e5"
MEMBER = "org-member"
SECURITY = "org-security"


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    return template("org", MEMBER)


@pytest.fixture(scope="module")
def security() -> dict[str, Any]:
    return template("org", SECURITY)


def resolve(value: Any, account: str = "123456789012", region: str = "us-east-1") -> str:
    """A Sub'd ARN as a real one in the aws partition (for matching names against patterns)."""
    return (
        sub_text(value)
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
    )


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def denied(document: dict[str, Any], action: str) -> bool:
    """True when an unconditional Deny of the document covers `action` (Action match or NotAction miss)."""
    for stmt in statements(document):
        if stmt["Effect"] != "Deny" or "Condition" in stmt or as_list(stmt["Resource"]) != ["*"]:
            continue
        if "Action" in stmt and any(action_matches(p, action) for p in as_list(stmt["Action"])):
            return True
        if "NotAction" in stmt and not any(action_matches(p, action) for p in as_list(stmt["NotAction"])):
            return True
    return False


# -- org-member: trusts -----------------------------------------------------------------------------------


def test_org_1_audit_role_trusts_only_the_security_accounts_auditor_and_analyzer_roles_in_the_organization(
    member: dict[str, Any],
) -> None:
    trust = props(member, "MemberAuditRole")["AssumeRolePolicyDocument"]
    [stmt] = statements(trust)
    assert stmt["Effect"] == "Allow" and stmt["Action"] == ["sts:AssumeRole"]
    assert [sub_text(p) for p in stmt["Principal"]["AWS"]] == [
        f"arn:${{AWS::Partition}}:iam::{SECURITY_ACCOUNT}:root"
    ]
    assert stmt["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == ORGANIZATION_ID
    # org.yaml sets require_external_id: the NoEcho parameter the StackSet passes in.
    assert stmt["Condition"]["StringEquals"]["sts:ExternalId"] == {"Ref": "AuditExternalId"}
    assert member["Parameters"]["AuditExternalId"]["NoEcho"] is True
    assert member["Parameters"]["AuditExternalId"]["MinLength"] >= 32
    principal_arns = stmt["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    # The default auditor: the org-security stack's fan-out audit worker role (ORG-2), by its real name;
    # and the monitoring stack's PolicyAnalyzer, which reads one member policy per narrowed session (the
    # analyzer across accounts).
    auditor = props(template("org", SECURITY), "OrgAuditWorkerRole")["RoleName"]
    analyzer = props(template("org", "monitoring"), "PolicyAnalyzerRole")["RoleName"]
    assert [resolve(arn) for arn in principal_arns] == [
        f"arn:aws:iam::{SECURITY_ACCOUNT}:role/{auditor}",
        f"arn:aws:iam::{SECURITY_ACCOUNT}:role/{analyzer}",
    ]
    assert props(member, "MemberAuditRole")["MaxSessionDuration"] == 3600


def test_org_1_audit_role_has_the_single_account_audit_roles_permissions(member: dict[str, Any]) -> None:
    """The same read-only statements and explicit denies as MON-10's CrossAccountAuditRole (prod.yaml)."""
    org_docs = inline_policy_documents(resource(member, "MemberAuditRole"))
    single_docs = inline_policy_documents(resource(template("prod", "monitoring"), "CrossAccountAuditRole"))
    sids = [s["Sid"] for s in statements(org_docs[0])]
    assert sids == [s["Sid"] for s in statements(single_docs[0])]
    for sid in ("ReadAccountWideIamMetadata", "ReadIamEntitiesAndPolicies", "DenyDataReads"):
        assert statement(org_docs[0], sid) == statement(single_docs[0], sid)
    assert denied(org_docs[0], "iam:CreateAccessKey") and denied(org_docs[0], "s3:GetObject")


def test_org_1_remediation_role_trusts_only_the_security_accounts_analyzer_role(
    member: dict[str, Any],
) -> None:
    [stmt] = statements(props(member, "MemberRemediationRole")["AssumeRolePolicyDocument"])
    assert stmt["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": ORGANIZATION_ID}
    analyzer = props(template("org", "monitoring"), "PolicyAnalyzerRole")["RoleName"]
    assert resolve(stmt["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == (
        f"arn:aws:iam::{SECURITY_ACCOUNT}:role/{analyzer}"
    )


# -- org-member: the remediation role can only take permissions away --------------------------------------

FORBIDDEN = (
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateAccessKey",
    "iam:DeleteRole",
    "iam:DeleteUser",
    "iam:DeletePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DetachUserPolicy",
    "iam:DetachGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UntagRole",
    "iam:PassRole",
    "sts:AssumeRole",
    "s3:DeleteBucket",
    "ec2:TerminateInstances",
)


def test_org_1_remediation_role_cannot_create_delete_or_detach_anything(member: dict[str, Any]) -> None:
    [document] = inline_policy_documents(resource(member, "MemberRemediationRole"))
    still_allowed = [action for action in FORBIDDEN if not denied(document, action)]
    assert still_allowed == []
    allowed = {a for s in statements(document) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert allowed == set(REMEDIATION_ACTIONS)
    assert {a for a in allowed if not denied(document, a)} == set(REMEDIATION_ACTIONS)


def test_org_1_remediation_role_attaches_only_the_member_quarantine_policy(member: dict[str, Any]) -> None:
    [document] = inline_policy_documents(resource(member, "MemberRemediationRole"))
    attach = statement(document, "AttachOnlyTheMemberQuarantinePolicy")
    assert attach["Condition"] == {"ArnEquals": {"iam:PolicyARN": {"Ref": "MemberQuarantinePolicy"}}}
    other = statement(document, "DenyAttachingAnyOtherPolicy")
    assert other["Effect"] == "Deny"
    assert other["Condition"] == {"StringNotEquals": {"iam:PolicyARN": {"Ref": "MemberQuarantinePolicy"}}}
    tag = statement(document, "TagQuarantinedPrincipals")
    assert tag["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["iam-guard:quarantined"]}}
    quarantine = statements(props(member, "MemberQuarantinePolicy")["PolicyDocument"])
    assert quarantine == [
        {"Sid": "QuarantineDenyEverything", "Effect": "Deny", "Action": ["*"], "Resource": ["*"]}
    ]
    protected = [resolve(arn) for arn in statement(document, "DenyRemediatingProtectedRoles")["Resource"]]
    for name in (
        props(member, "MemberAuditRole")["RoleName"],
        props(member, "MemberRemediationRole")["RoleName"],
        "stacksets-exec-0123abcd",
        resolve(props(member, "ForwarderRole")["RoleName"]),
    ):
        assert any(fnmatch.fnmatchcase(f"arn:aws:iam::123456789012:role/{name}", p) for p in protected), name


def remediation_findings(member: dict[str, Any], folder: Path) -> list[ScanFinding]:
    """The project's scanner (`iam-guard analyze`) over the member template: the remediation role only."""
    folder.mkdir()
    (folder / "org-member.json").write_text(json.dumps(member), encoding="utf-8")
    findings = scan_paths([str(folder)]).findings
    return [f for f in findings if f.resource == "MemberRemediationRole" and f.policy_type == "identity"]


def test_org_1_project_analyzer_finds_only_the_tightly_scoped_attach_in_the_remediation_role(
    member: dict[str, Any], tmp_path: Path
) -> None:
    """The analyzer sees the attach grant (low, suppressed with a written reason) and nothing else; the same
    grant without its iam:PolicyARN condition and the attach-other deny is a worse finding, so the check
    can fail."""
    findings = remediation_findings(member, tmp_path / "as-generated")
    assert [(f.code, f.severity, f.suppressed) for f in findings] == [("IAMG006", "low", True)]
    assert set(findings[0].actions) == {
        "iam:AttachGroupPolicy",
        "iam:AttachRolePolicy",
        "iam:AttachUserPolicy",
    }
    assert "only with iam:PolicyARN" in (findings[0].suppression_reason or "")

    loosened = json.loads(json.dumps(member))
    document = loosened["Resources"]["MemberRemediationRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    document["Statement"] = [
        {k: v for k, v in s.items() if k != "Condition"}
        if s["Sid"] == "AttachOnlyTheMemberQuarantinePolicy"
        else s
        for s in document["Statement"]
        if s["Sid"] != "DenyAttachingAnyOtherPolicy"
    ]
    worse = remediation_findings(loosened, tmp_path / "loosened")
    assert any(f.code == "IAMG006" and f.severity in ("high", "critical") for f in worse), worse


# -- org-member: forwarding (CON-5) ------------------------------------------------------------------------


def test_org_1_forwarder_rules_have_dlq_retry_and_max_age_to_the_central_bus(member: dict[str, Any]) -> None:
    rules = resources(member, "AWS::Events::Rule")
    assert set(rules) == {
        "IamEventForwardRule",
        "MemberCanaryForwardRule",
        "MemberTamperForwardRule",
        "TrailTamperForwardRule",
    }
    bus_name = props(template("org", SECURITY), "CentralEventBus")["Name"]
    for logical_id, rule in rules.items():
        [target] = rule["Properties"]["Targets"]
        assert resolve(target["Arn"], region="us-east-1") == (
            f"arn:aws:events:eu-west-1:{SECURITY_ACCOUNT}:event-bus/{bus_name}"
        ), logical_id
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwarderDlq", "Arn"]}}
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
            "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
        }
        assert MAX_EVENT_AGE_SECONDS == 3600 and MAX_RETRY_ATTEMPTS == 8
        assert target["RoleArn"] == {"Fn::GetAtt": ["ForwarderRole", "Arn"]}
    assert props(member, "ForwarderDlq")["KmsMasterKeyId"] == {"Fn::GetAtt": ["ForwarderKey", "Arn"]}
    assert resource(member, "ForwarderKey")["DeletionPolicy"] == "Retain"
    iam_pattern = props(member, "IamEventForwardRule")["EventPattern"]
    assert iam_pattern["detail"]["eventName"] == list(IAM_POLICY_CHANGE_EVENTS)
    trail_pattern = props(member, "TrailTamperForwardRule")["EventPattern"]
    assert trail_pattern["detail"]["eventName"] == list(TRAIL_TAMPER_EVENTS)


def test_org_1_iam_parts_only_in_the_global_services_region(member: dict[str, Any]) -> None:
    """IAM is global (a role in two regions of one account would clash) and its events reach EventBridge
    in us-east-1 only; the trail-tamper forwarder runs in every region of the StackSet."""
    assert member["Conditions"]["InGlobalServicesRegion"] == {
        "Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]
    }
    conditional = {
        name for name, res in member["Resources"].items() if res.get("Condition") == "InGlobalServicesRegion"
    }
    assert conditional == {
        "MemberAuditRole",
        "MemberRemediationRole",
        "MemberQuarantinePolicy",
        "IamEventForwardRule",
        "MemberTamperForwardRule",
        "IamEventForwardFailedInvocationsAlarm",
        "MemberTamperForwardFailedInvocationsAlarm",
        # MON-13 per member account (tests/test_org_heartbeat.py).
        "MemberCanaryPolicy",
        "MemberCanaryRole",
        "MemberCanarySchedule",
        "MemberCanaryForwardRule",
        "MemberCanaryForwardFailedInvocationsAlarm",
    }
    assert sub_text(props(member, "ForwarderRole")["RoleName"]).endswith("-${AWS::Region}")


def test_org_1_alarm_on_failed_invocations_of_every_forward_rule(member: dict[str, Any]) -> None:
    alarms = resources(member, "AWS::CloudWatch::Alarm")
    for logical_id, rule in resources(member, "AWS::Events::Rule").items():
        alarm = alarms[logical_id.removesuffix("Rule") + "FailedInvocationsAlarm"]["Properties"]
        assert alarm["MetricName"] == "FailedInvocations" and alarm["Namespace"] == "AWS/Events"
        assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": rule["Properties"]["Name"]}]
        assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "ForwarderAlertTopic"}]
    assert props(member, "ForwarderAlertTopic")["KmsMasterKeyId"] == {"Fn::GetAtt": ["ForwarderKey", "Arn"]}


# -- org-security ------------------------------------------------------------------------------------------


def test_org_1_central_bus_admits_only_put_events_from_the_organizations_forwarders(
    security: dict[str, Any], member: dict[str, Any]
) -> None:
    policy = props(security, "CentralEventBus")["Policy"]
    [stmt] = statements(policy)
    assert stmt["Effect"] == "Allow" and stmt["Action"] == ["events:PutEvents"]
    assert stmt["Principal"] == {"AWS": ["*"]}
    assert stmt["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": ORGANIZATION_ID}
    assert resolve(stmt["Resource"][0], SECURITY_ACCOUNT, "eu-west-1").endswith(
        f":event-bus/{props(security, 'CentralEventBus')['Name']}"
    )
    pattern = resolve(stmt["Condition"]["ArnLike"]["aws:PrincipalArn"])
    for region in ("us-east-1", "eu-west-1"):
        forwarder = resolve(props(member, "ForwarderRole")["RoleName"], region=region)
        assert fnmatch.fnmatchcase(f"arn:aws:iam::123456789012:role/{forwarder}", pattern)
    assert not fnmatch.fnmatchcase("arn:aws:iam::123456789012:role/Admin", pattern)


def test_org_1_central_rules_reach_the_existing_analyzer_and_the_alert_topic(
    security: dict[str, Any],
) -> None:
    iam_rule = props(security, "CentralIamEventsRule")
    assert iam_rule["EventBusName"] == {"Ref": "CentralEventBus"}
    [target] = iam_rule["Targets"]
    analyzer = props(template("org", "monitoring"), "PolicyAnalyzerFunction")["FunctionName"]
    assert resolve(target["Arn"]).endswith(f":function:{analyzer}")
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 3600
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["CentralDlq", "Arn"]}}
    permission = props(security, "CentralIamEventsInvokePermission")
    assert permission["SourceArn"] == {"Fn::GetAtt": ["CentralIamEventsRule", "Arn"]}
    assert permission["Principal"] == "events.amazonaws.com"
    member = template("org", MEMBER)
    for central, forwarded in (
        ("CentralMemberTamperRule", "MemberTamperForwardRule"),
        ("CentralTrailTamperRule", "TrailTamperForwardRule"),
    ):
        tamper = props(security, central)
        assert tamper["EventBusName"] == {"Ref": "CentralEventBus"}
        assert tamper["EventPattern"] == props(member, forwarded)["EventPattern"]
        [target] = tamper["Targets"]
        assert target["Arn"] == {"Ref": "OrgAlertTopic"} and "InputTransformer" in target
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["CentralDlq", "Arn"]}}
        alarm = props(security, central.removesuffix("Rule") + "FailedInvocationsAlarm")
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "EventBusName": props(security, "CentralEventBus")["Name"],
            "RuleName": tamper["Name"],
        }
    publishers = statement(
        props(security, "OrgAlertTopicPolicy")["PolicyDocument"], "AllowTamperRulesToPublish"
    )
    assert sorted(
        resolve(arn).rsplit("/", 1)[1] for arn in publishers["Condition"]["ArnEquals"]["aws:SourceArn"]
    ) == sorted(
        props(security, rule)["Name"] for rule in ("CentralMemberTamperRule", "CentralTrailTamperRule")
    )


def test_org_1_stack_set_is_service_managed_and_auto_deploys(security: dict[str, Any]) -> None:
    stack_set = props(security, "MemberStackSet")
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["CallAs"] == "DELEGATED_ADMIN"
    [group] = stack_set["StackInstancesGroup"]
    assert group["DeploymentTargets"]["OrganizationalUnitIds"] == ["ou-ab12-cdef3456", "ou-ab12-98765432"]
    assert group["Regions"] == ["us-east-1", "eu-west-1"]
    preferences = stack_set["OperationPreferences"]
    assert preferences["MaxConcurrentPercentage"] == MAX_CONCURRENT_PERCENTAGE == 25
    assert preferences["FailureTolerancePercentage"] == FAILURE_TOLERANCE_PERCENTAGE == 10
    assert preferences["RegionOrder"][0] == "us-east-1"
    assert stack_set["Parameters"] == [
        {"ParameterKey": "AuditExternalId", "ParameterValue": {"Ref": "AuditExternalId"}}
    ]
    assert security["Parameters"]["AuditExternalId"]["NoEcho"] is True


def test_org_1_stack_set_embeds_the_member_template_as_generated(security: dict[str, Any]) -> None:
    body = props(security, "MemberStackSet")["TemplateBody"]
    assert json.loads(body) == template("org", MEMBER)
    assert len(body.encode()) <= 51200, "StackSet TemplateBody limit"


def test_org_1_deploy_never_creates_the_member_template_as_a_stack(tmp_path: Path) -> None:
    artifacts = {a.name: a for a in build_stacks(config("org"))}
    assert artifacts["org-member"].deployable is False
    assert artifacts["org-security"].deployable is True
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "iam-guard"),
            "deploy",
            "--config",
            "templates/org.yaml",
            "--stack",
            MEMBER,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "org-member" in result.stderr and "StackSet" in result.stderr
    assert "Traceback" not in result.stderr


def test_org_1_single_account_configs_get_no_organization_stacks() -> None:
    for cfg in ("dev", "prod"):
        assert not {MEMBER, SECURITY} & set(stack_names(cfg))


# -- the organization config section -----------------------------------------------------------------------

VALID = {
    "environment": "corp",
    "region": "eu-west-1",
    "owner": "platform-security",
    "data_classification": "confidential",
    "alert_emails": ["security@example.com"],
    "organization": {
        "security_account_id": SECURITY_ACCOUNT,
        "organization_id": ORGANIZATION_ID,
        "target_ou_ids": ["ou-ab12-cdef3456"],
    },
}


def with_org(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(VALID))
    data["organization"].update(changes)
    return data


def test_org_1_config_defaults() -> None:
    organization = parse_config(VALID).organization
    assert organization is not None
    assert organization.regions == ("us-east-1",)
    assert organization.auditor_role_name is None
    assert organization.require_external_id is False and organization.remediation is False
    assert parse_config({k: v for k, v in VALID.items() if k != "organization"}).organization is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"organization_id": "o-short"},
            "organization.organization_id: 'o-short' must be an organization ID",
        ),
        ({"security_account_id": "12345"}, "organization.security_account_id: '12345' must be a 12-digit"),
        ({"target_ou_ids": ["ou-xyz"]}, "organization.target_ou_ids[0]: 'ou-xyz' must be an OU ID"),
        ({"target_ou_ids": []}, "organization.target_ou_ids: an empty list must list at least one entry"),
        ({"regions": ["us-east-1", "eu-wets-1"]}, "organization.regions[1]: 'eu-wets-1' is not a region"),
        ({"regions": ["eu-west-1"]}, "organization.regions: [eu-west-1] must include 'us-east-1'"),
        (
            {"regions": ["us-east-1", "cn-north-1"]},
            "organization.regions[1]: 'cn-north-1' is not in the partition",
        ),
        (
            {"auditor_role_name": "bad name"},
            "organization.auditor_role_name: 'bad name' must be an IAM role name",
        ),
        ({"remediation": "yes"}, "organization.remediation: expected true or false, got 'yes'"),
        ({"target_ous": ["ou-ab12-cdef3456"]}, "organization.target_ous: unknown key"),
    ],
)
def test_org_1_config_rejects_bad_values_with_one_line(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(with_org(**changes), source="org.yaml")
    text = str(raised.value)
    assert text.startswith("org.yaml: ") and message in text and "\n" not in text


def test_org_1_generate_exits_2_and_writes_nothing_on_a_bad_organization(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_org(organization_id="org-1")), encoding="utf-8")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "generate.py"), "--config", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"generate.py: {path}: organization.organization_id: 'org-1' must be an organization ID "
        "(o- and 10-32 lowercase letters or digits)"
    ]
    assert not out.exists()


def test_org_1_project_analyzer_clean_on_the_organization_templates(tmp_path: Path) -> None:
    """`iam-guard analyze --fail-on medium` over org-member and org-security: every policy analyzed, nothing
    at medium or above, and every suppression carries a written reason."""
    for stack in (MEMBER, SECURITY):
        (tmp_path / f"{stack}.json").write_text(json.dumps(template("org", stack)), encoding="utf-8")
    result = scan_paths([str(tmp_path)])
    assert result.templates == 2 and result.documents >= 12
    blocking = ("medium", "high", "critical")
    serious = [f for f in result.findings if not f.suppressed and f.severity in blocking]
    assert serious == []
    assert all(len((f.suppression_reason or "").split()) >= 8 for f in result.findings if f.suppressed)


# -- org-security: the analyzer across accounts (stacks/org_access.py) ------------------------------------


def test_org_1_analyzer_may_assume_only_the_member_roles_of_the_organization(
    security: dict[str, Any],
) -> None:
    """The PolicyAnalyzer role (the monitoring stack's, by name) gets sts:AssumeRole on exactly the member
    audit and remediation role names, in accounts of this organization only (aws:ResourceOrgID)."""
    access = resource(security, "AnalyzerMemberAccessPolicy")
    assert access["Type"] == "AWS::IAM::RolePolicy"
    monitoring = template("org", "monitoring")
    assert access["Properties"]["RoleName"] == props(monitoring, "PolicyAnalyzerRole")["RoleName"]
    member = template("org", MEMBER)
    [stmt] = statements(access["Properties"]["PolicyDocument"])
    assert stmt["Effect"] == "Allow"
    assert stmt["Action"] == ["sts:AssumeRole"]  # no sts:TagSession, no other action
    assert [resolve(arn) for arn in stmt["Resource"]] == [
        f"arn:aws:iam::*:role/{props(member, 'MemberAuditRole')['RoleName']}",
        f"arn:aws:iam::*:role/{props(member, 'MemberRemediationRole')['RoleName']}",
    ]
    assert stmt["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION_ID}}


def test_org_1_analyzer_access_cannot_assume_anything_else(security: dict[str, Any]) -> None:
    """No role of another name (the security account's own, a StackSet execution role, a member's
    forwarder) matches the granted resources."""
    [stmt] = statements(props(security, "AnalyzerMemberAccessPolicy")["PolicyDocument"])
    granted = [resolve(arn) for arn in stmt["Resource"]]
    others = [
        "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole",
        "arn:aws:iam::111122223333:role/stacksets-exec-0123456789abcdef",
        "arn:aws:iam::111122223333:role/IamGuardOrgFwd-corp-eu-west-1-us-east-1",
        f"arn:aws:iam::{SECURITY_ACCOUNT}:role/IamGuardDailyAuditor-corp-eu-west-1",
        "arn:aws:iam::111122223333:role/IamGuardOrgMemberAudit-corp-eu-west-1-copy",
    ]
    for arn in others:
        assert not any(fnmatch.fnmatchcase(arn, pattern) for pattern in granted), arn
    assert any(
        fnmatch.fnmatchcase("arn:aws:iam::111122223333:role/IamGuardOrgMemberAudit-corp-eu-west-1", pattern)
        for pattern in granted
    )


def test_org_1_analyzer_gets_the_member_names_only_with_an_organization() -> None:
    """The PolicyAnalyzer's ORG-1 variables equal the member template's names; single-account configs
    set none of them (their goldens are unchanged)."""
    member = template("org", MEMBER)
    env = props(template("org", "monitoring"), "PolicyAnalyzerFunction")["Environment"]["Variables"]
    assert env["ORGANIZATION_ID"] == ORGANIZATION_ID
    assert env["MEMBER_AUDIT_ROLE"] == props(member, "MemberAuditRole")["RoleName"]
    assert env["MEMBER_REMEDIATION_ROLE"] == props(member, "MemberRemediationRole")["RoleName"]
    assert env["MEMBER_QUARANTINE_POLICY"] == props(member, "MemberQuarantinePolicy")["ManagedPolicyName"]
    for name in ("dev", "prod"):
        single = props(template(name, "monitoring"), "PolicyAnalyzerFunction")["Environment"]["Variables"]
        assert not {"ORGANIZATION_ID", "MEMBER_AUDIT_ROLE", "MEMBER_REMEDIATION_ROLE"} & set(single)
