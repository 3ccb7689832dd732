"""MON-13: the daily audit checks the trail its events depend on (GetTrail, GetTrailStatus,
GetEventSelectors on TRAIL_ARN, against CloudTrail in moto) and reports it with the summary: a stopped,
single-region or management-blind trail makes the summary HIGH and says why."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from audit_helpers import scheduled
from handler_helpers import (
    FakeContext,
    Monitoring,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import audit_run
import daily_audit
from iam_guard import contract
from trail_check import records_management_events

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def cold_container() -> None:
    audit_run.set_container_memory(audit_run.ContainerMemory())


def create_trail(name: str, multi_region: bool = True) -> tuple[Any, str]:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=f"{name}-logs")
    cloudtrail = boto3.client("cloudtrail")
    arn = cloudtrail.create_trail(Name=name, S3BucketName=f"{name}-logs", IsMultiRegionTrail=multi_region)[
        "TrailARN"
    ]
    # A new trail's selectors in AWS: all management events (moto starts with none, so they are set here).
    cloudtrail.put_event_selectors(
        TrailName=arn,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}],
    )
    cloudtrail.start_logging(Name=arn)
    return cloudtrail, arn


def run_audit(monitoring: Monitoring, run_id: str) -> dict[str, Any]:
    result = daily_audit.handler(
        scheduled(run_id), FakeContext(function_name="iam-guard-daily-audit-dev", remaining_ms=[55_000])
    )
    assert [run["status"] for run in result["runs"]] == ["complete"]
    [alert] = monitoring.alerts()
    return alert


def test_mon_13_a_healthy_trail_is_reported_with_the_summary(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, arn = create_trail("org-trail")
    monkeypatch.setenv(contract.ENV_TRAIL_ARN, arn)

    alert = run_audit(monitoring, "trail-healthy")

    assert f"Trail {arn}: logging, multi-region, management events recorded." in alert["Message"]
    assert "TRAIL PROBLEM" not in alert["Subject"]


def test_mon_13_a_stopped_trail_makes_the_summary_high_and_says_why(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloudtrail, arn = create_trail("org-trail")
    cloudtrail.stop_logging(Name=arn)
    monkeypatch.setenv(contract.ENV_TRAIL_ARN, arn)

    alert = run_audit(monitoring, "trail-stopped")

    assert alert["Subject"] == "[iam-guard dev] daily IAM audit: TRAIL PROBLEM; no findings"
    assert alert["MessageAttributes"]["severity"]["Value"] == "high"
    assert f"WARNING: the trail {arn} does not let iam-guard see every IAM change:" in alert["Message"]
    assert "it is not logging (StopLogging)" in alert["Message"]


def test_mon_13_a_single_region_trail_without_management_events_is_two_problems(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloudtrail, arn = create_trail("regional-trail", multi_region=False)
    cloudtrail.put_event_selectors(
        TrailName=arn,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False, "DataResources": []}],
    )
    monkeypatch.setenv(contract.ENV_TRAIL_ARN, arn)

    message = run_audit(monitoring, "trail-regional")["Message"]

    assert "it is not multi-region" in message
    assert "its event selectors leave out write management events" in message
    assert "it is not logging" not in message


def test_mon_13_a_trail_that_cannot_be_checked_is_itself_a_problem(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(contract.ENV_TRAIL_ARN, "arn:aws:cloudtrail:us-east-1:123456789012:trail/deleted")

    alert = run_audit(monitoring, "trail-missing")

    assert "TRAIL PROBLEM" in alert["Subject"]
    assert "the trail could not be checked: TrailNotFoundException" in alert["Message"]


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}, True),
        ({"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}, False),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
                ]
            },
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    }
                ]
            },
            False,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}
                ]
            },
            False,
        ),
    ],
)
def test_mon_13_management_write_events_are_recognised_in_both_selector_forms(
    selectors: dict[str, Any], expected: bool
) -> None:
    assert records_management_events(selectors) is expected
