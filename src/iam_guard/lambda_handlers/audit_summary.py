"""The end of a daily audit run: its summary record, its one SNS alert and its completion metrics (EMF).

send_summary() sends the summary at most once per run: a conditional "sending" mark with a lease (the
run_store), the publish, a conditional "sent" mark; only the invocation that set "sent" emits the metrics,
so a topic that cannot be published to leaves the completion metric missing and the "daily audit
missing" alarm fires. With REMEDIATION_MODE=off nothing is published: the mark is "recorded" and the
metrics follow the records (written before, with the run's last step)."""

from __future__ import annotations

from typing import Any

from alerts import publish_alert
from audit_records import fit_summary
from emf import COUNT, SECONDS, emit_metrics, severity_metric_name
from iam_guard.analysis import Severity
from iam_guard.contract import POLICIES_AUDITED_METRIC
from lambda_support import Deadline, Settings, call_within, log
from run_store import RunState, RunStore
from trail_check import TrailHealth, check_trail


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
    metrics[POLICIES_AUDITED_METRIC] = (float(state.policies_audited), COUNT)
    metrics["AuditDurationSeconds"] = (duration_seconds(state), SECONDS)
    return metrics


def summary_alert(
    state: RunState, settings: Settings, trail: TrailHealth | None = None
) -> tuple[str, str, str]:
    """(subject, message, worst severity label) of the one summary alert of a run; a trail that does not
    let iam-guard see every IAM change makes the alert at least HIGH and says so first."""
    listed = [item for item in state.worst if Severity.parse(item["severity"]) >= settings.alert_severity]
    total = sum(state.findings.values())
    worst_label = state.worst[0]["severity"] if state.worst else "info"
    verdict = f"{total} finding(s), worst {worst_label.upper()}" if total else "no findings"
    if trail is not None and not trail.healthy:
        verdict = f"TRAIL PROBLEM; {verdict}"
        if Severity.parse(worst_label) < Severity.HIGH:
            worst_label = Severity.HIGH.label
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
    if trail is not None:
        lines.extend([*trail.summary_lines(), ""])
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


def send_summary(
    store: RunStore,
    state: RunState,
    settings: Settings,
    sns: Any,
    owner: str,
    lease_until_ms: int,
    cloudtrail: Any = None,
) -> bool:
    """Send the run's summary unless another invocation did or is doing it; True when this one did. With a
    CloudTrail client, the trail (TRAIL_ARN) is checked and reported with it (MON-13)."""
    if not store.begin_summary(state.run_id, owner, lease_until_ms):
        return False
    checks_trail = cloudtrail is not None and bool(settings.trail_arn)
    trail = check_trail(cloudtrail, settings.trail_arn, store.deadline) if checks_trail else None
    if trail is not None and not trail.healthy:
        log("WARNING", "the trail does not let iam-guard see every IAM change", **trail.to_record())
    if settings.remediation_mode == "off":
        outcome = "recorded"  # off: logged only, no SNS
    else:
        subject, message, severity = summary_alert(state, settings, trail)
        publish_alert(
            _BoundedPublisher(sns, store.deadline), settings.alert_topic_arn, subject, message, severity
        )
        outcome = "sent"
    if not store.end_summary(state.run_id, owner, outcome):
        return False
    emit_metrics(settings.metrics_namespace, {"Environment": settings.environment}, completion_metrics(state))
    log(
        "INFO",
        "audit complete",
        runId=state.run_id,
        summary=outcome,
        policiesAudited=state.policies_audited,
        findings=state.findings,
        invocations=state.invocations,
        trail=trail.to_record() if trail is not None else None,
    )
    return True


class _BoundedPublisher:
    """An SNS client whose publish() goes through call_within (publish_alert calls publish)."""

    def __init__(self, sns: Any, deadline: Deadline) -> None:
        self._sns = sns
        self._deadline = deadline

    def publish(self, **arguments: Any) -> Any:
        return call_within(self._deadline, self._sns.publish, **arguments)
