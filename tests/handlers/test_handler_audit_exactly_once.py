"""H-5: the daily audit is exactly once whatever SQS and Lambda do. Real IAM, SQS, SNS, DynamoDB and
CloudWatch Logs in moto, paged and faulted on the server side (audit_helpers.PagingProxy)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import boto3
import pytest
from audit_helpers import (
    ClockContext,
    PagingProxy,
    TickingContext,
    drive,
    paged_fixture,  # noqa: F401 (pytest fixture)
    pending_messages,
    scheduled,
    sqs_event,
)
from handler_helpers import (
    STATE_TABLE_NAME,
    Monitoring,
    emf_records,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import audit_run
import daily_audit
from fault_injection import FaultRule
from lambda_support import OutOfTime

pytestmark = pytest.mark.integration

NARROW = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/monthly/*"}
    ],
}
PASS_ROLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
}
LAMBDA_CREATE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}
    ],
}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
READ_ANY_OBJECT = {  # one MEDIUM finding (IAMG008) each: every step has records to write
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
ESCALATING_ROLES = 40


@pytest.fixture(autouse=True)
def cold_container() -> None:
    audit_run.set_container_memory(audit_run.ContainerMemory())


def build_large_account(iam: Any, plain: int = 360) -> None:
    """401 customer-managed policies (5 pages of 100) whose last page holds the PassRole halves of 40
    escalations; 40 roles each completing one with an inline Lambda policy (only combined: IAMG006)."""
    for number in range(plain):
        iam.create_policy(PolicyName=f"plain-{number:03d}", PolicyDocument=json.dumps(READ_ANY_OBJECT))
    for number in range(ESCALATING_ROLES):
        arn = iam.create_policy(PolicyName=f"zz-pass-{number:03d}", PolicyDocument=json.dumps(PASS_ROLE))[
            "Policy"
        ]["Arn"]
        role = f"esc-{number:03d}"
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
        iam.put_role_policy(RoleName=role, PolicyName="lambda", PolicyDocument=json.dumps(LAMBDA_CREATE))
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)


def findings_of(monitoring: Monitoring, run_id: str) -> Counter[tuple[str, str, str]]:
    return Counter(
        (record["entity"], str(record["policy"]), record["code"])
        for record in monitoring.records()
        if record["kind"] == "audit-finding" and record["runId"] == run_id
    )


def summaries_of(monitoring: Monitoring, run_id: str) -> list[dict[str, Any]]:
    return [r for r in monitoring.records() if r["kind"] == "audit-summary" and r["runId"] == run_id]


def run_item(run_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName=STATE_TABLE_NAME,
        Key={"pk": {"S": f"run#{run_id}"}, "sk": {"S": "run"}},
        ConsistentRead=True,
    )
    return dict(item.get("Item", {}))


def one_shot(monitoring: Monitoring, run_id: str) -> Counter[tuple[str, str, str]]:
    """The findings of the account audited in one long invocation (the reference result)."""
    audit_run.set_container_memory(audit_run.ContainerMemory())
    results = drive(daily_audit.handler, monitoring, scheduled(run_id), lambda _: ClockContext(300_000))
    assert [r["status"] for r in results] == ["complete"]
    monitoring.alerts()
    return findings_of(monitoring, run_id)


def test_h_5_two_containers_and_duplicated_handovers_audit_every_policy_exactly_once(
    monitoring: Monitoring, paged: PagingProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    build_large_account(monitoring.iam)
    expected = one_shot(monitoring, "reference")
    assert sum(count for (_, _, code), count in expected.items() if code == "IAMG006") == ESCALATING_ROLES
    capsys.readouterr()

    # Every handover message is delivered twice; two containers take the invocations in turn; each
    # invocation runs out of time after ~150 entries, in the middle of a page.
    paged.add(FaultRule("sqs", "SendMessage", "duplicate"))
    containers = [audit_run.ContainerMemory(), audit_run.ContainerMemory()]
    bodies: list[str] = []

    def before_each(invocation: int) -> None:
        audit_run.set_container_memory(containers[invocation % 2])

    def context_for(invocation: int) -> TickingContext:
        return TickingContext(20_000, 100, aws_request_id=f"req-{invocation}")

    results = drive(
        daily_audit.handler, monitoring, scheduled("doubled"), context_for, before_each, seen_bodies=bodies
    )

    statuses = Counter(result["status"] for result in results)
    assert statuses["complete"] == 1
    assert statuses["continued"] >= 3
    # every duplicate is a no-op: stale (its step was done) or done (the run was complete)
    assert statuses["stale"] + statuses["done"] == statuses["continued"], statuses
    assert findings_of(monitoring, "doubled") == expected  # no finding lost, none written twice
    assert sum(c for (_, _, code), c in findings_of(monitoring, "doubled").items() if code == "IAMG006") == 40
    assert sum(container.reloads for container in containers) >= 1  # a container lacking steps reloaded
    assert max(len(body) for body in bodies) < 64  # {"runId":"doubled","step":n}
    [summary] = summaries_of(monitoring, "doubled")
    assert summary["policiesAudited"] == 401 + 2 * ESCALATING_ROLES  # + each role's trust and inline
    [alert] = monitoring.alerts()
    assert "run doubled" in alert["Message"]
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["PoliciesAudited"] == summary["policiesAudited"]


def test_h_5_a_failed_publish_sends_no_metric_and_the_retry_writes_nothing_twice(
    monitoring: Monitoring, paged: PagingProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    build_large_account(monitoring.iam, plain=0)
    publish = paged.add(FaultRule("sns", "Publish", "error500"))

    with pytest.raises(OutOfTime):
        daily_audit.handler(scheduled("unpublished"), ClockContext(8_000, aws_request_id="first"))

    written = findings_of(monitoring, "unpublished")
    assert sum(written.values()) >= ESCALATING_ROLES
    assert publish.applied >= 2  # retried, then gave up before the deadline
    assert emf_records(capsys.readouterr().out) == []  # no completion metric: "audit missing" fires
    assert monitoring.alerts() == []
    assert run_item("unpublished")["summary"]["S"] == "none"

    paged.clear()
    # Lambda retries the scheduled event: the run exists; only the summary is left to do.
    [result] = daily_audit.handler(scheduled("unpublished"), ClockContext(30_000, aws_request_id="retry"))[
        "runs"
    ]

    assert result["status"] == "complete"
    assert findings_of(monitoring, "unpublished") == written  # no record written again
    assert len(summaries_of(monitoring, "unpublished")) == 1
    [alert] = monitoring.alerts()
    assert "daily IAM audit" in alert["Subject"]
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["PoliciesAudited"] == 41 + 2 * ESCALATING_ROLES
    assert run_item("unpublished")["summary"]["S"] == "sent"

    # and once more: nothing left to do
    [again] = daily_audit.handler(scheduled("unpublished"), ClockContext(30_000, aws_request_id="third"))[
        "runs"
    ]
    assert again["status"] == "done"
    assert monitoring.alerts() == [] and emf_records(capsys.readouterr().out) == []


def test_h_5_sustained_throttling_hands_over_before_the_deadline(
    monitoring: Monitoring, paged: PagingProxy
) -> None:
    build_large_account(monitoring.iam)
    expected = one_shot(monitoring, "calm")
    throttle = paged.add(FaultRule("iam", "GetAccountAuthorizationDetails", "throttle"))
    context = ClockContext(8_000, aws_request_id="throttled")

    [first] = daily_audit.handler(scheduled("throttled"), context)["runs"]

    left_ms = context.get_remaining_time_in_millis()
    assert first["status"] == "continued"
    assert throttle.applied >= 3  # retried with backoff while time was left
    assert left_ms >= 1_000, left_ms  # handed over with time to spare: no timeout, no DLQ
    [message] = pending_messages(monitoring)
    assert json.loads(message["body"]) == {"runId": "throttled", "step": 1}

    paged.clear()
    results = drive(daily_audit.handler, monitoring, {"Records": [message]}, lambda n: ClockContext(60_000))
    assert results[-1]["status"] == "complete"
    assert findings_of(monitoring, "throttled") == expected
    assert len(summaries_of(monitoring, "throttled")) == 1


def test_h_5_records_lost_by_a_crash_after_the_commit_are_replayed_exactly_once(
    monitoring: Monitoring, paged: PagingProxy
) -> None:
    build_large_account(monitoring.iam)
    expected = one_shot(monitoring, "steady")
    # The first invocation commits its first step but cannot write its records, nor hand over.
    paged.add(FaultRule("logs", "PutLogEvents", "error500"))
    with pytest.raises(OutOfTime):
        daily_audit.handler(scheduled("crashy"), TickingContext(20_000, 100, aws_request_id="dies"))
    assert findings_of(monitoring, "crashy") == Counter()
    assert run_item("crashy")["pendingStep"]["N"] == "0"
    assert pending_messages(monitoring) == []

    paged.clear()
    # The retried schedule adopts the run (its handover was never sent) and replays the committed step.
    results = drive(
        daily_audit.handler,
        monitoring,
        scheduled("crashy"),
        lambda n: TickingContext(20_000, 100, aws_request_id=f"retry-{n}"),
    )
    assert results[0]["status"] == "continued"
    assert results[-1]["status"] == "complete"
    assert findings_of(monitoring, "crashy") == expected
    assert len(summaries_of(monitoring, "crashy")) == 1


def test_h_5_a_lost_handover_message_is_recovered_by_the_redelivered_one(
    monitoring: Monitoring, paged: PagingProxy
) -> None:
    build_large_account(monitoring.iam)
    expected = one_shot(monitoring, "sure")
    paged.add(FaultRule("sqs", "SendMessage", "error500"))
    with pytest.raises(OutOfTime):
        daily_audit.handler(scheduled("unsent"), TickingContext(20_000, 100, aws_request_id="sender"))
    assert run_item("unsent")["step"]["N"] == "1" and run_item("unsent")["handoverSent"]["N"] == "0"
    committed = findings_of(monitoring, "unsent")
    assert sum(committed.values()) > 0

    paged.clear()
    results = drive(
        daily_audit.handler,
        monitoring,
        scheduled("unsent"),
        lambda n: TickingContext(20_000, 100, f"again-{n}"),
    )
    assert results[0]["status"] == "continued"
    assert findings_of(monitoring, "unsent") == expected
    assert len(summaries_of(monitoring, "unsent")) == 1
    assert len(monitoring.alerts()) == 1


def test_h_5_forged_and_unknown_continuations_are_rejected_and_logged(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    monitoring.iam.create_policy(PolicyName="plain", PolicyDocument=json.dumps(NARROW))
    drive(daily_audit.handler, monitoring, scheduled("real"), lambda n: ClockContext(60_000))
    monitoring.alerts()
    before = run_item("real")
    capsys.readouterr()
    old_format_phase_2 = json.dumps(
        {"version": 1, "run_id": "real", "started_at": 0, "phase": 1, "done": ["Role", "User"],
         "policies_audited": 9999, "principals_audited": 0, "findings": {}, "worst": []}
    )  # fmt: skip

    outcomes = [
        daily_audit.handler(sqs_event(old_format_phase_2), ClockContext(60_000))["runs"],
        daily_audit.handler(sqs_event('{"runId":"real","step":7}'), ClockContext(60_000))["runs"],
        daily_audit.handler(sqs_event('{"runId":"never-started","step":1}'), ClockContext(60_000))["runs"],
        daily_audit.handler(sqs_event('{"runId":"real","step":true}'), ClockContext(60_000))["runs"],
    ]

    assert [[run["status"] for run in runs] for runs in outcomes] == [[], ["forged"], ["unknown"], []]
    assert monitoring.alerts() == []
    out = capsys.readouterr().out
    assert emf_records(out) == []
    warnings = [line for line in log_lines(out) if line["level"] == "WARN"]
    assert [line["message"] for line in warnings] == [
        "continuation message acknowledged without audit",
        "continuation acknowledged without audit",
        "continuation acknowledged without audit",
        "continuation message acknowledged without audit",
    ]
    assert len(summaries_of(monitoring, "real")) == 1
    assert run_item("real") == before


def test_h_5_a_duplicated_schedule_delivery_is_one_run(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    monitoring.iam.create_policy(PolicyName="plain", PolicyDocument=json.dumps(PASS_ROLE))
    first = daily_audit.handler(scheduled("nightly"), ClockContext(60_000, aws_request_id="a"))["runs"]
    second = daily_audit.handler(scheduled("nightly"), ClockContext(60_000, aws_request_id="b"))["runs"]

    assert [first[0]["status"], second[0]["status"]] == ["complete", "done"]
    assert len(monitoring.alerts()) == 1
    assert len(emf_records(capsys.readouterr().out)) == 1
    assert len(summaries_of(monitoring, "nightly")) == 1


def test_h_5_remediation_off_writes_records_and_metrics_but_publishes_no_summary(
    monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "off")
    monitoring.iam.create_policy(PolicyName="pass", PolicyDocument=json.dumps(PASS_ROLE))

    [run] = daily_audit.handler(scheduled("quiet"), ClockContext(60_000))["runs"]

    assert run["status"] == "complete"
    assert monitoring.alerts() == []
    [summary] = summaries_of(monitoring, "quiet")
    assert summary["policiesAudited"] == 2  # "pass" and the stack's quarantine policy
    assert sum(findings_of(monitoring, "quiet").values()) == sum(summary["findings"].values()) >= 1
    [metrics] = emf_records(capsys.readouterr().out)
    assert metrics["PoliciesAudited"] == 2
    assert run_item("quiet")["summary"]["S"] == "recorded"


def near_limit_policy(number: int) -> dict[str, Any]:
    """~10 KB of inline policy (IAM's limit for a role is 10,240 characters): a very long Sid and many
    wildcard actions on every resource."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"S{number}" + "x" * 4_000,
                "Effect": "Allow",
                "Action": [f"s3:Get{chr(65 + n % 26)}{n}*" for n in range(300)],
                "Resource": "*",
            }
        ],
    }


def test_h_5_records_summary_and_handovers_stay_small_with_documents_at_iam_size_limits(
    monitoring: Monitoring, paged: PagingProxy
) -> None:
    path = "/" + "/".join(["deep" * 10] * 12) + "/"  # IAM paths go up to 512 characters
    for number in range(30):
        role = f"{'long-role-name-' * 4}{number:02d}"[:64]
        monitoring.iam.create_role(
            RoleName=role, Path=path, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
        )
        monitoring.iam.put_role_policy(
            RoleName=role, PolicyName="p" * 128, PolicyDocument=json.dumps(near_limit_policy(number))
        )
    bodies: list[str] = []

    results = drive(
        daily_audit.handler,
        monitoring,
        scheduled("near-limits"),
        lambda n: TickingContext(7_000, 100, f"big-{n}"),
        seen_bodies=bodies,
    )

    assert results[-1]["status"] == "complete" and len(results) >= 2
    assert bodies and max(len(body) for body in bodies) < 64
    records = [r for r in monitoring.records() if r["runId"] == "near-limits"]
    findings = [r for r in records if r["kind"] == "audit-finding"]
    assert len(findings) >= 30
    assert max(len(json.dumps(r)) for r in findings) < 5_000  # every string bounded
    [summary] = [r for r in records if r["kind"] == "audit-summary"]
    assert sum(summary["findings"].values()) == len(findings)  # the counts survive
    assert summary["policiesAudited"] == 61  # 30 inline + 30 trust + the stack's quarantine policy
    assert len(summary["worst"]) == audit_run.WORST_KEPT and summary["worstOmitted"] == 0
    assert len(json.dumps(summary)) < 128 * 1024


def test_h_5_an_oversized_summary_drops_examples_never_its_counts() -> None:
    from audit_records import MAX_RECORD_BYTES, fit_summary

    counts = {"critical": 7, "high": 11, "medium": 400, "low": 0, "info": 3}
    worst = [{"severity": "critical", "code": "IAMG001", "message": "m" * 20_000} for _ in range(20)]
    summary = {
        "kind": "audit-summary",
        "runId": "big",
        "policiesAudited": 9,
        "findings": counts,
        "worst": worst,
    }

    line = fit_summary(summary)

    assert len(line.encode()) <= MAX_RECORD_BYTES
    record = json.loads(line)
    assert record["findings"] == counts and record["policiesAudited"] == 9
    assert 0 < record["worstOmitted"] < 20
    assert len(record["worst"]) + record["worstOmitted"] == 20


def test_h_5_a_duplicate_delivered_while_its_step_is_leased_is_a_no_op(
    monitoring: Monitoring, paged: PagingProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    build_large_account(monitoring.iam, plain=100)
    [first] = daily_audit.handler(scheduled("leased"), TickingContext(15_000, 100, "starter"))["runs"]
    assert first["status"] == "continued"
    [message] = pending_messages(monitoring)
    # The first copy's invocation waits 3 s on its page while holding the lease; the second copy arrives.
    paged.add(FaultRule("iam", "GetAccountAuthorizationDetails", "delay", times=1, delay_seconds=3.0))
    outcomes: dict[str, Any] = {}
    first_copy = threading.Thread(
        target=lambda: outcomes.update(
            a=daily_audit.handler({"Records": [message]}, ClockContext(60_000, aws_request_id="copy-a"))
        )
    )
    first_copy.start()
    deadline = time.monotonic() + 10
    while run_item("leased").get("leaseOwner", {}).get("S") != "copy-a" and time.monotonic() < deadline:
        time.sleep(0.05)

    second = daily_audit.handler({"Records": [message]}, ClockContext(60_000, aws_request_id="copy-b"))
    first_copy.join(timeout=60)

    assert second["runs"][0]["status"] == "duplicate"
    assert outcomes["a"]["runs"][0]["status"] == "complete"
    assert len(summaries_of(monitoring, "leased")) == 1
    assert len(monitoring.alerts()) == 1
    assert len(emf_records(capsys.readouterr().out)) == 1


def test_h_5_lost_answers_of_writes_that_landed_duplicate_nothing(
    monitoring: Monitoring, paged: PagingProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    build_large_account(monitoring.iam)
    expected = one_shot(monitoring, "reference")
    capsys.readouterr()
    for service, operation, times in (
        ("dynamodb", "TransactWriteItems", 2),
        ("dynamodb", "UpdateItem", 4),
        ("logs", "CreateLogStream", 1),
        ("logs", "PutLogEvents", 3),
        ("sqs", "SendMessage", 1),
    ):
        paged.lose_answer(service, operation, times)

    results = drive(
        daily_audit.handler,
        monitoring,
        scheduled("lossy"),
        lambda n: TickingContext(20_000, 100, f"lossy-{n}"),
    )

    assert sum(paged.answers_lost.values()) == 11 and not +paged.answers_to_lose, paged.answers_lost
    assert Counter(r["status"] for r in results)["complete"] == 1
    assert findings_of(monitoring, "lossy") == expected
    assert len(summaries_of(monitoring, "lossy")) == 1
    assert len(monitoring.alerts()) == 1
    assert len(emf_records(capsys.readouterr().out)) == 1


def test_h_5_a_run_that_cannot_finish_in_max_steps_is_abandoned_loudly(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    monitoring.iam.create_policy(PolicyName="plain", PolicyDocument=json.dumps(PASS_ROLE))
    state = json.dumps({"run_id": "endless", "started_at": 0.0})
    boto3.client("dynamodb").put_item(
        TableName=STATE_TABLE_NAME,
        Item={
            "pk": {"S": "run#endless"},
            "sk": {"S": "run"},
            "step": {"N": str(audit_run.MAX_STEPS)},
            "status": {"S": "running"},
            "state": {"S": state},
            "handoverSent": {"N": str(audit_run.MAX_STEPS)},
            "summary": {"S": "none"},
        },
    )

    body = json.dumps({"runId": "endless", "step": audit_run.MAX_STEPS})
    [run] = daily_audit.handler(sqs_event(body), ClockContext(60_000))["runs"]

    assert run["status"] == "abandoned"
    out = capsys.readouterr().out
    assert [line["message"] for line in log_lines(out) if line["level"] == "ERROR"] == [
        "audit abandoned: too many steps"
    ]
    assert emf_records(out) == []  # no completion metric: the "daily audit missing" alarm fires
    assert monitoring.alerts() == [] and pending_messages(monitoring) == []
    assert "leaseOwner" not in run_item("endless")
