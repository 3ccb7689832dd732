"""The handlers' log lines in the structured format of Powertools for AWS Lambda, written with the standard
library's logging (no dependency): one JSON object per line on stdout with level, location, message,
timestamp, service, cold start, function name, request ID, correlation ID and X-Ray trace ID, and the
caller's fields at the top level. The level comes from AWS_LAMBDA_LOG_LEVEL (Lambda sets it from the
function's LoggingConfig.ApplicationLogLevel), else LOG_LEVEL, so the stack's logging config governs it.

Standard library only: shipped in both handler zips.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol


class InvocationContext(Protocol):
    """What the log lines read from the Lambda context object."""

    aws_request_id: str
    function_name: str


# Lambda sets AWS_LAMBDA_LOG_LEVEL from LoggingConfig.ApplicationLogLevel; its names differ from stdlib's.
_LEVEL_ALIASES = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}
# What a line says for a level: Lambda's log-level filter documents TRACE, DEBUG, INFO, WARN, ERROR and FATAL
# for the "level" key and files any other value under INFO, which an ApplicationLogLevel of WARN discards.
_LAMBDA_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}
# The keys of every line; a caller's field of the same name cannot overwrite them.
_RESERVED_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
    }
)


@dataclass
class _InvocationLog:
    """What the log lines of the current invocation carry besides the caller's fields."""

    service: str = "iam-guard"
    cold_start: bool | None = None
    function_name: str | None = None
    function_request_id: str | None = None
    correlation_id: str | None = None


_current = _InvocationLog()
_cold_start = True  # the first invocation of this process (a fresh Lambda container)


def _xray_trace_id() -> str | None:
    """The Root= part of the X-Ray trace header Lambda sets for the invocation, or None."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "Root" and value:
            return value.strip()
    return None


def _iso_millis(created: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-23T19:05:13.042Z."""
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def lambda_level_name(levelname: str) -> str:
    """The stdlib level name as Lambda's log-level filter reads it (WARNING -> WARN, CRITICAL -> FATAL)."""
    return _LAMBDA_LEVEL_NAMES.get(levelname, levelname)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record with Powertools for AWS Lambda's keys, the caller's fields at the top
    level. ASCII-escaped, so a field holding a lone surrogate or any other unencodable text still prints."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            key: value for key, value in getattr(record, "fields", {}).items() if key not in _RESERVED_KEYS
        }
        line.update(
            level=lambda_level_name(record.levelname),
            location=f"{record.module}:{record.funcName}:{record.lineno}",
            message=record.getMessage(),
            timestamp=_iso_millis(record.created),
            service=_current.service,
            cold_start=_current.cold_start,
            function_name=_current.function_name,
            function_request_id=_current.function_request_id,
            correlation_id=_current.correlation_id,
            xray_trace_id=_xray_trace_id(),
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, sort_keys=True)


class _StdoutHandler(logging.Handler):
    """Writes to the sys.stdout of the moment (Lambda's log pipeline; a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a field whose str() raises: the line still says what happened
            level = lambda_level_name(record.levelname)
            text = json.dumps({"level": level, "message": str(record.msg), "log_error": True})
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


_logger = logging.getLogger("iam_guard.handlers")
_logger.propagate = False  # not through the runtime's root handler: the line is already JSON
_logger.setLevel(logging.DEBUG)  # log() applies the configured level itself, read at each call
if not _logger.handlers:
    _handler = _StdoutHandler()
    _handler.setFormatter(JsonLogFormatter())
    _logger.addHandler(_handler)


def _level_number(name: str, default: int) -> int:
    name = _LEVEL_ALIASES.get(name.strip().upper(), name.strip().upper())
    number = logging.getLevelName(name)
    return number if isinstance(number, int) else default


def log_threshold() -> int:
    """The configured level: AWS_LAMBDA_LOG_LEVEL (the function's ApplicationLogLevel), else LOG_LEVEL,
    else INFO."""
    configured = os.environ.get("AWS_LAMBDA_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO"
    return _level_number(configured, logging.INFO)


def log(level: str, message: str, /, **fields: Any) -> None:
    """One JSON log line on stdout (the function's own log group), if `level` passes the configured level."""
    number = _level_number(level, logging.INFO)
    if number < log_threshold():
        return
    _logger.log(number, message, extra={"fields": fields}, stacklevel=2)


@contextmanager
def invocation(
    context: InvocationContext, handler_name: str, correlation_id: str | None = None
) -> Iterator[None]:
    """Bind the invocation's request ID, cold start and correlation ID to the log lines written inside."""
    global _current, _cold_start
    previous = _current
    _current = _InvocationLog(
        service=f"iam-guard-{handler_name.replace('_', '-')}",
        cold_start=_cold_start,
        function_name=str(getattr(context, "function_name", "") or "") or None,
        function_request_id=str(getattr(context, "aws_request_id", "") or "") or None,
        correlation_id=correlation_id,
    )
    _cold_start = False
    try:
        yield
    finally:
        _current = previous


def set_correlation_id(correlation_id: str | None) -> None:
    """The ID that ties this invocation's lines to what it handles (a CloudTrail eventID, an audit run)."""
    _current.correlation_id = correlation_id
