"""CI-1 for the monitoring stack's config variants the example configs do not reach (an existing trail,
remediation off without an audit role, quarantine in us-east-1): cfn-lint reports nothing, checkov fails
nothing, and iam-guard's own analyzer accepts every policy only with a written suppression."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint
from monitoring_helpers import FORWARDER, STACK, variant_body

from template_helpers import body

VARIANTS = ("existing-trail", "off", "quarantine")


@pytest.mark.parametrize("name", VARIANTS)
def test_mon_11_variant_templates_are_cfn_lint_clean(name: str) -> None:
    matches = lint(
        variant_body(name),
        regions=["us-east-1"],
        config=ManualArgs(regions=["us-east-1"], include_checks=["I"]),
    )
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []


def test_mon_11_variant_templates_pass_checkov(tmp_path: Path) -> None:
    for name in VARIANTS:
        (tmp_path / f"{name}.json").write_text(variant_body(name))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "checkov"), "--directory", str(tmp_path),
         "--framework", "cloudformation", "--skip-download", "--output", "json", "--compact"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    data = json.loads(result.stdout)
    reports = data if isinstance(data, list) else [data]
    failed = [f"{c['check_id']} {c['resource']}" for r in reports for c in r["results"]["failed_checks"]]
    passed = [c for r in reports for c in r["results"]["passed_checks"]]
    assert failed == []
    assert len(passed) > 50


def test_con_2_own_analyzer_accepts_every_monitoring_policy_only_with_a_written_reason(
    tmp_path: Path,
) -> None:
    files = {
        "dev-monitoring.json": body("dev", STACK),
        "prod-monitoring.json": body("prod", STACK),
        "prod-forwarder.json": body("prod", FORWARDER),
        **{f"{name}.json": variant_body(name) for name in VARIANTS},
    }
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "iam-guard"), "analyze", "--format", "json", "--fail-on", "info",
         *sorted(str(tmp_path / f) for f in files)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    report = json.loads(result.stdout)
    records = report["findings"] if isinstance(report, dict) else report
    assert all(r["suppressed"] and len(r["suppression_reason"].split()) >= 8 for r in records)
