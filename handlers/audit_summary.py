"""The end of a daily audit run: its summary record, its one SNS alert and its completion metrics (EMF)."""

from __future__ import annotations

from typing import Any

from audit_records import fit_summary
from emf import COUNT, SECONDS, severity_metric_name
from iam_guard.analysis import Severity
from lambda_support import Settings
from run_store import RunState


def duration_seconds(state: RunState) -> float:
    end = state.finished_at if state.finished_at is not None else state.started_at
    return round(max(0.0, end - state.started_at), 3)


def summary_line(state: RunState) -> str:
    """The summary record (one JSON line under the log event limit, counts always kept)."""
    return fit_summary(
        {
            "kind": "audit-summary",
            "runId": state.run_id,
            "invocations": state.invocations,
            "policiesAudited": state.policies_audited,
            "principalsAudited": state.principals_audited,
            "findings": state.findings,
            "durationSeconds": duration_seconds(state),
            "worst": state.worst,
        }
    )


def completion_metrics(state: RunState) -> dict[str, tuple[float, str]]:
    """The metrics emitted once per run, after its summary was delivered (or recorded in mode off)."""
    metrics = {
        severity_metric_name(sev): (float(state.findings.get(sev.label, 0)), COUNT) for sev in Severity
    }
    metrics["PoliciesAudited"] = (float(state.policies_audited), COUNT)
    metrics["AuditDurationSeconds"] = (duration_seconds(state), SECONDS)
    return metrics


def summary_alert(state: RunState, settings: Settings) -> tuple[str, str, str]:
    """(subject, message, worst severity label) of the one summary alert of a run."""
    listed = [item for item in state.worst if Severity.parse(item["severity"]) >= settings.alert_severity]
    total = sum(state.findings.values())
    worst_label = state.worst[0]["severity"] if state.worst else "info"
    verdict = f"{total} finding(s), worst {worst_label.upper()}" if total else "no findings"
    subject = f"[iam-guard {settings.environment}] daily IAM audit: {verdict}"
    counts = ", ".join(
        f"{sev.label} {state.findings.get(sev.label, 0)}" for sev in sorted(Severity, reverse=True)
    )
    lines = [
        f"iam-guard audited {state.policies_audited} policies of {state.principals_audited} principals "
        f"in {duration_seconds(state):.1f} s ({state.invocations} invocation(s), run {state.run_id}).",
        f"Findings by severity: {counts}.",
        "",
    ]
    if listed:
        lines.append(f"The worst findings at or above {settings.alert_severity.label}:")
        for number, item in enumerate(listed, start=1):
            lines.extend(_describe_compact(number, item))
    else:
        lines.append(f"No finding at or above {settings.alert_severity.label}.")
    lines.append("")
    lines.append(f"Every finding is in the log group {settings.security_log_group} (kind audit-finding).")
    return subject, "\n".join(lines) + "\n", worst_label


def _describe_compact(number: int, item: dict[str, Any]) -> list[str]:
    where = "the policy as a whole" if item.get("statement") is None else f"statement {item['statement']}"
    if item.get("sid"):
        where += f' (Sid "{item["sid"]}")'
    head = (
        f"{number}. {item['severity'].upper()} {item['code']} in {item.get('entity')}, {item.get('policy')}"
    )
    return [
        f"{head}, {where}",
        f"   {item['message']}",
        f"   How to fix: {item['remediation']}",
    ]
