"""Where findings go: structured JSON records in the security log group, and readable SNS alerts.

SecurityLog buffers records and writes them with PutLogEvents into one log stream per invocation (a
stream name from the function and request id, so retries and parallel invocations never collide).
publish_alert() sends one SNS message with a subject that SNS accepts (ASCII, one line, < 100 chars).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.analysis import Finding

# PutLogEvents limits: 10,000 events and 1,048,576 bytes per call, counting 26 bytes per event.
_MAX_EVENTS_PER_CALL = 10_000
_MAX_BYTES_PER_CALL = 1_048_576
_EVENT_OVERHEAD_BYTES = 26
_MAX_EVENT_BYTES = 256 * 1024 - _EVENT_OVERHEAD_BYTES
# SNS: subject < 100 ASCII characters on one line; message up to 256 KiB (keep a margin).
MAX_SUBJECT_CHARS = 99
_MAX_MESSAGE_BYTES = 200_000
_UNSAFE_SUBJECT_CHARS = re.compile(r"[^\x20-\x7e]")
_UNSAFE_STREAM_CHARS = re.compile(r"[:*]")


def log_stream_name(function: str, request_id: str) -> str:
    """A log stream name for one invocation: function/YYYY/MM/DD/request-id (no ':' or '*')."""
    day = time.strftime("%Y/%m/%d", time.gmtime())
    return _UNSAFE_STREAM_CHARS.sub("-", f"{function}/{day}/{request_id}")[:512]


class SecurityLog:
    """Buffered writer of JSON records into the security log group (MON-3: created by the stack)."""

    def __init__(self, logs_client: Any, group: str, stream: str) -> None:
        self._logs = logs_client
        self._group = group
        self._stream = stream
        self._events: list[dict[str, Any]] = []
        self._stream_created = False

    def add(self, record: dict[str, Any]) -> None:
        """Queue one record (written on flush)."""
        message = json.dumps(record, sort_keys=True, default=str)
        if len(message.encode("utf-8")) > _MAX_EVENT_BYTES:
            message = json.dumps({**_record_head(record), "truncated": True}, sort_keys=True, default=str)
        self._events.append({"timestamp": int(time.time() * 1000), "message": message})

    def flush(self) -> int:
        """Write every queued record; returns how many were written."""
        if not self._events:
            return 0
        self._ensure_stream()
        events, self._events = self._events, []
        for batch in _batches(events):
            self._logs.put_log_events(logGroupName=self._group, logStreamName=self._stream, logEvents=batch)
        return len(events)

    def _ensure_stream(self) -> None:
        if self._stream_created:
            return
        try:
            self._logs.create_log_stream(logGroupName=self._group, logStreamName=self._stream)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
        self._stream_created = True


def _record_head(record: dict[str, Any]) -> dict[str, Any]:
    """The small, identifying part of a record too large for one log event."""
    keep = ("kind", "eventName", "eventId", "who", "target", "runId", "entity")
    return {key: record[key] for key in keep if key in record}


def _batches(events: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """PutLogEvents-sized batches in timestamp order."""
    batch: list[dict[str, Any]] = []
    size = 0
    for event in sorted(events, key=lambda item: item["timestamp"]):
        event_size = len(event["message"].encode("utf-8")) + _EVENT_OVERHEAD_BYTES
        if batch and (len(batch) >= _MAX_EVENTS_PER_CALL or size + event_size > _MAX_BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch


def safe_subject(text: str) -> str:
    """An SNS subject: printable ASCII on one line, at most 99 characters."""
    flat = _UNSAFE_SUBJECT_CHARS.sub("?", " ".join(text.split()))
    if len(flat) <= MAX_SUBJECT_CHARS:
        return flat
    return flat[: MAX_SUBJECT_CHARS - 3].rstrip() + "..."


def publish_alert(sns_client: Any, topic_arn: str, subject: str, message: str, severity_label: str) -> str:
    """Publish one alert; returns the SNS MessageId."""
    body = message.encode("utf-8")
    if len(body) > _MAX_MESSAGE_BYTES:
        message = body[:_MAX_MESSAGE_BYTES].decode("utf-8", "ignore") + "\n[message truncated]"
    response = sns_client.publish(
        TopicArn=topic_arn,
        Subject=safe_subject(subject),
        Message=message,
        MessageAttributes={"severity": {"DataType": "String", "StringValue": severity_label}},
    )
    return str(response["MessageId"])


def describe_finding(number: int, finding: Finding) -> list[str]:
    """The lines of one finding in an alert: severity, code, statement, message, offending items, fix."""
    where = "the policy as a whole"
    if finding.statement_index is not None:
        where = f"statement {finding.statement_index}"
        if finding.sid:
            where += f' (Sid "{finding.sid}")'
    lines = [f"{number}. {finding.severity.label.upper()} {finding.code} in {where}", f"   {finding.message}"]
    if finding.actions:
        lines.append(f"   Actions: {_shorten(finding.actions)}")
    if finding.resources:
        lines.append(f"   Resources: {_shorten(finding.resources)}")
    lines.append(f"   How to fix: {finding.remediation}")
    return lines


def _shorten(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} (+{len(items) - limit} more)"
