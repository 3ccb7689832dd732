"""ORG-2: the durable state of one organization audit run in the org-security stack's state table.

One partition per org run (pk "orgrun#<id>"):
- the head item (sk "run"): status "listing" (the scheduler is writing the account items) then
  "scheduled"; accountTotal and accountsLeft (accounts not yet audited or failed); deadlineAt (epoch s);
  checkSeq (the deadline check's sequence, so a duplicated check message cannot start a second chain);
  summary "none" | "sending" (summaryOwner/summaryUntil) | "sent" | "recorded", as the daily audit's run;
- one item per account (sk "account#<12 digits>"): status "pending" -> "running" -> "audited" | "failed",
  with the account's name, attempts, the last error, the failure reason, and the finding counts.
One item per account rather than one map in the head: 1,000 accounts with their reasons would be a
hundreds-of-kB item, and every worker's update would rewrite (and pay for) all of it.

Every account reaches "audited" or "failed" exactly once: a transaction moves the account item out of
pending/running (conditional) and decrements the head's accountsLeft count in the same write, so a duplicate
or late worker, the deadline and the retries can never count an account twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from conditional_table import ConditionalTable, conditional_failed, expires_at
from iam_guard.contract import (
    ORG_RUN_KEY_PREFIX,
    STATE_TABLE_PARTITION_KEY,
    STATE_TABLE_SORT_KEY,
    STATE_TABLE_TTL_ATTRIBUTE,
)
from lambda_support import call_within

PK, SK, TTL = STATE_TABLE_PARTITION_KEY, STATE_TABLE_SORT_KEY, STATE_TABLE_TTL_ATTRIBUTE
HEAD = "run"
ACCOUNT_PREFIX = "account#"
OPEN_STATUSES = ("pending", "running")
MAX_REASON_CHARS = 500


@dataclass
class AccountItem:
    """One account of an org run, as read from the table."""

    account_id: str
    name: str
    status: str
    attempts: int = 0
    reason: str = ""
    last_error: str = ""
    findings: dict[str, int] = field(default_factory=dict)
    records: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "name": self.name,
            "status": self.status,
            "attempts": self.attempts,
            "reason": self.reason,
            "findings": dict(self.findings),
            "records": self.records,
        }


@dataclass
class OrgRunHead:
    """The head item of an org run."""

    org_run_id: str
    status: str
    total: int
    remaining: int
    deadline_at: int
    created_at: int
    check_seq: int
    summary: str
    management_account: str


def head_key(org_run_id: str) -> dict[str, Any]:
    return {PK: {"S": f"{ORG_RUN_KEY_PREFIX}{org_run_id}"}, SK: {"S": HEAD}}


def account_key(org_run_id: str, account_id: str) -> dict[str, Any]:
    return {PK: {"S": f"{ORG_RUN_KEY_PREFIX}{org_run_id}"}, SK: {"S": f"{ACCOUNT_PREFIX}{account_id}"}}


def _number(item: dict[str, Any], name: str, default: int = 0) -> int:
    return int(item[name]["N"]) if name in item else default


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


def account_from_item(item: dict[str, Any]) -> AccountItem:
    return AccountItem(
        account_id=_text(item, SK).removeprefix(ACCOUNT_PREFIX),
        name=_text(item, "accountName"),
        status=_text(item, "status") or "pending",
        attempts=_number(item, "attempts"),
        reason=_text(item, "failureReason"),
        last_error=_text(item, "lastError"),
        findings=json.loads(_text(item, "findingCounts") or "{}"),
        records=_number(item, "recordCount"),
    )


class OrgRunStore(ConditionalTable):
    """Reads and conditional writes of org run items; every call bounded by `deadline` (call_within)."""

    def begin_summary(self, org_run_id: str, owner: str, lease_until_ms: int) -> bool:
        """Mark the summary "sending" for `owner`, only once every account is done."""
        return self._begin_summary(
            head_key(org_run_id),
            owner,
            lease_until_ms,
            "#status = :scheduled AND accountsLeft = :zero",
            {":scheduled": {"S": "scheduled"}, ":zero": {"N": "0"}},
        )

    def end_summary(self, org_run_id: str, owner: str, outcome: str) -> bool:
        return self._end_summary(head_key(org_run_id), owner, outcome)

    def abort_summary(self, org_run_id: str, owner: str) -> bool:
        return self._abort_summary(head_key(org_run_id), owner)

    def create_head(self, org_run_id: str, deadline_at: int, management_account: str) -> bool:
        """The head item in status "listing"; False when the run exists (a duplicated schedule)."""
        item = {
            **head_key(org_run_id),
            "status": {"S": "listing"},
            "accountTotal": {"N": "0"},
            "accountsLeft": {"N": "0"},
            "deadlineAt": {"N": str(deadline_at)},
            "createdAt": {"N": str(int(time.time()))},
            "checkSeq": {"N": "0"},
            "summary": {"S": "none"},
            "managementAccount": {"S": management_account},
            TTL: expires_at(),
        }
        return self._conditional(
            "put_item",
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PK},
        )

    def add_account(self, org_run_id: str, account_id: str, name: str) -> bool:
        """An account item in status "pending"; False when it is there already (a retried scheduler)."""
        return self._conditional(
            "put_item",
            Item={
                **account_key(org_run_id, account_id),
                "status": {"S": "pending"},
                "accountName": {"S": name[:200]},
                "attempts": {"N": "0"},
                TTL: expires_at(),
            },
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PK},
        )

    def mark_scheduled(self, org_run_id: str, total: int) -> bool:
        """Every account item is written: the run counts `total` accounts, all remaining."""
        return self._conditional(
            "update_item",
            Key=head_key(org_run_id),
            UpdateExpression="SET #status = :scheduled, accountTotal = :total, accountsLeft = :total",
            ConditionExpression="#status = :listing",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":scheduled": {"S": "scheduled"},
                ":listing": {"S": "listing"},
                ":total": {"N": str(total)},
            },
        )

    # -- reads -----------------------------------------------------------------------------------------------

    def head(self, org_run_id: str) -> OrgRunHead | None:
        item = self._call("get_item", Key=head_key(org_run_id), ConsistentRead=True).get("Item")
        if not item:
            return None
        return OrgRunHead(
            org_run_id=org_run_id,
            status=_text(item, "status"),
            total=_number(item, "accountTotal"),
            remaining=_number(item, "accountsLeft"),
            deadline_at=_number(item, "deadlineAt"),
            created_at=_number(item, "createdAt"),
            check_seq=_number(item, "checkSeq"),
            summary=_text(item, "summary") or "none",
            management_account=_text(item, "managementAccount"),
        )

    def account(self, org_run_id: str, account_id: str) -> AccountItem | None:
        item = self._call("get_item", Key=account_key(org_run_id, account_id), ConsistentRead=True).get(
            "Item"
        )
        return account_from_item(item) if item else None

    def accounts(self, org_run_id: str) -> list[AccountItem]:
        """Every account item of the run (a strongly consistent query of its partition)."""
        found: list[AccountItem] = []
        arguments: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :account)",
            "ExpressionAttributeNames": {"#pk": PK, "#sk": SK},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"{ORG_RUN_KEY_PREFIX}{org_run_id}"},
                ":account": {"S": ACCOUNT_PREFIX},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self._call("query", **arguments)
            found.extend(account_from_item(item) for item in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- the workers -----------------------------------------------------------------------------------------

    def start_account(self, org_run_id: str, account_id: str) -> bool:
        """pending -> running and one more attempt; False when the account is not open (done, or unknown)."""
        return self._conditional(
            "update_item",
            Key=account_key(org_run_id, account_id),
            UpdateExpression="SET #status = :running, startedAt = if_not_exists(startedAt, :now) "
            "ADD attempts :one",
            ConditionExpression="#status IN (:pending, :running)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":running": {"S": "running"},
                ":pending": {"S": "pending"},
                ":now": {"N": str(int(time.time()))},
                ":one": {"N": "1"},
            },
        )

    def note_stall(self, org_run_id: str, account_id: str, error: str) -> int:
        """One more invocation of an open account that made no progress (its IAM reads kept failing until
        its time was up), with the error; returns how many in a row (0 when the account is not open)."""
        try:
            answer = self._call(
                "update_item",
                Key=account_key(org_run_id, account_id),
                UpdateExpression="SET lastError = :error ADD stalls :one",
                ConditionExpression="#status IN (:pending, :running)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":error": {"S": error[:MAX_REASON_CHARS]},
                    ":one": {"N": "1"},
                    ":pending": {"S": "pending"},
                    ":running": {"S": "running"},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error_:
            if conditional_failed(error_):
                return 0
            raise
        return int(answer["Attributes"]["stalls"]["N"])

    def reset_stalls(self, org_run_id: str, account_id: str) -> bool:
        """The account's run moved on: its stalls start again from 0."""
        return self._conditional(
            "update_item",
            Key=account_key(org_run_id, account_id),
            UpdateExpression="REMOVE stalls",
            ConditionExpression="attribute_exists(stalls)",
        )

    def note_error(self, org_run_id: str, account_id: str, error: str) -> bool:
        """Keep the last error of an open account (the deadline reports it if no retry succeeds)."""
        return self._conditional(
            "update_item",
            Key=account_key(org_run_id, account_id),
            UpdateExpression="SET lastError = :error",
            ConditionExpression="#status IN (:pending, :running)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":error": {"S": error[:MAX_REASON_CHARS]},
                ":pending": {"S": "pending"},
                ":running": {"S": "running"},
            },
        )

    def finish_account(
        self,
        org_run_id: str,
        account_id: str,
        outcome: str,
        *,
        reason: str = "",
        findings: dict[str, int] | None = None,
        records: int = 0,
    ) -> bool:
        """Move an open account to `outcome` ("audited" or "failed") and count it off the run, in one
        transaction; False when the account was not open any more (someone else finished it)."""
        account_update = {
            "Update": {
                "TableName": self.table,
                "Key": account_key(org_run_id, account_id),
                "UpdateExpression": "SET #status = :outcome, failureReason = :reason, "
                "findingCounts = :findings, recordCount = :records, finishedAt = :now",
                "ConditionExpression": "#status IN (:pending, :running)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":outcome": {"S": outcome},
                    ":reason": {"S": reason[:MAX_REASON_CHARS]},
                    ":findings": {"S": json.dumps(findings or {}, sort_keys=True)},
                    ":records": {"N": str(records)},
                    ":now": {"N": str(int(time.time()))},
                    ":pending": {"S": "pending"},
                    ":running": {"S": "running"},
                },
            }
        }
        head_update = {
            "Update": {
                "TableName": self.table,
                "Key": head_key(org_run_id),
                "UpdateExpression": "SET accountsLeft = accountsLeft - :one",
                "ConditionExpression": "#status = :scheduled AND accountsLeft > :zero",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":zero": {"N": "0"},
                    ":scheduled": {"S": "scheduled"},
                },
            }
        }
        try:
            self.calls += 1
            call_within(
                self.deadline, self.dynamodb.transact_write_items, TransactItems=[account_update, head_update]
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    # -- the consolidator ------------------------------------------------------------------------------------

    def advance_check(self, org_run_id: str, seen_seq: int) -> bool:
        """Take the deadline check from `seen_seq` to the next; False for a duplicate of an old check."""
        return self._conditional(
            "update_item",
            Key=head_key(org_run_id),
            UpdateExpression="SET checkSeq = :next",
            ConditionExpression="checkSeq = :seen",
            ExpressionAttributeValues={":next": {"N": str(seen_seq + 1)}, ":seen": {"N": str(seen_seq)}},
        )
