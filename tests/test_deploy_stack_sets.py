"""ORG-1 deploy: the StackSet's operation is waited for and every failed account and region is reported in
one block (deploy/stack_sets.py), on the shapes AWS returns (tests/fixtures/stacksets: moto cannot produce
a failed or a running StackSet operation, MOTO_GAPS['stack-set-resource'])."""

from __future__ import annotations

import json
from typing import Any

from iam_guard.deploy.stack_sets import (
    InstanceFailure,
    StackSetRef,
    StackSetReport,
    StackSetWatcher,
    failures_from,
    format_failures,
    stack_sets_in,
)
from support import REPO_ROOT
from template_helpers import template

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "stacksets"
NAME = "iam-guard-org-member-corp-eu-west-1"
OPERATION = "5e6f7a8b-0000-4000-8000-00000000beef"


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


class RecordedStackSets:
    """The StackSets calls the watcher makes, answered from recorded AWS responses (the operation stays
    in `statuses` order, the last repeating), counting DescribeStackSetOperation polls."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.polls = 0
        self.call_as: set[str] = set()

    def list_stack_set_operations(self, **arguments: Any) -> dict[str, Any]:
        self.call_as.add(arguments["CallAs"])
        page = fixture("operations")
        page["Summaries"][-1]["Status"] = self.statuses[0]
        return page

    def describe_stack_set_operation(self, **arguments: Any) -> dict[str, Any]:
        self.call_as.add(arguments["CallAs"])
        self.polls += 1
        status = self.statuses[min(self.polls, len(self.statuses) - 1)]
        return {
            "StackSetOperation": {
                "OperationId": arguments["OperationId"],
                "Action": "UPDATE",
                "Status": status,
            }
        }

    def list_stack_set_operation_results(self, **arguments: Any) -> dict[str, Any]:
        self.call_as.add(arguments["CallAs"])
        assert arguments["OperationId"] == OPERATION
        return fixture("operation_results_failed")

    def list_stack_instances(self, **arguments: Any) -> dict[str, Any]:
        self.call_as.add(arguments["CallAs"])
        return fixture("stack_instances")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_org_1_failures_are_every_failed_cancelled_or_inoperable_account_and_region() -> None:
    failures = failures_from(
        fixture("operation_results_failed")["Summaries"], fixture("stack_instances")["Summaries"]
    )

    assert [(f.account, f.region, f.status, f.organizational_unit) for f in failures] == [
        ("444455556666", "eu-west-1", "CANCELLED", "ou-ab12-11111111"),
        ("444455556666", "us-east-1", "FAILED", "ou-ab12-11111111"),
        ("777788889999", "us-east-1", "FAILED", "ou-ab12-22222222"),
        ("999900001111", "us-east-1", "INOPERABLE", "ou-ab12-22222222"),  # only ListStackInstances shows it
    ]
    # The operation's reason wins over the instance's shorter copy; a failed account gate is named.
    assert "(Service: Iam, Status Code: 409)" in failures[1].reason
    assert failures[2].reason == "account gate: Account 777788889999 is suspended."


def test_org_1_failure_block_is_one_aligned_line_per_account_and_region() -> None:
    failures = failures_from(
        fixture("operation_results_failed")["Summaries"], fixture("stack_instances")["Summaries"]
    )
    report = StackSetReport(NAME, OPERATION, "UPDATE", "FAILED", instances=6, failures=failures)

    block = report.describe()

    lines = block.splitlines()
    assert lines[0] == (
        f"StackSet {NAME}: operation {OPERATION} (UPDATE) FAILED: "
        "4 of 6 stack instance(s) failed in 3 account(s)"
    )
    assert lines[1].split() == ["account", "region", "OU", "status", "reason"]
    assert lines[2].startswith("  444455556666  eu-west-1  ou-ab12-11111111  CANCELLED   Cancelled since")
    assert lines[3].startswith("  444455556666  us-east-1  ou-ab12-11111111  FAILED      ResourceLogicalId:")
    assert "\n" not in lines[3] and lines[3].endswith('(Service: Iam, Status Code: 409)".')
    assert (
        lines[4] == "  777788889999  us-east-1  ou-ab12-22222222  FAILED      "
        "account gate: Account 777788889999 is suspended."
    )
    assert lines[5].startswith(
        "  999900001111  us-east-1  ou-ab12-22222222  INOPERABLE  Stack arn:aws:cloudformation"
    )
    assert lines[6].startswith("Fix the cause in each account listed")
    assert len(lines) == 7
    assert not report.succeeded


def test_org_1_long_reasons_are_cut_to_one_bounded_line() -> None:
    failure = InstanceFailure("444455556666", "us-east-1", "FAILED", "x\n" * 1000)
    block = format_failures(StackSetReport(NAME, OPERATION, "UPDATE", "FAILED", 1, [failure]))
    row = block.splitlines()[2]
    assert len(row) < 460 and row.endswith("...")


def test_org_1_watcher_waits_for_the_running_operation_then_reports_its_failures() -> None:
    recorded = RecordedStackSets(["RUNNING", "RUNNING", "RUNNING", "FAILED"])
    clock = Clock()
    said: list[str] = []
    watcher = StackSetWatcher(recorded, poll_seconds=10, timeout_seconds=600, clock=clock, sleep=clock.sleep)

    report = watcher.report(StackSetRef(NAME, "DELEGATED_ADMIN"), said.append)

    assert recorded.polls == 3 and clock.now == 30
    assert said == [f"StackSet {NAME}: waiting for operation {OPERATION} (RUNNING)"]
    assert report.status == "FAILED" and len(report.failures) == 4 and report.instances == 6
    assert recorded.call_as == {"DELEGATED_ADMIN"}


def test_org_1_watcher_gives_up_after_its_timeout_and_says_how_to_follow_the_operation() -> None:
    recorded = RecordedStackSets(["RUNNING"])
    clock = Clock()
    watcher = StackSetWatcher(recorded, poll_seconds=30, timeout_seconds=120, clock=clock, sleep=clock.sleep)

    report = watcher.report(StackSetRef(NAME, "DELEGATED_ADMIN"), lambda _: None)

    assert recorded.polls == 4 and report.timed_out_after == 120
    assert not report.succeeded
    assert report.describe().startswith(
        f"StackSet {NAME}: operation {OPERATION} (UPDATE) still RUNNING after 120 s: not waiting longer."
    )
    assert f"--operation-id {OPERATION}" in report.describe()


def test_org_1_deploy_watches_the_org_security_stack_set_as_delegated_admin_only() -> None:
    body = json.dumps(template("org", "org-security"))
    assert stack_sets_in(body) == [StackSetRef(NAME, "DELEGATED_ADMIN")]
    for name in ("dev", "prod"):
        for stack in ("monitoring", "data-store"):
            assert stack_sets_in(json.dumps(template(name, stack))) == []
