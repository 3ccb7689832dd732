"""Dev-only differential test (ANA-1, issue 12): the analyzer's answer to "does this identity policy allow
action A on resource R" (iam_guard.analysis.evaluate, the analyzer's own action expansion and wildcard
matching) against @cloud-copilot/iam-simulate, an independent IAM policy simulator, on seeded random
policies (Allow/Deny, Action/NotAction with wildcards, Resource/NotResource ARNs with wildcards) and random
requests. `make differential` installs the simulator (npm, registry only) into .node-differential/ and runs
this; elsewhere it skips, saying so. One node process answers each batch (tools/differential/simulate.mjs).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from typing import Any

import pytest

from iam_guard.analysis.evaluate import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, decision
from iam_guard.analysis.wildcard import compile_wildcard
from support import REPO_ROOT

INSTALLED = REPO_ROOT / ".node-differential" / "node_modules" / "@cloud-copilot" / "iam-simulate"
SIMULATOR = REPO_ROOT / "tools" / "differential" / "simulate.mjs"
ACCOUNT = "111122223333"
VERDICTS = {"Allowed": ALLOWED, "ExplicitlyDenied": EXPLICIT_DENY, "ImplicitlyDenied": IMPLICIT_DENY}

# Requests the simulator accepts: real actions, each with an ARN of a resource type it supports.
REQUESTS: list[tuple[str, str]] = [
    ("s3:GetObject", "arn:aws:s3:::reports-bucket/daily/2026.csv"),
    ("s3:PutObject", "arn:aws:s3:::reports-bucket/Daily/x:y.csv"),
    ("s3:DeleteObject", "arn:aws:s3:::logs/a/b"),
    ("s3:ListBucket", "arn:aws:s3:::reports-bucket"),
    ("s3:GetBucketPolicy", "arn:aws:s3:::logs"),
    ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/service/ci-deploy"),
    ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/Admin"),
    ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/alice"),
    ("iam:DeleteUser", f"arn:aws:iam::{ACCOUNT}:user/ops/bob"),
    ("ec2:StartInstances", f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc123"),
    ("ec2:TerminateInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0def456"),
    ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"),
    ("sqs:DeleteQueue", f"arn:aws:sqs:us-west-2:{ACCOUNT}:orders-dlq"),
    ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:audit"),
    ("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:audit-v2"),
    ("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"),
    ("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"),
]


def product_split(resource: str) -> tuple[str, str]:
    """The simulator's split of an ARN's resource field into its type ('user/', 'function:') and the rest."""
    cuts = [i for i in (resource.find("/"), resource.find(":")) if i >= 0]
    return (resource[: min(cuts) + 1], resource[min(cuts) + 1 :]) if cuts else ("", resource)


def simulator_resource_matches(pattern: str, arn: str) -> bool:
    """iam-simulate's reading (resource/resource.js): the first five fields match case-insensitively, a
    pattern missing fields is padded with '*', and the resource type ('user/', 'function:') is literal,
    wildcards included (it cites "Incorrect wildcard usage" in AWS's ARN reference); only a pattern whose
    service is literally 's3' with no region and account has no type. The analyzer matches wildcards there
    too (the worst case: a policy that may grant is reported)."""
    if pattern == "*":
        return True
    fields, have = pattern.split(":", 5), arn.split(":", 5)
    fields += ["*"] * (6 - len(fields))
    for want, got in zip(fields[:5], have[:5], strict=True):
        if not compile_wildcard(want, ignore_case=True).match(got):
            return False
    if fields[2] == "s3" and not fields[3] and not fields[4]:  # the pattern's own fields, literally
        product, rest = "", fields[5]
    else:
        product, rest = product_split(fields[5])
    if not have[5].startswith(product):
        return False
    return compile_wildcard(rest, ignore_case=False).match(have[5][len(product) :])


def action_pattern(rng: random.Random, action: str) -> str:
    """A pattern that may or may not match `action`: exact, recased, 'svc:*', prefixes, '?', '*'."""
    service, _, name = action.partition(":")
    other = rng.choice(REQUESTS)[0]
    choices = [
        action,
        action.upper(),
        f"{service}:*",
        f"{service}:{name[: rng.randint(1, len(name))]}*",
        f"{service}:*{name[rng.randint(0, len(name) - 1) :]}",
        f"{service}:{''.join('?' if rng.random() < 0.3 else c for c in name)}",
        f"{service}:{name[:-1]}",  # a near miss (matches nothing, or another action)
        other,
        f"{other.partition(':')[0]}:*",
        "*",
        f"{service}:{name.lower()}",
        f"{service}:*{rng.choice('aeiouxyz')}*",
    ]
    return rng.choice(choices)


def resource_pattern(rng: random.Random, arn: str) -> str:
    """A pattern that may or may not hold `arn`: exact, '*' in a field, '?' for characters, a prefix with
    '*', another account or region, the resource part recased, another ARN, '*'."""
    fields = arn.split(":", 5)
    choice = rng.randrange(13)
    if choice == 11:  # a short pattern: its trailing '*' expands across the colons
        return ":".join(fields[: rng.randint(2, 5)]) + rng.choice(["*", ":*", ""])
    if choice == 12:  # partition, service, region in upper case
        return ":".join([field.upper() if 0 < i < 4 else field for i, field in enumerate(fields)])
    if choice == 0:
        return arn
    if choice == 1:
        return "*"
    if choice == 2:
        index = rng.choice([1, 3, 4, 5])
        return ":".join("*" if i == index else field for i, field in enumerate(fields))
    if choice == 3:
        return "".join("?" if rng.random() < 0.15 and c not in ":" else c for c in arn)
    if choice == 4:
        return arn[: rng.randint(len(arn) - len(fields[5]), len(arn))] + "*"
    if choice == 5:
        swapped = [*fields]
        swapped[4] = "999988887777" if fields[4] else ""
        swapped[3] = "ap-south-1" if fields[3] else ""
        return ":".join(swapped)
    if choice == 6:
        return ":".join([*fields[:5], fields[5].swapcase()])
    if choice == 7:
        return rng.choice(REQUESTS)[1]
    if choice == 8:
        return ":".join([*fields[:5], fields[5][: rng.randint(0, len(fields[5]))] + "*" + fields[5][-2:]])
    if choice == 9:
        return f"arn:aws:{fields[2]}:*:*:*"
    return ":".join([*fields[:5], "*" + fields[5][rng.randint(0, len(fields[5])) :]])


def random_policy(rng: random.Random, action: str, arn: str) -> dict[str, Any]:
    statements = []
    for _ in range(rng.randint(1, 3)):
        actions = [action_pattern(rng, action) for _ in range(rng.randint(1, 3))]
        resources = [resource_pattern(rng, arn) for _ in range(rng.randint(1, 2))]
        statement: dict[str, Any] = {"Effect": rng.choice(["Allow", "Allow", "Deny"])}
        statement["NotAction" if rng.random() < 0.2 else "Action"] = actions
        statement["NotResource" if rng.random() < 0.2 else "Resource"] = resources
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def cases(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        action, arn = rng.choice(REQUESTS)
        found.append({"policy": random_policy(rng, action, arn), "action": action, "resource": arn})
    return found


def simulate(batch: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One node process answers the whole batch."""
    node = shutil.which("node")
    assert node, "node is not on PATH"
    done = subprocess.run(
        [node, str(SIMULATOR)],
        input=json.dumps(batch),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    answers: list[dict[str, str]] = json.loads(done.stdout)
    return answers


@pytest.fixture(scope="module")
def simulator_installed() -> None:
    if not INSTALLED.is_dir() or shutil.which("node") is None:
        pytest.skip("dev-only: @cloud-copilot/iam-simulate is not installed (make differential installs it)")


@pytest.mark.parametrize("seed", [12, 1200, 120000])
def test_ana_1_differential_analyzer_agrees_with_iam_simulate(simulator_installed: None, seed: int) -> None:
    batch = cases(seed, 700)
    answers = simulate(batch)
    assert len(answers) == len(batch)
    rejected = [(item, answer) for item, answer in zip(batch, answers, strict=True) if "error" in answer]
    assert len(rejected) <= len(batch) // 50, rejected[:3]  # the requests are valid: the simulator runs them
    disagreements = []
    explained = 0
    for item, answer in zip(batch, answers, strict=True):
        if "error" in answer:
            continue
        theirs = VERDICTS[answer["result"]]
        ours = decision(item["policy"], item["action"], item["resource"])
        if ours == theirs:
            continue
        # documented simulator difference: its reading of wildcards in an ARN's resource type
        if decision(item["policy"], item["action"], item["resource"], simulator_resource_matches) == theirs:
            explained += 1
            continue
        disagreements.append((ours, answer["result"], item))
    assert disagreements == [], json.dumps(disagreements[:3], indent=1)
    assert explained <= len(batch) // 10  # the simulator's reading changes few random cases
