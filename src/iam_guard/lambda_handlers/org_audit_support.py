"""ORG-2: what the three functions of the organization audit share: their settings (environment), the
messages they pass (strictly parsed: a forged or corrupt message is logged and acknowledged), the
per-account run IDs, the results bucket's keys, and the session policy of the member audit role."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from iam_guard.analysis.account import audit_session_policy
from iam_guard.contract import (
    ENV_ALERT_TOPIC_ARN,
    ENV_AUDIT_EXTERNAL_ID,
    ENV_ENVIRONMENT,
    ENV_MEMBER_AUDIT_ROLE,
    ENV_METRICS_NAMESPACE,
    ENV_ORG_AUDIT_DEADLINE_MINUTES,
    ENV_ORG_AUDIT_QUEUE_URL,
    ENV_ORG_CONSOLIDATION_QUEUE_URL,
    ENV_ORGANIZATION_ID,
    ENV_RESULTS_BUCKET,
    ENV_STATE_TABLE_NAME,
    METRICS_NAMESPACE,
    RESULTS_RUNS_PREFIX,
)
from lambda_support import SettingsError, log

ORG_RUN_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
MAX_STEP = 1_000_000
SESSION_NAME = "iam-guard-org-audit"
SESSION_SECONDS = 900


@dataclass(frozen=True)
class OrgSettings:
    """The environment of the org audit functions (the org-security stack sets exactly these)."""

    state_table_name: str
    audit_queue_url: str
    consolidation_queue_url: str
    results_bucket: str
    member_audit_role_name: str
    external_id: str
    organization_id: str
    deadline_minutes: int
    alert_topic_arn: str
    environment: str
    metrics_namespace: str


def load_org_settings(environ: Mapping[str, str] | None = None) -> OrgSettings:
    """Read and check the environment; SettingsError naming the variable when one is missing or bad."""
    env = os.environ if environ is None else environ

    def required(name: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise SettingsError(f"environment variable {name} is not set")
        return value

    role_name = required(ENV_MEMBER_AUDIT_ROLE)
    if not ROLE_NAME.match(role_name):
        raise SettingsError(f"{ENV_MEMBER_AUDIT_ROLE}: {role_name[:80]!r} is not a role name")
    minutes_text = env.get(ENV_ORG_AUDIT_DEADLINE_MINUTES, "180").strip()
    if not minutes_text.isdigit() or not 15 <= int(minutes_text) <= 1440:
        raise SettingsError(f"{ENV_ORG_AUDIT_DEADLINE_MINUTES}: {minutes_text[:20]!r} is not 15..1440")
    return OrgSettings(
        state_table_name=required(ENV_STATE_TABLE_NAME),
        audit_queue_url=required(ENV_ORG_AUDIT_QUEUE_URL),
        consolidation_queue_url=required(ENV_ORG_CONSOLIDATION_QUEUE_URL),
        results_bucket=required(ENV_RESULTS_BUCKET),
        member_audit_role_name=role_name,
        external_id=env.get(ENV_AUDIT_EXTERNAL_ID, "").strip(),
        organization_id=required(ENV_ORGANIZATION_ID),
        deadline_minutes=int(minutes_text),
        alert_topic_arn=env.get(ENV_ALERT_TOPIC_ARN, "").strip(),
        environment=env.get(ENV_ENVIRONMENT, "unknown").strip() or "unknown",
        metrics_namespace=env.get(ENV_METRICS_NAMESPACE, METRICS_NAMESPACE).strip() or METRICS_NAMESPACE,
    )


# -- run IDs and results keys --------------------------------------------------------------------------------


def account_run_id(org_run_id: str, account_id: str) -> str:
    """The run ID of one account's resumable audit (run_store): "<org run id>.<account id>"."""
    return f"{org_run_id}.{account_id}"


def split_account_run_id(run_id: str) -> tuple[str, str]:
    """(org run ID, account ID) of an account run ID; ValueError naming the value otherwise."""
    org_run_id, _, account_id = str(run_id).rpartition(".")
    if not ORG_RUN_ID.match(org_run_id) or not ACCOUNT_ID.match(account_id):
        raise ValueError(f"runId {str(run_id)[:80]!r} is not an org account run ID")
    return org_run_id, account_id


def run_prefix(org_run_id: str) -> str:
    return f"{RESULTS_RUNS_PREFIX}{org_run_id}/"


def account_prefix(org_run_id: str, account_id: str) -> str:
    return f"{run_prefix(org_run_id)}accounts/{account_id}/"


def part_key(org_run_id: str, account_id: str, step: int, part: int) -> str:
    """One committed part of an account's records: deterministic, so a replay overwrites it with itself."""
    return f"{account_prefix(org_run_id, account_id)}step-{step:06d}-part-{part:03d}.jsonl"


# -- messages ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountMessage:
    """Start (or retry) one account's audit: {"orgRunId", "account"}."""

    org_run_id: str
    account_id: str


@dataclass(frozen=True)
class ContinuationMessage:
    """Resume one account's audit at a step: {"runId", "step"} (audit_run's handover)."""

    org_run_id: str
    account_id: str
    step: int


@dataclass(frozen=True)
class CheckMessage:
    """Consolidate an org run if it is complete ({"orgRunId"}), or, with "check", the deadline check."""

    org_run_id: str
    check_seq: int | None


def compact_json(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def _body(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:sqs":
        raise ValueError("record is not an SQS message")
    body = json.loads(str(record.get("body", "")))
    if not isinstance(body, dict):
        raise ValueError("message body is not a JSON object")
    return body


def _org_run_id(value: Any) -> str:
    if not isinstance(value, str) or not ORG_RUN_ID.match(value):
        raise ValueError(f"orgRunId {str(value)[:80]!r} is not an org run ID")
    return value


def worker_message(record: Any) -> AccountMessage | ContinuationMessage:
    """The worker's message; ValueError naming what is wrong otherwise."""
    body = _body(record)
    if set(body) == {"orgRunId", "account"}:
        account = body["account"]
        if not isinstance(account, str) or not ACCOUNT_ID.match(account):
            raise ValueError(f"account {str(account)[:40]!r} is not a 12-digit account ID")
        return AccountMessage(_org_run_id(body["orgRunId"]), account)
    if set(body) == {"runId", "step"}:
        org_run_id, account = split_account_run_id(body["runId"])
        step = body["step"]
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
            raise ValueError(f"step {str(step)[:20]!r} is not a step number")
        return ContinuationMessage(org_run_id, account, step)
    raise ValueError("not an org audit message (expected orgRunId and account, or runId and step)")


def consolidator_message(record: Any) -> CheckMessage:
    body = _body(record)
    if set(body) == {"orgRunId"}:
        return CheckMessage(_org_run_id(body["orgRunId"]), None)
    if set(body) == {"orgRunId", "check"}:
        seq = body["check"]
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_STEP:
            raise ValueError(f"check {str(seq)[:20]!r} is not a check number")
        return CheckMessage(_org_run_id(body["orgRunId"]), seq)
    raise ValueError("not an org consolidation message (expected orgRunId, and optionally check)")


Message = TypeVar("Message")


def sqs_messages(
    event: Any, parse: Callable[[Any], Message], work: str
) -> Iterator[tuple[Any, Message]] | None:
    """Each SQS record of `event` with its message as `parse` reads it. A record that does not parse is
    logged and acknowledged (its redelivery would fail the same way); an event that is not a batch of SQS
    records gives None, logged. `work` names what is skipped ("audit", "consolidation")."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        log(
            "WARNING",
            f"unexpected event acknowledged without {work}",
            keys=sorted(event)[:20] if isinstance(event, dict) else type(event).__name__,
        )
        return None
    return _parsed(records, parse, work)


def _parsed(records: list[Any], parse: Callable[[Any], Message], work: str) -> Iterator[tuple[Any, Message]]:
    for record in records:
        try:
            message = parse(record)
        except (ValueError, TypeError) as problem:
            log(
                "WARNING",
                f"{work} message acknowledged without {work}",
                reason=str(problem)[:300],
                messageId=record.get("messageId") if isinstance(record, dict) else None,
            )
            continue
        yield record, message


def receive_count(record: Any) -> int:
    """How often SQS delivered this message (ApproximateReceiveCount), 1 when it does not say."""
    attributes = record.get("attributes") if isinstance(record, dict) else None
    text = str((attributes or {}).get("ApproximateReceiveCount", "1"))
    return int(text) if text.isdigit() else 1


# -- the member audit role -----------------------------------------------------------------------------------


def member_role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def member_session_policy(partition: str, account_id: str) -> dict[str, Any]:
    """The session policy passed to AssumeRole: the audit's three reads on the audited account's and AWS
    managed policies only (iam_guard.analysis.account's, the same as `iam-guard audit-account`)."""
    return audit_session_policy(partition, account_id)
