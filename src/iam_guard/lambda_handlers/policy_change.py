"""H-1 / MON-1: analyze one IAM policy change as it happens. Handler string: "policy_change.handler".

Event in: the EventBridge event "AWS API Call via CloudTrail" for an IAM call (source aws.iam), matched by
the monitoring stack's rule (or forwarded from us-east-1 by the forwarder stack). What each event name
leads to is in policy_events.py (the tables) and policy_documents.py (finding the document):
- a document installed by the call is analyzed (from the request, or fetched from IAM);
- removals, group membership and boundary changes are recorded without alert; detaching the quarantine
  policy (or deleting its inline fallback) is alerted, because it lifts a quarantine;
- MON-13: the canary's TagPolicy of the quarantine policy is the heartbeat: one metric, no record, no alert;
  in an organization, a member's canary (TagPolicy of its canary policy, member_heartbeats.py) is that
  member's heartbeat: its arrival recorded, one metric, no record, no alert;
- a failed call (detail.errorCode) changed nothing: one log line, acknowledged;
- an event of any other shape or name: one log line, acknowledged (H-4: never retried forever).

Out: one JSON record per finding in the security log group, one SNS alert when a finding is at or above
ALERT_SEVERITY and REMEDIATION_MODE is notify or quarantine, EMF metrics, and H-3 remediation.

ORG-1: in an organization deployment (ORGANIZATION_ID set) an event of a member account is handled in that
account: its managed policy is read, and its principal quarantined, through the member roles with sessions
narrowed to that one policy or principal (member_sessions.py). A member that cannot be reached (an invalid
account ID, a refused session or call) is a HIGH record and alert naming the account, never a silent pass
and never a retry.

Exactly one alert per CloudTrail event (H-7): the event's mark in the state table (event_marks.py) makes a
duplicate delivery a logged no-op, and lets a retry finish what a failed attempt left undone without
repeating what it did. Every AWS call goes through call_within with the invocation's Deadline: when the
time left cannot hold another try, OutOfTime is raised (with the mark left "processing"), so Lambda's
asynchronous retries (then the dead-letter queue) take the event, instead of the function being killed
half-way at its timeout. Any other failure that retries could fix raises for the same reason.
"""

from __future__ import annotations

import collections
from typing import Any

from botocore.exceptions import ClientError

from alerts import SecurityLog, log_stream_name, publish_alert
from emf import COUNT, emit_metrics, findings_metrics
from event_marks import Claim, EventInProgress, EventMarks
from iam_guard.analysis import Severity
from iam_guard.contract import CANARY_METRIC_NAME, MEMBER_CANARY_METRIC
from lambda_support import (
    Deadline,
    LambdaContext,
    OutOfTime,
    Settings,
    aws_client,
    load_settings,
    log,
    own_account_id,
    utc_now_iso,
)
from member_heartbeats import HeartbeatSettings, member_canary_account, record_arrival
from member_sessions import (
    MemberSessions,
    MemberUnreachable,
    OrgSettings,
    member_account,
    partition_of,
    refused,
    unreachable_reason,
)
from policy_alerts import (
    alert_message,
    change_records,
    lifts_quarantine,
    member_unreachable_message,
    quarantine_lifted_message,
    short_target,
    subject,
)
from policy_documents import Analysis, IamForPolicy, find_and_analyze
from policy_events import CANARY_EVENT, HANDLED_EVENTS, PolicyChange, UnexpectedEvent, parse_change
from remediation import RemediationOutcome, quarantine_threshold, remediate, remediate_in_member
from structured_log import invocation, set_correlation_id

__all__ = ["HANDLED_EVENTS", "handler"]

# Kept back from the deadline for the last mark and the log line after the final call.
RESERVE_MS = 1_000


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: analyze one CloudTrail IAM policy change (see the module docstring)."""
    with invocation(context, "policy_change"):
        return _handle_event(event, context)


def _handle_event(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = load_settings("policy_change")
    try:
        change = parse_change(event)
    except UnexpectedEvent as problem:
        return _acknowledge(problem, event)
    set_correlation_id(change.event_id)
    if change.error_code:
        log(
            "INFO",
            "failed IAM call skipped: it changed nothing",
            eventName=change.event_name,
            eventId=change.event_id,
            errorCode=change.error_code,
        )
        return {"status": "skipped", "reason": f"the call failed with {change.error_code}"}
    deadline = Deadline(context, RESERVE_MS)
    try:
        return _handle(change, event, settings, context, deadline)
    except (OutOfTime, EventInProgress) as problem:
        log("WARNING", "raised so the event is retried", eventId=change.event_id, reason=str(problem))
        raise


def _handle(
    change: PolicyChange, event: Any, settings: Settings, context: LambdaContext, deadline: Deadline
) -> dict[str, Any]:
    own_account = own_account_id(context, deadline)
    if change.event_name == CANARY_EVENT:
        if change.is_canary(settings.quarantine_policy_arn) and change.is_in_account(own_account):
            return _heartbeat(change, settings)
        member_beat = _member_heartbeat(change, settings, context, deadline, own_account)
        if member_beat is not None:
            return member_beat
        return _acknowledge(UnexpectedEvent("TagPolicy that is not this stack's canary heartbeat"), event)
    member = _Member.of(change, context, deadline, own_account)
    marks = EventMarks(
        aws_client("dynamodb"), settings.state_table_name, deadline, context.aws_request_id, change.event_id
    )
    claim = marks.claim(change.event_name)
    if claim.duplicate:
        log(
            "INFO",
            "duplicate delivery of an event already handled: acknowledged",
            eventName=change.event_name,
            eventId=change.event_id,
            attempts=claim.attempts,
        )
        return {"status": "duplicate", "eventId": change.event_id}
    try:
        analysis = _find_and_analyze(change, member, deadline)
    except UnexpectedEvent as problem:
        marks.done()
        return _acknowledge(problem, event)
    return _report(change, analysis, settings, context, deadline, marks, claim, own_account, member)


class _Member:
    """ORG-1: the member account an event is about, and the sessions that reach it; `account` is None for
    an event of the function's own account or a single-account deployment (then nothing is assumed)."""

    def __init__(
        self, account: str | None, sessions: MemberSessions | None, unreachable: MemberUnreachable | None
    ) -> None:
        self.account = account
        self.sessions = sessions
        self.unreachable = unreachable

    @classmethod
    def of(
        cls, change: PolicyChange, context: LambdaContext, deadline: Deadline, own_account: str
    ) -> _Member:
        org = OrgSettings.from_environment()
        if org is None:
            return cls(None, None, None)
        try:
            account = member_account(change.accounts, own_account)
        except MemberUnreachable as problem:
            return cls(problem.account, None, problem)
        if account is None:
            return cls(None, None, None)
        partition = partition_of(str(getattr(context, "invoked_function_arn", "") or ""))
        return cls(account, MemberSessions(org, partition, change.event_id, deadline), None)

    def iam_for(self, policy_arn: str) -> Any:
        """The IAM client that reads `policy_arn`: the function's own for an AWS managed policy (the same
        document in every account), a narrowed member session for a policy of the member account."""
        if self.unreachable is not None:
            raise self.unreachable
        policy_account = policy_arn.split(":")[4] if policy_arn.count(":") >= 5 else ""
        if self.sessions is None or policy_account == "aws":
            return aws_client("iam")
        if self.account is None or policy_account != self.account:
            raise MemberUnreachable(
                self.account or "?",
                f"{policy_arn[:300]} is neither a policy of this account nor an AWS managed policy",
            )
        return self.sessions.policy_reader(self.account, policy_arn)


def _find_and_analyze(change: PolicyChange, member: _Member, deadline: Deadline) -> Analysis:
    """find_and_analyze, with a member account that cannot be reached as a member-unreachable analysis
    (only when the document must be fetched: one in the request is analyzed wherever the event is from)."""
    iam_for: IamForPolicy = member.iam_for
    try:
        return find_and_analyze(change, iam_for, deadline)
    except MemberUnreachable as problem:
        return Analysis("member-unreachable", reason=str(problem))
    except ClientError as error:
        if member.account is None or not refused(error):
            raise
        return Analysis(
            "member-unreachable",
            reason=(
                f"member account {member.account}: reading {change.policy_arn}: {unreachable_reason(error)}"
            ),
        )


def _acknowledge(problem: UnexpectedEvent, event: Any) -> dict[str, Any]:
    """H-4: log an event the handler cannot use and return normally, so it is not retried."""
    log("WARNING", "unexpected event acknowledged without analysis", reason=str(problem), event=_brief(event))
    return {"status": "ignored", "reason": str(problem)}


def _heartbeat(change: PolicyChange, settings: Settings) -> dict[str, Any]:
    """MON-13: the canary arrived: the whole path (trail, rule, forwarder, function) works."""
    emit_metrics(
        settings.metrics_namespace,
        {"Environment": settings.environment},
        {CANARY_METRIC_NAME: (1.0, COUNT)},
    )
    log("INFO", "canary heartbeat", eventId=change.event_id, eventTime=change.event_time)
    return {"status": "heartbeat"}


def _member_heartbeat(
    change: PolicyChange, settings: Settings, context: LambdaContext, deadline: Deadline, own_account: str
) -> dict[str, Any] | None:
    """ORG-1/MON-13 per member account: a member's canary arrived (member_heartbeats.py checks every field):
    its arrival recorded, one metric; None when the event is not a member heartbeat."""
    heartbeats = HeartbeatSettings.from_environment()
    if heartbeats is None or OrgSettings.from_environment() is None:
        return None
    account = member_canary_account(
        change.event_name,
        change.accounts,
        change.request,
        own_account,
        heartbeats.canary_policy_name,
        partition_of(str(getattr(context, "invoked_function_arn", "") or "")),
    )
    if account is None:
        return None
    recorded = record_arrival(aws_client("dynamodb"), heartbeats.table_name, account, deadline)
    emit_metrics(
        settings.metrics_namespace,
        {"Environment": settings.environment},
        {MEMBER_CANARY_METRIC: (1.0, COUNT)},
    )
    log("INFO", "member canary heartbeat", account=account, eventId=change.event_id, recorded=recorded)
    return {"status": "member-heartbeat", "account": account}


def _report(
    change: PolicyChange,
    analysis: Analysis,
    settings: Settings,
    context: LambdaContext,
    deadline: Deadline,
    marks: EventMarks,
    claim: Claim,
    own_account: str,
    member: _Member,
) -> dict[str, Any]:
    security_log = SecurityLog(
        aws_client("logs"),
        settings.security_log_group,
        log_stream_name(context.function_name, context.aws_request_id),
        deadline,
    )
    remediation_error: ClientError | None = None
    if claim.outcome is None or claim.outcome[0] == "failed":
        try:
            outcome = _remediate(change, analysis, settings, deadline, own_account, member)
        except ClientError as error:
            # Recorded and alerted first; then raised so the event is retried (quarantine is idempotent)
            # and the dead-letter queue keeps it if it never succeeds.
            remediation_error = error
            outcome = RemediationOutcome("failed", f"quarantine failed: {error.response['Error']['Code']}")
    else:
        outcome = RemediationOutcome(*claim.outcome)
    if claim.outcome is None:
        for record in change_records(
            change, analysis, settings.environment, outcome, settings.quarantine_policy_arn
        ):
            security_log.add(record)
        security_log.flush()
        marks.recorded(outcome.action, outcome.detail)
        _emit_metrics(settings, analysis, outcome)
    elif outcome.action != claim.outcome[0]:
        # A retry got further with the quarantine than the attempt that wrote the records.
        security_log.add(_remediation_retried_record(change, settings.environment, outcome))
        security_log.flush()
        marks.recorded(outcome.action, outcome.detail)
    if claim.alert is None:
        message_id = _alert(change, analysis, settings, outcome, deadline)
        marks.alerted(f"sent:{message_id}" if message_id else "none")
        alerted = message_id is not None
    else:
        alerted = claim.alert.startswith("sent:")
    log(
        "INFO",
        "policy change processed",
        eventName=change.event_name,
        eventId=change.event_id,
        status=analysis.status,
        findings=len(analysis.findings),
        alerted=alerted,
        remediation=outcome.action,
        attempt=claim.attempts,
    )
    if remediation_error is not None:
        raise remediation_error
    marks.done()
    return {
        "status": analysis.status,
        "findings": len(analysis.findings),
        "alerted": alerted,
        "remediation": outcome.action,
    }


def _emit_metrics(settings: Settings, analysis: Analysis, outcome: RemediationOutcome) -> None:
    counts = collections.Counter(finding.severity for finding in analysis.findings)
    metrics = findings_metrics(counts)
    metrics["PolicyChangesAnalyzed"] = (1.0 if analysis.status == "analyzed" else 0.0, COUNT)
    metrics["RemediationsApplied"] = (1.0 if outcome.applied else 0.0, COUNT)
    emit_metrics(settings.metrics_namespace, {"Environment": settings.environment}, metrics)


def _remediation_retried_record(
    change: PolicyChange, environment: str, outcome: RemediationOutcome
) -> dict[str, Any]:
    return {
        "kind": "remediation-retried",
        "eventName": change.event_name,
        "eventId": change.event_id,
        "target": change.target(),
        "environment": environment,
        "remediation": {"action": outcome.action, "detail": outcome.detail},
    }


def _remediate(
    change: PolicyChange,
    analysis: Analysis,
    settings: Settings,
    deadline: Deadline,
    own_account: str,
    member: _Member,
) -> RemediationOutcome:
    threshold = quarantine_threshold(settings.alert_severity)
    worst = [finding for finding in analysis.findings if finding.severity >= threshold]
    if not worst:
        return RemediationOutcome("none", f"no finding at or above {threshold.label}")
    if member.sessions is not None and member.account is not None:
        return _remediate_in_member(
            change, worst[0].code, settings, deadline, member.account, member.sessions
        )
    return remediate(
        aws_client("iam") if settings.remediation_mode == "quarantine" else None,
        settings.remediation_mode,
        change.principal,
        worst[0].code,
        settings.quarantine_policy_arn,
        settings.exempt_principal_arns,
        utc_now_iso(),
        deadline,
        own_account,
        change.accounts,
    )


def _remediate_in_member(
    change: PolicyChange,
    finding_code: str,
    settings: Settings,
    deadline: Deadline,
    account: str,
    sessions: MemberSessions,
) -> RemediationOutcome:
    """ORG-1: quarantine in the member account; a refusal is a failed outcome naming the account (alerted),
    not an error that retries would repeat."""
    principal = change.principal
    if settings.remediation_mode != "off" and not sessions.org.remediation_role_name:
        return RemediationOutcome(
            "none", f"member account {account}: the organization deploys no member remediation role"
        )

    def open_session() -> Any:
        assert principal is not None  # remediate_in_member opens no session without a principal
        return sessions.quarantiner(account, principal.kind, principal.name)

    try:
        return remediate_in_member(
            open_session,
            settings.remediation_mode,
            principal,
            finding_code,
            sessions.quarantine_arn(account),
            utc_now_iso(),
            deadline,
        )
    except MemberUnreachable as problem:
        return RemediationOutcome("failed", f"quarantine failed: {problem}")
    except ClientError as error:
        if not refused(error):
            raise
        return RemediationOutcome(
            "failed", f"quarantine failed: member account {account}: {unreachable_reason(error)}"
        )


def _alert(
    change: PolicyChange,
    analysis: Analysis,
    settings: Settings,
    outcome: RemediationOutcome,
    deadline: Deadline,
) -> str | None:
    """Publish the change's alert, if one is due; returns its SNS MessageId or None."""
    if settings.remediation_mode == "off":
        return None
    if lifts_quarantine(change, settings.quarantine_policy_arn):
        severity = Severity.HIGH
        what = f"quarantine lifted {short_target(change)}"
        message = quarantine_lifted_message(change)
    elif analysis.status == "member-unreachable":
        severity = Severity.HIGH
        what = f"member account unreachable: {change.event_name} {short_target(change)}"
        message = member_unreachable_message(change, analysis.reason)
    else:
        alerted = [finding for finding in analysis.findings if finding.severity >= settings.alert_severity]
        if not alerted:
            return None
        severity = alerted[0].severity
        what = f"{change.event_name} {short_target(change)}"
        message = alert_message(change, alerted, outcome)
    return publish_alert(
        aws_client("sns"),
        settings.alert_topic_arn,
        subject(settings.environment, severity, what),
        message,
        severity.label,
        deadline,
    )


def _brief(event: Any) -> Any:
    """A bounded excerpt of an unexpected event for the log line."""
    if isinstance(event, dict):
        detail = event.get("detail")
        if not isinstance(detail, dict):
            detail = {}
        return {
            "id": event.get("id"),
            "source": event.get("source"),
            "detail-type": event.get("detail-type"),
            "eventName": detail.get("eventName"),
        }
    return repr(event)[:200]
