"""What the policy-change handler writes about a change: its security-log records and its SNS alert.

Records keep the event's values as given (JSON escapes whatever they hold). Alerts are read by people, so
every value that came from the event or the policy goes through alerts.clean_text (H-7): no role name,
Sid, resource or actor ARN can add a line, hide text behind terminal escapes, or break the publish.
"""

from __future__ import annotations

from typing import Any

from alerts import clean_text, describe_finding
from iam_guard.analysis import Finding, Severity
from iam_guard.contract import QUARANTINE_INLINE_POLICY_NAME
from policy_documents import Analysis
from policy_events import PolicyChange
from remediation import RemediationOutcome

MAX_FINDINGS_IN_ALERT = 10
# Field limits in alerts (characters after cleaning).
_NAME_LIMIT = 200
_ARN_LIMIT = 300
_TARGET_LIMIT = 400
_DETAIL_LIMIT = 600


def change_records(
    change: PolicyChange,
    analysis: Analysis,
    environment: str,
    outcome: RemediationOutcome,
    quarantine_policy_arn: str = "",
) -> list[dict[str, Any]]:
    """The security-log records of a change: one per finding, or one change record when there is none."""
    base = {
        "eventName": change.event_name,
        "eventId": change.event_id,
        "eventTime": change.event_time,
        "who": change.actor_arn,
        "sourceIPAddress": change.source_ip,
        "account": change.account_id,
        "target": change.target(analysis.version_id),
        "environment": environment,
        "remediation": {"action": outcome.action, "detail": outcome.detail},
    }
    if analysis.findings:
        return [
            {
                **base,
                "kind": "policy-finding",
                "policyType": analysis.policy_type,
                "finding": finding.to_dict(),
            }
            for finding in analysis.findings
        ]
    record = {**base, "kind": "policy-change", "status": analysis.status, "findings": 0}
    if analysis.reason:
        record["reason"] = analysis.reason
    if lifts_quarantine(change, quarantine_policy_arn):
        record["liftsQuarantine"] = True
    return [record]


def lifts_quarantine(change: PolicyChange, quarantine_policy_arn: str) -> bool:
    """True for a Detach*Policy of the quarantine policy, or a Delete{Role,User,Group}Policy of the inline
    explicit deny that quarantine puts when a principal's managed-policy quota is full."""
    if change.event_name.startswith("Detach"):
        return bool(quarantine_policy_arn) and change.policy_arn == quarantine_policy_arn
    if change.event_name in ("DeleteRolePolicy", "DeleteUserPolicy", "DeleteGroupPolicy"):
        return (change.policy_name or "").casefold() == QUARANTINE_INLINE_POLICY_NAME.casefold()
    return False


def subject(environment: str, severity: Severity, what: str) -> str:
    """e.g. "[iam-guard dev] CRITICAL: PutRolePolicy role app-runner" (shortened by publish_alert)."""
    return f"[iam-guard {clean_text(environment, 40)}] {severity.label.upper()}: {clean_text(what, 200)}"


def short_target(change: PolicyChange) -> str:
    """The principal, or the policy's name, for a subject line."""
    if change.principal:
        return change.principal.describe()
    if change.policy_arn:
        return change.policy_arn.rsplit("/", 1)[-1]
    return change.policy_name or ""


def _event_lines(change: PolicyChange) -> list[str]:
    return [
        f"Who:   {clean_text(change.actor_arn, _ARN_LIMIT)}",
        f"From:  {clean_text(change.source_ip, _NAME_LIMIT)}",
        f"What:  {clean_text(change.event_name, 64)} "
        f"on {clean_text(change.describe_target(), _TARGET_LIMIT)}",
        f"When:  {clean_text(change.event_time, 64)} (CloudTrail event {clean_text(change.event_id, 128)}, "
        f"account {clean_text(change.account_id, 64)})",
    ]


def alert_message(change: PolicyChange, findings: list[Finding], outcome: RemediationOutcome) -> str:
    """The readable alert body: who, what, from where, which statement, how to fix, what remediation did."""
    worst = findings[0].severity.label.upper()
    lines = [
        f"iam-guard found {len(findings)} problem(s) (worst: {worst}) in an IAM policy change.",
        "",
        *_event_lines(change),
        f"Remediation: {outcome.action} - {clean_text(outcome.detail, _DETAIL_LIMIT)}",
        "",
    ]
    for number, finding in enumerate(findings[:MAX_FINDINGS_IN_ALERT], start=1):
        lines.extend(describe_finding(number, finding))
    if len(findings) > MAX_FINDINGS_IN_ALERT:
        lines.append(f"... and {len(findings) - MAX_FINDINGS_IN_ALERT} more in the security log group.")
    return "\n".join(lines) + "\n"


def quarantine_lifted_message(change: PolicyChange) -> str:
    """The alert body when the quarantine policy was detached."""
    lines = [
        "The iam-guard quarantine policy was detached: the principal has its permissions back.",
        "",
        *_event_lines(change),
        "How to fix: if this was not an approved release, attach the quarantine policy again.",
    ]
    return "\n".join(lines) + "\n"


def member_unreachable_message(change: PolicyChange, reason: str) -> str:
    """ORG-1: the alert body when a member account's policy could not be read (the change is unanalyzed)."""
    lines = [
        "iam-guard could not analyze an IAM policy change of a member account: the account could not be",
        "reached through its iam-guard member role. The change is NOT analyzed and nothing was quarantined.",
        "",
        *_event_lines(change),
        f"Why:   {clean_text(reason, _DETAIL_LIMIT)}",
        "How to fix: check that the org-member StackSet instance of this account is deployed (its audit role",
        "exists and trusts the security account's PolicyAnalyzer role), then review the change by hand.",
    ]
    return "\n".join(lines) + "\n"
