"""Destroy every stack of a config (DS-9): find which stacks exist, ask before deleting them (see
confirm.py), then in reverse deployment order turn termination protection off, delete, stream the events
and say which retained resources remain (DeletionPolicy Retain: data, keys, audit logs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iam_guard.deploy.aws_errors import AwsCallFailed, CallLog, aws_step
from iam_guard.deploy.changes import format_failure
from iam_guard.deploy.confirm import ApproveDeletion
from iam_guard.deploy.events import EventStream, newest_event_id
from iam_guard.deploy.runner import (
    Artifact,
    ClientFactory,
    boto3_clients,
    print_to_stderr,
    retained_resources,
)
from iam_guard.deploy.stacks import Say, StackDeployer


def destroy_all(
    artifacts: Sequence[Artifact],
    clients: ClientFactory = boto3_clients,
    say: Say = print,
    poll_seconds: float = 5.0,
    warn: Say = print_to_stderr,
    approve: ApproveDeletion | None = None,
) -> int:
    """Delete the deployed stacks in reverse order once `approve` agrees (None: no question, for callers
    that asked already). 0 when every stack is gone, 1 when one is not or the deletion was not approved;
    an AWS error is one block through `warn` (exit 1). A refusal to ask raises UsageError (exit 2)."""
    calls = CallLog()
    watched = calls.watching(clients)
    try:
        deployed = _deployed(artifacts, watched, calls, say, poll_seconds)
        if approve is not None and not approve([artifact.stack_name for artifact, _ in deployed]):
            say("not confirmed: nothing was deleted")
            return 1
        failed = False
        for artifact, deployer in deployed:
            with aws_step(artifact.stack_name, artifact.region, calls):
                status = _destroy_one(deployer, artifact, say)
            failed = failed or status != "DELETE_COMPLETE"
    except AwsCallFailed as failure:
        warn(failure.block("destroy"))
        return 1
    return 1 if failed else 0


def _deployed(
    artifacts: Sequence[Artifact], clients: ClientFactory, calls: CallLog, say: Say, poll_seconds: float = 5.0
) -> list[tuple[Artifact, StackDeployer]]:
    """The stacks that exist, in deletion order (reverse deployment order), each with its deployer."""
    found = []
    for artifact in reversed(artifacts):
        with aws_step(artifact.stack_name, artifact.region, calls):
            deployer = StackDeployer(
                clients("cloudformation", artifact.region), say=say, poll_seconds=poll_seconds
            )
            if deployer.describe_stack(artifact.stack_name) is None:
                say(f"stack {artifact.stack_name} ({artifact.region}): not deployed, nothing to delete")
                continue
        found.append((artifact, deployer))
    return found


def _destroy_one(deployer: StackDeployer, artifact: Artifact, say: Say) -> str:
    cloudformation = deployer.cloudformation
    stack = deployer.describe_stack(artifact.stack_name)
    if stack is None:
        say(f"stack {artifact.stack_name} ({artifact.region}): already gone")
        return "DELETE_COMPLETE"
    retained = retained_resources(artifact.body)
    physical = _physical_ids(cloudformation, artifact.stack_name)
    cloudformation.update_termination_protection(
        StackName=artifact.stack_name, EnableTerminationProtection=False
    )
    stream = EventStream(artifact.stack_name, newest_event_id(cloudformation, artifact.stack_name))
    started = deployer.clock()
    cloudformation.delete_stack(StackName=artifact.stack_name)
    say(f"stack {artifact.stack_name} ({artifact.region}): termination protection off, deleting")
    status = deployer.wait_for_delete(stack["StackId"], stream)
    say(deployer.closing_line(artifact.stack_name, status, started, stream))
    if status != "DELETE_COMPLETE":
        events = list(reversed(stream.events))
        say(format_failure(artifact.stack_name, status, "DeleteStack did not complete", events))
        return status
    if retained:
        say(
            f"  retained by DeletionPolicy, these remain ({len(retained)}); "
            "delete them by hand only if you mean to:"
        )
        for logical_id, resource_type in retained.items():
            say(f"    {logical_id} ({resource_type}): {physical.get(logical_id) or 'never created'}")
    return status


def _physical_ids(cloudformation: Any, stack_name: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("LogicalResourceId"):
                ids[summary["LogicalResourceId"]] = summary.get("PhysicalResourceId", "")
    return ids
