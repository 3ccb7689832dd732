"""ORG-1: the org-member forward rules and the org-security tamper rules select the right CloudTrail events,
run through moto's EventBridge matcher (a probe rule per pattern on the moto server, one event at a time)."""

from __future__ import annotations

from typing import Any

import pytest

from monitoring.event_matching import MotoMatcher
from template_helpers import props, template

pytestmark = pytest.mark.integration

MEMBER_ACCOUNT = "123456789012"


def cloudtrail_event(source: str, event_name: str, request: dict[str, Any]) -> dict[str, Any]:
    service = source.removeprefix("aws.")
    return {
        "source": source,
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventSource": f"{service}.amazonaws.com",
            "eventName": event_name,
            "recipientAccountId": MEMBER_ACCOUNT,
            "requestParameters": request,
            "sourceIPAddress": "203.0.113.17",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::{MEMBER_ACCOUNT}:assumed-role/Dev/bob",
            },
        },
    }


def member_names() -> tuple[str, str, str]:
    member = template("org", "org-member")
    return (
        props(member, "MemberAuditRole")["RoleName"],
        props(member, "MemberRemediationRole")["RoleName"],
        props(member, "MemberQuarantinePolicy")["ManagedPolicyName"],
    )


@pytest.fixture
def matcher(aws: str) -> MotoMatcher:
    return MotoMatcher()


def test_org_1_member_tamper_rule_matches_calls_on_member_roles_only(matcher: MotoMatcher) -> None:
    audit, remediation, quarantine = member_names()
    pattern = props(template("org", "org-member"), "MemberTamperForwardRule")["EventPattern"]
    quarantine_arn = f"arn:aws:iam::{MEMBER_ACCOUNT}:policy/{quarantine}"
    tamper = [
        cloudtrail_event("aws.iam", "DeleteRole", {"roleName": audit}),
        cloudtrail_event("aws.iam", "UpdateAssumeRolePolicy", {"roleName": audit, "policyDocument": "{}"}),
        cloudtrail_event("aws.iam", "DetachRolePolicy", {"roleName": remediation, "policyArn": "arn:x"}),
        cloudtrail_event(
            "aws.iam", "CreatePolicyVersion", {"policyArn": quarantine_arn, "setAsDefault": True}
        ),
    ]
    unrelated = [
        cloudtrail_event("aws.iam", "DeleteRole", {"roleName": "AppRole"}),
        cloudtrail_event("aws.iam", "GetRole", {"roleName": audit}),
        cloudtrail_event(
            "aws.iam", "CreatePolicyVersion", {"policyArn": f"arn:aws:iam::{MEMBER_ACCOUNT}:policy/App"}
        ),
        cloudtrail_event("aws.cloudtrail", "StopLogging", {"name": "org-trail"}),
    ]
    assert matcher.matches(pattern, tamper) == [True] * len(tamper)
    assert matcher.matches(pattern, unrelated) == [False] * len(unrelated)


def test_org_1_trail_tamper_rule_matches_stopped_or_deleted_trails(matcher: MotoMatcher) -> None:
    pattern = props(template("org", "org-member"), "TrailTamperForwardRule")["EventPattern"]
    tamper = [
        cloudtrail_event("aws.cloudtrail", name, {"name": "org-trail"})
        for name in ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors")
    ]
    unrelated = [
        cloudtrail_event("aws.cloudtrail", "StartLogging", {"name": "org-trail"}),
        cloudtrail_event("aws.cloudtrail", "CreateTrail", {"name": "org-trail"}),
        cloudtrail_event("aws.iam", "DeleteRole", {"roleName": "AppRole"}),
    ]
    assert matcher.matches(pattern, tamper) == [True] * len(tamper)
    assert matcher.matches(pattern, unrelated) == [False] * len(unrelated)


def test_org_1_central_iam_rule_takes_member_policy_changes_for_the_analyzer(matcher: MotoMatcher) -> None:
    pattern = props(template("org", "org-security"), "CentralIamEventsRule")["EventPattern"]
    changes = [
        cloudtrail_event("aws.iam", "AttachRolePolicy", {"roleName": "AppRole", "policyArn": "arn:x"}),
        cloudtrail_event("aws.iam", "PutUserPolicy", {"userName": "bob", "policyDocument": "{}"}),
    ]
    reads = [cloudtrail_event("aws.iam", "ListRoles", {}), cloudtrail_event("aws.iam", "GetPolicy", {})]
    assert matcher.matches(pattern, changes) == [True, True]
    assert matcher.matches(pattern, reads) == [False, False]


def test_org_1_member_canary_rules_match_the_canary_tag_policy_only(matcher: MotoMatcher) -> None:
    """MON-13 per member account: the member's forward rule and the central rule select the TagPolicy of
    the canary policy; the tamper rule does not (a heartbeat is not tampering)."""
    member = template("org", "org-member")
    canary = props(member, "MemberCanaryPolicy")["ManagedPolicyName"]
    _, _, quarantine = member_names()
    canary_arn = f"arn:aws:iam::{MEMBER_ACCOUNT}:policy/{canary}"
    tags = [{"key": "iam-guard:canary", "value": "2026-12-02T03:00:00Z"}]
    beat = [cloudtrail_event("aws.iam", "TagPolicy", {"policyArn": canary_arn, "tags": tags})]
    other = [
        cloudtrail_event(
            "aws.iam", "UntagPolicy", {"policyArn": canary_arn, "tagKeys": ["iam-guard:canary"]}
        ),
        cloudtrail_event(
            "aws.iam", "TagPolicy", {"policyArn": f"arn:aws:iam::{MEMBER_ACCOUNT}:policy/App", "tags": tags}
        ),
        cloudtrail_event(
            "aws.iam",
            "TagPolicy",
            {"policyArn": f"arn:aws:iam::{MEMBER_ACCOUNT}:policy/{quarantine}", "tags": tags},
        ),
    ]
    for pattern in (
        props(member, "MemberCanaryForwardRule")["EventPattern"],
        props(template("org", "org-security"), "CentralCanaryRule")["EventPattern"],
    ):
        assert matcher.matches(pattern, beat) == [True]
        assert matcher.matches(pattern, other) == [False] * len(other)
    tamper = props(member, "MemberTamperForwardRule")["EventPattern"]
    assert matcher.matches(tamper, beat) == [False]
