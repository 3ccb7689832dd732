"""DEP-1 / DS-9 deploy mechanics on moto's server, with the project's small fixture templates
(tests/fixtures/deploy): change sets, "no changes", --review, failures, termination protection, destroy."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from integration_support import DEPLOY_FIXTURES, FixtureArtifact, TerminalInput, Transcript

from iam_guard.deploy.destroy import destroy_all
from iam_guard.deploy.review import ask_on_terminal
from iam_guard.deploy.runner import FLAT_OUTPUTS_FILE, DeployOptions, deploy_all

pytestmark = pytest.mark.integration

TAGS = {"Environment": "test", "Owner": "platform-security", "DataClassification": "confidential"}


def fixture(name: str, stack_name: str = "iam-guard-fixture", body: str | None = None) -> FixtureArtifact:
    text = body if body is not None else (DEPLOY_FIXTURES / f"{name}.json").read_text()
    return FixtureArtifact(name=name, stack_name=stack_name, region="us-east-1", body=text)


def with_second_queue(body: str) -> str:
    template = json.loads(body)
    template["Resources"]["SecondQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "second"}}
    return json.dumps(template)


def deploy(artifact: FixtureArtifact, out_dir: Path, transcript: Transcript, **options: object) -> int:
    settings = DeployOptions(out_dir=out_dir, tags=TAGS, poll_seconds=0.05, **options)  # type: ignore[arg-type]
    return deploy_all([artifact], settings, say=transcript)


def stack_or_none(name: str) -> dict | None:
    try:
        stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except ClientError:
        return None
    return None if stack["StackStatus"] in ("DELETE_COMPLETE", "REVIEW_IN_PROGRESS") else stack


def queue_names() -> list[str]:
    urls = boto3.client("sqs").list_queues().get("QueueUrls", [])
    return sorted(url.rsplit("/", 1)[-1] for url in urls)


def test_dep_1_create_applies_change_set_with_config_tags_and_writes_flat_outputs(
    aws: str, tmp_path: Path
) -> None:
    transcript = Transcript()
    assert deploy(fixture("small-stack"), tmp_path, transcript) == 0

    stack = stack_or_none("iam-guard-fixture")
    assert stack is not None and stack["StackStatus"] == "CREATE_COMPLETE"
    assert {tag["Key"]: tag["Value"] for tag in stack["Tags"]} == TAGS
    assert queue_names() == ["iam-guard-fixture-first"]
    flat = json.loads((tmp_path / FLAT_OUTPUTS_FILE).read_text())
    live = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert flat == live
    assert list(flat) == sorted(flat)
    assert flat["FixtureQueueUrl"].endswith("/iam-guard-fixture-first")
    assert "created: CREATE_COMPLETE" in transcript.text


def test_ds_9_deploy_turns_termination_protection_on(aws: str, tmp_path: Path) -> None:
    assert deploy(fixture("small-stack"), tmp_path, Transcript()) == 0

    stack = stack_or_none("iam-guard-fixture")
    assert stack is not None and stack["EnableTerminationProtection"] is True
    with pytest.raises(ClientError, match="TerminationProtection"):
        boto3.client("cloudformation").delete_stack(StackName="iam-guard-fixture")


def test_dep_1_second_deploy_without_change_is_a_success_that_says_no_changes(
    aws: str, tmp_path: Path
) -> None:
    assert deploy(fixture("small-stack"), tmp_path, Transcript()) == 0
    cloudformation = boto3.client("cloudformation")
    events_before = cloudformation.describe_stack_events(StackName="iam-guard-fixture")["StackEvents"]
    (tmp_path / FLAT_OUTPUTS_FILE).unlink()

    transcript = Transcript()
    assert deploy(fixture("small-stack"), tmp_path, transcript) == 0

    assert "unchanged: no changes" in transcript.text
    events_after = cloudformation.describe_stack_events(StackName="iam-guard-fixture")["StackEvents"]
    assert len(events_after) == len(events_before), "a no-change deploy must not execute anything"
    summaries = cloudformation.list_change_sets(StackName="iam-guard-fixture")["Summaries"]
    assert [s["ChangeSetName"] for s in summaries if s["ExecutionStatus"] != "EXECUTE_COMPLETE"] == [], (
        "the empty change set must be deleted"
    )
    assert "FixtureQueueUrl" in json.loads((tmp_path / FLAT_OUTPUTS_FILE).read_text())


def test_dep_1_update_executes_the_change_set(aws: str, tmp_path: Path) -> None:
    assert deploy(fixture("small-stack"), tmp_path, Transcript()) == 0
    changed = fixture("small-stack", body=with_second_queue(fixture("small-stack").body))

    transcript = Transcript()
    assert deploy(changed, tmp_path, transcript) == 0

    assert "updated: UPDATE_COMPLETE" in transcript.text
    assert queue_names() == ["iam-guard-fixture-first", "second"]


def test_dep_1_review_answer_n_applies_nothing(aws: str, tmp_path: Path) -> None:
    screen = io.StringIO()

    def answer_no(summary: str) -> bool:
        return ask_on_terminal(summary, TerminalInput("n\n"), screen)

    assert deploy(fixture("small-stack"), tmp_path, Transcript(), confirm=answer_no) == 1

    assert stack_or_none("iam-guard-fixture") is None
    assert queue_names() == []
    assert not (tmp_path / FLAT_OUTPUTS_FILE).exists()
    shown = screen.getvalue()
    rows = [line.split() for line in shown.splitlines()]
    assert ["Add", "FixtureQueue", "AWS::SQS::Queue"] in rows
    assert ["Add", "FixtureKey", "AWS::KMS::Key"] in rows
    assert "Apply this change set? [y/N]" in shown


def test_dep_1_review_answer_n_on_update_leaves_the_stack_as_it_was(aws: str, tmp_path: Path) -> None:
    assert deploy(fixture("small-stack"), tmp_path, Transcript()) == 0
    changed = fixture("small-stack", body=with_second_queue(fixture("small-stack").body))
    screen = io.StringIO()

    rc = deploy(
        changed, tmp_path, Transcript(), confirm=lambda s: ask_on_terminal(s, TerminalInput("no\n"), screen)
    )

    assert rc == 1
    assert queue_names() == ["iam-guard-fixture-first"]
    assert "SecondQueue" in screen.getvalue()
    stack = stack_or_none("iam-guard-fixture")
    assert stack is not None and stack["StackStatus"] == "CREATE_COMPLETE"


def test_dep_1_review_answer_y_applies(aws: str, tmp_path: Path) -> None:
    rc = deploy(
        fixture("small-stack"),
        tmp_path,
        Transcript(),
        confirm=lambda s: ask_on_terminal(s, TerminalInput("y\n"), io.StringIO()),
    )
    assert rc == 0
    assert queue_names() == ["iam-guard-fixture-first"]


def test_dep_1_review_without_a_terminal_aborts(aws: str, tmp_path: Path) -> None:
    screen = io.StringIO()
    piped = io.StringIO("y\n")  # a pipe, not a terminal: even "y" is not taken as consent

    rc = deploy(
        fixture("small-stack"), tmp_path, Transcript(), confirm=lambda s: ask_on_terminal(s, piped, screen)
    )

    assert rc == 1
    assert "needs an interactive terminal" in screen.getvalue()
    assert stack_or_none("iam-guard-fixture") is None


def test_dep_1_broken_template_fails_with_one_readable_block_and_exit_1(aws: str, tmp_path: Path) -> None:
    transcript = Transcript()

    rc = deploy(fixture("broken-stack", stack_name="iam-guard-broken"), tmp_path, transcript)

    assert rc == 1
    assert "Deploy of stack iam-guard-broken FAILED" in transcript.text
    assert "MissingDeadLetterQueue" in transcript.text
    assert not (tmp_path / FLAT_OUTPUTS_FILE).exists()
    assert "iam-guard-fixture-orphan" not in queue_names()


def test_ds_9_destroy_turns_protection_off_deletes_and_names_what_remains(aws: str, tmp_path: Path) -> None:
    artifact = fixture("small-stack")
    assert deploy(artifact, tmp_path, Transcript()) == 0
    key_arn = json.loads((tmp_path / FLAT_OUTPUTS_FILE).read_text())["FixtureKeyArn"]

    transcript = Transcript()
    assert destroy_all([artifact], say=transcript, poll_seconds=0.05) == 0

    assert stack_or_none("iam-guard-fixture") is None
    assert queue_names() == []
    key = boto3.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]
    assert key["KeyState"] == "Enabled", "a retained key must survive the stack"
    assert "termination protection off" in transcript.text
    assert f"FixtureKey (AWS::KMS::Key): {key['KeyId']}" in transcript.text


def test_ds_9_destroy_of_a_stack_never_deployed_says_so(aws: str) -> None:
    transcript = Transcript()
    assert destroy_all([fixture("small-stack")], say=transcript, poll_seconds=0.05) == 0
    assert "not deployed, nothing to delete" in transcript.text
