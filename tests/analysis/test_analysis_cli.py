"""CLI-1: `iam-guard analyze` over policy files and CloudFormation templates: formats, exit codes,
intrinsics, suppressions."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from iam_guard.cli import analyze as analyze_command
from iam_guard.cli import main
from iam_guard.errors import UsageError
from support import FIXTURES

POLICIES = FIXTURES / "policies"
TEMPLATES = POLICIES / "templates"


def run_cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="iam-guard")
    analyze_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["analyze", *argv])
    code = args.run(args)
    return code, capsys.readouterr().out


def json_findings(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code, out = run_cli(*argv, "--format", "json", capsys=capsys)
    return code, json.loads(out)["findings"]


def test_cli_1_admin_policy_fails_with_exit_1_and_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = json_findings(str(POLICIES / "admin.identity.json"), capsys=capsys)
    assert code == 1
    (finding,) = findings
    assert finding["file"].endswith("admin.identity.json")
    assert finding["code"] == "IAMG001"
    assert finding["severity"] == "critical"
    assert finding["statement_index"] == 0 and finding["sid"] == "Everything"
    assert "every action" in finding["message"]


def test_cli_1_fail_on_threshold_sets_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    passrole = str(POLICIES / "passrole-lambda.identity.json")
    assert run_cli(passrole, "--fail-on", "critical", capsys=capsys)[0] == 0
    assert run_cli(passrole, "--fail-on", "HIGH", capsys=capsys)[0] == 1
    assert (
        run_cli(str(POLICIES / "least-privilege.identity.json"), "--fail-on", "info", capsys=capsys)[0] == 0
    )


def test_cli_1_text_output_names_file_code_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(str(POLICIES / "open-trust.trust.json"), capsys=capsys)
    assert code == 1
    assert "open-trust.trust.json" in out and "CRITICAL IAMG009" in out
    assert out.strip().splitlines()[-1].startswith("1 file(s), 1 polic(ies): 1 finding(s), 0 suppressed")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["no/such/file.json"], "no such file"),
        ([str(POLICIES / "broken.json")], "broken.json: not valid JSON"),
        ([str(POLICIES / "not-a-policy.json")], "nothing to analyze"),
        ([str(POLICIES / "admin.identity.json"), "--fail-on", "severe"], "--fail-on"),
        ([str(POLICIES / "admin.identity.json"), "--format", "xml"], "--format"),
    ],
)
def test_cli_1_usage_errors_raise_one_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UsageError) as error:
        run_cli(*argv, capsys=capsys)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_cli_1_yaml_template_short_tags_intrinsics_and_suppressions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, findings = json_findings(str(TEMPLATES / "app.yaml"), capsys=capsys)
    assert code == 1
    by_resource = {(f["resource"], f["code"]): f for f in findings}
    # !Sub "*" is a star; !Join/!GetAtt resources are specific, so s3:GetObject raises nothing
    write = by_resource[("WorkerRole", "IAMG002")]
    assert write["actions"] == ["s3:PutObject"] and write["resources"] == ["*"]
    assert write["policy"] == "Policies[0] ReadData" and write["statement_index"] == 1
    assert ("WorkerRole", "IAMG008") not in by_resource
    # a suppression with a reason is reported as suppressed, with the reason
    suppressed = by_resource[("WorkerRole", "IAMG010")]
    assert suppressed["suppressed"] is True and "Lambda" in suppressed["suppression_reason"]
    # a suppression without a reason does not suppress and is itself an error-level finding
    audit = by_resource[("AuditRole", "IAMG009")]
    assert audit["suppressed"] is False and audit["severity"] == "high"
    assert by_resource[("AuditRole", "IAMG018")]["severity"] == "high"
    # the Deny-only bucket policy raises nothing
    assert not [f for f in findings if f["resource"] == "DataBucketPolicy"]


def test_cli_1_template_role_policies_are_combined_per_principal(capsys: pytest.CaptureFixture[str]) -> None:
    _, findings = json_findings(str(TEMPLATES / "escalation.json"), capsys=capsys)
    combined = {f["resource"]: f for f in findings if f["code"] == "IAMG006"}
    assert set(combined) == {"BuilderRole", "DeployerRole"}
    assert all(f["policy_type"] == "principal" for f in combined.values())
    # inline ec2:RunInstances + iam:PassRole from an AWS::IAM::Policy naming the role in Roles
    assert "PassRoleToNewEC2Instance" in combined["BuilderRole"]["message"]
    # inline cloudformation:CreateStack + iam:PassRole from a ManagedPolicy in ManagedPolicyArns
    assert "PassRoleToCloudFormation" in combined["DeployerRole"]["message"]
    assert combined["DeployerRole"]["severity"] == "medium"  # every step is scoped to named resources


def test_cli_1_folder_scans_templates(capsys: pytest.CaptureFixture[str]) -> None:
    _, findings = json_findings(str(TEMPLATES), capsys=capsys)
    assert {Path(f["file"]).name for f in findings} == {"app.yaml", "escalation.json"}


def test_cli_1_reads_aws_cli_output_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import urllib.parse

    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    version = tmp_path / "get-policy-version.json"
    version.write_text(json.dumps({"PolicyVersion": {"Document": urllib.parse.quote(json.dumps(document))}}))
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}],
    }
    role = tmp_path / "get-role.json"
    role.write_text(json.dumps({"Role": {"RoleName": "r", "AssumeRolePolicyDocument": trust}}))
    code, findings = json_findings(str(version), str(role), capsys=capsys)
    assert code == 1
    assert {(Path(f["file"]).name, f["code"], f["policy_type"]) for f in findings} == {
        ("get-policy-version.json", "IAMG001", "identity"),
        ("get-role.json", "IAMG009", "trust"),
    }


CONSOLE = "from iam_guard.cli import console_main; console_main()"  # what the console script runs


def run_console(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CONSOLE, "analyze", *argv], capture_output=True, text=True, check=False
    )


def test_cli_1_console_exit_codes_and_one_line_errors() -> None:
    assert run_console(str(POLICIES / "least-privilege.identity.json")).returncode == 0
    admin = run_console(str(POLICIES / "admin.identity.json"), "--format", "json")
    assert admin.returncode == 1 and json.loads(admin.stdout)["summary"]["findings"] == 1
    broken = run_console(str(POLICIES / "broken.json"))
    assert broken.returncode == 2 and broken.stdout == ""
    assert broken.stderr.count("\n") == 1 and "broken.json: not valid JSON" in broken.stderr


COLLECTOR_AFTER_CONSOLE = textwrap.dedent(
    """
    import gc, sys
    from iam_guard import cli

    default = gc.get_threshold()
    run = cli._run

    def observed(args):  # what the command runs under, then the command itself
        print(repr((default, gc.get_threshold(), gc.get_freeze_count() > 0)), flush=True)
        return run(args)

    cli._run = observed
    sys.argv[1:] = ["analyze", sys.argv[1], "--fail-on", "none"]
    cli.console_main()
    """
)


def test_cli_1_only_the_console_script_quiets_the_collector() -> None:
    """The console script freezes the loaded index out of the collector's sight and raises the youngest
    generation's threshold for the scan; main() called in a caller's own process changes neither."""
    import gc

    before = (gc.get_threshold(), gc.get_freeze_count())
    assert main(["analyze", str(POLICIES / "admin.identity.json"), "--fail-on", "none"]) == 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before

    console = subprocess.run(
        [sys.executable, "-c", COLLECTOR_AFTER_CONSOLE, str(POLICIES / "admin.identity.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert console.returncode == 0, console.stderr
    default, during, frozen = ast.literal_eval(console.stdout.splitlines()[0])
    assert during == (50_000, *default[1:]) and during != default
    assert frozen
