"""ORG-2: the organization's daily audit fanned out over every member account, end to end on the moto server.

An organization of 21 member accounts (moto's Organizations API; one IAM backend per account, reached by
AssumeRole into that account), each with IAM content created through its OrganizationAccountAccessRole; 20
have the member audit role, one has not (IAM answers AssumeRole on a missing role with AccessDenied: the
MemberRoleProxy says so on the server side, moto does not check). A cross-account path is planted: user
dev in A may assume role Bridge in B, whose trust admits A; Bridge may assume the administrator role
OrgAdmin in C, whose trust admits B.

The handlers run in-process as their event sources would run them: the scheduler on a scheduled event
(delivered twice), the worker on every message of the real moto audit queue (a failure leaves the message
visible again, as the visibility timeout would; one account message is delivered again after its account
was audited), the consolidator on the consolidation queue's messages (delivered twice).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from typing import Any

import pytest
from org_fixtures import (
    RESULTS_BUCKET,
    STATE_TABLE,
    MemberRoleProxy,
    client,
    create_organization,
    create_runtime,
    drain,
    give_audit_role,
    give_iam_content,
    member_iam,
    plant_cross_account_path,
    receive,
    sqs_event,
)

from fault_injection import FaultRule
from iam_guard.remote_audit import audit_details, authorization_details

pytestmark = pytest.mark.integration

MEMBERS = 21
RUN_ID = "org-run-1"
SCHEDULE = {"detail-type": "Scheduled Event", "source": "aws.events", "id": RUN_ID, "detail": {}}


class Context:
    """A Lambda context: a fresh request ID per invocation, 55 s of (wall-clock) time."""

    def __init__(self, function: str, budget_ms: int = 55_000) -> None:
        import time

        self._budget_ms = budget_ms
        self._started = time.monotonic()
        self._clock = time.monotonic
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = f"iam-guard-{function}-dev-us-east-1"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self._budget_ms - int((self._clock() - self._started) * 1000)


@pytest.fixture
def org_env(aws: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    proxy = MemberRoleProxy(aws).start()
    organization = create_organization(aws, MEMBERS)
    members = sorted(organization.members)
    failing = members[-1]
    for account in members:
        if account != failing:
            give_audit_role(aws, proxy, account, organization.management)
        give_iam_content(aws, account)
    planted = plant_cross_account_path(aws, members[0], members[1], members[2])
    runtime = create_runtime(aws, organization.organization_id)
    for name, value in runtime.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield {
        "endpoint": aws,
        "proxy": proxy,
        "organization": organization,
        "members": members,
        "failing": failing,
        "planted": planted,
        "runtime": runtime,
    }
    proxy.stop()


def _handlers() -> tuple[Any, Any, Any]:
    import org_audit_consolidator
    import org_audit_scheduler
    import org_audit_worker

    return org_audit_scheduler, org_audit_worker, org_audit_consolidator


def _account_items(endpoint: str, run_id: str) -> dict[str, dict[str, Any]]:
    items = client("dynamodb", endpoint).query(
        TableName=STATE_TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
        ExpressionAttributeValues={":pk": {"S": f"orgrun#{run_id}"}, ":a": {"S": "account#"}},
        ConsistentRead=True,
    )["Items"]
    return {item["sk"]["S"].removeprefix("account#"): item for item in items}


def _result_keys(endpoint: str, run_id: str) -> Counter[str]:
    s3 = client("s3", endpoint)
    keys: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=RESULTS_BUCKET, Prefix=f"runs/{run_id}/accounts/"
    ):
        for item in page.get("Contents", []):
            keys[item["Key"].split("/")[3]] += 1
    return keys


def _read(endpoint: str, key: str) -> str:
    return client("s3", endpoint).get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read().decode("utf-8")


def test_org_2_fanout_audits_every_account_once_reports_the_failed_one_and_the_planted_path(
    org_env: dict[str, Any],
) -> None:
    scheduler, worker, consolidator = _handlers()
    endpoint, runtime = org_env["endpoint"], org_env["runtime"]
    members, failing, planted = org_env["members"], org_env["failing"], org_env["planted"]
    management = org_env["organization"].management
    sqs = client("sqs", endpoint)

    first = scheduler.handler(SCHEDULE, Context("org-audit-scheduler"))
    assert first == {"orgRunId": RUN_ID, "status": "scheduled", "accounts": MEMBERS}
    # EventBridge delivers at least once: the second delivery is the same run, nothing listed twice.
    scheduler.handler(SCHEDULE, Context("org-audit-scheduler"))
    assert sorted(_account_items(endpoint, RUN_ID)) == members  # the management account is not a target

    results: list[dict[str, Any]] = []
    _, failures = drain(
        sqs,
        runtime.audit_queue_url,
        lambda event: results.append(worker.handler(event, Context("org-audit-worker"))),
    )
    # The failing account: two messages (the schedule came twice); its first message fails twice and is
    # reported failed on its third delivery; the other message then finds the account closed.
    assert failures == 2
    statuses = Counter(item["status"] for result in results for item in result["accounts"])
    assert statuses["complete"] == MEMBERS - 1 and statuses["failed"] == 1

    items = _account_items(endpoint, RUN_ID)
    assert Counter(item["status"]["S"] for item in items.values()) == {"audited": MEMBERS - 1, "failed": 1}
    reason = items[failing]["failureReason"]["S"]
    assert "AssumeRole: AccessDenied" in reason and "after 3 attempts" in reason
    assert all(
        arn.endswith(f"::{failing}:role/IamGuardOrgMemberAudit-dev-us-east-1")
        for arn in org_env["proxy"].denied
    )

    keys_before = _result_keys(endpoint, RUN_ID)
    assert sorted(keys_before) == [account for account in members if account != failing]
    # A late duplicate of an audited account's message: acknowledged, nothing written again.
    sqs.send_message(
        QueueUrl=runtime.audit_queue_url, MessageBody=json.dumps({"orgRunId": RUN_ID, "account": members[3]})
    )
    late: list[dict[str, Any]] = []
    drain(
        sqs,
        runtime.audit_queue_url,
        lambda event: late.append(worker.handler(event, Context("org-audit-worker"))),
    )
    assert [item["status"] for result in late for item in result["accounts"]] == ["done"]
    assert _result_keys(endpoint, RUN_ID) == keys_before

    summaries: list[dict[str, Any]] = []

    def consolidate(event: dict[str, Any]) -> None:
        summaries.append(consolidator.handler(event, Context("org-audit-consolidator")))

    drain(sqs, runtime.consolidation_queue_url, consolidate)
    sqs.send_message(QueueUrl=runtime.consolidation_queue_url, MessageBody=json.dumps({"orgRunId": RUN_ID}))
    drain(sqs, runtime.consolidation_queue_url, consolidate)
    outcomes = [run["status"] for summary in summaries for run in summary["runs"]]
    assert outcomes.count("sent") == 1 and set(outcomes) <= {"sent", "done", "duplicate"}

    report = json.loads(_read(endpoint, f"runs/{RUN_ID}/report.json"))
    html = _read(endpoint, f"runs/{RUN_ID}/report.html")
    totals = report["totals"]
    assert (totals["accounts"], totals["audited"], totals["failed"]) == (MEMBERS, MEMBERS - 1, 1)
    assert [item["account"] for item in report["failed"]] == [failing]
    assert "AccessDenied" in report["failed"][0]["error"]
    assert [item["account"] for item in report["notAudited"]] == [management]
    assert "management account" in report["notAudited"][0]["reason"]

    # Exactly once: each account's records are the findings of one audit of that account, computed here
    # independently (iam_guard.remote_audit over the account's own IAM data), no more, no fewer.
    records_per_account = Counter(record["account"] for record in report["records"])
    for account in members:
        if account == failing:
            assert records_per_account[account] == 0
            continue
        iam = member_iam(endpoint, account)
        expected = audit_details(authorization_details(iam), iam)
        assert records_per_account[account] == len(expected), account
        assert totals["byAccount"][account]["total"] == len(expected)
        assert int(items[account]["recordCount"]["N"]) >= len(expected)  # + the reach records

    # The HTML's totals are the JSON's.
    assert int(re.search(r'id="total-findings" data-count="(\d+)"', html).group(1)) == totals["findings"]
    for account, counts in totals["byAccount"].items():
        cell = re.search(rf'data-account="{account}" data-severity="total" data-count="(\d+)"', html)
        assert cell is not None and int(cell.group(1)) == counts["total"], account
    assert f'data-failed-account="{failing}"' in html

    # The planted path, hop by hop: user dev in A -> Bridge in B -> OrgAdmin in C.
    planted_paths = [path for path in report["paths"] if path["hops"][0]["source"] == planted["user"]]
    assert planted_paths, report["paths"]
    hops = planted_paths[0]["hops"]
    assert [(hop["source"], hop["target"]) for hop in hops] == [
        (planted["user"], planted["bridge"]),
        (planted["bridge"], planted["admin"]),
    ]
    assert [hop["targetAccount"] for hop in hops] == [members[1], members[2]]

    # One summary, with the failed account, the path and the links to the report.
    alerts = receive(sqs, runtime.alerts_queue_url)
    assert len(alerts) == 1 and receive(sqs, runtime.alerts_queue_url) == []
    text = alerts[0]["Body"]
    assert failing in text and "AccessDenied" in text
    assert f"s3://{RESULTS_BUCKET}/runs/{RUN_ID}/report.html" in text
    assert (
        f"https://console.aws.amazon.com/s3/object/{RESULTS_BUCKET}?region=us-east-1&prefix=runs/{RUN_ID}/report.html"
        in text
    )
    assert "Bridge" in text and "OrgAdmin" in text
    assert f"Not audited: {management}" in text


def test_org_2_deadline_reports_unfinished_accounts_failed_and_sends_one_summary(
    org_env: dict[str, Any],
) -> None:
    """A run where accounts never finish ends loudly: after the deadline the consolidator marks them
    failed with the reason and sends the summary; a duplicate of the deadline check re-arms nothing."""
    scheduler, worker, consolidator = _handlers()
    endpoint, runtime = org_env["endpoint"], org_env["runtime"]
    members = org_env["members"]
    sqs = client("sqs", endpoint)
    scheduler.handler(SCHEDULE, Context("org-audit-scheduler"))
    # Only the first account's message is ever delivered; the workers for the others never run.
    done = False
    for message in receive(sqs, runtime.audit_queue_url) + receive(sqs, runtime.audit_queue_url):
        if json.loads(message["Body"])["account"] == members[0] and not done:
            from org_fixtures import sqs_event

            worker.handler(
                sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:q"), Context("org-audit-worker")
            )
            done = True
    assert done
    check = {"orgRunId": RUN_ID, "check": 0}
    from org_fixtures import sqs_event

    def deliver_check(body: dict[str, Any]) -> dict[str, Any]:
        fake = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": json.dumps(body)}
        return consolidator.handler(
            sqs_event(fake, "arn:aws:sqs:us-east-1:123456789012:c"), Context("org-audit-consolidator")
        )

    # Before the deadline the check only re-arms itself (once, however often it is delivered).
    assert deliver_check(check)["runs"][0]["status"] == "waiting"
    assert deliver_check(check)["runs"][0]["status"] == "waiting"
    rearmed = sqs.get_queue_attributes(
        QueueUrl=runtime.consolidation_queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
    assert int(rearmed) == 2  # the scheduler's check 0 and one check 1, not two
    # The deadline passes (the run's clock, moved on in the table).
    client("dynamodb", endpoint).update_item(
        TableName=STATE_TABLE,
        Key={"pk": {"S": f"orgrun#{RUN_ID}"}, "sk": {"S": "run"}},
        UpdateExpression="SET deadlineAt = :past",
        ExpressionAttributeValues={":past": {"N": "1000"}},
    )
    final = deliver_check({"orgRunId": RUN_ID, "check": 1})["runs"][0]
    assert final["status"] == "sent" and final["audited"] == 1 and final["failed"] == MEMBERS - 1
    items = _account_items(endpoint, RUN_ID)
    late = [account for account, item in items.items() if item["status"]["S"] == "failed"]
    assert sorted(late) == members[1:]
    assert all(
        "not finished by the run's deadline" in items[account]["failureReason"]["S"] for account in late
    )
    assert deliver_check({"orgRunId": RUN_ID, "check": 2})["runs"][0]["status"] == "done"
    alerts = receive(sqs, runtime.alerts_queue_url)
    assert len(alerts) == 1 and f"{MEMBERS - 1} account(s) could not be audited" in alerts[0]["Body"]


def test_org_2_forged_and_malformed_messages_assume_no_role(org_env: dict[str, Any]) -> None:
    """The run's table decides, never the message: an account outside the run, an unknown run or a
    malformed body is acknowledged without one AssumeRole."""
    scheduler, worker, _ = _handlers()
    from org_fixtures import sqs_event

    scheduler.handler(SCHEDULE, Context("org-audit-scheduler"))
    before = org_env["proxy"].count("sts", "AssumeRole")
    bodies = [
        {"orgRunId": RUN_ID, "account": "999999999999"},
        {"orgRunId": "no-such-run", "account": org_env["members"][0]},
        {"runId": f"{RUN_ID}.{org_env['members'][0]}", "step": 7},
        {"orgRunId": RUN_ID, "account": org_env["members"][0], "extra": 1},
        {"runId": "../etc", "step": 0},
    ]
    statuses = []
    for body in bodies:
        fake = {"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps(body)}
        result = worker.handler(
            sqs_event(fake, "arn:aws:sqs:us-east-1:123456789012:q"), Context("org-audit-worker")
        )
        statuses.append([item["status"] for item in result["accounts"]])
    assert statuses[:2] == [["unknown"], ["unknown"]]
    assert statuses[3:] == [[], []]  # malformed: logged and acknowledged
    assert statuses[2] == ["unknown"]  # no account run was ever created: no step 7 of it
    assert org_env["proxy"].count("sts", "AssumeRole") == before


def test_org_2_throttling_past_the_invocations_time_reports_the_account_failed(
    org_env: dict[str, Any],
) -> None:
    """IAM throttles every read of the account (server side): each invocation retries until its time is up
    and hands over without progress; the third such invocation in a row reports the account failed with the
    error, instead of handing over until the run's 500-step limit."""
    scheduler, worker, _ = _handlers()
    endpoint, runtime = org_env["endpoint"], org_env["runtime"]
    target = org_env["members"][0]
    sqs = client("sqs", endpoint)
    scheduler.handler(SCHEDULE, Context("org-audit-scheduler"))
    org_env["proxy"].add(FaultRule("iam", "GetAccountAuthorizationDetails", "throttle"))
    statuses: list[str] = []
    for _ in range(20):
        batch = receive(sqs, runtime.audit_queue_url)
        if not batch:
            break
        for message in batch:
            body = json.loads(message["Body"])
            account = body.get("account") or body["runId"].rsplit(".", 1)[1]
            if account != target:  # the other accounts' workers are not part of this test
                sqs.change_message_visibility(
                    QueueUrl=runtime.audit_queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=900,
                )
                continue
            result = worker.handler(
                sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:q"), Context("org-audit-worker", 9_000)
            )
            statuses.extend(item["status"] for item in result["accounts"])
            sqs.delete_message(QueueUrl=runtime.audit_queue_url, ReceiptHandle=message["ReceiptHandle"])
    item = _account_items(endpoint, RUN_ID)[target]
    # Three invocations without progress, each handing over; the third's handover finds the account closed.
    assert statuses == ["continued", "continued", "continued", "done"]
    assert item["status"]["S"] == "failed"
    reason = item["failureReason"]["S"]
    assert reason.startswith("no progress in 3 invocations in a row: GetAccountAuthorizationDetails")
    assert "Throttling" in reason or "ms left" in reason
    assert org_env["proxy"].count("iam", "GetAccountAuthorizationDetails") >= 3
