"""Create or update one CloudFormation stack through a change set, the way `aws cloudformation deploy`
does: CreateChangeSet (CREATE or UPDATE), wait, DescribeChangeSet; "no changes" is a success that says
so; otherwise (after an optional review) ExecuteChangeSet, wait for the end state, turn termination
protection on (DS-9) and read the outputs. A failure yields one readable block of the failing resource
events."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.deploy.changes import format_change_set, format_failure
from iam_guard.deploy.events import Activity, EventStream, format_event, newest_event_id, read_new_events
from iam_guard.errors import UsageError

# Asks the operator whether to apply the change set whose summary it is given.
Confirm = Callable[[str], bool]
Say = Callable[[str], None]

CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")
MAX_WAIT_SECONDS = 60 * 60
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_CHANGE_SET_PENDING = ("CREATE_PENDING", "CREATE_IN_PROGRESS")
_OUTCOME = {"CREATE": "created", "UPDATE": "updated", "IMPORT": "imported"}
_STACK_BUSY_SUFFIX = "_IN_PROGRESS"


@dataclass(frozen=True)
class StackRequest:
    """What to deploy: the stack, its template (inline body, or a URL for bodies over 51,200 bytes),
    explicit parameter values, parameters that keep their previous value on update when no value is
    given (NoEcho secrets), and the stack tags."""

    stack_name: str
    region: str
    body: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    keep_previous: Mapping[str, str] = field(default_factory=dict)  # name -> how to supply it
    tags: Mapping[str, str] = field(default_factory=dict)
    template_url: str | None = None


@dataclass(frozen=True)
class StackResult:
    """How one stack's deploy ended: outcome is created, updated, unchanged, aborted or failed."""

    stack_name: str
    region: str
    outcome: str
    message: str
    outputs: dict[str, str] = field(default_factory=dict)
    activity: Activity = field(default_factory=Activity)

    @property
    def succeeded(self) -> bool:
        return self.outcome in ("created", "updated", "unchanged", "imported")


@dataclass
class StackDeployer:
    """Deploys StackRequests with one CloudFormation client (one region)."""

    cloudformation: Any
    say: Say = print
    poll_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def deploy(self, request: StackRequest, confirm: Confirm | None = None) -> StackResult:
        """Create or update the stack; with `confirm`, show the change set and apply only on yes."""
        existing = self.describe_stack(request.stack_name)
        blocked = _blocking_status(existing)
        if blocked:
            return self._result(request, "failed", blocked)
        creating = existing is None or existing["StackStatus"] == "REVIEW_IN_PROGRESS"
        parameters = self._parameter_list(request, existing)
        return self._change_set(request, parameters, "CREATE" if creating else "UPDATE", confirm)

    def import_resources(
        self,
        request: StackRequest,
        import_body: str,
        resources_to_import: list[dict[str, Any]],
        confirm: Confirm | None = None,
    ) -> StackResult:
        """Create the stack from existing resources with an IMPORT change set (outcome "imported" once
        the stack is IMPORT_COMPLETE); `import_body` holds only those resources."""
        parameters = self._parameter_list(request, None)
        return self._change_set(request, parameters, "IMPORT", confirm, import_body, resources_to_import)

    def _change_set(
        self,
        request: StackRequest,
        parameters: list[dict[str, Any]],
        kind: str,
        confirm: Confirm | None,
        body: str | None = None,
        resources_to_import: list[dict[str, Any]] | None = None,
    ) -> StackResult:
        """Create a change set of `kind` (CREATE, UPDATE or IMPORT), review it, execute it, wait."""
        fresh_stack = kind != "UPDATE"
        change_set_name = _change_set_name(body or request.body)
        args = self._change_set_args(request, parameters, kind, change_set_name)
        if body is not None:
            args.pop("TemplateURL", None)
            args["TemplateBody"] = body
        if resources_to_import:
            args["ResourcesToImport"] = resources_to_import
        try:
            self.cloudformation.create_change_set(**args)
        except ClientError as error:
            if _is_no_changes(_message(error)):
                return self._unchanged(request)
            return self._failure(request, "CreateChangeSet rejected the template", _message(error))
        change_set = self._wait_for_change_set(request.stack_name, change_set_name)
        if change_set["Status"] == "FAILED":
            reason = change_set.get("StatusReason", "")
            self._discard(request.stack_name, change_set_name, fresh_stack)
            if _is_no_changes(reason) and not fresh_stack:
                return self._unchanged(request)
            return self._failure(request, "change set FAILED", reason)
        if confirm is not None and not confirm(self._summary(request.stack_name, change_set_name)):
            self._discard(request.stack_name, change_set_name, fresh_stack)
            return self._result(request, "aborted", "not confirmed: nothing was applied")
        return self._execute(request, change_set_name, kind)

    def _summary(self, stack_name: str, change_set_name: str) -> str:
        return format_change_set(stack_name, self._all_changes(stack_name, change_set_name))

    def _discard(self, stack_name: str, change_set_name: str, creating: bool) -> None:
        """Delete an unused change set, and the empty stack a CREATE change set leaves behind."""
        self._delete_change_set(stack_name, change_set_name)
        if creating:
            self._delete_review_stack(stack_name)

    def _execute(self, request: StackRequest, change_set_name: str, kind: str) -> StackResult:
        stream = EventStream(request.stack_name, newest_event_id(self.cloudformation, request.stack_name))
        started = self.clock()
        try:
            self.cloudformation.execute_change_set(
                StackName=request.stack_name,
                ChangeSetName=change_set_name,
                ClientRequestToken=change_set_name,
            )
        except ClientError as error:
            self._stream(stream)
            return self._failure(request, "ExecuteChangeSet failed", _message(error), stream)
        stack = self._wait_for_stack(request.stack_name, stream)
        status = stack["StackStatus"] if stack else "DELETED"
        self.say(self.closing_line(request.stack_name, status, started, stream))
        if status != f"{kind}_COMPLETE":
            reason = stack.get("StackStatusReason", "") if stack else ""
            return self._failure(request, status, reason, stream)
        self.enable_termination_protection(request.stack_name)
        return self._result(
            request,
            _OUTCOME[kind],
            f"{status}; termination protection on",
            outputs=_outputs(stack) if stack else {},
            activity=stream.activity(),
        )

    def closing_line(self, stack_name: str, status: str, started: float, stream: EventStream) -> str:
        seconds = self.clock() - started
        return f"  {stack_name}: {status} in {seconds:.1f} s ({stream.activity().describe()})"

    def _stream(self, stream: EventStream, stack_id: str | None = None) -> None:
        """Say every event of the operation that appeared since the last poll (a deleted stack's events
        are found by its id only)."""
        try:
            fresh = read_new_events(self.cloudformation, stack_id or stream.stack_name, stream)
        except ClientError as error:
            if "does not exist" in _message(error):
                return
            raise
        for event in fresh:
            self.say(format_event(event))

    def enable_termination_protection(self, stack_name: str) -> None:
        """DS-9: a deployed stack cannot be deleted by accident (destroy turns it off on purpose)."""
        self.cloudformation.update_termination_protection(
            StackName=stack_name, EnableTerminationProtection=True
        )

    def outputs(self, stack_name: str) -> dict[str, str]:
        stack = self.describe_stack(stack_name)
        return _outputs(stack) if stack else {}

    # -- change sets ---------------------------------------------------------------------------------

    def _change_set_args(
        self, request: StackRequest, parameters: list[dict[str, Any]], kind: str, name: str
    ) -> dict[str, Any]:
        args: dict[str, Any] = {
            "StackName": request.stack_name,
            "ChangeSetName": name,
            "ChangeSetType": kind,
            "Capabilities": list(CAPABILITIES),
            "Parameters": parameters,
            "Tags": [{"Key": key, "Value": value} for key, value in sorted(request.tags.items())],
            "Description": "iam-guard deploy",
        }
        if request.template_url:
            args["TemplateURL"] = request.template_url
        else:
            args["TemplateBody"] = request.body
        return args

    def _parameter_list(
        self, request: StackRequest, existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        """Explicit values, plus UsePreviousValue for secrets not given again on an update. A secret
        without a value on a new stack is a usage error that says how to supply it (never its value)."""
        previous = {p["ParameterKey"] for p in (existing or {}).get("Parameters", [])}
        listed: list[dict[str, Any]] = [
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in sorted(request.parameters.items())
        ]
        for key, how in sorted(request.keep_previous.items()):
            if key in request.parameters:
                continue
            if key not in previous:
                raise UsageError(f"{key}: no value for stack {request.stack_name} ({how})")
            listed.append({"ParameterKey": key, "UsePreviousValue": True})
        return listed

    def _wait_for_change_set(self, stack_name: str, name: str) -> dict[str, Any]:
        deadline = self.clock() + MAX_WAIT_SECONDS
        while True:
            change_set = self.cloudformation.describe_change_set(StackName=stack_name, ChangeSetName=name)
            if change_set["Status"] not in _CHANGE_SET_PENDING or self.clock() > deadline:
                return dict(change_set)
            self.sleep(self.poll_seconds)

    def _all_changes(self, stack_name: str, name: str) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        args: dict[str, Any] = {"StackName": stack_name, "ChangeSetName": name}
        while True:
            page = self.cloudformation.describe_change_set(**args)
            changes.extend(page.get("Changes", []))
            if not page.get("NextToken"):
                return changes
            args["NextToken"] = page["NextToken"]

    def _delete_change_set(self, stack_name: str, name: str) -> None:
        self.cloudformation.delete_change_set(StackName=stack_name, ChangeSetName=name)

    def _delete_review_stack(self, stack_name: str) -> None:
        """A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS; remove it so nothing remains."""
        stack = self.describe_stack(stack_name)
        if stack and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            self.cloudformation.delete_stack(StackName=stack_name)

    # -- stacks ---------------------------------------------------------------------------------------

    def describe_stack(self, stack_name: str) -> dict[str, Any] | None:
        try:
            stacks = self.cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            if "does not exist" in _message(error):
                return None
            raise
        if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
            return None
        return dict(stacks[0])

    def _wait_for_stack(self, stack_name: str, stream: EventStream) -> dict[str, Any] | None:
        """Poll until the stack settles, saying its new events on every poll."""
        deadline = self.clock() + MAX_WAIT_SECONDS
        while True:
            stack = self.describe_stack(stack_name)
            self._stream(stream)
            if stack is None or not stack["StackStatus"].endswith(_STACK_BUSY_SUFFIX):
                return stack
            if self.clock() > deadline:
                return stack
            self.sleep(self.poll_seconds)

    def wait_for_delete(self, stack_id: str, stream: EventStream) -> str:
        """Wait until the stack (by id, so a deleted stack is still found) is deleted, saying its events
        as they happen; its last status."""
        deadline = self.clock() + MAX_WAIT_SECONDS
        while True:
            try:
                stack = self.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
            except ClientError as error:
                if "does not exist" in _message(error):
                    return "DELETE_COMPLETE"
                raise
            self._stream(stream, stack_id)
            status = str(stack["StackStatus"])
            if not status.endswith(_STACK_BUSY_SUFFIX) or self.clock() > deadline:
                return status
            self.sleep(self.poll_seconds)

    # -- results --------------------------------------------------------------------------------------

    def _failure(
        self, request: StackRequest, status: str, reason: str, stream: EventStream | None = None
    ) -> StackResult:
        events = list(reversed(stream.events)) if stream is not None else []
        activity = stream.activity() if stream is not None else Activity()
        block = format_failure(request.stack_name, status, reason, events)
        return self._result(request, "failed", block, activity=activity)

    def _unchanged(self, request: StackRequest) -> StackResult:
        self.enable_termination_protection(request.stack_name)
        return self._result(
            request,
            "unchanged",
            "no changes: the deployed stack already matches",
            outputs=self.outputs(request.stack_name),
        )

    @staticmethod
    def _result(
        request: StackRequest,
        outcome: str,
        message: str,
        outputs: dict[str, str] | None = None,
        activity: Activity | None = None,
    ) -> StackResult:
        return StackResult(
            request.stack_name, request.region, outcome, message, outputs or {}, activity or Activity()
        )


def _blocking_status(stack: Mapping[str, Any] | None) -> str | None:
    """Why the stack cannot take a change set now, or None when it can."""
    status = str(stack["StackStatus"]) if stack else ""
    if status.endswith(_STACK_BUSY_SUFFIX) and status != "REVIEW_IN_PROGRESS":
        return f"stack is busy ({status}); try again when it settles"
    if status in ("ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"):
        return (
            f"stack is in {status} after a failed create and cannot be updated: run `iam-guard destroy` "
            "for it, then deploy again (deploy adopts the resources the failed attempt retained)"
        )
    return None


def _change_set_name(body: str) -> str:
    """Unique per attempt, traceable to the template: iam-guard-<UTC time>-<sha256[:8] of the body>."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    return f"iam-guard-{stamp}-{hashlib.sha256(body.encode()).hexdigest()[:8]}"


def _outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: str(o["OutputValue"]) for o in stack.get("Outputs") or []}


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", error))


def _is_no_changes(reason: str) -> bool:
    return any(marker in reason for marker in _NO_CHANGES)
