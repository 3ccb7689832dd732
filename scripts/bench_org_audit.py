"""Benchmark of the organization's fan-out audit (ORG-2) for `make bench`.

1. Measured, on a moto server started in this process: an organization of --accounts member accounts
   (default 3) of --roles roles each (default 500; each role: a trust policy, an inline policy and one of
   20 customer-managed policies attached), created through the API in each account's own backend. The
   scheduler, then every account message through the org audit worker (the handlers of
   src/iam_guard/lambda_handlers, each invocation with 60 s on the wall clock, one after the other), then
   the consolidator. IAM is paged on the server side at --page-size entries (tests/handlers/audit_helpers
   PagingProxy; IAM often returns fewer than MaxItems=1000). Prints per account: wall time, invocations,
   IAM pages; per service the calls per account.
2. Projected for 1,000 accounts x 500 roles at organization.audit_concurrency (default 10): wall-clock time
   (the accounts in waves of `concurrency`, each account taking the measured time plus the real IAM page
   latency the moto server does not have, --iam-page-seconds) and the monthly cost of a daily run (Lambda
   GB-s at the configured memory and requests, SQS requests, S3 PUT/GET, DynamoDB on-demand request units)
   at us-east-1 list prices, against the goal: 1,000 accounts within 15 minutes, no invocation over 60 s
   (CON-1).

    .venv/bin/python scripts/bench_org_audit.py [--accounts 3] [--roles 500] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import socket
import sys
import time
import urllib.request
import uuid
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
for folder in ("src/iam_guard/lambda_handlers", "tests", "tests/handlers", "tests/integration"):
    sys.path.insert(0, str(REPO_ROOT / folder))

LAMBDA_TIMEOUT_MS = 60_000
GOAL_ACCOUNTS = 1_000
GOAL_ROLES = 500
GOAL_MINUTES = 15
# us-east-1 list prices (arm64 Lambda, standard SQS, S3 Standard, DynamoDB on-demand), USD.
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
SQS_REQUEST = 0.40 / 1_000_000
S3_PUT = 0.005 / 1_000
S3_GET = 0.0004 / 1_000
DYNAMODB_WRITE_UNIT = 1.25 / 1_000_000
DYNAMODB_READ_UNIT = 0.25 / 1_000_000
DAYS_PER_MONTH = 30


class Context:
    """A Lambda context with 60 s on the wall clock and a fresh request ID."""

    def __init__(self, function: str) -> None:
        self.started = time.monotonic()
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = function
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function}"

    def get_remaining_time_in_millis(self) -> int:
        return int(LAMBDA_TIMEOUT_MS - (time.monotonic() - self.started) * 1000)


def load_account(endpoint: str, account: str, roles: int) -> None:
    from org_fixtures import READ_ONLY, member_iam, trust_of

    iam = member_iam(endpoint, account)
    policies = [
        iam.create_policy(PolicyName=f"shared-{number:02d}", PolicyDocument=json.dumps(READ_ONLY))["Policy"][
            "Arn"
        ]
        for number in range(20)
    ]
    for number in range(roles):
        name = f"role-{number:04d}"
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_of(service="lambda.amazonaws.com"))
        )
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": f"arn:aws:s3:::bucket-{number}/*",
                },
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
            ],
        }
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
        iam.attach_role_policy(RoleName=name, PolicyArn=policies[number % len(policies)])


def measure(accounts: int, roles: int, page_size: int) -> dict[str, Any]:
    import boto3
    from moto.server import ThreadedMotoServer
    from org_fixtures import (
        MemberRoleProxy,
        create_organization,
        create_runtime,
        give_audit_role,
        receive,
        sqs_event,
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "LOG_LEVEL": "WARNING",
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    proxy = None
    try:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        proxy = MemberRoleProxy(endpoint, page_size=page_size).start()
        organization = create_organization(endpoint, accounts)
        started = time.perf_counter()
        for account in organization.members:
            give_audit_role(endpoint, proxy, account, organization.management)
            load_account(endpoint, account, roles)
        loaded = time.perf_counter() - started
        runtime = create_runtime(endpoint, organization.organization_id)
        os.environ.update(runtime.environment)
        os.environ["AWS_ENDPOINT_URL"] = proxy.url
        import org_audit_consolidator
        import org_audit_scheduler
        import org_audit_worker

        sink = io.StringIO()
        sqs = boto3.client("sqs", endpoint_url=endpoint)
        queue_arn = "arn:aws:sqs:us-east-1:123456789012:org-audit"
        with redirect_stdout(sink):
            org_audit_scheduler.handler(
                {"detail-type": "Scheduled Event", "id": "bench"}, Context("scheduler")
            )
        per_account: dict[str, dict[str, Any]] = {}
        invocations: list[float] = []
        calls_before = Counter(proxy.calls)
        while True:
            batch = receive(sqs, runtime.audit_queue_url, 1)
            if not batch:
                break
            message = batch[0]
            body = json.loads(message["Body"])
            account = body.get("account") or body["runId"].rsplit(".", 1)[1]
            before = Counter(proxy.calls)
            began = time.perf_counter()
            with redirect_stdout(sink):
                org_audit_worker.handler(sqs_event(message, queue_arn), Context("worker"))
            took = time.perf_counter() - began
            invocations.append(took)
            sqs.delete_message(QueueUrl=runtime.audit_queue_url, ReceiptHandle=message["ReceiptHandle"])
            entry = per_account.setdefault(account, {"seconds": 0.0, "invocations": 0, "calls": Counter()})
            entry["seconds"] += took
            entry["invocations"] += 1
            entry["calls"].update(Counter(proxy.calls) - before)
        worker_calls = Counter(proxy.calls) - calls_before
        began = time.perf_counter()
        for message in receive(sqs, runtime.consolidation_queue_url):
            with redirect_stdout(sink):
                org_audit_consolidator.handler(sqs_event(message, queue_arn), Context("consolidator"))
        consolidation = time.perf_counter() - began
        return {
            "loaded": loaded,
            "per_account": per_account,
            "invocations": invocations,
            "worker_calls": worker_calls,
            "consolidation": consolidation,
        }
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()


def project(
    measured: dict[str, Any], accounts: int, concurrency: int, iam_page_seconds: float, memory_mb: int
) -> dict[str, float]:
    per_account = measured["per_account"]
    seconds = sum(item["seconds"] for item in per_account.values()) / len(per_account)
    pages = sum(
        item["calls"][("iam", "GetAccountAuthorizationDetails")] for item in per_account.values()
    ) / len(per_account)
    invocations = sum(item["invocations"] for item in per_account.values()) / len(per_account)
    account_seconds = seconds + pages * iam_page_seconds  # + the real IAM latency moto does not have
    waves = math.ceil(GOAL_ACCOUNTS / concurrency)
    wall_minutes = (waves * account_seconds + 2 * 60) / 60  # + scheduler and consolidator, one minute each
    calls = measured["worker_calls"]
    n = len(per_account)

    def per_goal_account(*operations: tuple[str, str]) -> float:
        return sum(calls[operation] for operation in operations) / n * GOAL_ACCOUNTS

    gb_seconds = GOAL_ACCOUNTS * account_seconds * memory_mb / 1024
    lambda_requests = GOAL_ACCOUNTS * invocations + 2
    sqs_requests = GOAL_ACCOUNTS * invocations * 3  # send, receive, delete per message
    # The proxy names S3's REST calls by service only: every worker S3 request priced as a PUT; the
    # consolidator lists and gets each account's parts (two requests per account of this size).
    s3_puts = per_goal_account(("s3", "")) + 2
    s3_gets = GOAL_ACCOUNTS * 2
    dynamodb_writes = (
        per_goal_account(
            ("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"), ("dynamodb", "TransactWriteItems")
        )
        * 2
    )  # transactions and run items of a few KB: two units each on average
    dynamodb_reads = per_goal_account(("dynamodb", "GetItem"), ("dynamodb", "Query")) * 2
    cost = {
        "lambda": gb_seconds * LAMBDA_GB_SECOND + lambda_requests * LAMBDA_REQUEST,
        "sqs": sqs_requests * SQS_REQUEST,
        "s3": s3_puts * S3_PUT + s3_gets * S3_GET,
        "dynamodb": dynamodb_writes * DYNAMODB_WRITE_UNIT + dynamodb_reads * DYNAMODB_READ_UNIT,
    }
    return {
        "account_seconds_measured": seconds,
        "account_seconds": account_seconds,
        "pages": pages,
        "invocations": invocations,
        "wall_minutes": wall_minutes,
        "gb_seconds": gb_seconds,
        "lambda_requests": lambda_requests,
        "run_cost": sum(cost.values()),
        "month_cost": sum(cost.values()) * DAYS_PER_MONTH,
        **{f"cost_{name}": value for name, value in cost.items()},
    }


def main() -> int:
    from iam_guard.config import OrganizationConfig
    from iam_guard.stacks.org_audit import WORKER_MEMORY_MB

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--roles", type=int, default=GOAL_ROLES)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=OrganizationConfig.audit_concurrency)
    parser.add_argument("--iam-page-seconds", type=float, default=0.5)
    arguments = parser.parse_args()
    measured = measure(arguments.accounts, arguments.roles, arguments.page_size)
    print(
        f"ORG-2 fan-out audit: {arguments.accounts} accounts x {arguments.roles} roles on moto "
        f"(loaded in {measured['loaded']:.1f} s; IAM paged at {arguments.page_size})"
    )
    for account, item in sorted(measured["per_account"].items()):
        calls = item["calls"]
        print(
            f"  {account}: {item['seconds']:.2f} s, {item['invocations']} invocation(s), "
            f"{calls[('iam', 'GetAccountAuthorizationDetails')]} IAM pages, "
            f"{calls[('sts', 'AssumeRole')]} AssumeRole, {calls[('s3', '')]} S3 PUT, "
            f"{sum(v for (service, _), v in calls.items() if service == 'dynamodb')} DynamoDB calls"
        )
    longest = max(measured["invocations"])
    print(
        f"  longest invocation {longest:.2f} s (CON-1: at most 60 s); "
        f"consolidation {measured['consolidation']:.2f} s"
    )
    figures = project(
        measured, arguments.accounts, arguments.concurrency, arguments.iam_page_seconds, WORKER_MEMORY_MB
    )
    print(
        f"Projection, {GOAL_ACCOUNTS} accounts x {GOAL_ROLES} roles at concurrency {arguments.concurrency} "
        f"(+{arguments.iam_page_seconds} s per IAM page for the real service):"
    )
    print(
        f"  per account {figures['account_seconds']:.1f} s "
        f"({figures['account_seconds_measured']:.1f} s measured, {figures['pages']:.0f} pages, "
        f"{figures['invocations']:.1f} invocations)"
    )
    goal = "meets" if figures["wall_minutes"] <= GOAL_MINUTES else "MISSES"
    needed = math.ceil(GOAL_ACCOUNTS * figures["account_seconds"] / ((GOAL_MINUTES - 2) * 60))
    print(
        f"  wall clock {figures['wall_minutes']:.1f} min: {goal} the {GOAL_MINUTES}-minute goal "
        f"(it needs a concurrency of at least {needed})"
    )
    print(
        f"  Lambda {figures['gb_seconds']:.0f} GB-s at {WORKER_MEMORY_MB} MB + "
        f"{figures['lambda_requests']:.0f} requests; cost per run ${figures['run_cost']:.3f} "
        f"(Lambda ${figures['cost_lambda']:.3f}, SQS ${figures['cost_sqs']:.4f}, "
        f"S3 ${figures['cost_s3']:.4f}, DynamoDB ${figures['cost_dynamodb']:.4f}); per month of daily runs "
        f"${figures['month_cost']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
