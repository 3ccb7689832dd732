"""H-1 / MON-1: analyze one IAM policy change as it happens.

Event in: the EventBridge event "AWS API Call via CloudTrail" for an IAM call (source aws.iam), matched by
the monitoring stack's rule (or forwarded from us-east-1 by the forwarder stack). Handler string:
"policy_change.handler".

What each event name leads to:
- CreatePolicy, CreatePolicyVersion, PutRolePolicy, PutUserPolicy, PutGroupPolicy: the identity policy
  in requestParameters.policyDocument (JSON text or URL-encoded JSON) is analyzed. CloudTrail omits
  oversized request parameters; then CreatePolicy/CreatePolicyVersion fall back to fetching the version
  named in responseElements, and the Put* events are recorded as "document unavailable".
- UpdateAssumeRolePolicy (policyDocument) and CreateRole (assumeRolePolicyDocument): the trust policy.
- AttachRolePolicy, AttachUserPolicy, AttachGroupPolicy: the attached managed policy's default version
  is fetched (GetPolicy + GetPolicyVersion; AWS managed policies too) and analyzed.
- SetDefaultPolicyVersion: the version the call made default (requestParameters.versionId) is fetched.
- AddUserToGroup, Put/Delete Role/User PermissionsBoundary: recorded as change records (no document of
  their own to analyze: group membership is analyzed in combination by the daily audit; a boundary only
  limits), with no alert.
- Detach*/Delete*Policy, DeletePolicy, DeletePolicyVersion: removals. There is no document left to
  analyze (and a removal can only narrow permissions, unless the removed policy held Deny statements),
  so they are written to the security log as change records, with no alert; detaching the quarantine
  policy is the exception and is alerted, because it lifts a quarantine.
- A failed call (detail.errorCode present) changed nothing: one log line, acknowledged.
- An event of any other shape or name: one log line, acknowledged (H-4: never retried forever).
- A policy deleted before it could be fetched (NoSuchEntity): recorded as "document unavailable".
Anything else that fails (throttling beyond botocore's retries, access denied) raises, so EventBridge
retries and the dead-letter queue keeps the event.

Out: one JSON record per finding in the security log group, one SNS alert when a finding is at or above
ALERT_SEVERITY and REMEDIATION_MODE is notify or quarantine, EMF metrics, and H-3 remediation.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from alerts import SecurityLog, describe_finding, log_stream_name, publish_alert
from emf import COUNT, emit_metrics, findings_metrics
from iam_guard.analysis import Finding, Severity, analyze_policy
from lambda_support import LambdaContext, Settings, aws_client, load_settings, log, utc_now_iso
from remediation import Principal, RemediationOutcome, quarantine_threshold, remediate

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"

# event name -> (request parameter holding the document, policy type, principal kind or None)
REQUEST_DOCUMENT_EVENTS: dict[str, tuple[str, str, str | None]] = {
    "CreatePolicy": ("policyDocument", "identity", None),
    "CreatePolicyVersion": ("policyDocument", "identity", None),
    "PutRolePolicy": ("policyDocument", "identity", "role"),
    "PutUserPolicy": ("policyDocument", "identity", "user"),
    "PutGroupPolicy": ("policyDocument", "identity", "group"),
    "UpdateAssumeRolePolicy": ("policyDocument", "trust", "role"),
    "CreateRole": ("assumeRolePolicyDocument", "trust", "role"),
}
# event name -> principal kind or None: the document is fetched from IAM
FETCH_DOCUMENT_EVENTS: dict[str, str | None] = {
    "AttachRolePolicy": "role",
    "AttachUserPolicy": "user",
    "AttachGroupPolicy": "group",
    "SetDefaultPolicyVersion": None,
}
REMOVAL_EVENTS: dict[str, str | None] = {
    "DetachRolePolicy": "role",
    "DetachUserPolicy": "user",
    "DetachGroupPolicy": "group",
    "DeleteRolePolicy": "role",
    "DeleteUserPolicy": "user",
    "DeleteGroupPolicy": "group",
    "DeletePolicy": None,
    "DeletePolicyVersion": None,
}
# event name -> (principal kind, why there is nothing to analyze): recorded as changes, no alert
_BOUNDARY_ONLY_LIMITS = "a permissions boundary only limits what the principal's policies grant"
_BOUNDARY_REMOVED = "the principal's policies now apply without a boundary's limit"
RECORDED_EVENTS: dict[str, tuple[str, str]] = {
    "AddUserToGroup": (
        "user",
        "the user now also has the group's policies; the daily audit analyzes them together",
    ),
    "PutRolePermissionsBoundary": ("role", _BOUNDARY_ONLY_LIMITS),
    "PutUserPermissionsBoundary": ("user", _BOUNDARY_ONLY_LIMITS),
    "DeleteRolePermissionsBoundary": ("role", _BOUNDARY_REMOVED),
    "DeleteUserPermissionsBoundary": ("user", _BOUNDARY_REMOVED),
}
HANDLED_EVENTS = (
    frozenset(REQUEST_DOCUMENT_EVENTS)
    | frozenset(FETCH_DOCUMENT_EVENTS)
    | frozenset(REMOVAL_EVENTS)
    | frozenset(RECORDED_EVENTS)
)
_NAME_PARAMETER = {"role": "roleName", "user": "userName", "group": "groupName"}
MAX_FINDINGS_IN_ALERT = 10


class UnexpectedEvent(ValueError):
    """The event is not a CloudTrail IAM call this handler knows: logged and acknowledged."""


@dataclass(frozen=True)
class PolicyChange:
    """The facts of one CloudTrail IAM call that the handler needs."""

    event_name: str
    event_id: str
    event_time: str
    actor_arn: str
    source_ip: str
    account_id: str
    request: dict[str, Any]
    response: dict[str, Any]
    principal: Principal | None
    error_code: str | None = None

    @property
    def policy_arn(self) -> str | None:
        """The managed policy the call names (request, or the response of CreatePolicy)."""
        return text_at(self.request, "policyArn") or text_at(self.response, "policy", "arn")

    @property
    def policy_name(self) -> str | None:
        """The inline or managed policy name in the request, if any."""
        return text_at(self.request, "policyName")

    def target(self, fetched_version: str | None = None) -> dict[str, Any]:
        """What was changed, for log records: principal, policy and the policy version analyzed."""
        target: dict[str, Any] = {}
        if self.principal:
            target["principalType"] = self.principal.kind
            target["principalName"] = self.principal.name
        if self.policy_arn:
            target["policyArn"] = self.policy_arn
        if self.policy_name:
            target["policyName"] = self.policy_name
        group = text_at(self.request, "groupName")
        if group and target.get("principalType") != "group":
            target["groupName"] = group  # AddUserToGroup
        if self.request.get("setAsDefault") is not None:
            # CreatePolicyVersion without setAsDefault adds a version that is not in effect (yet).
            target["setAsDefault"] = self.request["setAsDefault"] in (True, "true", "True")
        boundary = text_at(self.request, "permissionsBoundary")
        if boundary:
            target["permissionsBoundary"] = boundary
        version = fetched_version or text_at(self.request, "versionId")
        if version:
            target["versionId"] = version
        return target

    def describe_target(self) -> str:
        """One line: e.g. 'role app-runner, inline policy "wide"' or the policy ARN."""
        parts = []
        if self.principal:
            parts.append(self.principal.describe())
        if self.policy_arn:
            parts.append(f"policy {self.policy_arn}")
        elif self.policy_name:
            parts.append(f'inline policy "{self.policy_name}"')
        return ", ".join(parts) or "(no target named)"


@dataclass
class Analysis:
    """The document found for a change and what the analyzer said about it."""

    status: str  # "analyzed", "document-unavailable", "removal", "recorded"
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""
    policy_type: str = "identity"
    version_id: str | None = None  # the managed policy version that was fetched and analyzed


def text_at(mapping: dict[str, Any], *path: str) -> str | None:
    """The non-empty string at `path` inside nested objects; None when absent or of another type."""
    value: Any = mapping
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, str) and value else None


def parse_change(event: Any) -> PolicyChange:
    """The PolicyChange in an EventBridge CloudTrail event; UnexpectedEvent when it is not one."""
    if not isinstance(event, dict):
        raise UnexpectedEvent(f"event is a {type(event).__name__}, not an object")
    if event.get("detail-type") != CLOUDTRAIL_DETAIL_TYPE:
        raise UnexpectedEvent(f"detail-type {event.get('detail-type')!r} is not {CLOUDTRAIL_DETAIL_TYPE!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise UnexpectedEvent("event has no detail object")
    name = detail.get("eventName")
    if not isinstance(name, str) or name not in HANDLED_EVENTS:
        raise UnexpectedEvent(f"eventName {name!r} is not an IAM policy change this handler knows")
    if detail.get("eventSource", "iam.amazonaws.com") != "iam.amazonaws.com":
        raise UnexpectedEvent(f"eventSource {detail.get('eventSource')!r} is not iam.amazonaws.com")
    request = detail.get("requestParameters") or {}
    response = detail.get("responseElements") or {}
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise UnexpectedEvent("requestParameters/responseElements are not objects")
    identity = detail.get("userIdentity") if isinstance(detail.get("userIdentity"), dict) else {}
    account = str(detail.get("recipientAccountId") or event.get("account") or identity.get("accountId") or "")
    return PolicyChange(
        event_name=name,
        event_id=str(detail.get("eventID") or event.get("id") or ""),
        event_time=str(detail.get("eventTime") or event.get("time") or ""),
        actor_arn=str(identity.get("arn") or identity.get("invokedBy") or identity.get("type") or "unknown"),
        source_ip=str(detail.get("sourceIPAddress") or "unknown"),
        account_id=account,
        request=request,
        response=response,
        principal=_principal(name, request, account),
        error_code=str(detail["errorCode"]) if detail.get("errorCode") else None,
    )


def _principal(event_name: str, request: dict[str, Any], account: str) -> Principal | None:
    kind = (
        REQUEST_DOCUMENT_EVENTS[event_name][2]
        if event_name in REQUEST_DOCUMENT_EVENTS
        else FETCH_DOCUMENT_EVENTS.get(event_name, REMOVAL_EVENTS.get(event_name))
    )
    if event_name in RECORDED_EVENTS:
        kind = RECORDED_EVENTS[event_name][0]
    if kind is None:
        return None
    name = request.get(_NAME_PARAMETER[kind])
    if not isinstance(name, str) or not name:
        raise UnexpectedEvent(f"{event_name} event has no requestParameters.{_NAME_PARAMETER[kind]}")
    return Principal(kind=kind, name=name, account_id=account)


def find_and_analyze(change: PolicyChange, iam: Any) -> Analysis:
    """Locate the document the change installed, and analyze it."""
    if change.event_name in REMOVAL_EVENTS:
        return Analysis("removal", reason="a removal leaves no document to analyze")
    if change.event_name in RECORDED_EVENTS:
        return Analysis("recorded", reason=RECORDED_EVENTS[change.event_name][1])
    if change.event_name in REQUEST_DOCUMENT_EVENTS:
        parameter, policy_type, _ = REQUEST_DOCUMENT_EVENTS[change.event_name]
        document = change.request.get(parameter)
        if document is not None and not isinstance(document, str | dict):
            raise UnexpectedEvent(f"requestParameters.{parameter} is a {type(document).__name__}")
        if document is None:
            document = _fetch_created_version(change, iam)
        if document is None:
            return Analysis(
                "document-unavailable", reason=f"CloudTrail omitted requestParameters.{parameter}"
            )
        return Analysis("analyzed", analyze_policy(document, policy_type), policy_type=policy_type)
    return _fetch_and_analyze(change, iam)


def _fetch_created_version(change: PolicyChange, iam: Any) -> Any:
    """For CreatePolicy/CreatePolicyVersion whose document CloudTrail omitted: the version it created."""
    if change.event_name == "CreatePolicy":
        version = text_at(change.response, "policy", "defaultVersionId")
    elif change.event_name == "CreatePolicyVersion":
        version = text_at(change.response, "policyVersion", "versionId")
    else:
        return None
    if not change.policy_arn or not version:
        return None
    try:
        return _policy_version_document(iam, change.policy_arn, str(version))
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise


def _fetch_and_analyze(change: PolicyChange, iam: Any) -> Analysis:
    arn = change.policy_arn
    if not arn:
        raise UnexpectedEvent(f"{change.event_name} event has no requestParameters.policyArn")
    try:
        version = (
            text_at(change.request, "versionId") if change.event_name == "SetDefaultPolicyVersion" else None
        )
        if not version:
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = _policy_version_document(iam, arn, str(version))
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return Analysis(
            "document-unavailable", reason=f"{arn} no longer exists (deleted before it was fetched)"
        )
    return Analysis("analyzed", analyze_policy(document, "identity"), version_id=str(version))


def _policy_version_document(iam: Any, arn: str, version: str) -> Any:
    """The document of one managed policy version (botocore already URL-decodes and parses it)."""
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: analyze one CloudTrail IAM policy change (see the module docstring)."""
    settings = load_settings("policy_change")
    try:
        change = parse_change(event)
    except UnexpectedEvent as problem:
        return _acknowledge(problem, event)
    if change.error_code:
        log(
            "INFO",
            "failed IAM call skipped: it changed nothing",
            eventName=change.event_name,
            eventId=change.event_id,
            errorCode=change.error_code,
        )
        return {"status": "skipped", "reason": f"the call failed with {change.error_code}"}
    try:
        analysis = find_and_analyze(change, aws_client("iam"))
    except UnexpectedEvent as problem:
        return _acknowledge(problem, event)
    return _report(change, analysis, settings, context)


def _acknowledge(problem: UnexpectedEvent, event: Any) -> dict[str, Any]:
    """H-4: log an event the handler cannot use and return normally, so it is not retried."""
    log("WARNING", "unexpected event acknowledged without analysis", reason=str(problem), event=_brief(event))
    return {"status": "ignored", "reason": str(problem)}


def _report(
    change: PolicyChange, analysis: Analysis, settings: Settings, context: LambdaContext
) -> dict[str, Any]:
    security_log = SecurityLog(
        aws_client("logs"),
        settings.security_log_group,
        log_stream_name(context.function_name, context.aws_request_id),
    )
    remediation_error: ClientError | None = None
    try:
        outcome = _remediate(change, analysis, settings)
    except ClientError as error:
        # The findings are recorded and alerted first; then the error is raised so EventBridge retries
        # (quarantine is idempotent) and the dead-letter queue keeps the event if it never succeeds.
        remediation_error = error
        outcome = RemediationOutcome("failed", f"quarantine failed: {error.response['Error']['Code']}")
    records = change_records(change, analysis, settings.environment, outcome, settings.quarantine_policy_arn)
    for record in records:
        security_log.add(record)
    security_log.flush()
    alerted = _alert(change, analysis, settings, outcome)
    counts = collections.Counter(finding.severity for finding in analysis.findings)
    metrics = findings_metrics(counts)
    metrics["PolicyChangesAnalyzed"] = (1.0 if analysis.status == "analyzed" else 0.0, COUNT)
    metrics["RemediationsApplied"] = (1.0 if outcome.applied else 0.0, COUNT)
    emit_metrics(settings.metrics_namespace, {"Environment": settings.environment}, metrics)
    log(
        "INFO",
        "policy change processed",
        eventName=change.event_name,
        eventId=change.event_id,
        status=analysis.status,
        findings=len(analysis.findings),
        alerted=alerted,
        remediation=outcome.action,
    )
    if remediation_error is not None:
        raise remediation_error
    return {
        "status": analysis.status,
        "findings": len(analysis.findings),
        "alerted": alerted,
        "remediation": outcome.action,
    }


def _remediate(change: PolicyChange, analysis: Analysis, settings: Settings) -> RemediationOutcome:
    threshold = quarantine_threshold(settings.alert_severity)
    worst = [finding for finding in analysis.findings if finding.severity >= threshold]
    if not worst:
        return RemediationOutcome("none", f"no finding at or above {threshold.label}")
    return remediate(
        aws_client("iam") if settings.remediation_mode == "quarantine" else None,
        settings.remediation_mode,
        change.principal,
        worst[0].code,
        settings.quarantine_policy_arn,
        settings.exempt_principal_arns,
        utc_now_iso(),
    )


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
    if _lifts_quarantine(change, quarantine_policy_arn):
        record["liftsQuarantine"] = True
    return [record]


def _lifts_quarantine(change: PolicyChange, quarantine_policy_arn: str) -> bool:
    """True for a Detach*Policy of the quarantine policy."""
    return (
        change.event_name.startswith("Detach")
        and bool(quarantine_policy_arn)
        and change.policy_arn == quarantine_policy_arn
    )


def _alert(change: PolicyChange, analysis: Analysis, settings: Settings, outcome: RemediationOutcome) -> bool:
    if settings.remediation_mode == "off":
        return False
    if _lifts_quarantine(change, settings.quarantine_policy_arn):
        _publish_quarantine_lifted(change, settings)
        return True
    alerted = [finding for finding in analysis.findings if finding.severity >= settings.alert_severity]
    if not alerted:
        return False
    worst = alerted[0].severity
    subject = _subject(settings, worst, f"{change.event_name} {_short_target(change)}")
    publish_alert(
        aws_client("sns"),
        settings.alert_topic_arn,
        subject,
        alert_message(change, alerted, outcome),
        worst.label,
    )
    return True


def _subject(settings: Settings, severity: Severity, what: str) -> str:
    """e.g. "[iam-guard dev] CRITICAL: PutRolePolicy role app-runner" (shortened by publish_alert)."""
    return f"[iam-guard {settings.environment}] {severity.label.upper()}: {what}"


def _short_target(change: PolicyChange) -> str:
    if change.principal:
        return change.principal.describe()
    if change.policy_arn:
        return change.policy_arn.rsplit("/", 1)[-1]
    return change.policy_name or ""


def alert_message(change: PolicyChange, findings: list[Finding], outcome: RemediationOutcome) -> str:
    """The readable alert body: who, what, from where, which statement, how to fix, what remediation did."""
    worst = findings[0].severity.label.upper()
    lines = [
        f"iam-guard found {len(findings)} problem(s) (worst: {worst}) in an IAM policy change.",
        "",
        f"Who:   {change.actor_arn}",
        f"From:  {change.source_ip}",
        f"What:  {change.event_name} on {change.describe_target()}",
        f"When:  {change.event_time} (CloudTrail event {change.event_id}, account {change.account_id})",
        f"Remediation: {outcome.action} - {outcome.detail}",
        "",
    ]
    for number, finding in enumerate(findings[:MAX_FINDINGS_IN_ALERT], start=1):
        lines.extend(describe_finding(number, finding))
    if len(findings) > MAX_FINDINGS_IN_ALERT:
        lines.append(f"... and {len(findings) - MAX_FINDINGS_IN_ALERT} more in the security log group.")
    return "\n".join(lines) + "\n"


def _publish_quarantine_lifted(change: PolicyChange, settings: Settings) -> None:
    severity = Severity.HIGH
    subject = _subject(settings, severity, f"quarantine lifted {_short_target(change)}")
    message = "\n".join(
        [
            "The iam-guard quarantine policy was detached: the principal has its permissions back.",
            "",
            f"Who:   {change.actor_arn}",
            f"From:  {change.source_ip}",
            f"What:  {change.event_name} on {change.describe_target()}",
            f"When:  {change.event_time} (CloudTrail event {change.event_id})",
            "How to fix: if this was not an approved release, attach the quarantine policy again.",
        ]
    )
    publish_alert(aws_client("sns"), settings.alert_topic_arn, subject, message + "\n", severity.label)


def _brief(event: Any) -> Any:
    """A bounded excerpt of an unexpected event for the log line."""
    if isinstance(event, dict):
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        return {
            "id": event.get("id"),
            "source": event.get("source"),
            "detail-type": event.get("detail-type"),
            "eventName": detail.get("eventName"),
        }
    return repr(event)[:200]
