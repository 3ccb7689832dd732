"""ORG-2: the fan-out of the organization's daily audit (handler "org_audit_scheduler.handler").

Event in: the EventBridge schedule ("detail-type": "Scheduled Event"), or exactly the heartbeat check's
constant input (ORG-1/MON-13 per member account: org_heartbeat_check.py); anything else is logged and
acknowledged. The org run's ID is the event's id, so a duplicated or retried delivery of the same schedule
is the same run:
1. DescribeOrganization (the organization must be the configured one: a security account moved to another
   organization audits nothing and fails loudly) and ListAccounts, every page, ACTIVE accounts only;
2. the management account is not audited: service-managed StackSets never deploy to it, so it has no
   member audit role; the report names it as not audited, with that reason;
3. the head item ("listing"), one "pending" item per account (conditional puts: a retry skips what exists),
   then the head "scheduled" with the total: from now on every account counts until audited or failed;
4. one message {"orgRunId", "account"} per account still pending to the audit queue (the event source
   mapping's MaximumConcurrency bounds the workers), and the first deadline check to the consolidation
   queue (delayed; the consolidator re-arms it until the run is complete or its deadline passed).
A retried scheduler (it failed half-way) redoes what is missing; a message sent twice is harmless (the
worker's claims make every account's audit happen once).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

from lambda_support import Deadline, LambdaContext, aws_client, call_within, log, own_account_id
from org_audit_support import OrgSettings, compact_json, load_org_settings
from org_heartbeat_check import check_member_heartbeats, interval_minutes, is_heartbeat_check
from org_run_store import OrgRunStore
from structured_log import invocation, set_correlation_id

SEND_BATCH = 10  # SendMessageBatch's maximum
FIRST_CHECK_DELAY_SECONDS = 900  # SQS's maximum delay
RESERVE_MS = 3_000


class OrganizationMismatch(RuntimeError):
    """The account belongs to another organization than the configured one."""


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    with invocation(context, "org_audit_scheduler"):
        return _handle_event(event, context)


def _handle_event(event: Any, context: LambdaContext) -> dict[str, Any]:
    if is_heartbeat_check(event):
        set_correlation_id("heartbeat-check")
        deadline = Deadline(context, RESERVE_MS)
        return check_member_heartbeats(
            load_org_settings(), interval_minutes(os.environ), own_account_id(context, deadline), deadline
        )
    if not isinstance(event, dict) or event.get("detail-type") != "Scheduled Event":
        log(
            "WARNING",
            "unexpected event acknowledged without scheduling",
            keys=sorted(event)[:20] if isinstance(event, dict) else type(event).__name__,
        )
        return {"status": "ignored"}
    org_run_id = re.sub(r"[^A-Za-z0-9-]", "-", str(event.get("id") or ""))[:100] or uuid.uuid4().hex
    set_correlation_id(org_run_id)
    return schedule(org_run_id, load_org_settings(), Deadline(context, RESERVE_MS))


def schedule(org_run_id: str, settings: OrgSettings, deadline: Deadline) -> dict[str, Any]:
    """Create (or complete) the org run and send its account messages."""
    organizations = aws_client("organizations")
    store = OrgRunStore(aws_client("dynamodb"), settings.state_table_name, deadline)
    organization = call_within(deadline, organizations.describe_organization)["Organization"]
    if organization.get("Id") != settings.organization_id:
        raise OrganizationMismatch(
            f"this account is in organization {organization.get('Id')!r}, the stack was configured for "
            f"{settings.organization_id!r}: nothing audited"
        )
    management = str(organization.get("MasterAccountId", ""))
    deadline_at = int(time.time()) + settings.deadline_minutes * 60
    if store.create_head(org_run_id, deadline_at, management):
        log("INFO", "org audit run started", orgRunId=org_run_id, deadlineAt=deadline_at)
    head = store.head(org_run_id)
    if head is None or head.summary != "none":
        log("INFO", "schedule delivered again: the org run is already summarised", orgRunId=org_run_id)
        return {"orgRunId": org_run_id, "status": "duplicate"}
    if head.status == "listing":
        accounts = _active_accounts(organizations, deadline, exclude=management)
        for account_id, name in accounts:
            store.add_account(org_run_id, account_id, name)
        store.mark_scheduled(org_run_id, len(accounts))
    else:
        # A retry (or a second delivery) of a scheduled run: send again what no worker has started.
        accounts = [
            (item.account_id, item.name) for item in store.accounts(org_run_id) if item.status == "pending"
        ]
        log(
            "INFO",
            "schedule delivered again: pending accounts sent again",
            orgRunId=org_run_id,
            pending=len(accounts),
        )
    sqs = aws_client("sqs")
    for start in range(0, len(accounts), SEND_BATCH):
        batch = accounts[start : start + SEND_BATCH]
        entries = [
            {"Id": account_id, "MessageBody": compact_json({"orgRunId": org_run_id, "account": account_id})}
            for account_id, _ in batch
        ]
        answer = call_within(
            deadline, sqs.send_message_batch, QueueUrl=settings.audit_queue_url, Entries=entries
        )
        if answer.get("Failed"):
            # Raise: the schedule is retried and the retry sends every pending account again.
            raise RuntimeError(f"{len(answer['Failed'])} account message(s) not sent: {answer['Failed'][:3]}")
    call_within(
        deadline,
        sqs.send_message,
        QueueUrl=settings.consolidation_queue_url,
        MessageBody=compact_json({"orgRunId": org_run_id, "check": 0}),
        DelaySeconds=min(FIRST_CHECK_DELAY_SECONDS, settings.deadline_minutes * 60),
    )
    log(
        "INFO",
        "org audit fanned out",
        orgRunId=org_run_id,
        accounts=len(accounts),
        managementAccount=management,
    )
    return {"orgRunId": org_run_id, "status": "scheduled", "accounts": len(accounts)}


def _active_accounts(organizations: Any, deadline: Deadline, exclude: str) -> list[tuple[str, str]]:
    """(ID, name) of every ACTIVE account of the organization but `exclude`, every page of ListAccounts."""
    found: list[tuple[str, str]] = []
    arguments: dict[str, Any] = {}
    while True:
        page = call_within(deadline, organizations.list_accounts, **arguments)
        for account in page.get("Accounts", []):
            if account.get("Status") == "ACTIVE" and account.get("Id") != exclude:
                found.append((str(account["Id"]), str(account.get("Name", ""))))
        token = page.get("NextToken")
        if not token:
            return sorted(set(found))
        arguments["NextToken"] = token
