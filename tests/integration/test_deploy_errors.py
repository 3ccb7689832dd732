"""OPS-2 (DEP-1): every AWS or emulator error during deploy or destroy is one readable block naming the
stack, the AWS operation and AWS's code and message, exit code 1, never a traceback. Faults are injected
on the server side (tests/fault_injection.py) or come from the environment (no credentials, no endpoint)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from integration_support import DEPLOY_FIXTURES, FixtureArtifact, Transcript

from fault_injection import FaultProxy, FaultRule
from iam_guard.cli import main
from iam_guard.deploy.destroy import destroy_all
from iam_guard.deploy.runner import DeployOptions, deploy_all

pytestmark = pytest.mark.integration

CONFIG = str(Path(__file__).resolve().parents[2] / "templates" / "dev.yaml")
EXTERNAL_ID = "operator-supplied-external-id-0123456789"
IAM_GUARD = str(Path(sys.executable).parent / "iam-guard")


def small_stack() -> FixtureArtifact:
    body = (DEPLOY_FIXTURES / "small-stack.json").read_text()
    return FixtureArtifact(name="small-stack", stack_name="iam-guard-fixture", region="us-east-1", body=body)


def block_fields(text: str) -> dict[str, str]:
    """The 'name: value' lines of an error block."""
    fields = {}
    for line in text.splitlines()[1:]:
        name, _, value = line.strip().partition(":")
        fields[name] = value.strip()
    return fields


def test_ops_2_server_error_on_termination_protection_is_one_block_naming_stack_and_operation(
    fault_proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    fault_proxy.add(FaultRule("cloudformation", "UpdateTerminationProtection", "error500"))
    said, warned = Transcript(), Transcript()

    rc = deploy_all(
        [small_stack()], DeployOptions(out_dir=tmp_path, poll_seconds=0.05), say=said, warn=warned
    )

    assert rc == 1
    assert len(warned.lines) == 1, "one block"
    block = warned.lines[0]
    assert block.splitlines()[0] == "iam-guard deploy: AWS error, stopped"
    fields = block_fields(block)
    assert fields["stack"] == "iam-guard-fixture (us-east-1)"
    assert fields["operation"] == "cloudformation UpdateTerminationProtection"
    assert fields["error"] == "InternalFailure: injected error500 (cloudformation)"
    assert fields["response"] == "HTTP 500, request id fault-proxy, after 2 attempts"
    assert fields["next"].startswith("run the same command again once the cause is fixed: deploy continues")
    assert fault_proxy.count("cloudformation", "UpdateTerminationProtection") == 2
    assert "Traceback" not in said.text + warned.text
    assert not (tmp_path / "flat-outputs.json").exists()


def test_ops_2_rerun_after_the_fault_finishes_the_job(
    fault_proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    rule = fault_proxy.add(FaultRule("cloudformation", "UpdateTerminationProtection", "error500", times=1))
    options = DeployOptions(out_dir=tmp_path, poll_seconds=0.05)
    assert deploy_all([small_stack()], options, say=Transcript(), warn=Transcript()) == 1
    assert rule.applied == 1

    said = Transcript()
    assert deploy_all([small_stack()], options, say=said, warn=Transcript()) == 0

    stack = boto3.client("cloudformation").describe_stacks(StackName="iam-guard-fixture")["Stacks"][0]
    assert stack["EnableTerminationProtection"] is True
    assert "unchanged: no changes" in said.text


def test_ops_2_destroy_server_error_on_delete_stack_is_one_block(
    fault_proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        deploy_all([small_stack()], DeployOptions(out_dir=tmp_path, poll_seconds=0.05), say=Transcript()) == 0
    )
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    fault_proxy.add(FaultRule("cloudformation", "DeleteStack", "throttle"))
    warned = Transcript()

    assert destroy_all([small_stack()], say=Transcript(), poll_seconds=0.05, warn=warned) == 1

    fields = block_fields(warned.lines[0])
    assert warned.lines[0].splitlines()[0] == "iam-guard destroy: AWS error, stopped"
    assert fields["stack"] == "iam-guard-fixture (us-east-1)"
    assert fields["operation"] == "cloudformation DeleteStack"
    assert fields["error"] == "Throttling: injected throttle (cloudformation)"
    assert "stacks already deleted are reported as not deployed" in fields["next"]


def test_ops_2_no_credentials_is_one_block_with_exit_1(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("IAM_GUARD_AUDIT_EXTERNAL_ID", EXTERNAL_ID)

    rc = main(["deploy", "--config", CONFIG, "--out", str(tmp_path / "out")])

    assert rc == 1
    captured = capsys.readouterr()
    fields = block_fields(captured.err)
    assert fields["stack"] == "iam-guard-data-store-dev (us-east-1)"
    assert fields["operation"] == "cloudformation DescribeStacks"
    assert fields["error"] == "NoCredentialsError: Unable to locate credentials"
    assert fields["next"].startswith("provide credentials: AWS_PROFILE")
    assert "Traceback" not in captured.err


def test_ops_2_unreachable_endpoint_from_the_console_script_is_a_block_not_a_traceback(
    aws: str, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": closed,
        "AWS_MAX_ATTEMPTS": "1",
        "IAM_GUARD_AUDIT_EXTERNAL_ID": EXTERNAL_ID,
    }

    result = subprocess.run(
        [IAM_GUARD, "deploy", "--config", CONFIG, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    fields = block_fields(result.stderr)
    assert fields["stack"] == "iam-guard-data-store-dev (us-east-1)"
    assert fields["operation"] == "cloudformation DescribeStacks"
    assert fields["error"].startswith(
        f'EndpointConnectionError: Could not connect to the endpoint URL: "{closed}'
    )
