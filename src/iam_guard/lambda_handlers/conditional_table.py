"""A DynamoDB state table written with conditions, every call bounded by the invocation's deadline
(call_within), and the summary mark each run's item carries: "none", then "sending" leased to one owner,
then "sent" (or "recorded"); only the owner that marked it sent emits what follows. The daily audit's runs
(run_store.py) and the organization's runs (org_run_store.py) share it.

Standard library and botocore only: shipped in the zips of both audits.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.contract import RUN_RETENTION_DAYS
from lambda_support import Deadline, call_within


def now_ms() -> int:
    return int(time.time() * 1000)


def expires_at() -> dict[str, str]:
    """The TTL attribute's value for a run's items."""
    return {"N": str(int(time.time()) + RUN_RETENTION_DAYS * 86_400)}


def conditional_failed(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


class ConditionalTable:
    """Reads and conditional writes of one table; `calls` counts them (the benchmarks print it)."""

    def __init__(self, dynamodb: Any, table: str, deadline: Deadline) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.deadline = deadline
        self.calls = 0

    def _call(self, operation: str, **arguments: Any) -> Any:
        self.calls += 1
        return call_within(
            self.deadline, getattr(self.dynamodb, operation), TableName=self.table, **arguments
        )

    def _conditional(self, operation: str, **arguments: Any) -> bool:
        """True when the write happened, False when its condition did not hold."""
        try:
            self._call(operation, **arguments)
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def _begin_summary(
        self, key: dict[str, Any], owner: str, lease_until_ms: int, ready: str, ready_values: dict[str, Any]
    ) -> bool:
        """Mark the summary "sending" for `owner` when the item is `ready` (a condition expression over
        #status and `ready_values`): only from "none" or a "sending" whose lease lapsed (or is owner's)."""
        return self._conditional(
            "update_item",
            Key=key,
            UpdateExpression="SET summary = :sending, summaryOwner = :me, summaryUntil = :until",
            ConditionExpression=f"{ready} AND (summary = :none OR (summary = :sending AND "
            "(summaryOwner = :me OR summaryUntil < :now)))",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                **ready_values,
                ":sending": {"S": "sending"},
                ":none": {"S": "none"},
                ":me": {"S": owner},
                ":until": {"N": str(lease_until_ms)},
                ":now": {"N": str(now_ms())},
            },
        )

    def _end_summary(self, key: dict[str, Any], owner: str, outcome: str) -> bool:
        """Mark the summary `outcome` ("sent" or "recorded"); True only for the owner of "sending"."""
        return self._conditional(
            "update_item",
            Key=key,
            UpdateExpression="SET summary = :outcome REMOVE summaryUntil",
            # summary = :outcome too: a retry after a lost answer is still this owner's success
            ConditionExpression="summaryOwner = :me AND (summary = :sending OR summary = :outcome)",
            ExpressionAttributeValues={
                ":outcome": {"S": outcome},
                ":sending": {"S": "sending"},
                ":me": {"S": owner},
            },
        )

    def _abort_summary(self, key: dict[str, Any], owner: str) -> bool:
        """Give the summary back ("sending" to "none") after `owner` failed to send it."""
        return self._conditional(
            "update_item",
            Key=key,
            UpdateExpression="SET summary = :none REMOVE summaryOwner, summaryUntil",
            ConditionExpression="summary = :sending AND summaryOwner = :me",
            ExpressionAttributeValues={
                ":none": {"S": "none"},
                ":sending": {"S": "sending"},
                ":me": {"S": owner},
            },
        )
