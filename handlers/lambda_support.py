"""Shared plumbing of the iam-guard Lambda handlers: settings from the environment, JSON log lines on
stdout, and boto3 clients created once per process with botocore retries.

Imports only the standard library and boto3/botocore (the zip holds nothing else but iam_guard.analysis).
Clients are created on first use and cached for the life of the process (a warm Lambda container reuses
them); the cache key includes AWS_ENDPOINT_URL so tests that point the handlers at a local emulator after
import still get a client for that emulator.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.config import Config as BotocoreConfig

from iam_guard.analysis import Severity

REMEDIATION_MODES = ("off", "notify", "quarantine")

# IAM throttles hard (a few requests per second per account for the Get*/List* calls the audit pages
# through in parallel): adaptive mode adds client-side rate limiting on top of the standard retries.
_RETRIES_BY_SERVICE: Mapping[str, dict[str, Any]] = {
    "iam": {"mode": "adaptive", "max_attempts": 8},
}
_DEFAULT_RETRIES: dict[str, Any] = {"mode": "standard", "max_attempts": 6}
_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}


class LambdaContext(Protocol):
    """What the handlers read from the Lambda context object."""

    aws_request_id: str
    function_name: str

    def get_remaining_time_in_millis(self) -> int: ...


class SettingsError(RuntimeError):
    """The function's environment is wrong: a deployment bug, so the invocation fails loudly."""


@dataclass(frozen=True)
class Settings:
    """The configuration the monitoring stack passes through environment variables (EDGE-2)."""

    alert_topic_arn: str
    security_log_group: str
    alert_severity: Severity
    metrics_namespace: str
    environment: str
    remediation_mode: str
    quarantine_policy_arn: str
    exempt_principal_arns: tuple[str, ...]
    audit_continuation_queue_url: str


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is not set")
    return value


def _severity(environ: Mapping[str, str]) -> Severity:
    text = environ.get("ALERT_SEVERITY", "high")
    try:
        return Severity.parse(text)
    except ValueError:
        raise SettingsError(f"ALERT_SEVERITY: {text!r} is not one of info|low|medium|high|critical") from None


def _remediation_mode(environ: Mapping[str, str]) -> str:
    mode = environ.get("REMEDIATION_MODE", "notify").strip().lower()
    if mode not in REMEDIATION_MODES:
        raise SettingsError(f"REMEDIATION_MODE: {mode!r} is not one of off|notify|quarantine")
    return mode


def load_settings(handler: str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check the environment of `handler` ("policy_change" or "daily_audit").

    Raises SettingsError naming the variable when one is missing or invalid.
    """
    env = os.environ if environ is None else environ
    mode = _remediation_mode(env) if handler == "policy_change" else "off"
    quarantine_arn = env.get("QUARANTINE_POLICY_ARN", "").strip()
    if mode == "quarantine" and not quarantine_arn:
        raise SettingsError(
            "environment variable QUARANTINE_POLICY_ARN is not set (REMEDIATION_MODE=quarantine)"
        )
    exempt = tuple(arn.strip() for arn in env.get("EXEMPT_PRINCIPAL_ARNS", "").split(",") if arn.strip())
    queue_url = _required(env, "AUDIT_CONTINUATION_QUEUE_URL") if handler == "daily_audit" else ""
    return Settings(
        alert_topic_arn=_required(env, "ALERT_TOPIC_ARN"),
        security_log_group=_required(env, "SECURITY_LOG_GROUP"),
        alert_severity=_severity(env),
        metrics_namespace=env.get("METRICS_NAMESPACE", "IamGuard").strip() or "IamGuard",
        environment=env.get("ENVIRONMENT", "unknown").strip() or "unknown",
        remediation_mode=mode,
        quarantine_policy_arn=quarantine_arn,
        exempt_principal_arns=exempt,
        audit_continuation_queue_url=queue_url,
    )


def aws_client(service: str) -> Any:
    """The process-wide boto3 client for `service`, created on first use with retries configured."""
    key = (service, os.environ.get("AWS_ENDPOINT_URL", ""))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            retries = _RETRIES_BY_SERVICE.get(service, _DEFAULT_RETRIES)
            config = BotocoreConfig(retries=retries, connect_timeout=5, read_timeout=20)
            client = boto3.client(service, config=config)
            _clients[key] = client
        return client


def utc_now_iso() -> str:
    """The current time as an ISO 8601 UTC timestamp with second precision, e.g. 2026-11-23T19:05:13Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON log line on stdout (the function's own log group), if `level` passes LOG_LEVEL."""
    threshold = _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)
    if _LEVELS.get(level, 20) < threshold:
        return
    record = {"level": level, "message": message, "timestamp": utc_now_iso(), **fields}
    sys.stdout.write(json.dumps(record, default=str, sort_keys=True) + "\n")
    sys.stdout.flush()
