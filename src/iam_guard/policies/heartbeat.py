"""Statements of the MON-13 heartbeat: the canary's role may tag one policy with one key, and the daily
audit may read the trail's status."""

from __future__ import annotations

from typing import Any

from awacs.aws import Allow, Condition, ForAllValuesStringEquals, Null, Statement

from iam_guard.contract import CANARY_TAG_KEY
from iam_guard.policies.common import actions

TAG_KEYS = "aws:TagKeys"
TRAIL_READ_ACTIONS: tuple[str, ...] = (
    "cloudtrail:GetEventSelectors",
    "cloudtrail:GetTrail",
    "cloudtrail:GetTrailStatus",
)


def tag_canary_statement(
    policy_arn: Any, sid: str = "TagTheQuarantinePolicyWithTheCanaryKeyOnly"
) -> Statement:
    """iam:TagPolicy on the quarantine policy (or, per member account, the canary policy) only, with the
    canary's tag key only (the Null guard: a request without tag keys would pass ForAllValues)."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Action=actions("iam:TagPolicy"),
        Resource=[policy_arn],
        Condition=Condition(
            [ForAllValuesStringEquals({TAG_KEYS: [CANARY_TAG_KEY]}), Null({TAG_KEYS: "false"})]
        ),
    )


def read_trail_status_statements(trail_arn: Any) -> list[Statement]:
    """The daily audit checks that the trail logs (GetTrailStatus), everywhere, with management events
    (GetTrail, GetEventSelectors); DescribeTrails supports no resource-level permission."""
    return [
        Statement(
            Sid="ReadTheTrailsStatus",
            Effect=Allow,
            Action=actions(*TRAIL_READ_ACTIONS),
            Resource=[trail_arn],
        ),
        Statement(
            Sid="DescribeTrails",
            Effect=Allow,
            Action=actions("cloudtrail:DescribeTrails"),
            Resource=["*"],
        ),
    ]
