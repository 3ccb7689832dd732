"""ANA-13 through H-2: the daily audit, against real IAM in moto with moto's copy of the AWS managed
policies, tells the operator about their own risk and not AWS's: the service-role policies every account
attaches raise nothing at medium or above, while AdministratorAccess and IAMFullAccess stay loud."""

from __future__ import annotations

import json

import pytest
from handler_helpers import (
    FakeContext,
    Monitoring,
    monitoring_with_aws_managed_policies_fixture,  # noqa: F401 (pytest fixture)
)

import audit_run
import daily_audit

pytestmark = pytest.mark.integration

SCHEDULED = {"version": "0", "id": "ana-13-run", "detail-type": "Scheduled Event", "source": "aws.events"}
SERVICES = ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]
SERVICE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": SERVICES},
            "Action": "sts:AssumeRole",
        }
    ],
}
AWS = "arn:aws:iam::aws:policy/"
# The execution roles of Lambda, ECS and EKS nodes: log writes and a service's network interfaces.
QUIET_SERVICE_ROLES = (
    AWS + "service-role/AWSLambdaBasicExecutionRole",
    AWS + "service-role/AWSLambdaVPCAccessExecutionRole",
    AWS + "service-role/AmazonECSTaskExecutionRolePolicy",
    AWS + "AmazonEKS_CNI_Policy",
    AWS + "AmazonEKSWorkerNodePolicy",
    AWS + "AmazonEC2ContainerRegistryReadOnly",
)
LOUD = {AWS + "AdministratorAccess": ("IAMG001", "critical"), AWS + "IAMFullAccess": ("IAMG006", "high")}


@pytest.fixture(autouse=True)
def cold_container() -> None:
    """A fresh Lambda container: no phase-1 documents, no AWS managed memo from another test."""
    audit_run.set_container_memory(audit_run.ContainerMemory())


def test_ana_13_daily_audit_is_quiet_on_aws_service_roles_and_loud_on_admin(
    monitoring_with_aws_managed_policies: Monitoring,
) -> None:
    monitoring = monitoring_with_aws_managed_policies
    iam = monitoring.iam
    for number, arn in enumerate((*QUIET_SERVICE_ROLES, *LOUD)):
        name = f"workload-{number}"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(SERVICE_TRUST))
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)

    result = daily_audit.handler(
        SCHEDULED, FakeContext(function_name="iam-guard-daily-audit-dev", remaining_ms=[55_000])
    )

    assert result["runs"][0]["status"] == "complete"
    findings = [record for record in monitoring.records() if record["kind"] == "audit-finding"]
    audited = {record["policy"] for record in findings}
    assert set(LOUD) <= audited  # the audit did read the AWS managed policies
    service_role_alarms = [
        (record["policy"], record["severity"], record["code"], record["message"])
        for record in findings
        if record["policy"] in QUIET_SERVICE_ROLES and record["severity"] in ("medium", "high", "critical")
    ]
    assert service_role_alarms == []
    for arn, (code, severity) in LOUD.items():
        assert (code, severity) in {(r["code"], r["severity"]) for r in findings if r["policy"] == arn}, arn
