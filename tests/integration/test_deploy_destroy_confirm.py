"""OPS-2 (DS-9): `iam-guard destroy` asks before deleting. On a terminal (a real pseudo-terminal here) it
deletes only on y/yes, a production config (prod.yaml: environment prod, data classification restricted)
only once each stack's name is typed; without a terminal it refuses with one line and exit 2 unless --yes."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from integration_support import DEPLOY_FIXTURES, FixtureArtifact, Transcript

from iam_guard.deploy.confirm import production_reason
from iam_guard.deploy.runner import DeployOptions, deploy_all

pytestmark = pytest.mark.integration

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
IAM_GUARD = str(Path(sys.executable).parent / "iam-guard")
DEV_STACK = ("iam-guard-data-store-dev", "us-east-1")
PROD_STACK = ("iam-guard-data-store-prod", "eu-west-1")


def deploy_stand_in(stack_name: str, region: str, tmp_path: Path) -> None:
    """A small stack under the config's stack name: what destroy finds, asks about and deletes."""
    body = (DEPLOY_FIXTURES / "small-stack.json").read_text()
    artifact = FixtureArtifact(name="data-store", stack_name=stack_name, region=region, body=body)
    assert deploy_all([artifact], DeployOptions(out_dir=tmp_path, poll_seconds=0.05), say=Transcript()) == 0


def exists(stack_name: str, region: str) -> bool:
    try:
        stack = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)
    except ClientError:
        return False
    return stack["Stacks"][0]["StackStatus"] != "DELETE_COMPLETE"


def destroy_on_a_terminal(config: str, typed: str) -> tuple[int, str]:
    """Run `iam-guard destroy` with a pseudo-terminal as its stdin and `typed` as what the operator types;
    (exit code, what it printed)."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, typed.encode())
        result = subprocess.run(
            [IAM_GUARD, "destroy", "--config", str(TEMPLATES / config)],
            stdin=terminal,
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    return result.returncode, result.stdout + result.stderr


def test_ops_2_destroy_without_a_terminal_or_yes_refuses_with_one_line_and_exit_2(
    aws: str, tmp_path: Path
) -> None:
    deploy_stand_in(*DEV_STACK, tmp_path)

    result = subprocess.run(
        [IAM_GUARD, "destroy", "--config", str(TEMPLATES / "dev.yaml")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "iam-guard destroy: --yes: refusing to delete iam-guard-data-store-dev without confirmation: "
        "there is no terminal to ask on; pass --yes to delete from automation"
    )
    assert exists(*DEV_STACK)


def test_ops_2_destroy_with_yes_deletes_without_asking(aws: str, tmp_path: Path) -> None:
    deploy_stand_in(*DEV_STACK, tmp_path)

    result = subprocess.run(
        [IAM_GUARD, "destroy", "--config", str(TEMPLATES / "dev.yaml"), "--yes"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "About to delete" not in result.stdout
    assert not exists(*DEV_STACK)


def test_ops_2_destroy_on_a_terminal_answer_n_keeps_the_stack(aws: str, tmp_path: Path) -> None:
    deploy_stand_in(*DEV_STACK, tmp_path)

    code, shown = destroy_on_a_terminal("dev.yaml", "n\n")

    assert code == 1
    assert "About to delete 1 stack(s): iam-guard-data-store-dev" in shown
    assert "Delete them? [y/N]" in shown
    assert "not confirmed: nothing was deleted" in shown
    assert exists(*DEV_STACK)


def test_ops_2_destroy_on_a_terminal_answer_y_deletes(aws: str, tmp_path: Path) -> None:
    deploy_stand_in(*DEV_STACK, tmp_path)

    code, shown = destroy_on_a_terminal("dev.yaml", "y\n")

    assert code == 0, shown
    assert not exists(*DEV_STACK)
    assert "iam-guard-data-store-dev: DELETE_COMPLETE" in shown


def test_ops_2_prod_destroy_needs_the_stack_name_typed_and_y_is_not_enough(aws: str, tmp_path: Path) -> None:
    deploy_stand_in(*PROD_STACK, tmp_path)

    code, shown = destroy_on_a_terminal("prod.yaml", "y\n")

    assert code == 1
    assert "production deployment (environment prod and data classification restricted)" in shown
    assert "Type the stack name iam-guard-data-store-prod to delete it:" in shown
    assert exists(*PROD_STACK)

    code, shown = destroy_on_a_terminal("prod.yaml", "iam-guard-data-store-prod\n")

    assert code == 0, shown
    assert not exists(*PROD_STACK)


@pytest.mark.parametrize(
    ("environment", "classification", "expected"),
    [
        ("prod", "internal", "environment prod"),
        ("prodeu", "confidential", "environment prodeu"),
        ("dev", "restricted", "data classification restricted"),
        ("dev", "confidential", None),
        ("staging", "internal", None),
    ],
)
def test_ops_2_what_counts_as_production(environment: str, classification: str, expected: str | None) -> None:
    assert production_reason(environment, classification) == expected
