"""Benchmark of ORG-3's cross-account reach (iam_guard.analysis.cross_account) at organization size.

A synthetic organization of 1,000 accounts x 500 principals (500,000 PrincipalReach), shaped like real
ones: in every account an OrganizationAccountAccessRole (admin) trusting the management account's root, a
SecurityAudit role trusting the security account's auditor role, a CrossAccountDeploy role trusting the
CI account's root (with sts:ExternalId; it can escalate in one account in ten), one role open to the
organization ('*' + aws:PrincipalOrgID; admin in one account in a hundred), 47 roles trusting their own
account's root (one admin), 400 service roles (one in twenty admin) and 50 users (5 may assume any role
of their account, one in a hundred accounts has a user allowed sts:AssumeRole on '*'). The management
account has 20 users allowed sts:AssumeRole on '*', the CI account 10 deploy roles allowed
sts:AssumeRole on arn:aws:iam::*:role/CrossAccountDeploy, assumable by 5 CI users (2-hop paths).

Prints: the time to load the reaches from one JSON text per account (what the consolidator does with
each account's results, PrincipalReach.from_dict; every role then holds its own trust dict, as after
loading), reach_paths' time, the paths found, the peak memory (max RSS), and the per-account cost of
reach_of_principal (what each account's audit adds: 500 principals).

    .venv/bin/python scripts/bench_cross_account.py [--accounts 1000] [--principals 500]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from iam_guard.analysis.cross_account import PrincipalReach, reach_of_principal, reach_paths  # noqa: E402

ORGANIZATION = "o-bench12345"
MANAGEMENT, SECURITY, CI = "100000000000", "100000000001", "100000000002"
SERVICES = ("lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com")


def trust(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def account_id(index: int) -> str:
    return f"{200000000000 + index:012d}"


def account_reaches(
    account: str, index: int, principals: int, shared: dict[str, Any]
) -> list[PrincipalReach]:
    """One member account's principals (trust documents shared between roles, as JSON loading would not,
    so the memory figure is a lower bound: see the JSON round trip)."""

    def role(
        name: str, trust_policy: dict[str, Any], codes: tuple[str, ...] = (), assumable=()
    ) -> PrincipalReach:
        severity = ("critical" if "IAMG001" in codes else "high") if codes else None
        arn = f"arn:aws:iam::{account}:role/{name}"
        return PrincipalReach(arn, account, "role", tuple(assumable), trust_policy, codes, severity)

    def user(name: str, assumable: tuple[str, ...] = ()) -> PrincipalReach:
        return PrincipalReach(
            f"arn:aws:iam::{account}:user/{name}", account, "user", assumable, None, (), None
        )

    reaches = [
        role("OrganizationAccountAccessRole", shared["management"], ("IAMG001",)),
        role("SecurityAudit", shared["security"]),
        role("CrossAccountDeploy", shared["ci"], ("IAMG006",) if index % 10 == 0 else ()),
        role("OrgReadOnly", shared["organization"], ("IAMG001",) if index % 100 == 0 else ()),
    ]
    own_root = trust({"AWS": f"arn:aws:iam::{account}:root"})
    for number in range(47):
        reaches.append(role(f"Team{number}", own_root, ("IAMG001",) if number == 0 else ()))
    users = 50
    services = max(principals - len(reaches) - users, 0)
    for number in range(services):
        codes = ("IAMG001",) if number % 20 == 0 else ()
        reaches.append(role(f"svc-{number}", shared["services"][number % len(SERVICES)], codes))
    for number in range(users):
        if number < 5:
            assumable: tuple[str, ...] = (f"arn:aws:iam::{account}:role/*",)
        elif number == 5 and index % 100 == 0:
            assumable = ("*",)
        else:
            assumable = ()
        reaches.append(user(f"user{number}", assumable))
    return reaches[:principals]


def organization(accounts: int, principals: int) -> list[PrincipalReach]:
    shared = {
        "management": trust({"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}),
        "security": trust({"AWS": f"arn:aws:iam::{SECURITY}:role/iam-guard-auditor"}),
        "ci": trust({"AWS": CI}, {"StringEquals": {"sts:ExternalId": "deploy-7f3a"}}),
        "organization": trust("*", {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}}),
        "services": [trust({"Service": service}) for service in SERVICES],
    }
    reaches = [
        PrincipalReach(f"arn:aws:iam::{MANAGEMENT}:user/admin{n}", MANAGEMENT, "user", ("*",), None, (), None)
        for n in range(20)
    ]
    ci_users = trust({"AWS": f"arn:aws:iam::{CI}:root"})
    reaches += [
        PrincipalReach(
            f"arn:aws:iam::{CI}:role/pipeline{n}",
            CI,
            "role",
            ("arn:aws:iam::*:role/CrossAccountDeploy",),
            ci_users,
            (),
            None,
        )
        for n in range(10)
    ]
    reaches += [
        PrincipalReach(
            f"arn:aws:iam::{CI}:user/dev{n}",
            CI,
            "user",
            (f"arn:aws:iam::{CI}:role/pipeline*",),
            None,
            (),
            None,
        )
        for n in range(5)
    ]
    reaches.append(
        PrincipalReach(
            f"arn:aws:iam::{SECURITY}:role/iam-guard-auditor", SECURITY, "role", ("*",), None, (), None
        )
    )
    for index in range(accounts):
        reaches += account_reaches(account_id(index), index, principals, shared)
    return reaches


def per_account_reach_seconds(principals: int) -> float:
    """reach_of_principal over one account's principals (documents like the synthetic mix)."""
    account = account_id(0)
    documents = [
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        },
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": "*"},
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{account}:role/*"},
            ],
        },
    ]
    started = time.perf_counter()
    for number in range(principals):
        reach_of_principal(
            account,
            f"arn:aws:iam::{account}:role/r{number}",
            "role",
            documents,
            trust({"Service": "lambda.amazonaws.com"}),
            [],
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--principals", type=int, default=500)
    arguments = parser.parse_args()

    started = time.perf_counter()
    reaches = organization(arguments.accounts, arguments.principals)
    built = time.perf_counter() - started
    print(f"built {len(reaches):,} principals in {arguments.accounts:,} accounts: {built:.1f} s")

    # what the consolidator does: each account's results file is JSON, read back through from_dict
    grouped: dict[str, list[dict[str, Any]]] = {}
    for reach in reaches:
        grouped.setdefault(reach.account, []).append(reach.to_dict())
    texts = [json.dumps(items) for items in grouped.values()]
    del reaches, grouped
    started = time.perf_counter()
    reaches = [PrincipalReach.from_dict(item) for text in texts for item in json.loads(text)]
    loading = time.perf_counter() - started
    megabytes = sum(len(text) for text in texts) / 1e6
    del texts
    print(f"load every account's reaches from JSON ({megabytes:,.0f} MB): {loading:.1f} s")

    started = time.perf_counter()
    paths = reach_paths(reaches, organization_id=ORGANIZATION)
    elapsed = time.perf_counter() - started
    by_hops: dict[int, int] = {}
    for path in paths:
        by_hops[len(path.hops)] = by_hops.get(len(path.hops), 0) + 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reach_paths over {len(reaches):,} principals: {elapsed:.1f} s, {len(paths):,} paths {by_hops}")
    print(f"peak memory (max RSS of this process): {peak_mb:,.0f} MB")
    if paths:
        print(f"worst path: {paths[0].describe()}")

    seconds = per_account_reach_seconds(arguments.principals)
    print(
        f"reach_of_principal for one account of {arguments.principals} roles: {seconds:.2f} s "
        f"({seconds / arguments.principals * 1000:.2f} ms each)"
    )


if __name__ == "__main__":
    main()
