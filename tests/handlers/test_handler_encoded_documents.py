"""H-1: a policy document in a CloudTrail event is analyzed in every encoding IAM and CloudTrail produce
(`+` for spaces, encoded twice, encoded whitespace before the `{`): an admin grant is alerted as admin,
never as merely "malformed". The handler passes CloudTrail's text unchanged to the analyzer, which
decodes it (iam_guard.analysis.document)."""

from __future__ import annotations

import urllib.parse

import pytest
from handler_helpers import (
    FakeContext,
    Monitoring,
    load_event,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import policy_change

pytestmark = pytest.mark.integration

WILDCARD_ACTION = "IAMG001"
MALFORMED = "IAMG016"


@pytest.mark.parametrize(
    ("fixture", "principal"),
    [
        ("put_role_policy_plus_encoded", ("role", "app-runner")),
        ("put_user_policy_double_encoded", ("user", "deploy-bot")),
        ("put_group_policy_whitespace_prefixed", ("group", "developers")),
    ],
)
def test_h_1_an_admin_grant_in_any_cloudtrail_encoding_is_alerted_as_admin_never_as_malformed(
    monitoring: Monitoring, fixture: str, principal: tuple[str, str]
) -> None:
    event = load_event(fixture)
    document = event["detail"]["requestParameters"]["policyDocument"]
    assert not document.startswith("{")  # the form CloudTrail recorded, not JSON text

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "analyzed"
    findings = [record["finding"] for record in monitoring.records() if record["kind"] == "policy-finding"]
    codes = {finding["code"] for finding in findings}
    assert MALFORMED not in codes
    admin = [finding for finding in findings if finding["code"] == WILDCARD_ACTION]
    assert [(finding["severity"], finding["actions"], finding["resources"]) for finding in admin] == [
        ("critical", ["*"], ["*"])
    ]
    [alert] = monitoring.alerts()
    assert alert["Subject"].startswith("[iam-guard dev] CRITICAL: ")
    assert f"{principal[0]} {principal[1]}" in alert["Subject"]
    assert f"CRITICAL {WILDCARD_ACTION} in statement 0" in alert["Message"]


def test_h_1_the_encoded_fixtures_hold_the_admin_grant_they_claim() -> None:
    plus = load_event("put_role_policy_plus_encoded")["detail"]["requestParameters"]["policyDocument"]
    double = load_event("put_user_policy_double_encoded")["detail"]["requestParameters"]["policyDocument"]
    prefixed = load_event("put_group_policy_whitespace_prefixed")["detail"]["requestParameters"][
        "policyDocument"
    ]

    assert "+" in plus and '"Action": "*"' in urllib.parse.unquote_plus(plus)
    assert double.startswith("%257B") and '"Action":"*"' in urllib.parse.unquote(urllib.parse.unquote(double))
    assert prefixed.startswith("%0A%20%20%7B") and urllib.parse.unquote(prefixed).lstrip().startswith("{")
