"""ORG-1 deploy on the emulator: a stack holding a SERVICE_MANAGED StackSet with a StackInstancesGroup (as
org-security does) is deployed, then deploy waits for the StackSet's operation and reports its instances.
moto's organization has an OU with member accounts; the adapter creates the StackSet and its instances
when the stack is executed (MOTO_GAPS['stack-set-resource'])."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from integration_support import FixtureArtifact, Transcript

from fault_injection import FaultProxy, FaultRule
from iam_guard.cli import main
from iam_guard.deploy.runner import DeployOptions, deploy_all

pytestmark = pytest.mark.integration

STACK_SET = "iam-guard-org-member-fixture"
REGIONS = ["us-east-1", "eu-west-1"]
MEMBER_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "MemberQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "iam-guard-member-probe"}}
    },
}


def organization_with_members(count: int) -> tuple[str, list[str]]:
    """An organization whose OU "workloads" holds `count` member accounts: (OU id, account ids)."""
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    accounts = []
    for number in range(count):
        status = organizations.create_account(
            Email=f"member{number}@example.com", AccountName=f"member{number}"
        )
        account = status["CreateAccountStatus"]["AccountId"]
        organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
        accounts.append(account)
    return ou, sorted(accounts)


def stack_set_stack(ou: str) -> FixtureArtifact:
    body: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "iam-guard ORG-1 deploy fixture: a queue and a service-managed StackSet",
        "Resources": {
            "FixtureQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "iam-guard-fixture-org"}},
            "MemberStackSet": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": STACK_SET,
                    "PermissionModel": "SERVICE_MANAGED",
                    "CallAs": "DELEGATED_ADMIN",
                    "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                    "Capabilities": ["CAPABILITY_NAMED_IAM"],
                    "StackInstancesGroup": [
                        {"DeploymentTargets": {"OrganizationalUnitIds": [ou]}, "Regions": REGIONS}
                    ],
                    "TemplateBody": json.dumps(MEMBER_TEMPLATE),
                },
            },
        },
    }
    return FixtureArtifact(
        name="org-security", stack_name="iam-guard-fixture-org", region="us-east-1", body=json.dumps(body)
    )


def test_org_1_deploy_waits_for_the_stack_set_and_reports_every_instance(aws: str, tmp_path: Path) -> None:
    ou, accounts = organization_with_members(3)
    said, warned = Transcript(), Transcript()

    rc = deploy_all(
        [stack_set_stack(ou)], DeployOptions(out_dir=tmp_path, poll_seconds=0.05), say=said, warn=warned
    )

    assert rc == 0, warned.text
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    instances = cloudformation.list_stack_instances(StackSetName=STACK_SET, CallAs="DELEGATED_ADMIN")[
        "Summaries"
    ]
    assert sorted((i["Account"], i["Region"]) for i in instances) == sorted(
        (account, region) for account in accounts for region in REGIONS
    )
    [operation] = cloudformation.list_stack_set_operations(StackSetName=STACK_SET)["Summaries"]
    [line] = [line for line in said.lines if line.startswith(f"StackSet {STACK_SET}")]
    assert line == (
        f"StackSet {STACK_SET}: operation {operation['OperationId']} (CREATE) SUCCEEDED; "
        "6 stack instance(s), none failed"
    )
    assert said.lines[-1].startswith("deploy complete")
    assert warned.lines == []


def test_org_1_deploy_without_stack_set_rights_is_one_block_naming_the_call(
    aws: str, fault_proxy: FaultProxy, tmp_path: Path
) -> None:
    """No delegated administrator (or a role without StackSets rights): AWS refuses the StackSets calls."""
    ou, _ = organization_with_members(1)
    fault_proxy.add(FaultRule("cloudformation", "ListStackSetOperations", "access_denied"))
    said, warned = Transcript(), Transcript()

    rc = deploy_all(
        [stack_set_stack(ou)], DeployOptions(out_dir=tmp_path, poll_seconds=0.05), say=said, warn=warned
    )

    assert rc == 1
    [block] = warned.lines
    assert block.splitlines()[0] == "iam-guard deploy: AWS error, stopped"
    assert "operation: cloudformation ListStackSetOperations" in block
    assert "AccessDenied" in block
    assert fault_proxy.count("cloudformation", "ListStackSetOperations") == 1


@pytest.mark.parametrize("value", ["0", "-5", "ten", "21601", "1e3"])
def test_org_1_deploy_with_a_bad_stack_set_timeout_exits_2_with_one_line(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    config = str(Path(__file__).resolve().parents[2] / "templates" / "org.yaml")

    rc = main(["deploy", "--config", config, "--stack-set-timeout", value, "--out", str(tmp_path)])

    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--stack-set-timeout" in err and repr(value) in err
    assert boto3.client("s3").list_buckets()["Buckets"] == []
