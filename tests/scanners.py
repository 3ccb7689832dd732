"""CI-1: cfn-lint, checkov and `iam-guard analyze` run once per test session over every generated template
(each example config's stacks, and the monitoring variants the example configs do not reach). The session
fixture `scanned` (tests/conftest.py) holds the results; the CI-1, MON-11, CON-2 and CLI-1 tests assert on
them. `make test` relies on this: its own target runs only ruff and mypy before pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint

from template_helpers import CONFIGS, STACK, body, stack_names, stack_region, variant_body, variant_config

# Monitoring variants of dev: an existing trail, remediation off without audit accounts, quarantine mode.
VARIANTS = ("existing-trail", "off", "quarantine")
SCANNER_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class ScannedTemplate:
    """One template as written to the scan folder, and the region cfn-lint checks it in."""

    file_name: str
    body: str
    region: str


@dataclass(frozen=True)
class ScanResults:
    templates: tuple[ScannedTemplate, ...]
    cfn_lint: dict[str, list[str]]  # file name -> "rule message (path)" for every match, informational too
    checkov: dict[str, Any]  # checkov's JSON report(s), or {} when it printed none
    checkov_returncode: int
    checkov_stderr: str
    analyze: dict[str, Any]  # the JSON report of `iam-guard analyze --fail-on info`, or {} when none
    analyze_returncode: int
    analyze_output: str

    def checkov_checks(self, outcome: str, file_names: set[str] | None = None) -> list[dict[str, Any]]:
        """checkov's `failed`, `passed` or `skipped` checks, of every template or of the named ones."""
        reports = self.checkov if isinstance(self.checkov, list) else [self.checkov]
        checks = [c for r in reports if r for c in r.get("results", {}).get(f"{outcome}_checks", [])]
        if file_names is None:
            return checks
        return [c for c in checks if Path(c["file_path"]).name in file_names]

    def findings(self, file_names: set[str] | None = None) -> list[dict[str, Any]]:
        """The analyzer's findings (suppressed ones included), of every template or of the named ones."""
        records = self.analyze.get("findings", []) if isinstance(self.analyze, dict) else self.analyze
        if file_names is None:
            return list(records)
        return [f for f in records if Path(f["file"]).name in file_names]


def example_file_name(cfg: str, stack: str) -> str:
    return f"{cfg}-{stack}.json"


def variant_file_name(name: str) -> str:
    return f"variant-{name}-{STACK}.json"


def templates_to_scan() -> tuple[ScannedTemplate, ...]:
    examples = [
        ScannedTemplate(example_file_name(cfg, stack), body(cfg, stack), stack_region(cfg, stack))
        for cfg in CONFIGS
        for stack in stack_names(cfg)
    ]
    variants = [
        ScannedTemplate(variant_file_name(name), variant_body(name), variant_config(name).region)
        for name in VARIANTS
    ]
    return (*examples, *variants)


def cfn_lint_matches(template: ScannedTemplate) -> list[str]:
    """No error, no warning, no informational match: cfn-lint's full rule set, in the template's region."""
    matches = lint(
        template.body,
        regions=[template.region],
        config=ManualArgs(regions=[template.region], include_checks=["I"]),
    )
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]


def _json_or_empty(text: str) -> Any:
    return json.loads(text) if text.strip() else {}


def scan(folder: Path) -> ScanResults:
    """Writes every template into `folder`, then runs each scanner once: checkov and the analyzer as
    subprocesses (started first, so they run while cfn-lint works in this process)."""
    templates = templates_to_scan()
    for template in templates:
        (folder / template.file_name).write_text(template.body)
    bin_dir = Path(sys.executable).parent
    checkov = subprocess.Popen(
        [str(bin_dir / "checkov"), "--directory", str(folder), "--framework", "cloudformation",
         "--skip-download", "--output", "json", "--compact"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    analyze = subprocess.Popen(
        [str(bin_dir / "iam-guard"), "analyze", "--format", "json", "--fail-on", "info",
         *(str(folder / t.file_name) for t in templates)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        cfn_lint = {template.file_name: cfn_lint_matches(template) for template in templates}
        checkov_out, checkov_err = checkov.communicate(timeout=SCANNER_TIMEOUT_SECONDS)
        analyze_out, analyze_err = analyze.communicate(timeout=SCANNER_TIMEOUT_SECONDS)
    finally:
        for process in (checkov, analyze):
            if process.poll() is None:
                process.kill()
                process.wait()
    return ScanResults(
        templates=templates,
        cfn_lint=cfn_lint,
        checkov=_json_or_empty(checkov_out),
        checkov_returncode=checkov.returncode,
        checkov_stderr=checkov_err,
        analyze=_json_or_empty(analyze_out),
        analyze_returncode=analyze.returncode,
        analyze_output=analyze_out[-3000:] + analyze_err[-1000:],
    )
