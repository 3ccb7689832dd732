"""Stack events as they happen, the way `aws cloudformation deploy` and the CDK show them: every new
resource event of the running operation (time, status, type, logical id, reason), each once, oldest first,
and the counts for the closing summary.

An operation's events are the ones newer than the newest event that existed before it started
(DescribeStackEvents lists newest first), so neither clocks nor request tokens have to agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Resource status -> the summary column it counts in.
_COUNTED = {
    "CREATE_COMPLETE": "created",
    "UPDATE_COMPLETE": "updated",
    "IMPORT_COMPLETE": "imported",
    "DELETE_COMPLETE": "deleted",
}


@dataclass
class Activity:
    """How many resources an operation created, updated, imported, deleted, and how many failed."""

    created: int = 0
    updated: int = 0
    imported: int = 0
    deleted: int = 0
    failed: int = 0

    def add(self, other: Activity) -> None:
        for name in ("created", "updated", "imported", "deleted", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def describe(self) -> str:
        parts = [f"{self.created} created", f"{self.updated} updated"]
        if self.imported:
            parts.append(f"{self.imported} imported")
        parts += [f"{self.deleted} deleted", f"{self.failed} failed"]
        return ", ".join(parts)


@dataclass
class EventStream:
    """The events of one stack operation, collected across polls. `boundary` is the id of the newest event
    before the operation began (None for a stack without events)."""

    stack_name: str
    boundary: str | None
    events: list[Mapping[str, Any]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def take(self, newest_first: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The events not taken before, oldest first; reading stops at the boundary or a taken event."""
        fresh: list[Mapping[str, Any]] = []
        for event in newest_first:
            event_id = str(event.get("EventId", ""))
            if event_id == self.boundary or event_id in self._seen:
                break
            fresh.append(event)
        fresh.reverse()
        self._seen.update(str(event.get("EventId", "")) for event in fresh)
        self.events.extend(fresh)
        return fresh

    def is_own(self, event: Mapping[str, Any]) -> bool:
        """True for the stack's own events (not a resource's)."""
        return event.get("ResourceType") == "AWS::CloudFormation::Stack" and (
            event.get("LogicalResourceId") == self.stack_name
        )

    def activity(self) -> Activity:
        counts = Activity()
        for event in self.events:
            if self.is_own(event):
                continue
            status = str(event.get("ResourceStatus", ""))
            if status.endswith("_FAILED"):
                counts.failed += 1
            elif status in _COUNTED:
                name = _COUNTED[status]
                setattr(counts, name, getattr(counts, name) + 1)
        return counts


def newest_event_id(cloudformation: Any, stack_name: str) -> str | None:
    """The id of the stack's newest event: the boundary of the operation about to start."""
    page = cloudformation.describe_stack_events(StackName=stack_name)
    events = page.get("StackEvents", [])
    return str(events[0]["EventId"]) if events else None


def read_new_events(cloudformation: Any, stack: str, stream: EventStream) -> list[Mapping[str, Any]]:
    """Read DescribeStackEvents page by page until the stream's boundary or a taken event; the new ones."""
    newest_first: list[Mapping[str, Any]] = []
    known = {stream.boundary, *(str(event.get("EventId", "")) for event in stream.events[-50:])}
    args: dict[str, Any] = {"StackName": stack}
    while True:
        page = cloudformation.describe_stack_events(**args)
        batch = page.get("StackEvents", [])
        newest_first.extend(batch)
        if not page.get("NextToken") or any(str(event.get("EventId")) in known for event in batch):
            break
        args["NextToken"] = page["NextToken"]
    return stream.take(newest_first)


def format_event(event: Mapping[str, Any]) -> str:
    """One line: time, status, resource type, logical id, reason (when CloudFormation gives one)."""
    stamp = event.get("Timestamp")
    when = stamp.strftime("%H:%M:%S") if isinstance(stamp, datetime) else "--:--:--"
    reason = str(event.get("ResourceStatusReason") or "")
    line = (
        f"  {when}  {event.get('ResourceStatus', '?')!s:<22} {event.get('ResourceType', '?')!s:<32} "
        f"{event.get('LogicalResourceId', '?')!s:<30} {reason}"
    )
    return line.rstrip()
