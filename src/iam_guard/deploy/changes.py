"""Formatting what CloudFormation reports: change-set summaries and the failing resource events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FAILED_SUFFIXES = ("_FAILED",)
_EVENT_COLUMNS = ("LogicalResourceId", "ResourceType", "ResourceStatus", "ResourceStatusReason")


def change_rows(changes: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(action, logical id, resource type, replacement) for every resource change of DescribeChangeSet.
    Replacement is "True", "Conditional", "False" or "" (Add and Remove have none)."""
    rows = []
    for change in changes:
        resource = change.get("ResourceChange", {})
        rows.append(
            (
                str(resource.get("Action", "?")),
                str(resource.get("LogicalResourceId", "?")),
                str(resource.get("ResourceType", "?")),
                str(resource.get("Replacement", "")),
            )
        )
    return rows


def format_change_set(stack_name: str, changes: Iterable[Mapping[str, Any]]) -> str:
    """A readable table of a change set: Add/Modify/Remove, and replacements flagged loudly."""
    rows = change_rows(changes)
    lines = [f"Change set for stack {stack_name}: {len(rows)} resource change(s)"]
    table: list[tuple[str, ...]] = [("Action", "LogicalId", "Type", "Replacement")]
    for action, logical_id, resource_type, replacement in rows:
        flag = {"True": "True (REPLACED: new physical resource)", "Conditional": "Conditional"}.get(
            replacement, replacement
        )
        table.append((action, logical_id, resource_type, flag))
    lines.extend(_table(table))
    return "\n".join(lines)


def failed_events(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events whose status ends in _FAILED, oldest first (DescribeStackEvents lists newest first)."""
    chosen = [e for e in events if str(e.get("ResourceStatus", "")).endswith(FAILED_SUFFIXES)]
    return list(reversed(chosen))


def format_failure(stack_name: str, status: str, reason: str, events: Iterable[Mapping[str, Any]]) -> str:
    """One readable block: which stack failed, in which state, why, and every failing resource event
    (logical id, type, status, reason)."""
    failures = failed_events(events)
    lines = [f"Deploy of stack {stack_name} FAILED: {status}"]
    if reason:
        lines.append(f"  reason: {reason}")
    if failures:
        table: list[tuple[str, ...]] = [("LogicalId", "Type", "Status", "Reason")]
        table.extend(tuple(str(event.get(column, "")) for column in _EVENT_COLUMNS) for event in failures)
        lines.append("  failing resource events:")
        lines.extend(_table(table))
    else:
        lines.append("  no resource event reports a failure; the reason above is all CloudFormation returned")
    return "\n".join(lines)


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "    " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
