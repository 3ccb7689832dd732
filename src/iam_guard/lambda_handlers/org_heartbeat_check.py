"""ORG-1 / MON-13 per member account: the heartbeat check, the org audit scheduler's second event kind.

Event in: exactly contract.HEARTBEAT_CHECK_EVENT ({"iamGuardCheck": "member-heartbeats"}), the constant
input of the org-security stack's check schedule (every two canary intervals). The check
1. DescribeOrganization (the configured organization, as the fan-out checks) and ListAccounts, every page:
   the ACTIVE accounts but the management account (service-managed StackSets never deploy there), the
   security account itself (its heartbeat is its monitoring stack's own canary and alarm), and accounts
   that joined less than two intervals ago (JoinedTimestamp: their first canary may not have come yet);
2. BatchGetItem of their heartbeat#<account> items in the org-audit state table (the PolicyAnalyzer
   writes them, member_heartbeats.py), unprocessed keys asked again within the deadline;
3. blind = no item, or a lastArrival older than two intervals; emits MemberAccountsBlind (their count,
   zero included: the alarm treats a missing value as breaching, so a check that stops is blind too);
4. when some are blind, ONE alert to the organization alert topic naming them (the first MAX_NAMED, then
   how many more), at most once per interval: a conditional mark (heartbeat#alert) is taken before
   publishing and given back if publishing fails, so a duplicate delivery or a retry sends nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from alerts import clean_text, publish_alert
from conditional_table import ConditionalTable
from emf import COUNT, emit_metrics
from iam_guard.analysis import Severity
from iam_guard.contract import (
    ENV_CANARY_INTERVAL_MINUTES,
    HEARTBEAT_CHECK_EVENT,
    HEARTBEAT_KEY_PREFIX,
    MEMBER_ACCOUNTS_BLIND_METRIC,
    STATE_TABLE_PARTITION_KEY,
    STATE_TABLE_SORT_KEY,
)
from lambda_support import Deadline, SettingsError, aws_client, call_within, log
from member_heartbeats import ACCOUNT_ID, heartbeat_key
from org_audit_support import OrgSettings

BATCH_GET_MAX = 100  # BatchGetItem's maximum keys per request
MAX_NAMED = 50
ALERT_MARK_KEY = {
    STATE_TABLE_PARTITION_KEY: {"S": f"{HEARTBEAT_KEY_PREFIX}alert"},
    STATE_TABLE_SORT_KEY: {"S": "alert"},
}


class HeartbeatOrganizationMismatch(RuntimeError):
    """The security account belongs to another organization than the configured one."""


def is_heartbeat_check(event: Any) -> bool:
    """Exactly the check schedule's constant input (a strict match: any other shape is not a check)."""
    return isinstance(event, dict) and event == HEARTBEAT_CHECK_EVENT


def interval_minutes(environ: Mapping[str, str]) -> int:
    text = environ.get(ENV_CANARY_INTERVAL_MINUTES, "").strip()
    if not text.isdigit() or not 5 <= int(text) <= 1440:
        raise SettingsError(f"{ENV_CANARY_INTERVAL_MINUTES}: {text[:20]!r} is not 5..1440")
    return int(text)


@dataclass(frozen=True)
class Member:
    account_id: str
    name: str


def check_member_heartbeats(
    settings: OrgSettings, interval: int, own_account: str, deadline: Deadline, now: float | None = None
) -> dict[str, Any]:
    """The check (see the module docstring); `now` is epoch seconds (the clock, unless a caller says)."""
    if not settings.alert_topic_arn:
        raise SettingsError("environment variable ALERT_TOPIC_ARN is not set (the check alerts there)")
    at = time.time() if now is None else now
    silence = 2 * interval * 60
    organizations = aws_client("organizations")
    organization = call_within(deadline, organizations.describe_organization)["Organization"]
    if organization.get("Id") != settings.organization_id:
        raise HeartbeatOrganizationMismatch(
            f"this account is in organization {organization.get('Id')!r}, the stack was configured for "
            f"{settings.organization_id!r}: no heartbeat checked"
        )
    excluded = {str(organization.get("MasterAccountId", "")), own_account}
    members = _expected_members(organizations, deadline, excluded, joined_before=at - silence)
    dynamodb = aws_client("dynamodb")
    arrivals = _last_arrivals(dynamodb, settings.state_table_name, [m.account_id for m in members], deadline)
    blind = [m for m in members if arrivals.get(m.account_id, 0) < at - silence]
    emit_metrics(
        settings.metrics_namespace,
        {"Environment": settings.environment},
        {MEMBER_ACCOUNTS_BLIND_METRIC: (float(len(blind)), COUNT)},
    )
    alerted = False
    mark = AlertMark(dynamodb, settings.state_table_name, deadline)
    if blind and mark.take(at, interval * 60):
        try:
            publish_alert(
                aws_client("sns"),
                settings.alert_topic_arn,
                f"iam-guard {settings.environment} HIGH: {len(blind)} member account(s) blind",
                _message(settings.environment, blind, arrivals, interval),
                Severity.HIGH.label,
                deadline,
            )
        except Exception:
            mark.release(at)
            raise
        alerted = True
    log(
        "INFO",
        "member heartbeats checked",
        expected=len(members),
        blind=len(blind),
        alerted=alerted,
    )
    blind_ids = [m.account_id for m in blind]
    return {"status": "checked", "expected": len(members), "blind": blind_ids, "alerted": alerted}


def _expected_members(
    organizations: Any, deadline: Deadline, excluded: set[str], joined_before: float
) -> list[Member]:
    found: dict[str, Member] = {}
    arguments: dict[str, Any] = {}
    while True:
        page = call_within(deadline, organizations.list_accounts, **arguments)
        for account in page.get("Accounts", []):
            account_id = str(account.get("Id", ""))
            if account.get("Status") != "ACTIVE" or account_id in excluded:
                continue
            if not ACCOUNT_ID.fullmatch(account_id):
                continue
            joined = account.get("JoinedTimestamp")
            if isinstance(joined, datetime) and joined.timestamp() > joined_before:
                continue  # joined less than two intervals ago: its first canary may not have come yet
            found[account_id] = Member(account_id, str(account.get("Name", "")))
        token = page.get("NextToken")
        if not token:
            return [found[key] for key in sorted(found)]
        arguments["NextToken"] = token


def _last_arrivals(dynamodb: Any, table: str, accounts: list[str], deadline: Deadline) -> dict[str, int]:
    """account -> lastArrival (epoch seconds) of every account that has a heartbeat item."""
    arrivals: dict[str, int] = {}
    for start in range(0, len(accounts), BATCH_GET_MAX):
        keys = [heartbeat_key(account) for account in accounts[start : start + BATCH_GET_MAX]]
        request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            answer = call_within(deadline, dynamodb.batch_get_item, RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                key = str(item.get(STATE_TABLE_PARTITION_KEY, {}).get("S", ""))
                account = key.removeprefix(HEARTBEAT_KEY_PREFIX)
                text = str(item.get("lastArrival", {}).get("N", ""))
                if ACCOUNT_ID.fullmatch(account) and text.isdigit():
                    arrivals[account] = int(text)
            request = answer.get("UnprocessedKeys") or {}
            if request:
                deadline.require(1_000, "heartbeat BatchGetItem of unprocessed keys")
                time.sleep(0.1)
    return arrivals


class AlertMark(ConditionalTable):
    """The state table's alert mark: at most one blind-accounts alert per interval, however many checks
    run (a retried or overlapping invocation finds the mark taken)."""

    def take(self, at: float, interval_seconds: int) -> bool:
        """True when no alert went out in the last interval (and this one is now marked)."""
        taken = self._conditional(
            "update_item",
            Key=ALERT_MARK_KEY,
            UpdateExpression="SET lastAlertAt = :at",
            ConditionExpression="attribute_not_exists(lastAlertAt) OR lastAlertAt <= :since",
            ExpressionAttributeValues={
                ":at": {"N": str(int(at))},
                ":since": {"N": str(int(at) - interval_seconds)},
            },
        )
        if not taken:
            log("INFO", "blind accounts already alerted within the interval: no second alert")
        return taken

    def release(self, at: float) -> None:
        """Publishing failed: give the mark back (only if it is still ours), so the retry alerts."""
        try:
            released = self._conditional(
                "update_item",
                Key=ALERT_MARK_KEY,
                UpdateExpression="REMOVE lastAlertAt",
                ConditionExpression="lastAlertAt = :at",
                ExpressionAttributeValues={":at": {"N": str(int(at))}},
            )
        except ClientError as error:
            log("WARNING", "alert mark not released", error=error.response.get("Error", {}).get("Code"))
            return
        if not released:
            log("WARNING", "alert mark not released", error="ConditionalCheckFailedException")


def _message(environment: str, blind: list[Member], arrivals: dict[str, int], interval: int) -> str:
    lines = [
        f"iam-guard ORGANIZATION HEARTBEAT ALERT ({clean_text(environment, 40)})",
        "",
        f"blind: IAM changes in these {len(blind)} member account(s) are not reaching iam-guard (no "
        f"heartbeat in {2 * interval} minutes):",
        "",
    ]
    for member in blind[:MAX_NAMED]:
        last = arrivals.get(member.account_id)
        seen = time.strftime("last heartbeat %Y-%m-%dT%H:%M:%SZ", time.gmtime(last)) if last else "never seen"
        lines.append(f"- {member.account_id} {clean_text(member.name, 60)!s}: {seen}")
    if len(blind) > MAX_NAMED:
        lines.append(f"... and {len(blind) - MAX_NAMED} more")
    lines += [
        "",
        "Check each account's org-member stack instance (canary schedule, forward rules), its trail, and the",
        "central bus rule; an account outside the StackSet's target OUs has no member stack at all.",
    ]
    return "\n".join(lines)
