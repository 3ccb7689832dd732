"""ANA / CI-1: the analyzer over the project's own generated templates finds nothing at medium or above
that the template's Metadata does not explain (and no suppression lacks a reason). `iam-guard analyze` runs
once per session over every template (tests/scanners.py); an import or build failure errors this test."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanners import ScanResults, example_file_name
from template_helpers import CONFIGS, stack_names

BLOCKING = ("medium", "high", "critical")


@pytest.mark.parametrize("cfg", CONFIGS)
def test_cli_1_own_templates_have_no_unexplained_medium_finding(cfg: str, scanned: ScanResults) -> None:
    files = {example_file_name(cfg, stack) for stack in stack_names(cfg)}
    assert files <= {t.file_name for t in scanned.templates}, "a template of the config was not scanned"
    assert scanned.analyze, f"iam-guard analyze printed no report: {scanned.analyze_output}"
    assert scanned.analyze["skipped"] == [], "the analyzer could not read a generated template"
    assert scanned.analyze["summary"]["templates"] == len(scanned.templates)
    findings = scanned.findings(files)
    unexplained = [
        f"{Path(f['file']).name} {f['resource']} {f['policy']}: {f['severity']} {f['code']} {f['message']}"
        for f in findings
        if f["severity"] in BLOCKING and not (f["suppressed"] and len(f["suppression_reason"].split()) >= 8)
    ]
    assert unexplained == []
