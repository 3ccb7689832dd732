"""ORG-2: the end of an organization audit run (handler "org_audit_consolidator.handler").

Events in: SQS records of the consolidation queue (batch size 1): {"orgRunId"} from the worker that
counted the last account off, or {"orgRunId", "check": n}, the deadline check the scheduler arms and this
function re-arms (delayed) until the run is complete; only the check whose number matches the head's
checkSeq re-arms (a duplicated check message dies out instead of doubling the chain).

1. A run with accounts left waits, until its deadline (organization.audit_deadline_minutes after the
   schedule): then every account still pending or running is marked "failed" with the reason ("not
   finished by the deadline" and the last error the workers noted), through the same conditional
   transaction as the workers use, so a run never hangs silently and no account is dropped.
2. With no account left: the summary mark ("sending" with a lease, as the daily audit), then the
   consolidated report: each audited account's records are read back from the results bucket (finding
   records and reach records), the cross-account paths are computed over the reach of every principal of
   the organization, and runs/<orgRunId>/report.json and report.html are written; then ONE SNS summary
   (counts by account and severity, the failed accounts with their reasons, the management account that
   is not audited, the paths hop by hop, and the report's S3 URI and console URL), the "sent" mark, and
   the completion metrics (only by the invocation that set "sent": a broken topic leaves the metric
   missing and the "org audit missing" alarm fires).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from alerts import publish_alert
from emf import COUNT, emit_metrics
from iam_guard.contract import ORG_ACCOUNTS_AUDITED_METRIC, ORG_ACCOUNTS_FAILED_METRIC
from lambda_support import Deadline, LambdaContext, aws_client, call_within, log, utc_now_iso
from org_audit_support import (
    CheckMessage,
    OrgSettings,
    account_prefix,
    compact_json,
    consolidator_message,
    load_org_settings,
    run_prefix,
    sqs_messages,
)
from org_reach import build_report
from org_run_store import OPEN_STATUSES, AccountItem, OrgRunHead, OrgRunStore
from structured_log import invocation, set_correlation_id

RESERVE_MS = 3_000
CHECK_DELAY_SECONDS = 900  # SQS's maximum delay
READ_THREADS = 8
MANAGEMENT_REASON = (
    "management account: not audited by the fan-out (service-managed StackSets never deploy to it, so it "
    "has no member audit role); audit it from inside with `iam-guard audit-account` or the single-account "
    "stack"
)
MAX_LISTED = 50


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    with invocation(context, "org_audit_consolidator"):
        return _handle_event(event, context)


def _handle_event(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = load_org_settings()
    messages = sqs_messages(event, consolidator_message, "consolidation")
    if messages is None:
        return {"status": "ignored"}
    results = []
    for _, message in messages:
        set_correlation_id(message.org_run_id)
        results.append(consolidate(message, settings, context))
    return {"status": "ok", "runs": results}


def consolidate(message: CheckMessage, settings: OrgSettings, context: LambdaContext) -> dict[str, Any]:
    """Wait, fail the stragglers past the deadline, or write the report and send the summary."""
    org_run_id = message.org_run_id
    deadline = Deadline(context, RESERVE_MS)
    store = OrgRunStore(aws_client("dynamodb"), settings.state_table_name, deadline)
    head = store.head(org_run_id)
    result: dict[str, Any] = {"orgRunId": org_run_id}
    if head is None:
        log("WARNING", "consolidation message for an unknown org run acknowledged", orgRunId=org_run_id)
        return {**result, "status": "unknown"}
    if head.summary in ("sent", "recorded"):
        return {**result, "status": "done"}
    now = int(time.time())
    if head.status != "scheduled" and now >= head.deadline_at:
        # The scheduler never finished listing the accounts: nothing to report; the missing completion
        # metric alarms, and this chain of checks stops here.
        log("ERROR", "org run never scheduled its accounts: abandoned at its deadline", orgRunId=org_run_id)
        return {**result, "status": "abandoned"}
    if head.status != "scheduled" or head.remaining > 0:
        if now < head.deadline_at:
            _rearm(store, settings, head, message, now)
            return {**result, "status": "waiting", "remaining": head.remaining}
        failed = _fail_stragglers(store, head)
        log(
            "ERROR",
            "org run deadline passed: unfinished accounts reported failed",
            orgRunId=org_run_id,
            failed=failed,
        )
        head = store.head(org_run_id) or head
        if head.remaining > 0:
            raise RuntimeError(
                f"org run {org_run_id}: {head.remaining} account(s) still open after the deadline"
            )
    owner = str(context.aws_request_id)
    lease_until = int(time.time() * 1000) + int(context.get_remaining_time_in_millis()) + 2_000
    if not store.begin_summary(org_run_id, owner, lease_until):
        return {**result, "status": "duplicate"}
    try:
        summary = _report_and_publish(store, head, settings, deadline)
        if not store.end_summary(org_run_id, owner, "sent"):
            return {**result, "status": "superseded"}
    except Exception:
        try:
            store.abort_summary(org_run_id, owner)
        except Exception as error:  # the lease lapses anyway
            log("WARNING", "summary mark not released", orgRunId=org_run_id, error=str(error)[:200])
        raise
    emit_metrics(
        settings.metrics_namespace,
        {"Environment": settings.environment},
        {
            ORG_ACCOUNTS_AUDITED_METRIC: (float(summary["audited"]), COUNT),
            ORG_ACCOUNTS_FAILED_METRIC: (float(summary["failed"]), COUNT),
        },
    )
    log("INFO", "org audit complete", **summary)
    return {**result, "status": "sent", **summary}


def _rearm(
    store: OrgRunStore, settings: OrgSettings, head: OrgRunHead, message: CheckMessage, now: int
) -> None:
    """The deadline check comes back later (only the current check re-arms)."""
    if message.check_seq is None or not store.advance_check(head.org_run_id, message.check_seq):
        return
    delay = max(0, min(CHECK_DELAY_SECONDS, head.deadline_at - now + 1))
    call_within(
        store.deadline,
        aws_client("sqs").send_message,
        QueueUrl=settings.consolidation_queue_url,
        MessageBody=compact_json({"orgRunId": head.org_run_id, "check": message.check_seq + 1}),
        DelaySeconds=delay,
    )


def _fail_stragglers(store: OrgRunStore, head: OrgRunHead) -> list[str]:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(head.deadline_at))
    failed = []
    for account in store.accounts(head.org_run_id):
        if account.status not in OPEN_STATUSES:
            continue
        reason = (
            f"not finished by the run's deadline {at} (status {account.status}, {account.attempts} "
            f"attempt(s)); last error: {account.last_error or 'none recorded'}"
        )
        if store.finish_account(head.org_run_id, account.account_id, "failed", reason=reason):
            failed.append(account.account_id)
    return failed


def _report_and_publish(
    store: OrgRunStore, head: OrgRunHead, settings: OrgSettings, deadline: Deadline
) -> dict[str, Any]:
    accounts = sorted(store.accounts(head.org_run_id), key=lambda item: item.account_id)
    s3 = aws_client("s3")
    audited = [item for item in accounts if item.status == "audited"]
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        lines_by_account = dict(
            zip(
                [item.account_id for item in audited],
                pool.map(lambda item: _read_records(s3, settings, head.org_run_id, item, deadline), audited),
                strict=True,
            )
        )
    account_rows = [item.to_dict() for item in accounts]
    if head.management_account:
        account_rows.append(
            {
                "accountId": head.management_account,
                "name": "",
                "status": "not-audited",
                "attempts": 0,
                "reason": MANAGEMENT_REASON,
                "findings": {},
                "records": 0,
            }
        )
    report, html, paths = build_report(
        head.org_run_id, utc_now_iso(), account_rows, lines_by_account, settings.organization_id
    )
    prefix = run_prefix(head.org_run_id)
    for name, body, content_type in (
        ("report.json", json.dumps(report, sort_keys=True, indent=1), "application/json"),
        ("report.html", html, "text/html; charset=utf-8"),
    ):
        call_within(
            deadline,
            s3.put_object,
            Bucket=settings.results_bucket,
            Key=f"{prefix}{name}",
            Body=body.encode("utf-8"),
            ContentType=content_type,
        )
    region = os.environ.get("AWS_REGION", "us-east-1")
    html_key = f"{prefix}report.html"
    links = (
        f"s3://{settings.results_bucket}/{html_key}",
        f"https://console.aws.amazon.com/s3/object/{settings.results_bucket}?region={region}&prefix={html_key}",
    )
    subject, message, worst = summary_message(settings, head, accounts, report, paths, links)
    publish_alert(aws_client("sns"), settings.alert_topic_arn, subject, message, worst, deadline)
    failed = [item for item in accounts if item.status == "failed"]
    return {
        "orgRunId": head.org_run_id,
        "audited": len(audited),
        "failed": len(failed),
        "paths": len(paths),
        "report": links[0],
    }


def _read_records(
    s3: Any, settings: OrgSettings, org_run_id: str, account: AccountItem, deadline: Deadline
) -> list[dict[str, Any]]:
    """Every record an audited account's run committed (all its parts, in step order)."""
    keys: list[str] = []
    arguments: dict[str, Any] = {
        "Bucket": settings.results_bucket,
        "Prefix": account_prefix(org_run_id, account.account_id),
    }
    while True:
        page = call_within(deadline, s3.list_objects_v2, **arguments)
        keys.extend(str(item["Key"]) for item in page.get("Contents", []))
        if not page.get("IsTruncated"):
            break
        arguments["ContinuationToken"] = page["NextContinuationToken"]
    records = []
    for key in sorted(keys):
        body = call_within(deadline, s3.get_object, Bucket=settings.results_bucket, Key=key)["Body"].read()
        for line in body.decode("utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


_SEVERITIES = ("critical", "high", "medium", "low", "info")


def summary_message(
    settings: OrgSettings,
    head: OrgRunHead,
    accounts: list[AccountItem],
    report: dict[str, Any],
    paths: list[Any],
    links: tuple[str, str],
) -> tuple[str, str, str]:
    """(subject, message, worst severity) of the one summary of an org run."""
    totals = {severity: 0 for severity in _SEVERITIES}
    for item in accounts:
        for severity, count in item.findings.items():
            totals[severity] = totals.get(severity, 0) + int(count)
    worst = next((severity for severity in _SEVERITIES if totals.get(severity)), "info")
    audited = [item for item in accounts if item.status == "audited"]
    failed = [item for item in accounts if item.status == "failed"]
    if failed and worst not in ("critical", "high"):
        worst = "high"  # an account that could not be audited is at least as loud as a HIGH finding
    verdict = f"{sum(totals.values())} finding(s), worst {worst.upper()}"
    if failed:
        verdict = f"{len(failed)} ACCOUNT(S) FAILED; {verdict}"
    subject = f"[iam-guard {settings.environment}] organization IAM audit: {len(audited)} accounts, {verdict}"
    lines = [
        f"iam-guard audited {len(audited)} of {len(accounts)} accounts of organization "
        f"{settings.organization_id} (org run {head.org_run_id}).",
        "Findings by severity: "
        + ", ".join(f"{severity} {totals.get(severity, 0)}" for severity in _SEVERITIES)
        + ".",
        "",
        f"Report: {links[0]}",
        f"Console: {links[1]}",
        "",
    ]
    if failed:
        lines.append(f"{len(failed)} account(s) could not be audited:")
        for item in failed[:MAX_LISTED]:
            lines.append(f"- {item.account_id} {item.name}: {item.reason}")
        if len(failed) > MAX_LISTED:
            lines.append(f"- ... and {len(failed) - MAX_LISTED} more (see the report)")
        lines.append("")
    if head.management_account:
        lines.extend([f"Not audited: {head.management_account} ({MANAGEMENT_REASON}).", ""])
    ranked = sorted(
        audited,
        key=lambda item: tuple(-int(item.findings.get(severity, 0)) for severity in _SEVERITIES),
    )
    lines.append("Accounts by findings (critical/high/medium/low/info):")
    for item in ranked[:MAX_LISTED]:
        counts = "/".join(str(item.findings.get(severity, 0)) for severity in _SEVERITIES)
        lines.append(f"- {item.account_id} {item.name}: {counts}")
    if len(ranked) > MAX_LISTED:
        lines.append(f"- ... and {len(ranked) - MAX_LISTED} more (see the report)")
    lines.append("")
    if paths:
        lines.append(f"{len(paths)} cross-account path(s) to administrator access:")
        for number, path in enumerate(paths[:MAX_LISTED], start=1):
            lines.append(f"{number}. {path.describe()}")
    else:
        lines.append("No cross-account path to administrator access.")
    return subject, "\n".join(lines) + "\n", worst
