"""H-2 / H-5 / MON-8: the daily audit of every IAM policy in the account, exactly once.

Events in (handler string "daily_audit.handler"):
- the EventBridge schedule ("detail-type": "Scheduled Event"): a new run whose ID is the event's id, created
  with a conditional put, so a duplicated or retried delivery of the same schedule is no second run;
- SQS records from AUDIT_CONTINUATION_QUEUE_URL (event source mapping, batch size 1): {"runId", "step"},
  a run handed over by the previous invocation; its state is read from the state table, never from the
  message, so a forged or corrupt message can at most nudge a real run along (audit_run.decide);
- anything else is logged and acknowledged (H-4).

The run itself is audit_run.AuditRun (the state machine, documented there); its durable state is
run_store; its records audit_records; its end (summary record, SNS alert, completion metrics)
audit_summary. With REMEDIATION_MODE=off the run writes its records and emits its metrics but publishes no
SNS summary ("off" means logged only, as for policy changes).

An invocation that fails (an AWS call still failing when its time is up) raises, so SQS redelivers the
message (or Lambda retries the schedule); what it committed stays committed and is not redone.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from audit_run import AuditClients, AuditRun, decide, reserve_ms_for
from lambda_support import Deadline, LambdaContext, Settings, aws_client, load_settings, log
from run_store import RunState, RunStore
from structured_log import invocation, set_correlation_id

MAX_RUN_ID_CHARS = 128
_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_MAX_STEP = 1_000_000


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: start a run (schedule) or resume one (SQS continuation)."""
    with invocation(context, "daily_audit"):
        return _handle_event(event, context)


def _handle_event(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = load_settings("daily_audit")
    requests = _requests_from_event(event)
    if requests is None:
        return {"status": "ignored"}
    clients = AuditClients(
        aws_client("iam"),
        aws_client("sqs"),
        aws_client("sns"),
        # PutLogEvents is not idempotent: no botocore retry; audit_records retries after checking the stream
        aws_client("logs", attempts=1),
        aws_client("dynamodb"),
        aws_client("cloudtrail"),
    )
    results = []
    for run_id, step, new_run in requests:
        set_correlation_id(run_id)  # the audit run's lines share its ID across continuations
        results.append(run_step(run_id, step, new_run, clients, settings, context))
    return {"status": "ok", "runs": results}


def run_step(
    run_id: str, step: int, new_run: bool, clients: AuditClients, settings: Settings, context: LambdaContext
) -> dict[str, Any]:
    """Create (schedule) or look up the run, decide what the message may do, and advance the run."""
    owner = str(context.aws_request_id)
    deadline = Deadline(context, reserve_ms_for(int(context.get_remaining_time_in_millis())))
    store = RunStore(clients.dynamodb, settings.state_table_name, deadline)
    if new_run and store.create(RunState(run_id=run_id, started_at=time.time())):
        log("INFO", "audit run started", runId=run_id)
    item = store.load(run_id)
    verdict = decide(item, step, owner)
    if item is None or verdict not in ("claim", "adopt"):
        level = "WARNING" if verdict in ("unknown", "forged") else "INFO"
        log(
            level,
            "continuation acknowledged without audit",
            runId=run_id,
            step=step,
            verdict=verdict,
            runStep=item.step if item else None,
        )
        return {"runId": run_id, "status": verdict, "policiesAudited": None}
    lease_until = int(time.time() * 1000) + int(context.get_remaining_time_in_millis()) + 2_000
    if not store.claim(run_id, item.step, owner, lease_until):
        log("INFO", "continuation acknowledged: another invocation claimed the run", runId=run_id, step=step)
        return {"runId": run_id, "status": "duplicate", "policiesAudited": None}
    if verdict == "adopt":
        log(
            "WARNING",
            "run adopted: its handover was never sent",
            runId=run_id,
            step=item.step,
            messageStep=step,
        )
    run = AuditRun(item, owner, clients, settings, context)
    outcome = run.advance()
    return {
        "runId": run_id,
        "status": outcome,
        "policiesAudited": run.state.policies_audited,
        "step": run.item.step,
        "dynamodbCalls": store.calls + run.store.calls,
        "iamCalls": run.iam_calls,
    }


def _requests_from_event(event: Any) -> list[tuple[str, int, bool]] | None:
    """(run ID, step, new run) for each run the event starts or resumes; None (after a log line) for an
    event of another shape. Malformed continuation messages are logged and acknowledged."""
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
        event_id = str(event.get("id") or "")
        run_id = re.sub(r"[^A-Za-z0-9._-]", "-", event_id)[:MAX_RUN_ID_CHARS] or uuid.uuid4().hex
        return [(run_id, 0, True)]
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records:
        requests = []
        for record in records:
            try:
                requests.append((*_continuation(record), False))
            except (ValueError, TypeError) as problem:
                log(
                    "WARNING",
                    "continuation message acknowledged without audit",
                    reason=str(problem)[:300],
                    messageId=record.get("messageId") if isinstance(record, dict) else None,
                )
        return requests
    log(
        "WARNING",
        "unexpected event acknowledged without audit",
        keys=sorted(event)[:20] if isinstance(event, dict) else type(event).__name__,
    )
    return None


def _continuation(record: Any) -> tuple[str, int]:
    """(run ID, step) of a continuation message; ValueError naming what is wrong otherwise."""
    if not isinstance(record, dict) or record.get("eventSource") != "aws:sqs":
        raise ValueError("record is not an SQS message")
    body = json.loads(str(record.get("body", "")))
    if not isinstance(body, dict) or set(body) != {"runId", "step"}:
        raise ValueError("not an iam-guard continuation message (expected exactly runId and step)")
    run_id, step = body["runId"], body["step"]
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(f"runId {str(run_id)[:80]!r} is not a run ID")
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= _MAX_STEP:
        raise ValueError(f"step {str(step)[:20]!r} is not a step number")
    return run_id, step
