"""DEP-1: `iam-guard deploy` / `iam-guard destroy` as a user runs them (templates/dev.yaml) against moto's
server: bad input exits 2 with one line and deploys nothing; --review without a terminal applies nothing."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from iam_guard.cli import main

pytestmark = pytest.mark.integration

CONFIG = str(Path(__file__).resolve().parents[2] / "templates" / "dev.yaml")
STACKS = ("iam-guard-data-store-dev", "iam-guard-monitoring-dev")


def live_stacks() -> list[str]:
    summaries = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    return sorted(s["StackName"] for s in summaries if s["StackStatus"] not in ("DELETE_COMPLETE",))


def stack_status(name: str) -> str | None:
    """The stack's status; None when it does not exist or is deleted."""
    try:
        stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except ClientError:
        return None
    return None if stack["StackStatus"] == "DELETE_COMPLETE" else str(stack["StackStatus"])


def test_dep_1_deploy_without_the_external_id_exits_2_before_anything_is_deployed(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IAM_GUARD_AUDIT_EXTERNAL_ID", raising=False)
    out = tmp_path / "out"

    assert main(["deploy", "--config", CONFIG, "--out", str(out)]) == 2

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "AuditExternalId" in err and "IAM_GUARD_AUDIT_EXTERNAL_ID" in err
    assert live_stacks() == []
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert not out.exists() or list(out.iterdir()) == []


def test_dep_1_deploy_of_an_unknown_stack_exits_2(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--config", CONFIG, "--stack", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--stack" in err and "'nope'" in err
    assert live_stacks() == []


def test_dep_1_deploy_with_a_bad_artifact_bucket_name_exits_2(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["deploy", "--config", CONFIG, "--artifact-bucket", "Bad_Bucket", "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--artifact-bucket" in err and "'Bad_Bucket'" in err
    assert boto3.client("s3").list_buckets()["Buckets"] == []


def test_dep_1_deploy_with_a_missing_config_exits_2_naming_the_file(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.yaml"
    assert main(["deploy", "--config", str(missing), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(missing) in err and "not found" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_dep_1_review_without_a_terminal_shows_the_change_set_and_applies_nothing(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pytest's stdin is not a terminal, exactly like `iam-guard deploy --review < /dev/null` or a CI job.
    rc = main(["deploy", "--config", CONFIG, "--stack", "data-store", "--review", "--out", str(tmp_path)])

    assert rc == 1
    shown = capsys.readouterr().out
    rows = [line.split() for line in shown.splitlines()]
    assert ["Add", "DataBucket", "AWS::S3::Bucket"] in rows
    assert ["Add", "DataKey", "AWS::KMS::Key"] in rows
    assert "needs an interactive terminal" in shown
    assert "aborted" in shown
    assert stack_status(STACKS[0]) is None, "the empty REVIEW_IN_PROGRESS stack must be removed too"
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert not (tmp_path / "flat-outputs.json").exists()


def test_ds_9_destroy_with_nothing_deployed_says_so_and_succeeds(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["destroy", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    for name in STACKS:
        assert f"stack {name} (us-east-1): not deployed, nothing to delete" in out
