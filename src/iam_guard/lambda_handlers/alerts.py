"""Where findings go: structured JSON records in the security log group, and readable SNS alerts.

SecurityLog buffers records and writes them with PutLogEvents into one log stream per invocation (a
stream name from the function and request id, so retries and parallel invocations never collide).
publish_alert() sends one SNS message with a subject that SNS accepts (ASCII, one line, < 100 chars).

H-7: every piece of text in an alert that came from outside (role names, Sids, resources, actor ARNs,
source IPs, analyzer messages that quote a policy) goes through clean_text() before it is put on a line:
control characters, ANSI/terminal escapes, bidirectional overrides and every kind of line break are shown
as visible escapes (so no value can start a line of its own, e.g. a role named "x\n1. INFO: all clear"),
lone surrogates become U+FFFD, and long values are cut with a visible marker. publish_alert() also makes
the whole message encodable, so no text can crash a publish.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from iam_guard.analysis import Finding
from lambda_support import Deadline, call_within

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

# H-7: the default length of one cleaned field, and the marker that says a value was cut.
FIELD_LIMIT = 300
TRUNCATION_MARKER = "...[+{hidden} chars cut]"
# ANSI/VT escape sequences: CSI (ESC [ ... final, or the 8-bit CSI U+009B), OSC/DCS/PM/APC strings ended by
# BEL or ST, and the two-character escapes (ESC + one byte).
_ANSI_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]P^_]|[\x90\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-Z\\-_]"
)
_SURROGATES = re.compile("[\ud800-\udfff]")
_LINE_BREAK_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
T = TypeVar("T")


def _visible(char: str) -> str:
    """A character as it may appear inside one alert line: itself, or a visible escape."""
    if char in _LINE_BREAK_ESCAPES:
        return _LINE_BREAK_ESCAPES[char]
    category = unicodedata.category(char)
    # Cc: C0/C1 controls and DEL; Zl/Zp: U+2028/U+2029; Cf: format characters (bidi overrides, zero-width
    # joiners) that could make a line read differently from what it holds; Cs/Co/Cn: not text.
    if category in ("Cc", "Zl", "Zp", "Cf", "Cs", "Co", "Cn"):
        code = ord(char)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    return char


def clean_text(value: Any, limit: int = FIELD_LIMIT) -> str:
    """H-7: untrusted text made safe for one line of an alert (body or subject) or the daily summary.

    Never raises, whatever `value` holds (any object is str()-ed first). ANSI escape sequences are removed;
    every other control, format or line-break character is replaced by a visible escape (a newline by the
    two characters backslash-n), so the result is always one line; lone surrogates become U+FFFD; a result
    longer than `limit` characters is cut and ends with a marker saying how much was cut.
    """
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception as error:  # a __str__ that raises must not break an alert
        text = f"<unprintable {type(value).__name__}: {type(error).__name__}>"
    text = _SURROGATES.sub("\ufffd", text)
    text = _ANSI_ESCAPE.sub("", text)
    text = "".join(_visible(char) for char in text)
    if len(text) <= limit:
        return text
    # The marker names how many characters were cut; it has at most as many digits as len(text).
    keep = max(limit - len(TRUNCATION_MARKER.format(hidden=len(text))), 0)
    return text[:keep] + TRUNCATION_MARKER.format(hidden=len(text) - keep)


def encodable(text: str) -> str:
    """`text` with lone surrogates replaced, so it always encodes as UTF-8 (line breaks are kept)."""
    return _SURROGATES.sub("\ufffd", text)


def _call(deadline: Deadline | None, operation: Callable[..., T], **arguments: Any) -> T:
    """operation(**arguments): through call_within when a deadline is given."""
    if deadline is None:
        return operation(**arguments)
    return call_within(deadline, operation, **arguments)


def log_stream_name(function: str, request_id: str) -> str:
    """A log stream name for one invocation: function/YYYY/MM/DD/request-id (no ':' or '*')."""
    day = time.strftime("%Y/%m/%d", time.gmtime())
    return _UNSAFE_STREAM_CHARS.sub("-", f"{function}/{day}/{request_id}")[:512]


class SecurityLog:
    """Buffered writer of JSON records into the security log group (MON-3: created by the stack)."""

    def __init__(self, logs_client: Any, group: str, stream: str, deadline: Deadline | None = None) -> None:
        self._logs = logs_client
        self._deadline = deadline
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
            _call(
                self._deadline,
                self._logs.put_log_events,
                logGroupName=self._group,
                logStreamName=self._stream,
                logEvents=batch,
            )
        return len(events)

    def _ensure_stream(self) -> None:
        if self._stream_created:
            return
        try:
            _call(
                self._deadline,
                self._logs.create_log_stream,
                logGroupName=self._group,
                logStreamName=self._stream,
            )
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
    flat = _UNSAFE_SUBJECT_CHARS.sub("?", " ".join(encodable(text).split()))
    if len(flat) <= MAX_SUBJECT_CHARS:
        return flat
    return flat[: MAX_SUBJECT_CHARS - 3].rstrip() + "..."


def publish_alert(
    sns_client: Any,
    topic_arn: str,
    subject: str,
    message: str,
    severity_label: str,
    deadline: Deadline | None = None,
) -> str:
    """Publish one alert; returns the SNS MessageId. Any text can be published (H-7: lone surrogates are
    replaced, an oversized message is cut with a marker)."""
    message = encodable(message)
    body = message.encode("utf-8")
    if len(body) > _MAX_MESSAGE_BYTES:
        message = body[:_MAX_MESSAGE_BYTES].decode("utf-8", "ignore") + "\n[message truncated]"
    response = _call(
        deadline,
        sns_client.publish,
        TopicArn=topic_arn,
        Subject=safe_subject(subject),
        Message=message,
        MessageAttributes={"severity": {"DataType": "String", "StringValue": severity_label}},
    )
    return str(response["MessageId"])


def describe_finding(number: int, finding: Finding) -> list[str]:
    """The lines of one finding in an alert: severity, code, statement, message, offending items, fix.
    Every value from the policy (Sid, message, actions, resources) is cleaned (H-7)."""
    where = "the policy as a whole"
    if finding.statement_index is not None:
        where = f"statement {clean_text(finding.statement_index, 20)}"
        if finding.sid:
            where += f' (Sid "{clean_text(finding.sid, 128)}")'
    lines = [
        f"{number}. {finding.severity.label.upper()} {clean_text(finding.code, 20)} in {where}",
        f"   {clean_text(finding.message, 600)}",
    ]
    if finding.actions:
        lines.append(f"   Actions: {_shorten(finding.actions)}")
    if finding.resources:
        lines.append(f"   Resources: {_shorten(finding.resources)}")
    lines.append(f"   How to fix: {clean_text(finding.remediation, 600)}")
    return lines


def _shorten(items: Sequence[str], limit: int = 8, item_limit: int = 200) -> str:
    shown = ", ".join(clean_text(item, item_limit) for item in items[:limit])
    return shown if len(items) <= limit else f"{shown} (+{len(items) - limit} more)"
