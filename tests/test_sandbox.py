"""OPS-3: `make sandbox` (`python -m iam_guard.sandbox`) runs the whole loop on a local emulator: both
stacks deployed by the real deploy code, a policy granting everything attached to a role, its CloudTrail
event delivered to the deployed analyzer, the alert as the topic's SQS subscriber receives it and the
security-log record. Run as an operator runs it: a separate process, from outside the checkout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from iam_guard import packaging
from iam_guard.sandbox.demo import ALERT_BEGIN, ALERT_END, RECORD_BEGIN, RECORD_END
from support import REPO_ROOT

pytestmark = pytest.mark.integration

DEV_CONFIG = REPO_ROOT / "templates" / "dev.yaml"
ACCOUNT = "123456789012"  # moto's account


def sandbox_env() -> dict[str, str]:
    """The caller's environment with AWS settings that must not be used: a profile and a dead endpoint."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTHON"))}
    env["AWS_PROFILE"] = "a-real-account-the-sandbox-must-not-use"
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    return env


def between(text: str, begin: str, end: str) -> str:
    start = text.index(begin + "\n") + len(begin) + 1
    return text[start : text.index("\n" + end, start)]


@pytest.fixture(scope="module")
def sandbox_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iam_guard.sandbox", "--config", str(DEV_CONFIG)],
        cwd=tmp_path_factory.mktemp("operator"),
        env=sandbox_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_ops_3_sandbox_runs_every_step_in_order(sandbox_run: subprocess.CompletedProcess[str]) -> None:
    assert sandbox_run.returncode == 0, sandbox_run.stdout[-3000:] + sandbox_run.stderr[-3000:]
    steps = re.findall(r"^\[(\d)/6\] ", sandbox_run.stdout, flags=re.MULTILINE)
    assert steps == ["1", "2", "3", "4", "5", "6"]
    assert re.search(r"^    http://127\.0\.0\.1:\d+: every AWS call", sandbox_run.stdout, flags=re.MULTILINE)
    # both stacks went through iam-guard's deploy code
    for stack in ("iam-guard-data-store-dev", "iam-guard-monitoring-dev"):
        assert f"stack {stack}: " in sandbox_run.stdout


def test_ops_3_the_deployed_code_is_the_packaged_analyzer(
    sandbox_run: subprocess.CompletedProcess[str],
) -> None:
    key = packaging.zip_key("policy_change")
    bucket = f"iam-guard-artifacts-{ACCOUNT}-us-east-1"
    assert f"    code: s3://{bucket}/{key} (CodeSha256 " in sandbox_run.stdout


def test_ops_3_subscriber_receives_the_critical_alert(sandbox_run: subprocess.CompletedProcess[str]) -> None:
    alert = between(sandbox_run.stdout, ALERT_BEGIN, ALERT_END).splitlines()
    assert alert[0] == "Subject: [iam-guard dev] CRITICAL: AttachRolePolicy role sandbox-app-runner"
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/sandbox-wide-open"
    assert f"What:  AttachRolePolicy on role sandbox-app-runner, policy {policy_arn}" in alert
    assert '1. CRITICAL IAMG001 in statement 0 (Sid "EverythingEverywhere")' in alert
    # dev runs in notify mode: the alert says what quarantine would do, and nothing is quarantined
    (remediation,) = [line for line in alert if line.startswith("Remediation: ")]
    assert remediation.startswith("Remediation: would-quarantine - ")


def test_ops_3_security_log_holds_the_finding_record(sandbox_run: subprocess.CompletedProcess[str]) -> None:
    record = json.loads(between(sandbox_run.stdout, RECORD_BEGIN, RECORD_END))
    assert record["kind"] == "policy-finding"
    assert record["eventName"] == "AttachRolePolicy"
    assert record["account"] == ACCOUNT
    assert record["target"] == {
        "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/sandbox-wide-open",
        "principalName": "sandbox-app-runner",
        "principalType": "role",
        "versionId": "v1",
    }
    finding = record["finding"]
    assert (finding["code"], finding["severity"]) == ("IAMG001", "critical")
    assert finding["actions"] == ["*"] and finding["resources"] == ["*"]
    # the record, the alert and the delivered event are one CloudTrail event
    (matched,) = re.findall(r"matches event ([0-9a-f-]{36})", sandbox_run.stdout)
    assert record["eventId"] == matched
    assert f"(CloudTrail event {matched}, account {ACCOUNT})" in between(
        sandbox_run.stdout, ALERT_BEGIN, ALERT_END
    )


def test_ops_3_a_missing_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "iam_guard.sandbox", "--config", "no-such.yaml"],
        cwd=tmp_path,
        env=sandbox_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["sandbox: no-such.yaml: file not found"]
