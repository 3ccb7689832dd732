"""CLI-2 on a few real templates kept in the project (tests/fixtures/real-templates, sources in its
README): what a user of these repositories sees, finding by finding."""

from __future__ import annotations

from scan_cli import analyze
from support import FIXTURES

REAL = FIXTURES / "real-templates"


def test_cli_2_real_fixtures_folder_scan() -> None:
    outcome = analyze(str(REAL), "--format", "json")
    assert outcome.code == 1 and outcome.stderr == ""
    body = outcome.json()
    found = {
        (f["file"].split("/")[-1], f["resource"], f["policy"], f["code"], f["severity"])
        for f in body["findings"]
    }
    assert found == {
        # the unquoted Version date is read as IAM reads it: the only finding is the account-wide trust
        (
            "sra-common-prerequisites-stackset-execution-role.yaml",
            "rSRAExecutionRole",
            "AssumeRolePolicyDocument",
            "IAMG009",
            "high",
        ),
        # the org-wide event bus statement: public, narrowed by aws:PrincipalOrgID
        ("log-setup-management.yaml", "CentralEventBusPolicy", "Statement", "IAMG017", "info"),
        ("log-setup-management.yaml", "CentralEventLogKey", "KeyPolicy", "IAMG010", "low"),
        ("log-setup-management.yaml", "CentralEventLogPolicy", "PolicyDocument", "IAMG010", "low"),
        # a VPC endpoint policy open to '*' only limits the endpoint: low at most
        ("cfn-endpoint-waitcondition.yaml", "S3Endpoint", "PolicyDocument", "IAMG017", "low"),
        ("cfn-endpoint-waitcondition.yaml", "RootRole", "AssumeRolePolicyDocument", "IAMG010", "low"),
        ("cfn-endpoint-waitcondition.yaml", "RootRole", "Policies[0] root", "IAMG003", "high"),
        ("cfn-endpoint-waitcondition.yaml", "RootRole", "Policies[0] root", "IAMG006", "high"),
        ("python.yaml", "TransformExecutionRole", "AssumeRolePolicyDocument", "IAMG010", "low"),
        ("python.yaml", "TransformExecutionRole", "Policies[0] root", "IAMG003", "high"),
        ("python.yaml", "TransformFunctionPermissions", "Permission", "IAMG010", "low"),
        ("s3objects-macro.yaml", "ResourceFunction", "Policies", "IAMG902", "info"),
        ("s3objects-macro.yaml", "MacroFunction", "Policies", "IAMG902", "info"),
    }
    assert [(s["file"].split("/")[-1], s["reason"]) for s in body["skipped"]] == [
        (
            "manifest.yml",
            "not valid JSON or YAML: several YAML documents in one file (a Kubernetes manifest?)",
        )
    ]
    summary = body["summary"]
    assert (summary["files"], summary["templates"], summary["policies"], summary["skipped"]) == (6, 5, 10, 1)
    assert not [f for f in body["findings"] if f["code"] == "IAMG016"]


def test_cli_2_real_fixture_statement_lines() -> None:
    """The line of each finding is the statement's own line in the file."""
    outcome = analyze(str(REAL / "cfn-endpoint-waitcondition.yaml"), "--format", "json")
    lines = {(f["resource"], f["code"]): f["line"] for f in outcome.findings()}
    source = (REAL / "cfn-endpoint-waitcondition.yaml").read_text().splitlines()
    for (resource, code), line in lines.items():
        assert source[line - 1].lstrip().startswith("- "), (resource, code, source[line - 1])
