"""ORG-1: after a stack holding a StackSet (org-security) is deployed, wait for the StackSet's operation and
report every account and region whose stack instance failed, in one readable block.

The StackSet stays a resource of the org-security template: CloudFormation creates and updates its stack
instances for the target OUs and regions (StackInstancesGroup), and deletes them with the stack, so one
`iam-guard deploy` and one `destroy` cover the organization, and the instances can never drift from the
config. But a StackSet operation tolerates failed accounts (FailureTolerancePercentage), and the stack ends
*_COMPLETE with some accounts failed; auto-deployment to a new account runs later, outside any stack
operation. So deploy then asks the StackSet itself:
- ListStackSetOperations: the latest operation; DescribeStackSetOperation until it is SUCCEEDED, FAILED or
  STOPPED (bounded polling: `timeout_seconds`, then it says so and gives up; exit 1);
- ListStackSetOperationResults of that operation and ListStackInstances (what each account is now, which
  also shows an auto-deployment that failed): every FAILED, CANCELLED or INOPERABLE instance with AWS's
  status reason, one line per account and region.
Every call passes the template's CallAs (DELEGATED_ADMIN: the security account is the StackSets delegated
administrator). An AWS error (no delegated administrator: ValidationError or AccessDenied; a StackSet that
does not exist) is raised as botocore's ClientError: the runner turns it into its usual one-block report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STACK_SET_TYPE = "AWS::CloudFormation::StackSet"
DONE_OPERATION_STATUSES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
FAILED_RESULT_STATUSES = frozenset({"FAILED", "CANCELLED"})
FAILED_INSTANCE_STATUSES = frozenset({"FAILED", "CANCELLED", "INOPERABLE", "FAILED_IMPORT"})
DEFAULT_TIMEOUT_SECONDS = 30 * 60
_REASON_LIMIT = 400

Say = Callable[[str], None]


@dataclass(frozen=True)
class StackSetRef:
    """A StackSet a template creates: its name and how to call as (SELF or DELEGATED_ADMIN)."""

    name: str
    call_as: str = "SELF"


@dataclass(frozen=True)
class InstanceFailure:
    """One account and region whose stack instance failed, and why (AWS's own words)."""

    account: str
    region: str
    status: str
    reason: str
    organizational_unit: str = ""


@dataclass(frozen=True)
class StackSetReport:
    """How the StackSet's latest operation ended and which instances failed."""

    name: str
    operation_id: str = ""
    action: str = ""
    status: str = ""
    instances: int = 0
    failures: list[InstanceFailure] = field(default_factory=list)
    timed_out_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.timed_out_after is None and not self.failures and self.status in ("", "SUCCEEDED")

    def describe(self) -> str:
        """One line when all is well, else the one block of failures."""
        if self.timed_out_after is not None:
            return (
                f"StackSet {self.name}: operation {self.operation_id} ({self.action}) still {self.status} "
                f"after {self.timed_out_after:.0f} s: not waiting longer. Follow it with: aws cloudformation "
                f"describe-stack-set-operation --stack-set-name {self.name} --operation-id "
                f"{self.operation_id}, then list-stack-instances for the accounts that failed"
            )
        if self.succeeded:
            if not self.operation_id:
                return f"StackSet {self.name}: no operation yet; {self.instances} stack instance(s)"
            return (
                f"StackSet {self.name}: operation {self.operation_id} ({self.action}) SUCCEEDED; "
                f"{self.instances} stack instance(s), none failed"
            )
        return format_failures(self)


def stack_sets_in(body: str) -> list[StackSetRef]:
    """The StackSets a rendered template creates (name and CallAs), in template order."""
    resources = json.loads(body).get("Resources", {})
    found = []
    for spec in resources.values():
        if spec.get("Type") != STACK_SET_TYPE:
            continue
        properties = spec.get("Properties", {})
        name = properties.get("StackSetName")
        if isinstance(name, str):
            found.append(StackSetRef(name, str(properties.get("CallAs", "SELF"))))
    return found


def format_failures(report: StackSetReport) -> str:
    """The one readable block: a head line, one aligned line per failed account and region, what to do."""
    failures = sorted(report.failures, key=lambda item: (item.account, item.region))
    accounts = len({item.account for item in failures})
    head = (
        f"StackSet {report.name}: operation {report.operation_id or '(none)'} ({report.action or '-'}) "
        f"{report.status or 'ended'}: {len(failures)} of {report.instances} stack instance(s) failed in "
        f"{accounts} account(s)"
    )
    rows = [("account", "region", "OU", "status", "reason")]
    rows += [
        (item.account, item.region, item.organizational_unit or "-", item.status, _one_line(item.reason))
        for item in failures
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [head]
    for row in rows:
        cells = [row[column].ljust(widths[column]) for column in range(4)]
        lines.append("  " + "  ".join([*cells, row[4]]))
    lines.append(
        "Fix the cause in each account listed (the reason is CloudFormation's, from that account's "
        "stack), then run iam-guard deploy again: the StackSet retries the failed instances."
    )
    return "\n".join(lines)


def _one_line(text: str) -> str:
    flat = " ".join(str(text or "no reason given").split())
    return flat if len(flat) <= _REASON_LIMIT else flat[: _REASON_LIMIT - 3] + "..."


class StackSetWatcher:
    """Waits for a StackSet's latest operation and collects its failed instances (one CloudFormation
    client, in the StackSet's region)."""

    def __init__(
        self,
        cloudformation: Any,
        *,
        poll_seconds: float = 5.0,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cloudformation = cloudformation
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self.sleep = sleep

    def report(self, stack_set: StackSetRef, say: Say = print) -> StackSetReport:
        call_as = {"CallAs": stack_set.call_as}
        operation = self._latest_operation(stack_set, call_as)
        if operation is None:
            instances = list(self._instances(stack_set, call_as))
            return StackSetReport(
                stack_set.name, instances=len(instances), failures=failures_from([], instances)
            )
        operation_id = str(operation["OperationId"])
        started = self.clock()
        status = str(operation.get("Status", ""))
        announced = False
        while status not in DONE_OPERATION_STATUSES:
            waited = self.clock() - started
            if waited >= self.timeout_seconds:
                return StackSetReport(
                    stack_set.name,
                    operation_id,
                    str(operation.get("Action", "")),
                    status,
                    timed_out_after=waited,
                )
            if not announced:
                say(f"StackSet {stack_set.name}: waiting for operation {operation_id} ({status})")
                announced = True
            self.sleep(self.poll_seconds)
            operation = self.cloudformation.describe_stack_set_operation(
                StackSetName=stack_set.name, OperationId=operation_id, **call_as
            )["StackSetOperation"]
            status = str(operation.get("Status", ""))
        results = list(self._operation_results(stack_set, operation_id, call_as))
        instances = list(self._instances(stack_set, call_as))
        return StackSetReport(
            stack_set.name,
            operation_id,
            str(operation.get("Action", "")),
            status,
            instances=max(len(instances), len(results)),
            failures=failures_from(results, instances),
        )

    def _latest_operation(self, stack_set: StackSetRef, call_as: Mapping[str, str]) -> dict[str, Any] | None:
        operations = list(
            _pages(
                self.cloudformation.list_stack_set_operations,
                "Summaries",
                StackSetName=stack_set.name,
                **call_as,
            )
        )
        if not operations:
            return None
        return max(operations, key=lambda item: item.get("CreationTimestamp") or 0)

    def _operation_results(
        self, stack_set: StackSetRef, operation_id: str, call_as: Mapping[str, str]
    ) -> Iterator[dict[str, Any]]:
        return _pages(
            self.cloudformation.list_stack_set_operation_results,
            "Summaries",
            StackSetName=stack_set.name,
            OperationId=operation_id,
            **call_as,
        )

    def _instances(self, stack_set: StackSetRef, call_as: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        return _pages(
            self.cloudformation.list_stack_instances, "Summaries", StackSetName=stack_set.name, **call_as
        )


def _pages(operation: Callable[..., Any], key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every item of a NextToken-paginated StackSets list call."""
    while True:
        page = operation(**arguments)
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return
        arguments["NextToken"] = token


def failures_from(
    results: Sequence[Mapping[str, Any]], instances: Sequence[Mapping[str, Any]]
) -> list[InstanceFailure]:
    """The failed instances of an operation (ListStackSetOperationResults: FAILED or CANCELLED, with the
    account gate's reason when it failed), and every instance that is failed or inoperable now
    (ListStackInstances: an auto-deployment to a new account fails outside any deploy's operation); one
    per account and region, the operation's reason first."""
    return _instance_failures(instances, _result_failures(results))


def _result_failures(results: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], InstanceFailure]:
    failures = {}
    for result in results:
        if result.get("Status") not in FAILED_RESULT_STATUSES:
            continue
        reason = str(result.get("StatusReason") or "")
        gate = result.get("AccountGateResult") or {}
        if gate.get("Status") == "FAILED":
            reason = f"account gate: {gate.get('StatusReason', '')} {reason}".strip()
        key = (str(result.get("Account", "?")), str(result.get("Region", "?")))
        failures[key] = InstanceFailure(
            *key, str(result["Status"]), reason, str(result.get("OrganizationalUnitId") or "")
        )
    return failures


def _instance_failures(
    instances: Sequence[Mapping[str, Any]], from_results: dict[tuple[str, str], InstanceFailure]
) -> list[InstanceFailure]:
    failures = dict(from_results)
    for instance in instances:
        detailed = str((instance.get("StackInstanceStatus") or {}).get("DetailedStatus") or "")
        status = str(instance.get("Status") or "")
        failed = (
            detailed if detailed in FAILED_INSTANCE_STATUSES else status if status == "INOPERABLE" else ""
        )
        key = (str(instance.get("Account", "?")), str(instance.get("Region", "?")))
        if not failed or key in failures:
            continue
        failures[key] = InstanceFailure(
            *key,
            failed,
            str(instance.get("StatusReason") or ""),
            str(instance.get("OrganizationalUnitId") or ""),
        )
    return sorted(failures.values(), key=lambda item: (item.account, item.region))


def watch_stack_sets(
    body: str,
    cloudformation: Any,
    say: Say,
    *,
    poll_seconds: float = 5.0,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[StackSetReport]:
    """Report on every StackSet the template creates (none: nothing is called)."""
    watcher = StackSetWatcher(cloudformation, poll_seconds=poll_seconds, timeout_seconds=timeout_seconds)
    reports = []
    for stack_set in stack_sets_in(body):
        report = watcher.report(stack_set, say)
        say(report.describe())
        reports.append(report)
    return reports
