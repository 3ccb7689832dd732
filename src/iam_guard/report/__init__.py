"""Reports of a scan (iam_guard.scan.ScanResult), reusable without the CLI: text, JSON and SARIF 2.1.0.

from iam_guard.report import render
sys.stdout.write(render(result, "sarif", fail_on="high", root=Path(".")))

Each format's module is imported when it is asked for: a cold `iam-guard analyze --format json` does not
load SARIF's hashing and URL quoting.
"""

from __future__ import annotations

from pathlib import Path

from iam_guard.scan.model import ScanResult

FORMATS = ("text", "json", "sarif")


def render(result: ScanResult, output_format: str, fail_on: str, root: Path) -> str:
    """The report in one of FORMATS; `root` is the folder SARIF URIs are relative to."""
    if output_format == "sarif":
        from iam_guard.report.sarif import render_sarif

        return render_sarif(result, fail_on, root)
    if output_format == "json":
        from iam_guard.report.json_report import render_json

        return render_json(result, fail_on)
    from iam_guard.report.text import render_text

    return render_text(result, fail_on)


__all__ = ["FORMATS", "render"]
