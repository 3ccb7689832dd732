"""MON-5 / MON-10: iam-guard's own code assumes the cross-account audit role with a session policy that
narrows the session to the audit's three reads; the audit runs against a real moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from iam_guard.analysis import Severity
from iam_guard.remote_audit import (
    AUDIT_ACTIONS,
    assume_audit_role,
    audit_details,
    audit_session_policy,
    authorization_details,
    parse_role_arn,
)

ROLE_ARN = "arn:aws:iam::123456789012:role/IamGuardAudit-dev-us-east-1"
EXTERNAL_ID = "x" * 40


def test_mon_5_session_policy_grants_only_the_audit_reads() -> None:
    policy = audit_session_policy(ROLE_ARN)
    granted = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        granted.update(actions)
        assert all("*" not in action for action in actions)
    assert granted == set(AUDIT_ACTIONS)


def test_mon_5_session_policy_scopes_policy_reads_to_audited_account() -> None:
    policy = audit_session_policy("arn:aws-us-gov:iam::210987654321:role/Audit")
    reads = next(s for s in policy["Statement"] if s["Sid"] == "ReadPolicyVersions")
    assert reads["Resource"] == [
        "arn:aws-us-gov:iam::210987654321:policy/*",
        "arn:aws-us-gov:iam::aws:policy/*",
    ]
    # GetAccountAuthorizationDetails supports no resource-level permission: "*" is its only form.
    details = next(s for s in policy["Statement"] if s["Sid"] == "ReadAuthorizationDetails")
    assert details["Action"] == "iam:GetAccountAuthorizationDetails" and details["Resource"] == "*"


@pytest.mark.parametrize("bad", ["arn:aws:iam::123:role/x", "arn:aws:iam::123456789012:user/x", "role/x"])
def test_mon_10_role_arn_validated(bad: str) -> None:
    with pytest.raises(ValueError, match="--role-arn"):
        parse_role_arn(bad)


def create_audit_target(iam: object) -> None:
    """An audit role with the external-ID trust, and a user with a wildcard policy to be found."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
            }
        ],
    }
    iam.create_role(
        RoleName="IamGuardAudit-dev-us-east-1",
        AssumeRolePolicyDocument=json.dumps(trust),
        MaxSessionDuration=3600,
    )
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="TooBroad", PolicyDocument=json.dumps(admin))["Policy"]["Arn"]
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)


@pytest.mark.integration
def test_mon_10_audit_through_assumed_role_finds_wildcard_policy(aws: str) -> None:
    iam = boto3.client("iam")
    create_audit_target(iam)
    session = assume_audit_role(ROLE_ARN, EXTERNAL_ID, "us-east-1")
    audited_iam = session.client("iam")
    findings = audit_details(authorization_details(audited_iam), audited_iam)
    broad = [f for f in findings if f.entity == "policy/TooBroad"]
    assert broad, [f.to_dict() for f in findings]
    assert max(f.finding.severity for f in broad) is Severity.CRITICAL
    assert any(f.finding.actions == ("*",) for f in broad)


@pytest.mark.integration
def test_mon_10_audit_account_cli_exit_codes(aws: str, tmp_path: Path) -> None:
    create_audit_target(boto3.client("iam"))
    cli = Path(sys.executable).parent / "iam-guard"
    env = {**os.environ, "IAM_GUARD_AUDIT_EXTERNAL_ID": EXTERNAL_ID}
    result = subprocess.run(
        [str(cli), "audit-account", "--role-arn", ROLE_ARN, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)
    assert any(f["severity"] == "critical" and f["entity"] == "policy/TooBroad" for f in findings)
    assert EXTERNAL_ID not in result.stdout + result.stderr
    missing = subprocess.run(
        [str(cli), "audit-account", "--role-arn", ROLE_ARN],
        capture_output=True,
        text=True,
        env={**env, "IAM_GUARD_AUDIT_EXTERNAL_ID": ""},
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "iam-guard audit-account: --external-id-env: "
        "environment variable IAM_GUARD_AUDIT_EXTERNAL_ID is empty or unset"
    )
