"""ANA / CI-1: the analyzer over the project's own generated templates finds nothing at medium or above
that the template's Metadata does not explain (and no suppression lacks a reason)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from test_analysis_cli import analyze_command

from support import REPO_ROOT


@pytest.mark.parametrize("config_name", ["dev.yaml", "prod.yaml"])
def test_cli_1_own_templates_have_no_unexplained_medium_finding(
    config_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = pytest.importorskip("iam_guard.build", reason="iam_guard.build is not in the tree yet")
    from iam_guard.config import load_config

    config = load_config(REPO_ROOT / "templates" / config_name)
    written = build.write_templates(config, tmp_path)
    assert written, "no template was generated"
    parser = argparse.ArgumentParser()
    analyze_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["analyze", str(tmp_path), "--format", "json", "--fail-on", "medium"])
    args.run(args)
    findings = json.loads(capsys.readouterr().out)["findings"]
    unexplained = [
        f"{Path(f['file']).name} {f['resource']} {f['policy']}: {f['severity']} {f['code']} {f['message']}"
        for f in findings
        if not f["suppressed"] and f["severity"] in ("medium", "high", "critical")
    ]
    assert unexplained == []
