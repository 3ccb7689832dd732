"""OPS-2 (DEP-1): stack events stream while deploy and destroy wait (resource, status, reason), each once and
oldest first, with a closing line per stack and a summary of the run (created/updated/deleted/failed,
duration). moto executes change sets synchronously and records no resource events of its own
(MOTO_GAPS["resource-events"]), so streaming across polls is also shown on CloudFormation's event shape."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from integration_support import DEPLOY_FIXTURES, FixtureArtifact, Transcript

from iam_guard.deploy.destroy import destroy_all
from iam_guard.deploy.events import EventStream, format_event
from iam_guard.deploy.runner import DeployOptions, deploy_all

pytestmark = pytest.mark.integration

STACK = "iam-guard-fixture"
EVENT_LINE = re.compile(
    r"^  \d\d:\d\d:\d\d  (?P<status>[A-Z_]+)\s+(?P<type>AWS::\S+)\s+(?P<logical>\S+)\s*(?P<reason>.*)$"
)


def small_stack(body: str | None = None) -> FixtureArtifact:
    text = body if body is not None else (DEPLOY_FIXTURES / "small-stack.json").read_text()
    return FixtureArtifact(name="small-stack", stack_name=STACK, region="us-east-1", body=text)


def with_second_queue() -> str:
    template = json.loads((DEPLOY_FIXTURES / "small-stack.json").read_text())
    template["Resources"]["SecondQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "second"}}
    return json.dumps(template)


def event_rows(transcript: Transcript) -> list[tuple[str, str, str]]:
    """(status, type, logical id) of every streamed event line, in the order said."""
    rows = []
    for line in transcript.lines:
        match = EVENT_LINE.match(line)
        if match:
            rows.append((match["status"], match["type"], match["logical"]))
    return rows


def deploy(artifact: FixtureArtifact, out: Path, transcript: Transcript) -> int:
    return deploy_all([artifact], DeployOptions(out_dir=out, poll_seconds=0.05), say=transcript)


def test_ops_2_create_streams_each_resource_event_once_before_the_outcome(aws: str, tmp_path: Path) -> None:
    transcript = Transcript()

    assert deploy(small_stack(), tmp_path, transcript) == 0

    assert event_rows(transcript) == [
        ("CREATE_IN_PROGRESS", "AWS::CloudFormation::Stack", STACK),
        ("CREATE_IN_PROGRESS", "AWS::KMS::Key", "FixtureKey"),
        ("CREATE_COMPLETE", "AWS::KMS::Key", "FixtureKey"),
        ("CREATE_IN_PROGRESS", "AWS::SQS::Queue", "FixtureQueue"),
        ("CREATE_COMPLETE", "AWS::SQS::Queue", "FixtureQueue"),
        ("CREATE_COMPLETE", "AWS::CloudFormation::Stack", STACK),
    ]
    lines = transcript.lines
    last_event = max(i for i, line in enumerate(lines) if EVENT_LINE.match(line))
    outcome = lines.index(f"stack {STACK}: created: CREATE_COMPLETE; termination protection on")
    assert last_event < outcome, "events are said while waiting, before the outcome"
    closing = lines[last_event + 1]
    assert re.fullmatch(
        rf"  {STACK}: CREATE_COMPLETE in \d+\.\d s \(2 created, 0 updated, 0 deleted, 0 failed\)", closing
    )
    assert re.fullmatch(
        rf"deploy complete in \d+\.\d s: {STACK} created; "
        r"resources: 2 created, 0 updated, 0 deleted, 0 failed",
        lines[-1],
    )


def test_ops_2_update_streams_only_its_own_events(aws: str, tmp_path: Path) -> None:
    assert deploy(small_stack(), tmp_path, Transcript()) == 0
    transcript = Transcript()

    assert deploy(small_stack(with_second_queue()), tmp_path, transcript) == 0

    resource_rows = [row for row in event_rows(transcript) if row[1] != "AWS::CloudFormation::Stack"]
    assert resource_rows == [
        ("CREATE_IN_PROGRESS", "AWS::SQS::Queue", "SecondQueue"),
        ("CREATE_COMPLETE", "AWS::SQS::Queue", "SecondQueue"),
    ], "the first deploy's events are not said again"
    assert transcript.lines[-1].endswith(
        f"{STACK} updated; resources: 1 created, 0 updated, 0 deleted, 0 failed"
    )


def test_ops_2_destroy_streams_deletion_events_and_skips_of_retained_resources(
    aws: str, tmp_path: Path
) -> None:
    assert deploy(small_stack(), tmp_path, Transcript()) == 0
    transcript = Transcript()

    assert destroy_all([small_stack()], say=transcript, poll_seconds=0.05) == 0

    rows = [row for row in event_rows(transcript) if row[1] != "AWS::CloudFormation::Stack"]
    assert ("DELETE_SKIPPED", "AWS::KMS::Key", "FixtureKey") in rows
    assert ("DELETE_COMPLETE", "AWS::SQS::Queue", "FixtureQueue") in rows
    assert any(
        re.fullmatch(
            rf"  {STACK}: DELETE_COMPLETE in \d+\.\d s \(0 created, 0 updated, 1 deleted, 0 failed\)", line
        )
        for line in transcript.lines
    )


def cloudformation_event(number: int, logical_id: str, status: str, reason: str = "") -> dict[str, object]:
    return {
        "EventId": f"{logical_id}-{status}-{number}",
        "StackName": "iam-guard-monitoring-dev",
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::CloudFormation::Stack"
        if logical_id == "iam-guard-monitoring-dev"
        else "AWS::SNS::Topic",
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
        "Timestamp": datetime(2026, 12, 1, 20, 0, tzinfo=UTC) + timedelta(seconds=number),
    }


def test_ops_2_events_are_taken_across_polls_each_once_oldest_first() -> None:
    before = cloudformation_event(0, "iam-guard-monitoring-dev", "UPDATE_COMPLETE")
    started = cloudformation_event(1, "iam-guard-monitoring-dev", "UPDATE_IN_PROGRESS", "User Initiated")
    topic_progress = cloudformation_event(2, "AlertTopic", "UPDATE_IN_PROGRESS")
    topic_done = cloudformation_event(3, "AlertTopic", "UPDATE_COMPLETE")
    topic_failed = cloudformation_event(4, "OtherTopic", "UPDATE_FAILED", "Rate exceeded")
    stream = EventStream("iam-guard-monitoring-dev", boundary=str(before["EventId"]))

    # DescribeStackEvents lists newest first; each poll sees everything up to its moment.
    first_poll = stream.take([topic_progress, started, before])
    second_poll = stream.take([topic_failed, topic_done, topic_progress, started, before])
    third_poll = stream.take([topic_failed, topic_done, topic_progress, started, before])

    assert first_poll == [started, topic_progress]
    assert second_poll == [topic_done, topic_failed]
    assert third_poll == []
    activity = stream.activity()
    assert (activity.updated, activity.failed, activity.created) == (1, 1, 0)
    assert format_event(topic_failed) == (
        f"  20:00:04  {'UPDATE_FAILED':<22} {'AWS::SNS::Topic':<32} {'OtherTopic':<30} Rate exceeded"
    )
