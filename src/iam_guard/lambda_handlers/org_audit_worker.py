"""ORG-2: one account's audit, as a unit of the organization's fan-out (handler "org_audit_worker.handler").

Events in: SQS records of the org audit queue (event source mapping, batch size 1, MaximumConcurrency =
organization.audit_concurrency): {"orgRunId", "account"} from the scheduler, or {"runId", "step"}, the
handover of the account's own resumable audit (audit_run) when one invocation was not enough. The org
run's account item decides (never the message): an account that is not in the run, or already audited or
failed, is acknowledged without any call into the member account.

Per message:
1. AssumeRole into the member audit role of that account (arn:<partition>:iam::<account>:role/<name>), with
   the session policy of org_audit_support (only the audit's three IAM reads) and the external ID when the
   stack requires one; the session's IAM client is the audit's;
2. the account's audit run (pk "run#<org run>.<account>") advances exactly like the single-account daily
   audit (claim, steps, commits, handover through the same queue), except that each committed part goes to
   the results bucket (runs/<org run>/accounts/<account>/step-<k>-part-<j>.jsonl: a deterministic key, so
   a replay writes the same object again) and every principal's cross-account reach snapshot is a record of
   its step ("kind": "reach");
3. when the traversal is done: the account item moves to "audited" with its counts and the org run's
   remaining count drops, in one transaction (org_run_store.finish_account), under the run's summary mark
   (run_store's "sending" -> "recorded"), so a duplicate never counts twice. The invocation that sees no
   account left sends {"orgRunId"} to the consolidation queue.
A failure (AssumeRole denied, the role missing, throttling past the invocation's time, an analysis error)
is noted on the account item and raised, so SQS delivers the message again after its visibility timeout;
on the MAX_ATTEMPTS-th delivery the account is marked "failed" with the reason instead and the message is
acknowledged. An invocation whose IAM reads keep failing until its time is up (throttling past every
retry) hands over without progress: MAX_ATTEMPTS of those in a row report the account failed with the
error too, and so does a run abandoned after audit_run.MAX_STEPS steps. The queue's redrive policy
(maxReceiveCount above MAX_ATTEMPTS) and the consolidator's deadline catch what even that could not record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import ClientError

from audit_records import record_line
from audit_run import AuditClients, AuditRun, decide, reserve_ms_for
from iam_guard.analysis import Finding, Severity
from iam_guard.analysis.account import AuditUnit, PolicyToAudit, PrincipalToAudit, analyze_unit
from lambda_support import (
    Deadline,
    LambdaContext,
    OutOfTime,
    Settings,
    analysis_budget_seconds,
    aws_client,
    call_within,
    log,
)
from org_audit_support import (
    SESSION_NAME,
    SESSION_SECONDS,
    AccountMessage,
    ContinuationMessage,
    OrgSettings,
    account_run_id,
    compact_json,
    load_org_settings,
    member_role_arn,
    member_session_policy,
    part_key,
    receive_count,
    sqs_messages,
    worker_message,
)
from org_reach import reach_lines
from org_run_store import OPEN_STATUSES, OrgRunStore
from run_store import RunState, RunStore
from structured_log import invocation, set_correlation_id

# Deliveries of one message before its account is reported failed (the queue's maxReceiveCount is higher:
# a message whose failure could not even be recorded still ends in the dead-letter queue, alarmed).
MAX_ATTEMPTS = 3


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    with invocation(context, "org_audit_worker"):
        return _handle_event(event, context)


def _handle_event(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = load_org_settings()
    messages = sqs_messages(event, worker_message, "audit")
    if messages is None:
        return {"status": "ignored"}
    results = []
    for record, message in messages:
        set_correlation_id(account_run_id(message.org_run_id, message.account_id))
        results.append(audit_account(message, receive_count(record), settings, context))
    return {"status": "ok", "accounts": results}


def audit_account(
    message: AccountMessage | ContinuationMessage,
    deliveries: int,
    settings: OrgSettings,
    context: LambdaContext,
) -> dict[str, Any]:
    """Advance one account's audit as far as this invocation can; see the module docstring."""
    org_run_id, account_id = message.org_run_id, message.account_id
    result: dict[str, Any] = {"orgRunId": org_run_id, "account": account_id}
    deadline = Deadline(context, reserve_ms_for(int(context.get_remaining_time_in_millis())))
    org_store = OrgRunStore(aws_client("dynamodb"), settings.state_table_name, deadline)
    account = org_store.account(org_run_id, account_id)
    if account is None or account.status not in OPEN_STATUSES:
        level = "WARNING" if account is None else "INFO"
        log(
            level,
            "org audit message acknowledged: account not open in the run",
            orgRunId=org_run_id,
            account=account_id,
            accountStatus=account.status if account else None,
        )
        if account is not None:
            # A late message of a finished account: if the run is complete but its consolidation request
            # was lost (the sender failed after counting), ask again (the consolidator sends once).
            _consolidate_if_complete(org_store, settings, org_run_id)
        return {**result, "status": "unknown" if account is None else "done"}
    if isinstance(message, AccountMessage) and not org_store.start_account(org_run_id, account_id):
        return {**result, "status": "done"}
    try:
        outcome = _advance(
            message,
            lambda: _member_iam(settings, _partition(context), account_id, deadline),
            settings,
            context,
            org_store,
        )
    except Exception as error:
        reason = _describe(error)
        # The failure may be the work deadline itself: what is recorded now uses the rest of the time.
        org_store = OrgRunStore(org_store.dynamodb, org_store.table, Deadline(context, 0))
        if deliveries >= MAX_ATTEMPTS:
            failed = org_store.finish_account(
                org_run_id, account_id, "failed", reason=f"{reason} (after {deliveries} attempts)"
            )
            log(
                "ERROR",
                "account audit failed: reported",
                orgRunId=org_run_id,
                account=account_id,
                reason=reason,
                attempts=deliveries,
                recorded=failed,
            )
            _consolidate_if_complete(org_store, settings, org_run_id)
            return {**result, "status": "failed", "reason": reason}
        org_store.note_error(org_run_id, account_id, reason)
        log(
            "WARNING",
            "account audit failed: the message comes back",
            orgRunId=org_run_id,
            account=account_id,
            reason=reason,
            attempt=deliveries,
        )
        raise
    return {**result, **outcome}


def _advance(
    message: AccountMessage | ContinuationMessage,
    member_iam: Callable[[], Any],
    settings: OrgSettings,
    context: LambdaContext,
    org_store: OrgRunStore,
) -> dict[str, Any]:
    """daily_audit.run_step for one account: create or look up its run, decide, claim, and only then
    open the member session (a message that may do nothing never reaches into the member account)."""
    run_id = account_run_id(message.org_run_id, message.account_id)
    owner = str(context.aws_request_id)
    audit_settings = _audit_settings(settings)
    store = RunStore(aws_client("dynamodb"), settings.state_table_name, org_store.deadline)
    step = message.step if isinstance(message, ContinuationMessage) else 0
    if isinstance(message, AccountMessage):
        store.create(RunState(run_id=run_id, started_at=time.time()))
    item = store.load(run_id)
    verdict = decide(item, step, owner)
    if item is None or verdict not in ("claim", "adopt"):
        log("INFO", "account message acknowledged without audit", runId=run_id, step=step, verdict=verdict)
        return {"status": verdict}
    lease_until = int(time.time() * 1000) + int(context.get_remaining_time_in_millis()) + 2_000
    if not store.claim(run_id, item.step, owner, lease_until):
        return {"status": "duplicate"}
    try:
        iam = member_iam()
    except Exception:
        store.release(run_id, owner)  # the next delivery may claim the run at once
        raise
    clients = AuditClients(iam, aws_client("sqs"), None, None, aws_client("dynamodb"))
    run = OrgAccountRun(item, owner, clients, audit_settings, context)
    run.attach(message.org_run_id, message.account_id, settings, org_store)
    before = run.progress()
    outcome = run.advance()
    _judge_progress(run, outcome, before, settings, org_store)
    return {
        "status": outcome,
        "policiesAudited": run.state.policies_audited,
        "principalsAudited": run.state.principals_audited,
        "step": run.item.step,
        "iamCalls": run.iam_calls,
    }


def _judge_progress(
    run: OrgAccountRun, outcome: str, before: tuple[Any, ...], settings: OrgSettings, org_store: OrgRunStore
) -> None:
    """A run that hands over without moving (its IAM reads throttled or failing until its time was up) is
    a failure too, not a loop: MAX_ATTEMPTS such invocations in a row report the account failed with the
    error; a run abandoned after audit_run.MAX_STEPS steps likewise."""
    org_run_id, account_id = run.org_run_id, run.account_id
    # After the handover: only the time kept back for releasing the lease is left.
    org_store = OrgRunStore(org_store.dynamodb, org_store.table, run.release_deadline)
    reason = ""
    if outcome == "abandoned":
        reason = f"abandoned after {run.item.step} steps without finishing"
    elif outcome == "continued" and run.progress() == before:
        stalls = org_store.note_stall(org_run_id, account_id, run.last_failure or "no progress")
        if stalls >= MAX_ATTEMPTS:
            reason = f"no progress in {stalls} invocations in a row: {run.last_failure or 'out of time'}"
    elif outcome == "continued":
        org_store.reset_stalls(org_run_id, account_id)
    if reason and org_store.finish_account(org_run_id, account_id, "failed", reason=reason):
        log("ERROR", "account audit failed: reported", orgRunId=org_run_id, account=account_id, reason=reason)
        _consolidate_if_complete(org_store, settings, org_run_id)


class OrgAccountRun(AuditRun):
    """The daily audit's run, with its records in the results bucket, reach records, and an end that
    counts the account off the org run instead of sending a summary of its own."""

    def attach(self, org_run_id: str, account_id: str, settings: OrgSettings, org_store: OrgRunStore) -> None:
        self.org_run_id = org_run_id
        self.account_id = account_id
        self.org_settings = settings
        # The account's end comes after the last commit: within the wrap-up reserve, like the commit.
        self.org_store = OrgRunStore(org_store.dynamodb, org_store.table, self.wrapup_deadline)
        self.s3 = aws_client("s3")
        self._entity = ""
        self._entity_findings: list[Finding] = []
        self.last_failure = ""

    def _audit(self, unit: AuditUnit) -> list[str]:
        """The unit's finding records (as audit_run) and, for a principal, its reach record. An entry's
        units come together (an entry is never split across steps): its inline policies first, then the
        principal's combined unit, whose reach takes the findings of all of them."""
        findings = analyze_unit(unit, analysis_budget_seconds(self.work_deadline, 0))
        if isinstance(unit, PolicyToAudit):
            self.state.policies_audited += 1
        else:
            self.state.principals_audited += 1
        lines = [
            record_line({"kind": "audit-finding", "runId": self.state.run_id, **item})
            for item in self._count(findings, unit.context())
        ]
        if self._entity != unit.entity:
            self._entity, self._entity_findings = unit.entity, []
        if isinstance(unit, PolicyToAudit) and unit.policy_type == "identity":
            self._entity_findings.extend(findings)
        elif isinstance(unit, PrincipalToAudit):
            lines.extend(
                reach_lines(self.state.run_id, self.account_id, unit, [*self._entity_findings, *findings])
            )
        return lines

    def progress(self) -> tuple[Any, ...]:
        """Where the traversal is and what it counted: unchanged after an invocation means no progress."""
        state = self.state
        return (
            state.filter_index,
            state.marker,
            state.offset,
            state.policies_audited,
            state.principals_audited,
        )

    def _fetch_page(self, entity_filter: str, marker: str | None, deadline: Deadline) -> dict[str, Any]:
        try:
            return super()._fetch_page(entity_filter, marker, deadline)
        except OutOfTime as reason:
            self.last_failure = f"GetAccountAuthorizationDetails ({entity_filter}): {str(reason)[:300]}"
            raise

    def _write_parts(self, step: int, parts: list[str]) -> None:
        """Each part to its deterministic key. No encryption header: the bucket's default (SSE-KMS with the
        unit's key and a Bucket Key) applies; "aws:kms" without a key ID would pick the aws/s3 key."""
        for number, part in enumerate(parts):
            call_within(
                self.wrapup_deadline,
                self.s3.put_object,
                Bucket=self.org_settings.results_bucket,
                Key=part_key(self.org_run_id, self.account_id, step, number),
                Body=(part + "\n").encode("utf-8"),
                ContentType="application/x-ndjson",
            )

    def _summarise(self) -> None:
        run_id = self.state.run_id
        if not self.store.begin_summary(run_id, self.owner, self.lease_until_ms):
            return
        counted = self.org_store.finish_account(
            self.org_run_id,
            self.account_id,
            "audited",
            findings=dict(self.state.findings),
            records=self.state.records_written,
        )
        self.store.end_summary(run_id, self.owner, "recorded")
        log(
            "INFO",
            "account audited",
            orgRunId=self.org_run_id,
            account=self.account_id,
            counted=counted,
            policiesAudited=self.state.policies_audited,
            findings=self.state.findings,
            invocations=self.state.invocations,
        )
        _consolidate_if_complete(self.org_store, self.org_settings, self.org_run_id)


def _consolidate_if_complete(org_store: OrgRunStore, settings: OrgSettings, org_run_id: str) -> None:
    """No account left: hand the run to the consolidator (a second message is harmless)."""
    head = org_store.head(org_run_id)
    if head is None or head.status != "scheduled" or head.remaining > 0 or head.summary != "none":
        return
    call_within(
        org_store.deadline,
        aws_client("sqs").send_message,
        QueueUrl=settings.consolidation_queue_url,
        MessageBody=compact_json({"orgRunId": org_run_id}),
    )
    log("INFO", "last account of the org run done: consolidation requested", orgRunId=org_run_id)


def _member_iam(settings: OrgSettings, partition: str, account_id: str, deadline: Deadline) -> Any:
    """An IAM client on the member audit role, narrowed by the session policy."""
    role_arn = member_role_arn(partition, account_id, settings.member_audit_role_name)
    arguments: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": SESSION_NAME,
        "DurationSeconds": SESSION_SECONDS,
        "Policy": json.dumps(member_session_policy(partition, account_id), separators=(",", ":")),
    }
    if settings.external_id:
        arguments["ExternalId"] = settings.external_id
    credentials = call_within(deadline, aws_client("sts").assume_role, **arguments)["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=BotocoreConfig(
            retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=10
        ),
    )


def _audit_settings(settings: OrgSettings) -> Settings:
    """The daily audit's settings for a member account's run: only the continuation queue and the state
    table are used (the org run's end replaces the per-account summary)."""
    return Settings(
        alert_topic_arn=settings.alert_topic_arn,
        security_log_group="",
        alert_severity=Severity.HIGH,
        metrics_namespace=settings.metrics_namespace,
        environment=settings.environment,
        remediation_mode="off",
        quarantine_policy_arn="",
        exempt_principal_arns=(),
        audit_continuation_queue_url=settings.audit_queue_url,
        state_table_name=settings.state_table_name,
    )


def _partition(context: LambdaContext) -> str:
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "arn" and parts[1].startswith("aws") else "aws"


def _describe(error: Exception) -> str:
    """One line naming what went wrong (the error code and message of an AWS error)."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "call")
        return f"{operation}: {details.get('Code', 'Error')}: {str(details.get('Message', ''))[:300]}"
    return f"{type(error).__name__}: {str(error)[:300]}"
