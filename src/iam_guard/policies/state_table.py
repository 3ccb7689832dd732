"""Statements of the state table (H-5): each function reaches only its own item family of the one table,
and the stack key is usable for the table only through DynamoDB.

Item families are told apart by the partition key's prefix (iam_guard.contract): dynamodb:LeadingKeys is
the set of partition-key values a request touches, and ForAllValues:StringLike with `run#*` admits a request
only when every one of them starts with `run#`. ForAllValues is also true when the key is absent (a Scan has
no leading key), so a Null guard demands its presence; no granted action lacks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import Allow, Bool, Condition, ForAllValuesStringLike, Null, Principal, Statement, StringEquals

from iam_guard import arns
from iam_guard.contract import EVENT_KEY_PREFIX, HEARTBEAT_KEY_PREFIX, RUN_KEY_PREFIX
from iam_guard.policies.common import actions
from iam_guard.policies.kms import CALLER_ACCOUNT, VIA_SERVICE, account_id, via_service

LEADING_KEYS = "dynamodb:LeadingKeys"

# The daily audit owns its runs: it creates, advances, reads back, lists (a run's steps) and deletes them.
AUDITOR_TABLE_ACTIONS: tuple[str, ...] = (
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# The policy-change handler only marks CloudTrail events as handled (a conditional put) and reads them.
ANALYZER_TABLE_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
# What DynamoDB does with the key on a caller's behalf (AWS's documented set for customer-managed keys,
# without CreateGrant, which only the table's creation needs).
TABLE_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)


def item_family_statement(
    sid: str, table_arn: Any, table_actions: Sequence[str], key_prefix: str
) -> Statement:
    """`table_actions` on the one table, only on items whose partition key starts with `key_prefix`."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Action=actions(*table_actions),
        Resource=[table_arn],
        Condition=Condition(
            [
                ForAllValuesStringLike({LEADING_KEYS: [f"{key_prefix}*"]}),
                Null({LEADING_KEYS: "false"}),
            ]
        ),
    )


def auditor_runs_statement(table_arn: Any) -> Statement:
    return item_family_statement(
        "UseOwnAuditRunsInStateTable", table_arn, AUDITOR_TABLE_ACTIONS, RUN_KEY_PREFIX
    )


def analyzer_events_statement(table_arn: Any) -> Statement:
    return item_family_statement(
        "MarkHandledEventsInStateTable", table_arn, ANALYZER_TABLE_ACTIONS, EVENT_KEY_PREFIX
    )


def heartbeat_arrivals_statement(table_arn: Any) -> Statement:
    """ORG-1/MON-13: the PolicyAnalyzer records a member's heartbeat (one conditional UpdateItem) in the
    org-audit state table, on heartbeat# items only."""
    return item_family_statement(
        "RecordMemberHeartbeatsInOrgStateTable", table_arn, ("dynamodb:UpdateItem",), HEARTBEAT_KEY_PREFIX
    )


def heartbeat_check_statement(table_arn: Any) -> Statement:
    """ORG-1/MON-13: the heartbeat check reads the members' heartbeat# items and keeps its own alert mark
    (heartbeat#alert: at most one alert per interval) in the same family."""
    return item_family_statement(
        "CheckMemberHeartbeatsInStateTable",
        table_arn,
        ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"),
        HEARTBEAT_KEY_PREFIX,
    )


def use_key_through_dynamodb_statement(key_arn: Any) -> Statement:
    """Identity side of the table's encryption: the stack key, only through DynamoDB in this region."""
    return Statement(
        Sid="UseStackKeyOnlyThroughDynamoDb",
        Effect=Allow,
        Action=actions(*TABLE_KEY_ACTIONS),
        Resource=[key_arn],
        Condition=Condition(StringEquals({VIA_SERVICE: via_service("dynamodb")})),
    )


def table_creation_key_statements() -> list[Statement]:
    """Key-policy side of creating (and restoring) the encrypted table: the deploying principal, through
    CloudFormation and DynamoDB, describes the key and lets DynamoDB hold a grant for the table's own use
    (kms:GrantIsForAWSResource). DynamoDB's background work (TTL deletes, backups) uses that grant."""
    via_dynamodb = {VIA_SERVICE: via_service("dynamodb"), CALLER_ACCOUNT: account_id()}
    return [
        Statement(
            Sid="AllowDescribeKeyThroughDynamoDb",
            Effect=Allow,
            Principal=Principal("AWS", [arns.account_root()]),
            Action=actions("kms:DescribeKey"),
            Resource=["*"],
            Condition=Condition(StringEquals(via_dynamodb)),
        ),
        Statement(
            Sid="AllowDynamoDbGrantForTheStateTable",
            Effect=Allow,
            Principal=Principal("AWS", [arns.account_root()]),
            Action=actions("kms:CreateGrant"),
            Resource=["*"],
            Condition=Condition([StringEquals(via_dynamodb), Bool({"kms:GrantIsForAWSResource": "true"})]),
        ),
    ]
