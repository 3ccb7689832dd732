"""ANA-1: iam_guard.analysis.evaluate answers "does this identity policy allow action A on resource R" with
the analyzer's own matching (the dev-only differential test holds it against iam-simulate); and what the
differential test found: a short ARN ending in '*' covers every resource."""

from __future__ import annotations

from typing import Any

import pytest

from iam_guard.analysis import Severity, analyze_policy
from iam_guard.analysis.evaluate import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    allows,
    decision,
    resource_matches,
)
from iam_guard.analysis.grants import is_star_resource

OBJECT = "arn:aws:s3:::reports/daily/a.csv"
ROLE = "arn:aws:iam::111122223333:role/ci"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_ana_1_evaluate_allow_deny_and_implicit_deny() -> None:
    allow = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::reports/*"}
    assert decision(policy(allow), "S3:GETOBJECT", OBJECT) == ALLOWED  # actions ignore case
    assert decision(policy(allow), "s3:PutObject", OBJECT) == IMPLICIT_DENY
    assert decision(policy(allow), "s3:GetObject", "arn:aws:s3:::Reports/daily/a.csv") == IMPLICIT_DENY
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/daily/*"}
    assert decision(policy(allow, deny), "s3:GetObject", OBJECT) == EXPLICIT_DENY
    assert decision(policy(allow, deny), "s3:GetObject", "arn:aws:s3:::reports/weekly/a") == ALLOWED
    with pytest.raises(ValueError, match="not in the action index"):
        decision(policy(allow), "s3:NoSuchAction", OBJECT)


def test_ana_1_evaluate_not_action_and_not_resource() -> None:
    everything_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert allows(policy(everything_but_iam), "s3:GetObject", OBJECT)
    assert not allows(policy(everything_but_iam), "iam:PassRole", ROLE)
    outside = {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:iam::*:role/*"}
    assert allows(policy(outside), "s3:GetObject", OBJECT)
    assert not allows(policy(outside), "iam:PassRole", ROLE)


def test_ana_1_evaluate_conditions_taken_at_their_worst() -> None:
    condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    allow = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": condition}
    deny = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*", "Condition": condition}
    assert decision(policy(allow), "iam:PassRole", ROLE) == ALLOWED  # a conditional Allow may apply
    assert decision(policy(allow, deny), "iam:PassRole", ROLE) == ALLOWED  # a conditional Deny may not


def test_ana_1_evaluate_resource_fields() -> None:
    assert resource_matches("arn:aws:iam::*:role/c?", ROLE)
    assert not resource_matches("arn:aws:iam::*:role/C?", ROLE)  # the resource field keeps its case
    assert resource_matches("arn:AWS:IAM::111122223333:role/ci", ROLE)  # identifiers ignore case
    assert resource_matches("arn:aws:lambda:*:*:function:*", "arn:aws:lambda:us-east-1:1:function:f:live")
    assert resource_matches("arn:aws:iam::*", ROLE) and resource_matches("arn:aws:*", ROLE)
    assert not resource_matches("arn:aws:s3:*", ROLE) and not resource_matches("arn:aws:iam::*", "bad")


def test_ana_1_short_arn_ending_in_star_is_every_resource() -> None:
    """Found by the differential test: IAM (and iam-simulate) expand a trailing '*' across the missing
    fields, so 'arn:aws:iam::*' is every IAM resource; it used to count as a narrowed resource."""
    assert is_star_resource("arn:aws:iam::*") and is_star_resource("arn:aws:*")
    assert not is_star_resource("arn:aws:iam::123456789012:role/ci")
    assert not is_star_resource("arn:aws:s3:::bucket*")  # six fields: one bucket prefix
    for resource in ("arn:aws:iam::*", "*"):
        found = analyze_policy(policy({"Effect": "Allow", "Action": "iam:*", "Resource": resource}))
        assert max(item.severity for item in found) is Severity.HIGH, resource
    narrowed = analyze_policy(
        policy({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::123456789012:role/x"})
    )
    assert max(item.severity for item in narrowed) is Severity.MEDIUM
