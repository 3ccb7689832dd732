"""H-7: one CloudTrail event, one alert: the policy-change handler's marks in the state table.

EventBridge delivers an event at least once, and Lambda retries a failed asynchronous invocation (twice,
then the dead-letter queue). Each event therefore gets one item in the state table (contract: pk =
"event#<eventID>", sk = "event", deleted by TTL after EVENT_RETENTION_DAYS), written only with conditional
writes:

    claim    -> state "processing", owner = this invocation's request id, lease = the time it has left
    recorded -> the security-log records are written; the remediation outcome is kept with the mark
    alerted  -> the alert was published (or none was due)
    done     -> state "done"

An invocation proceeds when there is no item yet, or the item is not done and its lease is either expired
(the owner died or timed out) or its own (Lambda retries an invocation with the same request id). It then
skips the steps the item says are complete, so a failure after the records (an SNS publish throttled past
the deadline) is retried and still alerts once. A delivery of an event that is done is a duplicate: logged
and acknowledged. A delivery while another invocation holds a live lease raises EventInProgress, so it is
retried later (by then the event is done, or the lease has expired and the retry takes over).

What is not exactly once: a crash between a step and its mark repeats that step on retry (records may be
written twice; an alert is published twice only if the process dies between the SNS answer and the mark).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from alerts import encodable
from iam_guard.contract import (
    EVENT_KEY_PREFIX,
    EVENT_RETENTION_DAYS,
    STATE_TABLE_PARTITION_KEY,
    STATE_TABLE_SORT_KEY,
    STATE_TABLE_TTL_ATTRIBUTE,
)
from lambda_support import Deadline, call_within

EVENT_SORT_KEY = "event"
PROCESSING = "processing"
DONE = "done"
# The lease outlives the invocation that holds it by this margin (its clock and DynamoDB's may differ).
LEASE_MARGIN_SECONDS = 5
_CONDITION_FAILED = "ConditionalCheckFailedException"
_NAMES = {"#state": "state", "#owner": "owner", "#pk": STATE_TABLE_PARTITION_KEY}


class EventInProgress(RuntimeError):
    """Another invocation holds a live lease on this event: raised so this delivery is retried later."""


class LeaseLost(RuntimeError):
    """This invocation's lease expired and another invocation took the event over: stop here."""


@dataclass(frozen=True)
class Claim:
    """The event's mark as this invocation found it after claiming it."""

    duplicate: bool  # the event is done: acknowledge
    attempts: int = 0
    outcome: tuple[str, str] | None = None  # (action, detail) recorded by an earlier attempt
    alert: str | None = None  # "sent:<MessageId>" or "none" once the alert step is complete


def event_key(event_id: str) -> dict[str, Any]:
    """The state-table key of one CloudTrail event."""
    return {
        STATE_TABLE_PARTITION_KEY: {"S": f"{EVENT_KEY_PREFIX}{event_id}"},
        STATE_TABLE_SORT_KEY: {"S": EVENT_SORT_KEY},
    }


class EventMarks:
    """Conditional writes of one event's mark (see the module docstring)."""

    def __init__(self, dynamodb: Any, table: str, deadline: Deadline, owner: str, event_id: str) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._deadline = deadline
        self._owner = owner
        self._key = event_key(event_id)

    def claim(self, event_name: str) -> Claim:
        """Take the event (or take it over); Claim(duplicate=True) when it is done already."""
        now = int(time.time())
        lease_until = now + self._deadline.remaining_ms() // 1000 + LEASE_MARGIN_SECONDS
        try:
            reply = call_within(
                self._deadline,
                self._dynamodb.update_item,
                TableName=self._table,
                Key=self._key,
                UpdateExpression=(
                    "SET #state = :processing, #owner = :me, leaseUntil = :lease, eventName = :name, "
                    f"{STATE_TABLE_TTL_ATTRIBUTE} = if_not_exists({STATE_TABLE_TTL_ATTRIBUTE}, :expires), "
                    "attempts = if_not_exists(attempts, :zero) + :one"
                ),
                ConditionExpression=(
                    "attribute_not_exists(#pk) OR (#state <> :done AND (leaseUntil < :now OR #owner = :me))"
                ),
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":processing": {"S": PROCESSING},
                    ":done": {"S": DONE},
                    ":me": {"S": self._owner},
                    ":lease": {"N": str(lease_until)},
                    ":now": {"N": str(now)},
                    ":name": {"S": event_name},
                    ":expires": {"N": str(now + EVENT_RETENTION_DAYS * 86_400)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            return self._not_claimed()
        item = reply["Attributes"]
        outcome = None
        if "outcomeAction" in item:
            outcome = (item["outcomeAction"]["S"], item.get("outcomeDetail", {}).get("S", ""))
        return Claim(
            duplicate=False,
            attempts=int(item["attempts"]["N"]),
            outcome=outcome,
            alert=item.get("alert", {}).get("S"),
        )

    def _not_claimed(self) -> Claim:
        item = call_within(
            self._deadline, self._dynamodb.get_item, TableName=self._table, Key=self._key, ConsistentRead=True
        ).get("Item", {})
        if item.get("state", {}).get("S") == DONE:
            return Claim(duplicate=True, attempts=int(item.get("attempts", {}).get("N", "0")))
        raise EventInProgress(
            f"event is being processed by invocation {item.get('owner', {}).get('S', '?')} "
            f"(lease until {item.get('leaseUntil', {}).get('N', '?')}); raised so it is retried later"
        )

    def recorded(self, action: str, detail: str) -> None:
        """The records are written; keep the remediation outcome they state."""
        self._set(
            "SET outcomeAction = :action, outcomeDetail = :detail",
            # The detail may quote untrusted names: kept encodable (a lone surrogate cannot be sent).
            {":action": {"S": action}, ":detail": {"S": encodable(detail)}},
        )

    def alerted(self, alert: str) -> None:
        """The alert step is complete: "sent:<MessageId>" or "none"."""
        self._set("SET alert = :alert", {":alert": {"S": alert}})

    def done(self) -> None:
        """Every step is complete: later deliveries are duplicates."""
        self._set("SET #state = :done REMOVE leaseUntil", {":done": {"S": DONE}})

    def _set(self, expression: str, values: dict[str, Any]) -> None:
        try:
            call_within(
                self._deadline,
                self._dynamodb.update_item,
                TableName=self._table,
                Key=self._key,
                UpdateExpression=expression,
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={name: _NAMES[name] for name in _NAMES if name in expression}
                | {"#owner": "owner"},
                ExpressionAttributeValues={**values, ":me": {"S": self._owner}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == _CONDITION_FAILED:
                raise LeaseLost("another invocation took this event over after the lease expired") from error
            raise
