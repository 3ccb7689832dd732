"""Benchmark of the daily audit (H-2, H-5) for `make bench`.

A synthetic account of 5,000 roles and 3,000 customer-managed policies (each role: a trust policy, an
inline policy, three attached customer-managed policies and, for one role in ten, an AWS managed policy).

1. Analysis: its GetAccountAuthorizationDetails entries (pages of MaxItems=1000) through the one account
   traversal (iam_guard.analysis.account) and the audit's record formatting, in memory: documents/s and
   how many 60 s invocations the analysis alone fills.
2. The whole run: the same account loaded into a moto server started in this process (through moto's
   backend objects, not 30,000 API calls), IAM paged at MaxItems=1000 on the server side by the tests'
   pager (tests/handlers/audit_helpers.PagingProxy), and the daily audit's state machine
   (src/iam_guard/lambda_handlers/audit_run.py) driven invocation after invocation through its
   continuation queue, each with 60 s on the wall clock, DynamoDB, SQS, SNS and CloudWatch Logs on the same
   server. Prints the wall time, the
   invocations and steps, and the calls per service and operation counted by the proxy.
3. The cold import time of each handler module from its unpacked zip (python -X importtime) and the
   handler's own share of it (everything but boto3/botocore and iam_guard.analysis).

    .venv/bin/python scripts/bench_audit.py [--roles 5000] [--policies 3000] [--no-run]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src" / "iam_guard" / "lambda_handlers"))

import audit_run  # noqa: E402
from audit_records import compact_finding, record_line  # noqa: E402
from iam_guard import packaging  # noqa: E402
from iam_guard.analysis import Severity  # noqa: E402
from iam_guard.analysis.account import (  # noqa: E402
    ENTITY_FILTERS,
    LIST_KEYS,
    REFERENCE_FILTERS,
    PolicyToAudit,
    Reference,
    Traversal,
    analyze_unit,
)

ACCOUNT = "123456789012"
LAMBDA_TIMEOUT_MS = 60_000
AWS_MANAGED = (
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
)
SERVICES = ("s3", "dynamodb", "sqs", "sns", "logs", "kms", "secretsmanager", "lambda", "ec2", "iam")
VERBS = ("Get*", "List*", "Describe*", "Put*", "Create*", "Delete*", "Update*", "*")


def _statement(rng: random.Random, index: int) -> dict[str, Any]:
    service = rng.choice(SERVICES)
    actions = [f"{service}:{rng.choice(VERBS)}" for _ in range(rng.randint(1, 4))]
    region = "" if service in ("iam", "s3") else "us-east-1"  # global services' ARNs have no region
    account = "" if service == "s3" else ACCOUNT
    name = f"role/res-{index}" if service == "iam" else f"res-{index}/*"  # IAM resources have a type
    resource = "*" if rng.random() < 0.3 else f"arn:aws:{service}:{region}:{account}:{name}"
    statement: dict[str, Any] = {
        "Sid": f"S{index}",
        "Effect": "Allow",
        "Action": actions,
        "Resource": resource,
    }
    if rng.random() < 0.2:
        statement["Condition"] = {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}
    return statement


def _document(rng: random.Random, statements: int) -> str:
    body = {"Version": "2012-10-17", "Statement": [_statement(rng, i) for i in range(statements)]}
    return json.dumps(body, separators=(",", ":"))


def _trust(rng: random.Random) -> str:
    if rng.random() < 0.05:
        principal: dict[str, Any] = {"AWS": "arn:aws:iam::999988887777:root"}
    else:
        principal = {
            "Service": rng.choice(["lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"])
        }
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def synthetic_pages(roles: int, policies: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """The GetAccountAuthorizationDetails pages (MaxItems=1000) of a synthetic account, per filter."""
    rng = random.Random(seed)
    policy_items = []
    for number in range(policies):
        name = f"policy-{number:05d}"
        policy_items.append(
            {
                "PolicyName": name,
                "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
                "DefaultVersionId": "v2",
                "PolicyVersionList": [
                    {
                        "VersionId": "v2",
                        "IsDefaultVersion": True,
                        "Document": _document(rng, rng.randint(1, 4)),
                    },
                    {"VersionId": "v1", "IsDefaultVersion": False, "Document": _document(rng, 1)},
                ],
            }
        )
    role_items = []
    for number in range(roles):
        attached = [policy_items[rng.randrange(policies)]["Arn"] for _ in range(3)]
        if number % 10 == 0:
            attached.append(AWS_MANAGED[number % len(AWS_MANAGED)])
        role_items.append(
            {
                "RoleName": f"role-{number:05d}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/role-{number:05d}",
                "AssumeRolePolicyDocument": _trust(rng),
                "RolePolicyList": [
                    {"PolicyName": "inline", "PolicyDocument": _document(rng, rng.randint(1, 3))}
                ],
                "AttachedManagedPolicies": [
                    {"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached
                ],
            }
        )
    return {
        "LocalManagedPolicy": _paged("Policies", policy_items),
        "Group": _paged("GroupDetailList", []),
        "Role": _paged("RoleDetailList", role_items),
        "User": _paged("UserDetailList", []),
    }


def _paged(key: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    size = audit_run.PAGE_SIZE
    chunks = [items[start : start + size] for start in range(0, len(items), size)] or [[]]
    return [
        {
            key: chunk,
            "IsTruncated": number < len(chunks) - 1,
            **({"Marker": f"m{number}"} if number < len(chunks) - 1 else {}),
        }
        for number, chunk in enumerate(chunks)
    ]


def aws_managed_documents() -> dict[str, Any]:
    """Stand-ins for the three AWS managed policies the synthetic roles attach (part 1 makes no call)."""
    documents: dict[str, Any] = {arn: json.loads(_document(random.Random(arn), 3)) for arn in AWS_MANAGED}
    documents[AWS_MANAGED[1]] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    return documents


def run_analysis(pages: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every entry through the traversal, the analyzer and the record formatting; timings and counters."""
    reference = Reference()
    for entity_filter in REFERENCE_FILTERS:
        for page in pages[entity_filter]:
            for entry in page[LIST_KEYS[entity_filter]]:
                reference.add(entity_filter, entry)
    traversal = Traversal(reference, aws_managed_documents().get)
    counts = {"documents": 0, "principals": 0, "records": 0}
    findings: dict[str, int] = {sev.label: 0 for sev in Severity}
    timings: dict[str, float] = {}
    for entity_filter in ENTITY_FILTERS:
        started = time.perf_counter()
        for page in pages[entity_filter]:
            for entry in page[LIST_KEYS[entity_filter]]:
                for unit in traversal.units(entity_filter, entry):
                    counts["documents" if isinstance(unit, PolicyToAudit) else "principals"] += 1
                    for finding in analyze_unit(unit):
                        findings[finding.severity.label] += 1
                        record_line({"kind": "audit-finding", **compact_finding(finding, unit.context())})
                        counts["records"] += 1
        timings[entity_filter] = time.perf_counter() - started
    return {"timings": timings, "findings": findings, **counts}


def load_into_moto(pages: dict[str, list[dict[str, Any]]]) -> None:
    """The synthetic account in the in-process moto server's IAM backend (direct, no API calls)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT]["global"]
    for page in pages["LocalManagedPolicy"]:
        for policy in page["Policies"]:
            document = policy["PolicyVersionList"][0]["Document"]
            backend.create_policy("", "/", document, policy["PolicyName"], [])
    by_arn = {policy.arn: policy for policy in backend.managed_policies.values()}
    for page in pages["Role"]:
        for role in page["RoleDetailList"]:
            name = role["RoleName"]
            created = backend.create_role(name, role["AssumeRolePolicyDocument"], "/", None, "", [], None)
            for inline in role["RolePolicyList"]:
                backend.put_role_policy(name, inline["PolicyName"], inline["PolicyDocument"])
            for attached in role["AttachedManagedPolicies"]:
                by_arn[attached["PolicyArn"]].attach_to(created)


def run_state_machine(pages: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The daily audit run end to end on a moto server (see the module docstring); figures."""
    import os
    import socket
    import urllib.request
    from contextlib import redirect_stdout

    import boto3
    from moto.server import ThreadedMotoServer

    sys.path.insert(0, str(REPO_ROOT / "tests"))
    sys.path.insert(0, str(REPO_ROOT / "tests" / "handlers"))
    from audit_helpers import ClockContext, PagingProxy
    from handler_helpers import create_state_table

    import audit_run
    import daily_audit

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        }
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    proxy = None
    try:
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
        )
        started = time.perf_counter()
        load_into_moto(pages)
        loaded = time.perf_counter() - started
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="continuation")["QueueUrl"]
        boto3.client("logs").create_log_group(logGroupName="bench-security")
        create_state_table(boto3.client("dynamodb"))
        os.environ.update(
            {
                "ALERT_TOPIC_ARN": boto3.client("sns").create_topic(Name="alerts")["TopicArn"],
                "SECURITY_LOG_GROUP": "bench-security",
                "AUDIT_CONTINUATION_QUEUE_URL": queue_url,
                "STATE_TABLE_NAME": "iam-guard-state-dev",
                "REMEDIATION_MODE": "notify",
                "LOG_LEVEL": "WARNING",
            }
        )
        proxy = PagingProxy(f"http://127.0.0.1:{port}", page_size=daily_audit_page_size()).start()
        os.environ["AWS_ENDPOINT_URL"] = proxy.url
        audit_run.set_container_memory(audit_run.ContainerMemory())
        event: dict[str, Any] = {"id": "bench-run", "detail-type": "Scheduled Event"}
        results: list[dict[str, Any]] = []
        per_invocation: list[float] = []
        started = time.perf_counter()
        sink = io.StringIO()
        while event:
            began = time.perf_counter()
            with redirect_stdout(sink):
                context = ClockContext(LAMBDA_TIMEOUT_MS, aws_request_id=f"bench-{len(results)}")
                results.extend(daily_audit.handler(event, context)["runs"])
            per_invocation.append(time.perf_counter() - began)
            reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)
            messages = reply.get("Messages", [])
            event = {}
            if messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
                event = {
                    "Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": messages[0]["Body"]}]
                }
        wall = time.perf_counter() - started
        return {
            "loaded": loaded,
            "wall": wall,
            "results": results,
            "per_invocation": per_invocation,
            "calls": dict(proxy.calls),
            "stdout_lines": sink.getvalue().count("\n"),
        }
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()


def daily_audit_page_size() -> int:
    return int(audit_run.PAGE_SIZE)


IMPORT_RUNS = 5


def import_times() -> dict[str, dict[str, float]]:
    """Cold import of each handler module from its unpacked zip: total and the handler's own share (ms),
    the best of IMPORT_RUNS fresh interpreters (the machine is shared, so single runs are noisy)."""
    figures = {}
    for handler in packaging.HANDLERS:
        with tempfile.TemporaryDirectory() as folder:
            zipfile.ZipFile(io.BytesIO(packaging.build_zip(handler))).extractall(folder)
            probe = f"import sys; sys.path.insert(0, {folder!r}); import {handler}"
            runs = []
            for _ in range(IMPORT_RUNS):
                completed = subprocess.run(
                    [sys.executable, "-I", "-X", "importtime", "-c", probe],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(_import_share(completed.stderr, handler))
        figures[handler] = {key: min(run[key] for run in runs) for key in ("total_ms", "own_ms")}
    return figures


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _import_share(report: str, handler: str) -> dict[str, float]:
    """Total cumulative import time of `handler` and what remains without boto3/botocore/the analyzer."""
    lines = [match.groups() for match in map(_IMPORT_LINE.match, report.splitlines()) if match]
    total = next(int(cumulative) for _, cumulative, _, name in lines if name == handler)
    excluded = 0
    for _, cumulative, indent, name in lines:
        # count only the outermost import of each excluded package (depth 1, directly under the handler tree)
        if name.split(".")[0] in {"boto3", "botocore"} or name.startswith("iam_guard"):
            parent_is_excluded = _parent_excluded(lines, name, len(indent))
            if not parent_is_excluded:
                excluded += int(cumulative)
    return {"total_ms": total / 1000, "own_ms": (total - excluded) / 1000}


def _parent_excluded(lines: list[tuple[str, ...]], name: str, depth: int) -> bool:
    """True when an enclosing import (one printed later with a smaller indent) is itself excluded."""
    seen = False
    for _, _, indent, other in lines:
        if other == name and len(indent) == depth:
            seen = True
            continue
        if seen and len(indent) < depth:
            if other.split(".")[0] in {"boto3", "botocore"} or other.startswith("iam_guard"):
                return True
            depth = len(indent)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description="daily audit benchmark (H-2, H-5)")
    parser.add_argument("--roles", type=int, default=5000)
    parser.add_argument("--policies", type=int, default=3000)
    parser.add_argument("--no-run", action="store_true", help="skip part 2 (the run on a moto server)")
    args = parser.parse_args()
    started = time.perf_counter()
    pages = synthetic_pages(args.roles, args.policies)
    built = time.perf_counter() - started
    result = run_analysis(pages)
    total = sum(result["timings"].values())
    api_pages = sum(len(entity_pages) for entity_pages in pages.values())
    usable_s = (LAMBDA_TIMEOUT_MS - audit_run.reserve_ms_for(LAMBDA_TIMEOUT_MS)) / 1000
    print(f"synthetic account: {args.roles} roles, {args.policies} customer-managed policies ", end="")
    print(f"(built in {built:.1f} s)")
    print(
        f"GetAccountAuthorizationDetails calls at MaxItems={audit_run.PAGE_SIZE}: {api_pages} "
        + "("
        + ", ".join(f"{name} {len(p)}" for name, p in pages.items())
        + ")"
    )
    documents, principals = result["documents"], result["principals"]
    print(f"analysis time: {total:.2f} s for {documents} documents and {principals} principals ", end="")
    print(f"({documents / total:,.0f} documents/s)")
    for name, seconds in result["timings"].items():
        print(f"  {name:<18} {seconds:7.2f} s")
    print(
        f"findings: {sum(result['findings'].values())} "
        + json.dumps(result["findings"], sort_keys=True)
        + f"; records formatted: {result['records']}"
    )
    needed = math.ceil(total / usable_s)
    print(f"60 s invocations the analysis alone needs ({usable_s:.0f} s usable each): {needed}")
    if not args.no_run:
        print_run(run_state_machine(pages))
    for handler, figures in import_times().items():
        print(
            f"cold import {handler} (best of {IMPORT_RUNS}): {figures['total_ms']:.1f} ms total, own share "
            f"{figures['own_ms']:.1f} ms (without boto3/botocore and iam_guard.analysis; goal < 50 ms)"
        )
    return 0


def print_run(run: dict[str, Any]) -> None:
    results = run["results"]
    statuses = [result["status"] for result in results]
    steps = max(result.get("step", 0) for result in results)
    print(f"whole run on moto (account loaded in {run['loaded']:.1f} s): {run['wall']:.1f} s wall, ", end="")
    print(f"{len(results)} invocations ({', '.join(statuses)}), {steps} steps")
    print("  seconds per invocation: " + ", ".join(f"{seconds:.1f}" for seconds in run["per_invocation"]))
    final = results[-1]
    print(f"  policies audited {final['policiesAudited']}")
    by_service: dict[str, int] = {}
    for (service, _), count in sorted(run["calls"].items()):
        by_service[service] = by_service.get(service, 0) + count
    for service, count in sorted(by_service.items()):
        operations = ", ".join(
            f"{operation} {number}"
            for (name, operation), number in sorted(run["calls"].items())
            if name == service
        )
        print(f"  {service}: {count} calls ({operations})")


if __name__ == "__main__":
    sys.exit(main())
