"""The JSON report: {"tool", "version", "findings": [...], "skipped": [...], "summary": {...}}."""

from __future__ import annotations

from collections import Counter

from iam_guard.report import pretty_json
from iam_guard.report.rules import SEVERITIES
from iam_guard.scan.model import ScanResult


def render_json(result: ScanResult, fail_on: str) -> str:
    from iam_guard import __version__

    active = [f for f in result.findings if not f.suppressed]
    by_severity = Counter(f.severity for f in active)
    summary = {
        "files": result.files,
        "templates": result.templates,
        "policy_files": result.policy_files,
        "policies": result.documents,
        "findings": len(active),
        "suppressed": len(result.findings) - len(active),
        "skipped": len(result.skipped),
        "by_severity": {severity: by_severity.get(severity, 0) for severity in SEVERITIES},
        "fail_on": fail_on,
    }
    body = {
        "tool": "iam-guard",
        "version": __version__,
        # each finding's own attributes, not a copy (to_dict): the writer only reads them
        "findings": [vars(f) for f in result.findings],
        "skipped": [{"file": s.file, "reason": s.reason} for s in result.skipped],
        "summary": summary,
    }
    return pretty_json.dumps(body) + "\n"
