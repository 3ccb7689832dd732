"""H-5: the daily audit's records, written to the security log group exactly once per step.

A step's records (one JSON line per finding, and the summary record in the last step) are packed into
parts of at most MAX_PART_BYTES. The parts are committed to the state table with the step (run_store), then
each part is written to its own log stream, named from the run, the step and the part
(`audit/<run>/step-<k>-part-<j>`), with ONE PutLogEvents call. A stream that already holds events was
written by an earlier attempt and is skipped, so a replay after a crash writes exactly the missing parts.

Every string of a record is bounded (compact_finding), and the summary record is fitted under the log
event limit by dropping worst-finding examples, never its counts.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.analysis import Finding
from lambda_support import Deadline, call_within

# A part is a DynamoDB item (< 400 KB) and one PutLogEvents call (< 1 MiB, 10,000 events).
MAX_PART_BYTES = 300_000
# A log event is at most 256 KiB including 26 bytes of overhead; keep a margin.
MAX_RECORD_BYTES = 200_000
MAX_TEXT = 300
MAX_LIST_ITEMS = 10
_UNSAFE_STREAM_CHARS = re.compile(r"[^A-Za-z0-9._/#-]")


def bounded(text: Any, limit: int = MAX_TEXT) -> str | None:
    """`text` as a string of at most `limit` characters (None stays None)."""
    if text is None:
        return None
    value = str(text)
    return value if len(value) <= limit else value[: limit - 3] + "..."


def compact_finding(finding: Finding, context: dict[str, Any]) -> dict[str, Any]:
    """A finding with where it was found, every string bounded (records, run state, the alert)."""
    return {
        **{key: bounded(value) for key, value in context.items()},
        "code": finding.code,
        "severity": finding.severity.label,
        "message": bounded(finding.message),
        "statement": finding.statement_index,
        "sid": bounded(finding.sid, 128),
        "actions": [bounded(action, 200) for action in finding.actions[:MAX_LIST_ITEMS]],
        "resources": [bounded(resource) for resource in finding.resources[:MAX_LIST_ITEMS]],
        "remediation": bounded(finding.remediation),
    }


def record_line(record: dict[str, Any]) -> str:
    """One record as one JSON line."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def fit_summary(summary: dict[str, Any], max_bytes: int = MAX_RECORD_BYTES) -> str:
    """The summary record as a line of at most max_bytes: worst-finding examples are dropped from the least
    severe end until it fits (worstOmitted says how many); the counts are always kept."""
    worst = list(summary.get("worst", []))
    omitted = 0
    while True:
        line = record_line({**summary, "worst": worst, "worstOmitted": omitted})
        if len(line.encode("utf-8")) <= max_bytes or not worst:
            return line
        worst.pop()
        omitted += 1


def pack_parts(lines: list[str], max_bytes: int = MAX_PART_BYTES) -> list[str]:
    """Records (JSON lines) packed into newline-joined parts of at most max_bytes each."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode("utf-8")) + 1
        if current and size + length > max_bytes:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        parts.append("\n".join(current))
    return parts


def part_stream_name(run_id: str, step: int, part: int) -> str:
    """The log stream of one part: deterministic, so a replay finds what an earlier attempt wrote."""
    safe_run = _UNSAFE_STREAM_CHARS.sub("-", run_id)[:200]
    return f"audit/{safe_run}/step-{step:06d}-part-{part:03d}"


def write_part(logs: Any, deadline: Deadline, group: str, stream: str, part: str) -> bool:
    """Write one part into its own stream with one PutLogEvents call; False (nothing written) when the
    stream already holds events."""
    try:
        call_within(deadline, logs.create_log_stream, logGroupName=group, logStreamName=stream)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
            raise
        if call_within(deadline, _has_events, logs=logs, group=group, stream=stream):
            return False
    stamp = int(time.time() * 1000)
    events = [{"timestamp": stamp, "message": line} for line in part.split("\n") if line]
    attempts = 0

    def put_unless_written() -> bool:
        # A retry (after a failure whose write may have landed) first looks whether the stream has events.
        nonlocal attempts
        attempts += 1
        if attempts > 1 and _has_events(logs, group, stream):
            return False
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        return True

    return bool(call_within(deadline, put_unless_written))


def _has_events(logs: Any, group: str, stream: str) -> bool:
    answer = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=1, startFromHead=True)
    return bool(answer.get("events"))
