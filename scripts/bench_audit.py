"""Benchmark of the daily audit (H-2) for `make bench`.

Builds a synthetic GetAccountAuthorizationDetails payload of 5,000 roles and 3,000 customer-managed
policies (each role: a trust policy, an inline policy, three attached customer-managed policies and, for
one role in ten, an AWS managed policy), cut into pages of MaxItems=1000 as the API would return them, and
runs the audit's own page processing (handlers/daily_audit.py: analysis, principal combination, finding
records) over them in memory. Prints the analysis time, the number of API pages the account needs, and
how many 60 s invocations the analysis alone fills. Also measures the cold import time of each handler
module from its unpacked zip (python -X importtime) and the handler's own share of it (everything but
boto3/botocore and iam_guard.analysis).

    .venv/bin/python scripts/bench_audit.py [--roles 5000] [--policies 3000]
"""

from __future__ import annotations

import argparse
import io
import json
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
sys.path.insert(0, str(REPO_ROOT / "handlers"))

import daily_audit  # noqa: E402
from alerts import SecurityLog  # noqa: E402
from iam_guard import packaging  # noqa: E402
from iam_guard.analysis import Severity  # noqa: E402
from lambda_support import Settings  # noqa: E402

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
    resource = "*" if rng.random() < 0.3 else f"arn:aws:{service}:us-east-1:{ACCOUNT}:res-{index}/*"
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
    size = daily_audit.PAGE_SIZE
    chunks = [items[start : start + size] for start in range(0, len(items), size)] or [[]]
    return [
        {
            key: chunk,
            "IsTruncated": number < len(chunks) - 1,
            **({"Marker": f"m{number}"} if number < len(chunks) - 1 else {}),
        }
        for number, chunk in enumerate(chunks)
    ]


class _DiscardingLog(SecurityLog):
    """Formats every record as the real writer does, and sends nothing."""

    def __init__(self) -> None:
        super().__init__(None, "bench", "bench")
        self.records = 0

    def flush(self) -> int:
        written, self._events = len(self._events), []
        self.records += written
        return written


class _Clock:
    function_name = "bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return LAMBDA_TIMEOUT_MS


def run_analysis(pages: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Process every page through daily_audit.Audit; returns timings and counters."""
    settings = Settings(
        "arn:aws:sns:us-east-1:123456789012:t", "g", Severity.HIGH, "IamGuard", "bench", "off", "", (), "q"
    )
    # No network in the benchmark: the memo is warm, as after the first fetch of each policy.
    for arn in AWS_MANAGED:
        daily_audit._aws_managed_documents[arn] = json.loads(_document(random.Random(arn), 3))
    daily_audit._aws_managed_documents[AWS_MANAGED[1]] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    state = daily_audit.AuditState.new("bench")
    log = _DiscardingLog()
    audit = daily_audit.Audit(
        state, _Clock(), daily_audit.AuditClients(None, None, None, None), settings, log, 1
    )
    daily_audit._reference = daily_audit.Reference(run_id="bench", complete=True)
    timings: dict[str, float] = {}
    for phase in daily_audit.PHASES:
        for entity_filter in phase:
            started = time.perf_counter()
            for page in pages[entity_filter]:
                audit.process_page(entity_filter, page)
                log.flush()
            timings[entity_filter] = time.perf_counter() - started
    return {"timings": timings, "state": state, "records": log.records}


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
    parser = argparse.ArgumentParser(description="daily audit benchmark (H-2)")
    parser.add_argument("--roles", type=int, default=5000)
    parser.add_argument("--policies", type=int, default=3000)
    args = parser.parse_args()
    started = time.perf_counter()
    pages = synthetic_pages(args.roles, args.policies)
    built = time.perf_counter() - started
    result = run_analysis(pages)
    state = result["state"]
    total = sum(result["timings"].values())
    api_pages = sum(len(entity_pages) for entity_pages in pages.values())
    usable_s = (LAMBDA_TIMEOUT_MS - daily_audit.HANDOVER_RESERVE_MS) / 1000
    print(f"synthetic account: {args.roles} roles, {args.policies} customer-managed policies ", end="")
    print(f"(built in {built:.1f} s)")
    print(
        f"GetAccountAuthorizationDetails calls at MaxItems={daily_audit.PAGE_SIZE}: {api_pages} "
        + "("
        + ", ".join(f"{name} {len(p)}" for name, p in pages.items())
        + ")"
    )
    documents, principals = state.policies_audited, state.principals_audited
    print(f"analysis time: {total:.2f} s for {documents} documents and {principals} principals ", end="")
    print(f"({documents / total:,.0f} documents/s)")
    for name, seconds in result["timings"].items():
        print(f"  {name:<18} {seconds:7.2f} s")
    print(
        f"findings: {sum(state.findings.values())} "
        + json.dumps(state.findings, sort_keys=True)
        + f"; records formatted for the security log: {result['records']}"
    )
    invocations = math.ceil(total / usable_s)
    print(f"60 s invocations the analysis alone needs ({usable_s:.0f} s usable each): {invocations}")
    for handler, figures in import_times().items():
        print(
            f"cold import {handler} (best of {IMPORT_RUNS}): {figures['total_ms']:.1f} ms total, own share "
            f"{figures['own_ms']:.1f} ms (without boto3/botocore and iam_guard.analysis; goal < 50 ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
