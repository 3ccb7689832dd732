"""What each finding code means, for reports: title, what it detects, the fix, and the severity score
GitHub code scanning reads (`security-severity`: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium, below low)."""

from __future__ import annotations

from dataclasses import dataclass

from iam_guard.analysis.detections import BY_CODE
from iam_guard.scan.model import ALL_CODES, ATTACHED_BY_NAME, NOT_ANALYZED, UNREADABLE_TEMPLATE

SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
SARIF_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SEVERITIES = ("critical", "high", "medium", "low", "info")
INFORMATION_URI = "https://github.com/iam-guard/iam-guard"
HELP_URI = f"{INFORMATION_URI}#the-analyzer"

_SCAN_DETECTIONS = {
    NOT_ANALYZED: "a policy whose value is only known at deploy time (a parameter, an import, a macro, "
    "text built with Fn::Sub that is not JSON until then)",
    ATTACHED_BY_NAME: "a SAM policy template or a managed policy attached by name: defined outside the "
    "template, not analyzed",
    UNREADABLE_TEMPLATE: "a file that looks like a CloudFormation template but cannot be parsed or scanned",
}


@dataclass(frozen=True)
class Rule:
    code: str
    requirement: str
    title: str
    detection: str
    remediation: str


def _detections() -> dict[str, str]:
    """What each code detects, from the analyzer's detection units (the README's code table shows the same)
    and the scanner's own codes."""
    found = dict(_SCAN_DETECTIONS)
    for code, unit in BY_CODE.items():
        found[code] = f"{unit.detects} (base severity: {unit.severity_rule})"
    return found


def rules() -> dict[str, Rule]:
    """Every code the scan can report, with its meaning."""
    detections = _detections()
    return {
        code: Rule(code, info.requirement, info.title, detections.get(code, info.title), info.remediation)
        for code, info in sorted(ALL_CODES.items())
    }
