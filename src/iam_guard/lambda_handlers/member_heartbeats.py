"""ORG-1 / MON-13 per member account, the analyzer's side: a member's heartbeat arrives and is recorded.

Each member's schedule tags its canary policy (MEMBER_CANARY_POLICY, from the environment the monitoring
stack sets only with an organization) with the canary key; the TagPolicy event reaches the PolicyAnalyzer
through the member's forward rule and the central bus. The event is attacker-written text (a member admin
can tag the policy, and shape nothing else through the forwarder, but the handler does not rely on that):
member_canary_account() accepts it only when
- it names exactly one account, of 12 digits, other than the function's own;
- requestParameters.policyArn is exactly arn:<partition>:iam::<that account>:policy/<canary policy name>
  (another account's ARN, a path, a different name: not a heartbeat);
- requestParameters.tags is a non-empty list whose every key is the canary key.
Anything else named TagPolicy is what it was before: logged and acknowledged.

An accepted heartbeat is one EMF metric (MemberCanaryReceived, dimension Environment only: a dimension per
account would be a custom metric per account) and one conditional UpdateItem in the org-audit state table
(ORG_HEARTBEAT_TABLE_NAME): pk "heartbeat#<account>", sk "heartbeat", lastArrival (the handler's clock, not
the event's: eventTime is the member's text), expiresAt; the condition keeps a late delivery from moving
lastArrival back. No record, no alert. The org audit scheduler's heartbeat check reads these items.

What this cannot tell: a member account's administrator can keep tagging the canary policy while the rest
of the account's IAM events are dropped by a narrowed rule of their own making; the forward rules are
StackSet-managed and their changes are member tampering, forwarded as such.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.contract import (
    CANARY_EVENT_NAME,
    CANARY_TAG_KEY,
    ENV_MEMBER_CANARY_POLICY,
    ENV_ORG_HEARTBEAT_TABLE_NAME,
    HEARTBEAT_KEY_PREFIX,
    HEARTBEAT_RETENTION_DAYS,
    HEARTBEAT_SORT_KEY,
    STATE_TABLE_PARTITION_KEY,
    STATE_TABLE_SORT_KEY,
    STATE_TABLE_TTL_ATTRIBUTE,
)
from lambda_support import Deadline, SettingsError, call_within

ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}", re.ASCII)
_PARTITION = re.compile(r"aws(-[a-z]+)*", re.ASCII)


class HeartbeatSettings:
    """The member canary policy's name and the heartbeat table (both set, or the feature is off)."""

    __slots__ = ("canary_policy_name", "table_name")

    def __init__(self, canary_policy_name: str, table_name: str) -> None:
        self.canary_policy_name = canary_policy_name
        self.table_name = table_name

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HeartbeatSettings | None:
        """None when the deployment has no member heartbeats; SettingsError on a malformed value."""
        env = os.environ if environ is None else environ
        name = env.get(ENV_MEMBER_CANARY_POLICY, "").strip()
        table = env.get(ENV_ORG_HEARTBEAT_TABLE_NAME, "").strip()
        if not name and not table:
            return None
        if not _POLICY_NAME.fullmatch(name):
            raise SettingsError(f"{ENV_MEMBER_CANARY_POLICY}: {name[:80]!r} is not an IAM policy name")
        if not _TABLE_NAME.fullmatch(table):
            raise SettingsError(f"{ENV_ORG_HEARTBEAT_TABLE_NAME}: {table[:80]!r} is not a table name")
        return cls(name, table)


def member_canary_account(
    event_name: str,
    accounts: frozenset[str],
    request: Mapping[str, Any],
    own_account: str,
    canary_policy_name: str,
    partition: str,
) -> str | None:
    """The member account whose heartbeat this event is, or None when it is not one (see the module
    docstring for every condition)."""
    if event_name != CANARY_EVENT_NAME or len(accounts) != 1:
        return None
    (account,) = accounts
    if not ACCOUNT_ID.fullmatch(account) or account == own_account:
        return None
    if not _PARTITION.fullmatch(partition):
        return None
    if request.get("policyArn") != f"arn:{partition}:iam::{account}:policy/{canary_policy_name}":
        return None
    tags = request.get("tags")
    if not isinstance(tags, list) or not tags:
        return None
    for tag in tags:
        if not isinstance(tag, dict) or (tag.get("key") or tag.get("Key")) != CANARY_TAG_KEY:
            return None
    return account


def heartbeat_key(account: str) -> dict[str, Any]:
    return {
        STATE_TABLE_PARTITION_KEY: {"S": f"{HEARTBEAT_KEY_PREFIX}{account}"},
        STATE_TABLE_SORT_KEY: {"S": HEARTBEAT_SORT_KEY},
    }


def record_arrival(
    dynamodb: Any, table_name: str, account: str, deadline: Deadline, now: float | None = None
) -> bool:
    """Record the heartbeat of `account` at `now` (epoch seconds); False when a later one is recorded."""
    arrival = int(time.time() if now is None else now)
    try:
        call_within(
            deadline,
            dynamodb.update_item,
            TableName=table_name,
            Key=heartbeat_key(account),
            UpdateExpression="SET lastArrival = :at, #ttl = :ttl",
            ConditionExpression="attribute_not_exists(lastArrival) OR lastArrival < :at",
            ExpressionAttributeNames={"#ttl": STATE_TABLE_TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":at": {"N": str(arrival)},
                ":ttl": {"N": str(arrival + HEARTBEAT_RETENTION_DAYS * 86400)},
            },
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
