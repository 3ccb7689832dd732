"""Shared plumbing of the iam-guard Lambda handlers: settings from the environment, JSON log lines on
stdout (structured_log.log), and boto3 clients created once per
process with botocore retries.

Imports only the standard library and boto3/botocore (the zip holds nothing else but iam_guard.analysis).
Clients are created on first use and cached for the life of the process (a warm Lambda container reuses
them); the cache key includes AWS_ENDPOINT_URL so tests that point the handlers at a local emulator after
import still get a client for that emulator.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from iam_guard.analysis import Severity
from iam_guard.contract import (
    ENV_AUDIT_CONTINUATION_QUEUE_URL,
    ENV_METRICS_NAMESPACE,
    ENV_STATE_TABLE_NAME,
    ENV_TRAIL_ARN,
    METRICS_NAMESPACE,
)
from structured_log import log

REMEDIATION_MODES = ("off", "notify", "quarantine")

# botocore's own retries are kept short: a throttled call must never sleep past the function's deadline.
# The handlers retry further themselves with call_within(), which checks the time the invocation has left.
_RETRIES: dict[str, Any] = {"mode": "standard", "total_max_attempts": 2}
_clients: dict[tuple[str, str, int | None], Any] = {}
_clients_lock = threading.Lock()


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
    state_table_name: str
    trail_arn: str = ""  # MON-13: the trail the daily audit checks ("" for the policy-change function)


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
    mode = _remediation_mode(env)
    quarantine_arn = env.get("QUARANTINE_POLICY_ARN", "").strip()
    if handler == "policy_change" and mode == "quarantine" and not quarantine_arn:
        raise SettingsError(
            "environment variable QUARANTINE_POLICY_ARN is not set (REMEDIATION_MODE=quarantine)"
        )
    exempt = tuple(arn.strip() for arn in env.get("EXEMPT_PRINCIPAL_ARNS", "").split(",") if arn.strip())
    queue_url = _required(env, ENV_AUDIT_CONTINUATION_QUEUE_URL) if handler == "daily_audit" else ""
    return Settings(
        alert_topic_arn=_required(env, "ALERT_TOPIC_ARN"),
        security_log_group=_required(env, "SECURITY_LOG_GROUP"),
        alert_severity=_severity(env),
        metrics_namespace=env.get(ENV_METRICS_NAMESPACE, METRICS_NAMESPACE).strip() or METRICS_NAMESPACE,
        environment=env.get("ENVIRONMENT", "unknown").strip() or "unknown",
        remediation_mode=mode,
        quarantine_policy_arn=quarantine_arn,
        exempt_principal_arns=exempt,
        audit_continuation_queue_url=queue_url,
        state_table_name=_required(env, ENV_STATE_TABLE_NAME),
        trail_arn=env.get(ENV_TRAIL_ARN, "").strip(),
    )


def aws_client(service: str, attempts: int | None = None) -> Any:
    """The process-wide boto3 client for `service`, created on first use with retries configured.
    `attempts` overrides botocore's total attempts: 1 for a call whose retry must first check whether the
    failed try landed (a write that is not idempotent, retried by call_within)."""
    key = (service, os.environ.get("AWS_ENDPOINT_URL", ""), attempts)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            retries = _RETRIES if attempts is None else {**_RETRIES, "total_max_attempts": attempts}
            config = BotocoreConfig(retries=retries, connect_timeout=3, read_timeout=10)
            client = boto3.client(service, config=config)
            _clients[key] = client
        return client


_own_account: dict[str, str] = {}


def own_account_id(context: LambdaContext, deadline: Deadline) -> str:
    """The account this function runs in: from the function ARN in the Lambda context
    (arn:aws:lambda:<region>:<account>:function:<name>), else STS GetCallerIdentity, asked once per
    container."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    if len(parts) >= 5 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    if "account" not in _own_account:
        identity = call_within(deadline, aws_client("sts").get_caller_identity)
        _own_account["account"] = str(identity["Account"])
    return _own_account["account"]


def utc_now_iso() -> str:
    """The current time as an ISO 8601 UTC timestamp with second precision, e.g. 2026-11-23T19:05:13Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- calls bounded by the time the invocation has left ------------------------------------------------------

# Error codes worth another try: throttling and the service's own transient failures.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
    }
)
_BACKOFF_BASE_SECONDS = 0.2
_BACKOFF_CAP_SECONDS = 5.0
# A call is not started with less than this left: it could not finish before the deadline.
MIN_CALL_MS = 1_500

T = TypeVar("T")


class OutOfTime(RuntimeError):
    """The invocation has too little time left to make (or retry) a call: hand over or give up cleanly."""


class Deadline:
    """The time an invocation may still spend, keeping `reserve_ms` back for its own wrap-up
    (a handover, the summary, the log flush)."""

    def __init__(self, context: LambdaContext, reserve_ms: int) -> None:
        self._context = context
        self.reserve_ms = reserve_ms

    def remaining_ms(self) -> int:
        """Milliseconds left before the reserve."""
        return int(self._context.get_remaining_time_in_millis()) - self.reserve_ms

    def require(self, needed_ms: int, what: str) -> None:
        """Raise OutOfTime when less than `needed_ms` is left for `what`."""
        left = self.remaining_ms()
        if left < needed_ms:
            raise OutOfTime(f"{what}: {max(left, 0)} ms left, {needed_ms} ms needed")


# H-6: the most one policy document may take to analyze. A document that needs longer (or that the
# invocation has no time left for) is itself a HIGH finding (IAMG019, "could not be analyzed within N s"),
# never a retry loop an attacker could use to push the event into the dead-letter queue unseen.
ANALYSIS_BUDGET_SECONDS = 5.0


def analysis_budget_seconds(deadline: Deadline, keep_ms: int) -> float:
    """The time budget for analyzing one document now: ANALYSIS_BUDGET_SECONDS, less when the invocation
    must keep `keep_ms` for what comes after the analysis (records, the alert); never negative."""
    available_ms = deadline.remaining_ms() - keep_ms
    return max(0.0, min(ANALYSIS_BUDGET_SECONDS, available_ms / 1000))


def is_retryable(error: Exception) -> bool:
    """True for throttling, a 5xx answer, or a connection that failed or timed out."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in RETRYABLE_ERROR_CODES or status >= 500
    return isinstance(error, ConnectionError | ReadTimeoutError)


def call_within(deadline: Deadline, operation: Callable[..., T], /, **arguments: Any) -> T:
    """operation(**arguments), retried with capped, jittered exponential backoff on throttling and transient
    failures for as long as the deadline allows; OutOfTime when the next try would not fit. Any other
    error is raised at once."""
    name = getattr(operation, "__name__", "call")
    attempt = 0
    while True:
        deadline.require(MIN_CALL_MS, name)
        try:
            return operation(**arguments)
        except (ClientError, ConnectionError, ReadTimeoutError) as error:
            if not is_retryable(error):
                raise
            attempt += 1
            delay = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2**attempt) * random.uniform(0.5, 1.0)
            if deadline.remaining_ms() < delay * 1000 + MIN_CALL_MS:
                raise OutOfTime(f"{name}: still failing after {attempt} tries ({error})") from error
            log("WARNING", "call retried", operation=name, attempt=attempt, error=str(error)[:200])
            time.sleep(delay)
