"""The text report: one line per finding, one per skipped file, then a summary line."""

from __future__ import annotations

from iam_guard.scan.model import ScanFinding, ScanResult


def where(finding: ScanFinding) -> str:
    parts = [finding.file + (f":{finding.line}" if finding.line else "")]
    if finding.resource:
        parts.append(f"{finding.resource} {finding.policy}")
    if finding.statement_index is not None:
        parts.append(f"statement {finding.statement_index}" + (f" ({finding.sid})" if finding.sid else ""))
    return " ".join(parts)


def summary_line(result: ScanResult, fail_on: str) -> str:
    active = sum(not f.suppressed for f in result.findings)
    return (
        f"{result.files} file(s), {result.documents} polic(ies): {active} finding(s), "
        f"{len(result.findings) - active} suppressed, {len(result.skipped)} skipped "
        f"({result.templates} template(s), {result.policy_files} policy file(s)); "
        + (f"failing at {fail_on} and above" if fail_on != "none" else "never failing (--fail-on none)")
    )


def render_text(result: ScanResult, fail_on: str) -> str:
    lines = []
    for finding in result.findings:
        suppressed = f" [suppressed: {finding.suppression_reason}]" if finding.suppressed else ""
        lines.append(
            f"{where(finding)}: {finding.severity.upper()} {finding.code} {finding.message}{suppressed}"
        )
    lines += [f"{skipped.file}: skipped: {skipped.reason}" for skipped in result.skipped]
    lines.append(summary_line(result, fail_on))
    return "\n".join(lines) + "\n"
