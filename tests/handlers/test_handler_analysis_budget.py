"""H-6 in the handlers: a crafted action string cannot hang them or hide an admin grant beside it, and a
document the invocation has no time left to analyze is a loud HIGH finding (IAMG019), recorded and alerted,
never a retry loop that ends in the dead-letter queue unseen."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from audit_helpers import scheduled
from handler_helpers import (
    FakeContext,
    Monitoring,
    load_event,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import audit_run
import daily_audit
import lambda_support
import policy_change
import policy_documents

pytestmark = pytest.mark.integration

# The attack: `*` on `*` beside an action that made the old regex backtrack for minutes.
CRAFTED_ACTION = "ec2:" + "*?" * 24 + "*zz"
ADMIN_BESIDE_CRAFTED = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Innocent", "Effect": "Allow", "Action": ["*", CRAFTED_ACTION], "Resource": "*"}],
}


def put_role_policy_event(document: dict[str, Any], event_id: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("put_role_policy_narrow"))
    event["detail"]["eventID"] = event_id
    event["detail"]["requestParameters"]["policyDocument"] = json.dumps(document)
    return event


def test_h_6_a_crafted_action_beside_admin_is_analyzed_and_the_admin_grant_alerted(
    monitoring: Monitoring,
) -> None:
    event = put_role_policy_event(ADMIN_BESIDE_CRAFTED, "5f6e7d8c-0000-4000-8000-0000000006a1")

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "analyzed"
    records = [r for r in monitoring.records() if r["kind"] == "policy-finding"]
    found = {(r["finding"]["code"], r["finding"]["severity"]) for r in records}
    assert ("IAMG001", "critical") in found  # full admin, not hidden by the crafted action
    assert not any(code in ("IAMG019", "IAMG020") for code, _ in found)
    [alert] = monitoring.alerts()
    assert alert["Subject"].startswith("[iam-guard dev] CRITICAL: PutRolePolicy role app-runner")


def test_h_6_a_document_without_time_left_to_analyze_is_a_high_alerted_finding(
    monitoring: Monitoring,
) -> None:
    """The invocation has time for its calls (>= MIN_CALL_MS each) but not for the analysis on top of what
    reporting keeps back: the budget is 0 s, and the document is reported as not analyzed, loudly."""
    enough_for_calls_only = policy_change.RESERVE_MS + lambda_support.MIN_CALL_MS + 500
    assert enough_for_calls_only - policy_change.RESERVE_MS < policy_documents.REPORTING_MS
    event = put_role_policy_event(ADMIN_BESIDE_CRAFTED, "5f6e7d8c-0000-4000-8000-0000000006a2")

    result = policy_change.handler(event, FakeContext(remaining_ms=[enough_for_calls_only]))

    assert result["status"] == "analyzed"
    records = [r for r in monitoring.records() if r["kind"] == "policy-finding"]
    not_analyzed = [r["finding"] for r in records if r["finding"]["code"] == "IAMG019"]
    assert len(not_analyzed) == 1
    assert not_analyzed[0]["severity"] == "high"
    assert not_analyzed[0]["message"].startswith("could not be analyzed within 0")
    [alert] = monitoring.alerts()
    assert "could not be analyzed within" in alert["Message"]
    assert alert["Subject"].startswith("[iam-guard dev] ")
    assert "INFO" not in alert["Subject"]


def test_h_6_the_daily_audit_finishes_on_a_crafted_policy_and_reports_the_admin_grant(
    monitoring: Monitoring,
) -> None:
    audit_run.set_container_memory(audit_run.ContainerMemory())
    monitoring.iam.create_policy(PolicyName="innocent", PolicyDocument=json.dumps(ADMIN_BESIDE_CRAFTED))

    result = daily_audit.handler(
        scheduled("h6-run-1"), FakeContext(function_name="iam-guard-daily-audit-dev", remaining_ms=[55_000])
    )

    assert [run["status"] for run in result["runs"]] == ["complete"]
    findings = [r for r in monitoring.records() if r["kind"] == "audit-finding"]
    innocent = {(r["code"], r["severity"]) for r in findings if r.get("entity") == "policy/innocent"}
    assert ("IAMG001", "critical") in innocent
    assert not any(code in ("IAMG019", "IAMG020") for code, _ in innocent)


def test_h_6_the_analysis_budget_never_exceeds_its_cap_and_keeps_time_to_report() -> None:
    plenty = lambda_support.Deadline(FakeContext(remaining_ms=[60_000]), 1_000)
    short = lambda_support.Deadline(FakeContext(remaining_ms=[10_000]), 1_000)
    none_left = lambda_support.Deadline(FakeContext(remaining_ms=[3_000]), 1_000)

    assert lambda_support.analysis_budget_seconds(plenty, 8_000) == lambda_support.ANALYSIS_BUDGET_SECONDS
    assert lambda_support.analysis_budget_seconds(short, 8_000) == pytest.approx(1.0)
    assert lambda_support.analysis_budget_seconds(none_left, 8_000) == 0.0
