"""H-5: the durable state of a daily audit run, one DynamoDB item per run (pk "run#<id>", sk "run").

Attributes of the run item (beside the keys and the expiresAt TTL):
- step (N): the step a claimant may take next; every commit moves it from k to k+1 (conditional);
- state (S): the run's progress as JSON (RunState: cursor, counters, worst findings, AWS managed ARNs
  already analyzed, the steps that read the reference entities);
- status (S): "running" until the traversal is done, then "finished";
- leaseOwner (S) / leaseUntil (N, epoch ms): the invocation working on the run, and when its claim lapses;
- pendingStep (N) / pendingParts (N): a committed step whose records are not all written yet; its parts
  are items (sk "step#<k>#part#<j>") written in the same transaction as the commit;
- handoverSent (N): the highest step whose continuation message was sent;
- summary (S): "none", "sending" (with summaryOwner/summaryUntil), "sent" or "recorded" (mode off).
Every write is conditional: a write that loses the race returns False and the caller stands down.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from conditional_table import ConditionalTable, conditional_failed, expires_at, now_ms
from iam_guard.analysis import Severity
from iam_guard.contract import (
    RUN_KEY_PREFIX,
    STATE_TABLE_PARTITION_KEY,
    STATE_TABLE_SORT_KEY,
    STATE_TABLE_TTL_ATTRIBUTE,
)
from lambda_support import call_within

RUN_SORT_KEY = "run"
PK, SK, TTL = STATE_TABLE_PARTITION_KEY, STATE_TABLE_SORT_KEY, STATE_TABLE_TTL_ATTRIBUTE


@dataclass
class RunState:
    """A run's progress: where the traversal is and what it found so far (JSON in the run item)."""

    run_id: str
    started_at: float
    filter_index: int = 0  # index into account.ENTITY_FILTERS; len(ENTITY_FILTERS) when done
    marker: str | None = None  # the marker that fetches the current page (None: the first page)
    offset: int = 0  # entries of the current page already audited
    invocations: int = 0
    policies_audited: int = 0
    principals_audited: int = 0
    records_written: int = 0
    findings: dict[str, int] = field(default_factory=lambda: {sev.label: 0 for sev in Severity})
    worst: list[dict[str, Any]] = field(default_factory=list)
    aws_managed_audited: list[str] = field(default_factory=list)
    reference_steps: list[int] = field(default_factory=list)  # steps that read LocalManagedPolicy/Group
    finished_at: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunState:
        data = json.loads(text)
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})


@dataclass
class RunItem:
    """The run item as read from the table."""

    state: RunState
    step: int
    status: str
    lease_owner: str | None
    lease_until_ms: int
    pending_step: int | None
    pending_parts: int
    handover_sent: int
    summary: str

    def lease_live(self, now_ms: int, owner: str) -> bool:
        """True when another invocation holds a claim that has not lapsed."""
        return bool(self.lease_owner) and self.lease_owner != owner and self.lease_until_ms > now_ms


def _key(run_id: str, sort_key: str = RUN_SORT_KEY) -> dict[str, Any]:
    return {PK: {"S": f"{RUN_KEY_PREFIX}{run_id}"}, SK: {"S": sort_key}}


def part_sort_key(step: int, part: int) -> str:
    return f"step#{step:06d}#part#{part:03d}"


class RunStore(ConditionalTable):
    """Reads and conditional writes of run items; every call bounded by `deadline` (call_within)."""

    def begin_summary(self, run_id: str, owner: str, lease_until_ms: int) -> bool:
        """Mark the summary "sending" for `owner` once the run finished."""
        return self._begin_summary(
            _key(run_id), owner, lease_until_ms, "#status = :finished", {":finished": {"S": "finished"}}
        )

    def end_summary(self, run_id: str, owner: str, outcome: str) -> bool:
        return self._end_summary(_key(run_id), owner, outcome)

    def abort_summary(self, run_id: str, owner: str) -> bool:
        return self._abort_summary(_key(run_id), owner)

    def create(self, state: RunState) -> bool:
        """Create the run item; False when the run already exists (a duplicated schedule delivery)."""
        item = {
            **_key(state.run_id),
            "step": {"N": "0"},
            "status": {"S": "running"},
            "state": {"S": state.to_json()},
            "handoverSent": {"N": "0"},
            "summary": {"S": "none"},
            TTL: expires_at(),
        }
        return self._conditional(
            "put_item",
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PK},
        )

    def load(self, run_id: str) -> RunItem | None:
        """The run item (strongly consistent read), None for an unknown run."""
        item = self._call("get_item", Key=_key(run_id), ConsistentRead=True).get("Item")
        if not item:
            return None

        def number(name: str, default: int) -> int:
            return int(item[name]["N"]) if name in item else default

        return RunItem(
            state=RunState.from_json(item["state"]["S"]),
            step=number("step", 0),
            status=item.get("status", {}).get("S", "running"),
            lease_owner=item.get("leaseOwner", {}).get("S"),
            lease_until_ms=number("leaseUntil", 0),
            pending_step=number("pendingStep", -1) if "pendingStep" in item else None,
            pending_parts=number("pendingParts", 0),
            handover_sent=number("handoverSent", 0),
            summary=item.get("summary", {}).get("S", "none"),
        )

    def claim(self, run_id: str, step: int, owner: str, lease_until_ms: int) -> bool:
        """Take the run at `step` for `owner` until lease_until_ms, unless another live claim holds it."""
        return self._conditional(
            "update_item",
            Key=_key(run_id),
            UpdateExpression="SET leaseOwner = :me, leaseUntil = :until",
            ConditionExpression="#step = :k AND (attribute_not_exists(leaseOwner) OR leaseOwner = :me "
            "OR leaseUntil < :now)",
            ExpressionAttributeNames={"#step": "step"},
            ExpressionAttributeValues={
                ":me": {"S": owner},
                ":until": {"N": str(lease_until_ms)},
                ":k": {"N": str(step)},
                ":now": {"N": str(now_ms())},
            },
        )

    def commit(self, step: int, owner: str, state: RunState, parts: list[str], finished: bool) -> bool:
        """Move the run from `step` to step + 1 with its new state and this step's record parts, in one
        transaction, only while `owner` holds the claim. The claim is kept (release() drops it)."""
        run_update = {
            "Update": {
                "TableName": self.table,
                "Key": _key(state.run_id),
                "UpdateExpression": "SET #step = :next, #state = :state, #status = :status, "
                "pendingStep = :k, pendingParts = :parts",
                "ConditionExpression": "#step = :k AND leaseOwner = :me",
                "ExpressionAttributeNames": {"#step": "step", "#state": "state", "#status": "status"},
                "ExpressionAttributeValues": {
                    ":next": {"N": str(step + 1)},
                    ":k": {"N": str(step)},
                    ":state": {"S": state.to_json()},
                    ":status": {"S": "finished" if finished else "running"},
                    ":parts": {"N": str(len(parts))},
                    ":me": {"S": owner},
                },
            }
        }
        puts = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **_key(state.run_id, part_sort_key(step, j)),
                        "records": {"S": part},
                        TTL: expires_at(),
                    },
                }
            }
            for j, part in enumerate(parts)
        ]
        self.calls += 1
        try:
            # The token makes a retry after a lost answer succeed instead of failing its own condition.
            token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"iam-guard:{state.run_id}:{step}:{owner}"))
            call_within(
                self.deadline,
                self.dynamodb.transact_write_items,
                TransactItems=[run_update, *puts],
                ClientRequestToken=token,
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise
            # A retry whose first try landed fails its own condition: the commit is ours if the run is at
            # step + 1 with this step pending and our lease (nobody else can commit while we hold it).
            item = self.load(state.run_id)
            return (
                item is not None
                and item.step == step + 1
                and item.pending_step == step
                and item.lease_owner == owner
            )
        return True

    def part(self, run_id: str, step: int, part: int) -> str:
        """The records of one part of a committed step (newline-separated JSON)."""
        item = self._call("get_item", Key=_key(run_id, part_sort_key(step, part)), ConsistentRead=True)
        return str(item["Item"]["records"]["S"])

    def written(self, run_id: str, step: int, owner: str, release: bool) -> bool:
        """Every part of `step` is in the log: clear the pending mark (and drop the claim if `release`)."""
        update = "REMOVE pendingStep, pendingParts"
        if release:
            update += ", leaseOwner, leaseUntil"
        return self._conditional(
            "update_item",
            Key=_key(run_id),
            UpdateExpression=update,
            ConditionExpression="pendingStep = :k AND leaseOwner = :me",
            ExpressionAttributeValues={":k": {"N": str(step)}, ":me": {"S": owner}},
        )

    def release(self, run_id: str, owner: str) -> bool:
        """Drop `owner`'s claim."""
        return self._conditional(
            "update_item",
            Key=_key(run_id),
            UpdateExpression="REMOVE leaseOwner, leaseUntil",
            ConditionExpression="leaseOwner = :me",
            ExpressionAttributeValues={":me": {"S": owner}},
        )

    def handover_sent(self, run_id: str, step: int) -> bool:
        """Note that the continuation message for `step` went out."""
        return self._conditional(
            "update_item",
            Key=_key(run_id),
            UpdateExpression="SET handoverSent = :k",
            ConditionExpression="#step = :k",
            ExpressionAttributeNames={"#step": "step"},
            ExpressionAttributeValues={":k": {"N": str(step)}},
        )
