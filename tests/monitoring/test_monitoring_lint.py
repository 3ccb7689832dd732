"""CI-1 for the monitoring stack's config variants the example configs do not reach (an existing trail,
remediation off without an audit role, quarantine in us-east-1): cfn-lint reports nothing, checkov fails
nothing, and iam-guard's own analyzer accepts every policy only with a written suppression. The scanners run
once per session over every template (tests/scanners.py); these tests read their results."""

from __future__ import annotations

import pytest
from monitoring_helpers import FORWARDER, STACK

from scanners import VARIANTS, ScanResults, example_file_name, variant_file_name

VARIANT_FILES = {variant_file_name(name) for name in VARIANTS}


@pytest.mark.parametrize("name", VARIANTS)
def test_mon_11_variant_templates_are_cfn_lint_clean(name: str, scanned: ScanResults) -> None:
    assert scanned.cfn_lint[variant_file_name(name)] == []


def test_mon_11_variant_templates_pass_checkov(scanned: ScanResults) -> None:
    assert scanned.checkov, f"checkov printed no report: {scanned.checkov_stderr[-1000:]}"
    failed = [f"{c['check_id']} {c['resource']}" for c in scanned.checkov_checks("failed", VARIANT_FILES)]
    assert failed == []
    for file_name in VARIANT_FILES:
        assert len(scanned.checkov_checks("passed", {file_name})) > 50, file_name


def test_con_2_own_analyzer_accepts_every_monitoring_policy_only_with_a_written_reason(
    scanned: ScanResults,
) -> None:
    files = {
        example_file_name("dev", STACK),
        example_file_name("prod", STACK),
        example_file_name("prod", FORWARDER),
        *VARIANT_FILES,
    }
    assert scanned.analyze, f"iam-guard analyze printed no report: {scanned.analyze_output}"
    records = scanned.findings(files)
    unexplained = [
        f"{r['file']} {r['resource']} {r['policy']}: {r['severity']} {r['code']} {r['message']}"
        for r in records
        if not (r["suppressed"] and len(r["suppression_reason"].split()) >= 8)
    ]
    assert unexplained == []
    assert records, "the analyzer reported no suppressed finding in the monitoring templates"
