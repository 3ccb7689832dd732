"""H-2 / H-5: one daily audit run as a state machine with durable state (run_store), exactly once whatever
SQS and Lambda do (duplicate, late or forged messages, retries, crashes, several containers).

A run is a sequence of steps k = 0, 1, 2, ... The run item holds the step a claimant may take next. An
invocation
1. claims the run at that step: a conditional write of a lease (its request id, until its own deadline);
   another invocation's live lease makes it stand down;
2. first replays the records of a step committed but not fully written (a crash between the two);
3. audits entries: GetAccountAuthorizationDetails with MaxItems=1000 and one entity filter at a time, in
   the order LocalManagedPolicy, Group, Role, User (iam_guard.analysis.account decides what to analyze),
   resuming from the page marker and the number of entries already done on that page;
4. commits the step: new state, step k+1 and the step's records (as parts) in one transaction, only while
   it holds the lease; then writes each part to its own log stream (audit_records) and clears the mark.
   A step also ends when its records reach MAX_STEP_RECORD_BYTES; the invocation then goes on with k+1;
5. before its deadline (even in the middle of a page), it releases the lease and sends the continuation
   message {"runId", "step"} (a few bytes), then notes handoverSent = step;
6. when the traversal is done, it commits the last step with the summary record, then sends the summary:
   a conditional "sending" mark with a lease, the SNS publish, a conditional "sent" mark; only the
   invocation that set "sent" emits the completion metrics, so a broken topic leaves the metric missing
   and the "daily audit missing" alarm fires. With REMEDIATION_MODE=off nothing is published: the mark is
   "recorded" and the metrics follow the records.
Every AWS call goes through call_within with a Deadline: throttling is retried only while time is left,
keeping a reserve (a fifth of the time the invocation started with, 4.5-10 s) for the commit and handover.

Principals (Role, User) need the customer-managed and group documents. A container keeps them with the
set of committed steps it read them in; it uses them only when it read every step the run records as
having read reference entities, and reloads them otherwise (never by counting pages). AWS managed
documents are memoised per container (GetPolicy + GetPolicyVersion once each).

What a message may do (decide()): unknown run: rejected and logged; a step ahead of the run's: rejected
(forged or corrupt); a step behind: a no-op, unless the run's handover message was never sent (the
sender died after its commit) and no live lease holds it: then it adopts the run at its current step;
for a finished run whose summary is not sent (a failed publish), any message not ahead retries it.
A page that changes between two steps may shift the entries skipped by the offset by the number of
entries created or deleted meanwhile: the audit is of the account as it was read, page by page.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from audit_records import (
    compact_finding,
    pack_parts,
    part_stream_name,
    record_line,
    write_part,
)
from audit_summary import send_summary, summary_line
from conditional_table import now_ms
from iam_guard.analysis import Finding, Severity
from iam_guard.analysis.account import (
    ENTITY_FILTERS,
    LIST_KEYS,
    REFERENCE_FILTERS,
    AuditUnit,
    PolicyToAudit,
    Reference,
    Traversal,
    analyze_unit,
)
from lambda_support import (
    Deadline,
    LambdaContext,
    OutOfTime,
    Settings,
    analysis_budget_seconds,
    call_within,
    log,
)
from run_store import RunItem, RunStore

PAGE_SIZE = 1000  # GetAccountAuthorizationDetails MaxItems maximum
WORST_KEPT = 20
MAX_STEP_RECORD_BYTES = 2_400_000  # with the run update, under TransactWriteItems' 4 MB and 25 items
MAX_STEPS = 500  # a run that cannot finish in 500 steps is abandoned (loudly: no completion metric)
ITEM_MARGIN_MS = 500  # an entry is not started with less than this before the reserve
LEASE_MARGIN_MS = 2_000
RELEASE_RESERVE_MS = 1_500  # kept back from the wrap-up so a failed invocation can still drop its lease


def reserve_ms_for(remaining_ms: int) -> int:
    """Time kept back for the wrap-up (commit, records, handover: ~8 calls, each started only with
    MIN_CALL_MS left, plus RELEASE_RESERVE_MS): a fifth of what the invocation started with, 4.5-10 s."""
    return max(4_500, min(10_000, remaining_ms // 5))


@dataclass
class AuditClients:
    """The AWS clients one run uses."""

    iam: Any
    sqs: Any
    sns: Any
    logs: Any
    dynamodb: Any
    cloudtrail: Any = None  # MON-13: the trail check with the summary (None: not checked)


@dataclass
class ContainerMemory:
    """What a warm container keeps between invocations: the reference documents of one run with the
    committed steps it read them in, and the AWS managed documents it fetched."""

    run_id: str = ""
    reference: Reference = field(default_factory=Reference)
    reference_steps: set[int] = field(default_factory=set)
    aws_managed: dict[str, Any] = field(default_factory=dict)
    reloads: int = 0


_memory = ContainerMemory()


def container_memory() -> ContainerMemory:
    """This container's memory (tests switch it with set_container_memory to play several containers)."""
    return _memory


def set_container_memory(memory: ContainerMemory) -> None:
    global _memory
    _memory = memory


def decide(item: RunItem | None, step: int, owner: str) -> str:
    """What a message for `step` does: "claim", "adopt", "duplicate", "stale", "forged", "unknown" or
    "done" (see the module docstring)."""
    if item is None:
        return "unknown"
    if step > item.step:
        return "forged"
    settled = item.status == "finished" and item.summary in ("sent", "recorded") and item.pending_step is None
    if settled:
        return "done"
    if item.lease_live(now_ms(), owner):
        return "duplicate"
    if step == item.step:
        return "claim"
    if item.status == "finished" or item.handover_sent < item.step:
        return "adopt"
    return "stale"


class AuditRun:
    """One invocation's share of a run, after it claimed the run (see the module docstring)."""

    def __init__(
        self, item: RunItem, owner: str, clients: AuditClients, settings: Settings, context: LambdaContext
    ) -> None:
        self.item = item
        self.state = item.state
        self.owner = owner
        self.clients = clients
        self.settings = settings
        started_ms = int(context.get_remaining_time_in_millis())
        self.work_deadline = Deadline(context, reserve_ms_for(started_ms))
        self.wrapup_deadline = Deadline(context, RELEASE_RESERVE_MS)
        self.release_deadline = Deadline(context, 0)
        self.store = RunStore(clients.dynamodb, settings.state_table_name, self.wrapup_deadline)
        self.lease_until_ms = now_ms() + started_ms + LEASE_MARGIN_MS
        self.steps_committed = 0
        self.iam_calls = 0
        self._last_page: tuple[tuple[str, str | None], dict[str, Any]] | None = None
        if _memory.run_id != self.state.run_id:
            _memory.run_id = self.state.run_id
            _memory.reference = Reference()
            _memory.reference_steps = set()

    # -- the run ---------------------------------------------------------------------------------------------

    def advance(self) -> str:
        """Take the claimed run as far as time allows; returns "continued", "complete" or "abandoned"."""
        try:
            return self._advance()
        except Exception:
            self._stand_down()
            raise

    def _advance(self) -> str:
        self.state.invocations += 1
        if self.item.pending_step is not None:
            self._replay(self.item.pending_step, self.item.pending_parts)
        while self.item.status == "running":
            if self.item.step >= MAX_STEPS:
                log("ERROR", "audit abandoned: too many steps", runId=self.state.run_id, step=self.item.step)
                self.store.release(self.state.run_id, self.owner)
                return "abandoned"
            outcome, lines = self._work()
            finished = outcome == "done"
            if finished:
                self.state.finished_at = time.time()
                lines.append(summary_line(self.state))
            if not self._commit(lines, finished):
                return "superseded"
            if outcome == "out-of-time":
                self._hand_over()
                return "continued"
        self._summarise()
        self.store.release(self.state.run_id, self.owner)
        return "complete"

    def _stand_down(self) -> None:
        """Best effort after a failure: drop the lease so a redelivered message can take the run at once."""
        store = RunStore(self.clients.dynamodb, self.settings.state_table_name, self.release_deadline)
        try:
            store.abort_summary(self.state.run_id, self.owner)
            store.release(self.state.run_id, self.owner)
        except Exception as error:  # the lease lapses at this invocation's deadline anyway
            log("WARNING", "lease not released", runId=self.state.run_id, error=str(error)[:200])

    # -- one step of work ------------------------------------------------------------------------------------

    def _work(self) -> tuple[str, list[str]]:
        """Audit entries until done, out of time or the step's records are full: (outcome, record lines)."""
        state = self.state
        lines: list[str] = []
        size = 0
        traversal = Traversal(_memory.reference, self._aws_managed_document, set(state.aws_managed_audited))
        read_reference = False
        try:
            while state.filter_index < len(ENTITY_FILTERS):
                entity_filter = ENTITY_FILTERS[state.filter_index]
                if entity_filter not in REFERENCE_FILTERS and not self._reference_complete():
                    self._reload_reference()
                page = self._fetch_page(entity_filter, state.marker, self.work_deadline)
                entries = page.get(LIST_KEYS[entity_filter]) or []
                for index in range(state.offset, len(entries)):
                    if self.work_deadline.remaining_ms() < ITEM_MARGIN_MS:
                        return "out-of-time", lines
                    if size >= MAX_STEP_RECORD_BYTES:
                        return "step-full", lines
                    units = traversal.units(entity_filter, entries[index])
                    if entity_filter in REFERENCE_FILTERS:
                        _memory.reference.add(entity_filter, entries[index])
                        read_reference = True
                    for unit in units:
                        for line in self._audit(unit):
                            lines.append(line)
                            size += len(line) + 1
                    state.offset = index + 1
                    state.aws_managed_audited = sorted(traversal.audited_aws_managed)
                marker = page.get("Marker") if page.get("IsTruncated") else None
                state.offset = 0
                state.marker = marker or None
                if not marker:
                    state.filter_index += 1
            return "done", lines
        except OutOfTime as reason:
            log("INFO", "out of time in the middle of a step", runId=state.run_id, reason=str(reason))
            return "out-of-time", lines
        finally:
            if read_reference and self.item.step not in state.reference_steps:
                state.reference_steps.append(self.item.step)

    def _audit(self, unit: AuditUnit) -> list[str]:
        """Analyze one unit, count it, and return its finding records."""
        findings = analyze_unit(unit, analysis_budget_seconds(self.work_deadline, 0))
        if isinstance(unit, PolicyToAudit):
            self.state.policies_audited += 1
        else:
            self.state.principals_audited += 1
        return [
            record_line({"kind": "audit-finding", "runId": self.state.run_id, **item})
            for item in self._count(findings, unit.context())
        ]

    def _count(self, findings: list[Finding], context: dict[str, Any]) -> list[dict[str, Any]]:
        compact = [compact_finding(finding, context) for finding in findings]
        for item in compact:
            self.state.findings[item["severity"]] = self.state.findings.get(item["severity"], 0) + 1
        if compact:
            merged = self.state.worst + compact
            merged.sort(key=lambda item: -Severity.parse(item["severity"]))
            self.state.worst = merged[:WORST_KEPT]
        return compact

    # -- AWS reads -------------------------------------------------------------------------------------------

    def _fetch_page(self, entity_filter: str, marker: str | None, deadline: Deadline) -> dict[str, Any]:
        """One page; the last page read is kept, so a step that ends in the middle of a page (its records
        full) does not make the next step of the same invocation read it again."""
        if self._last_page is not None and self._last_page[0] == (entity_filter, marker):
            return self._last_page[1]
        arguments: dict[str, Any] = {"Filter": [entity_filter], "MaxItems": PAGE_SIZE}
        if marker:
            arguments["Marker"] = marker
        self.iam_calls += 1
        page = dict(call_within(deadline, self.clients.iam.get_account_authorization_details, **arguments))
        self._last_page = ((entity_filter, marker), page)
        return page

    def _aws_managed_document(self, arn: str) -> Any:
        """An AWS managed policy's default document, once per container; None when it no longer exists."""
        if arn in _memory.aws_managed:
            return _memory.aws_managed[arn]
        iam = self.clients.iam
        try:
            self.iam_calls += 2
            version = call_within(self.work_deadline, iam.get_policy, PolicyArn=arn)["Policy"][
                "DefaultVersionId"
            ]
            document = call_within(
                self.work_deadline, iam.get_policy_version, PolicyArn=arn, VersionId=version
            )["PolicyVersion"]["Document"]
        except iam.exceptions.NoSuchEntityException:
            document = None
        _memory.aws_managed[arn] = document
        return document

    def _reference_complete(self) -> bool:
        return (
            _memory.run_id == self.state.run_id and set(self.state.reference_steps) <= _memory.reference_steps
        )

    def _reload_reference(self) -> None:
        """Read every customer-managed policy and group again: this container did not read them all."""
        reloaded = Reference()
        for entity_filter in REFERENCE_FILTERS:
            marker: str | None = None
            while True:
                page = self._fetch_page(entity_filter, marker, self.work_deadline)
                for entry in page.get(LIST_KEYS[entity_filter]) or []:
                    reloaded.add(entity_filter, entry)
                marker = page.get("Marker") if page.get("IsTruncated") else None
                if not marker:
                    break
        _memory.reference = reloaded
        _memory.reference_steps = set(self.state.reference_steps)
        _memory.reloads += 1
        log(
            "INFO",
            "reference documents reloaded: this container did not read every step that read them",
            runId=self.state.run_id,
            policies=len(reloaded.policies),
            groups=len(reloaded.groups),
        )

    # -- commits, records, handover --------------------------------------------------------------------------

    def _commit(self, lines: list[str], finished: bool) -> bool:
        step = self.item.step
        self.state.records_written += len(lines)
        parts = pack_parts(lines)
        if not self.store.commit(step, self.owner, self.state, parts, finished):
            log(
                "WARNING",
                "step not committed: another invocation took the run",
                runId=self.state.run_id,
                step=step,
            )
            return False
        self.item.step = step + 1
        self.item.status = "finished" if finished else "running"
        self.steps_committed += 1
        if step in self.state.reference_steps:
            _memory.reference_steps.add(step)
        self._write_parts(step, parts)
        self.store.written(self.state.run_id, step, self.owner, release=False)
        return True

    def _write_parts(self, step: int, parts: list[str]) -> None:
        for number, part in enumerate(parts):
            write_part(
                self.clients.logs,
                self.wrapup_deadline,
                self.settings.security_log_group,
                part_stream_name(self.state.run_id, step, number),
                part,
            )

    def _replay(self, step: int, count: int) -> None:
        """Write the parts of a committed step an earlier invocation did not finish writing."""
        log(
            "INFO",
            "replaying the records of a committed step",
            runId=self.state.run_id,
            step=step,
            parts=count,
        )
        self._write_parts(step, [self.store.part(self.state.run_id, step, j) for j in range(count)])
        self.store.written(self.state.run_id, step, self.owner, release=False)

    def _hand_over(self) -> None:
        run_id, step = self.state.run_id, self.item.step
        self.store.release(run_id, self.owner)
        body = json.dumps({"runId": run_id, "step": step}, separators=(",", ":"))
        call_within(
            self.wrapup_deadline,
            self.clients.sqs.send_message,
            QueueUrl=self.settings.audit_continuation_queue_url,
            MessageBody=body,
        )
        self.store.handover_sent(run_id, step)
        log(
            "INFO",
            "audit handed over to the next invocation",
            runId=run_id,
            step=step,
            entityFilter=ENTITY_FILTERS[min(self.state.filter_index, len(ENTITY_FILTERS) - 1)],
            offset=self.state.offset,
            policiesAudited=self.state.policies_audited,
        )

    # -- the end ---------------------------------------------------------------------------------------------

    def _summarise(self) -> None:
        send_summary(
            self.store,
            self.state,
            self.settings,
            self.clients.sns,
            self.owner,
            self.lease_until_ms,
            self.clients.cloudtrail,
        )
