"""H-2 / MON-8: the daily audit of every IAM policy in the account.

Events in (handler string "daily_audit.handler"):
- the EventBridge schedule ("detail-type": "Scheduled Event", cron at 02:00 UTC by default): a new run;
- SQS records from AUDIT_CONTINUATION_QUEUE_URL (event source mapping, batch size 1): a run handed over
  by the previous invocation, resumed from its pagination markers;
- anything else is logged and acknowledged (H-4).

How a run works. GetAccountAuthorizationDetails is paged with MaxItems=1000 (the API's maximum) and a
Filter per entity type, never one call per policy, in two phases whose entity types are paged in parallel:
1. LocalManagedPolicy + Group: every customer-managed policy's default version and every group inline
   policy is analyzed; the documents are kept in memory for phase 2.
2. Role + User: every role's trust policy and inline policies, every user's inline policies, and
   privilege escalation across all the policies of each principal (analyze_principal over inline,
   attached customer-managed, attached AWS managed and, for users, their groups' policies). Each distinct
   attached AWS managed policy is fetched once (GetPolicy + GetPolicyVersion, memoised for the life of
   the container), analyzed once per run and counted once.
Before each round of pages the function checks the time Lambda has left. When it runs short, it sends
the run's state (markers, counters, the worst findings: a few kB) to the continuation queue and returns;
the invocation that message triggers goes on from there. A container that did not see phase 1 (a cold
start) reloads the phase-1 documents, without analyzing or counting them again. The summary (EMF metrics,
one SNS alert with the worst findings, one summary record) goes out once, when the last page is done.
Every finding is also written as a JSON record to the security log group.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from alerts import SecurityLog, log_stream_name, publish_alert
from emf import COUNT, SECONDS, emit_metrics, severity_metric_name
from iam_guard.analysis import Finding, Severity, analyze_policy, analyze_principal
from iam_guard.analysis.account import default_version_document
from lambda_support import LambdaContext, Settings, aws_client, load_settings, log

STATE_VERSION = 1
PAGE_SIZE = 1000  # GetAccountAuthorizationDetails MaxItems maximum
PHASES: tuple[tuple[str, ...], ...] = (("LocalManagedPolicy", "Group"), ("Role", "User"))
WORST_KEPT = 20
# Time kept back for the handover or the summary (SendMessage, PutLogEvents, Publish with retries).
HANDOVER_RESERVE_MS = 8_000
FIRST_ROUND_ESTIMATE_MS = 5_000
_MAX_TEXT = 300
PAGE_LIST_KEYS = {
    "LocalManagedPolicy": "Policies",
    "Group": "GroupDetailList",
    "Role": "RoleDetailList",
    "User": "UserDetailList",
}
MAX_HANDOVER_BYTES = 240 * 1024  # SQS message limit 256 KiB, with a margin


@dataclass
class AuditState:
    """Everything one invocation hands to the next: compact, JSON-serialisable (SQS allows 256 KiB)."""

    run_id: str
    started_at: float
    phase: int = 0
    markers: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    invocations: int = 0
    policies_audited: int = 0
    principals_audited: int = 0
    findings: dict[str, int] = field(default_factory=lambda: {sev.label: 0 for sev in Severity})
    worst: list[dict[str, Any]] = field(default_factory=list)
    aws_managed_audited: list[str] = field(default_factory=list)
    reference_pages: int = 0
    version: int = STATE_VERSION

    @classmethod
    def new(cls, run_id: str | None = None) -> AuditState:
        """A fresh run starting now."""
        return cls(run_id=run_id or uuid.uuid4().hex, started_at=time.time())

    @classmethod
    def from_json(cls, text: str) -> AuditState:
        """Parse a continuation message body; ValueError when it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION or "run_id" not in data:
            raise ValueError("not an iam-guard audit continuation message")
        for name, kind in _STATE_FIELD_TYPES.items():
            if name in data and (not isinstance(data[name], kind) or isinstance(data[name], bool)):
                raise ValueError(f"continuation field {name} is a {type(data[name]).__name__}")
        if "started_at" not in data:
            raise ValueError("continuation message has no started_at")
        markers = data.get("markers", {})
        if not all(isinstance(value, str) for value in markers.values()):
            raise ValueError("continuation markers must be strings")
        state = cls(**{key: value for key, value in data.items() if key in _STATE_FIELD_TYPES})
        if state.phase not in range(len(PHASES) + 1):
            raise ValueError(f"phase {state.phase!r} out of range")
        return state

    def to_json(self) -> str:
        """The continuation message body."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    def record_findings(self, findings: Iterable[Finding], context: dict[str, Any]) -> list[dict[str, Any]]:
        """Count findings, keep the worst WORST_KEPT, and return their compact forms."""
        compact = [compact_finding(finding, context) for finding in findings]
        for item in compact:
            self.findings[item["severity"]] = self.findings.get(item["severity"], 0) + 1
        if compact:
            merged = self.worst + compact
            merged.sort(key=lambda item: -Severity.parse(item["severity"]))
            self.worst = merged[:WORST_KEPT]
        return compact


# The JSON type of every AuditState field, checked when a continuation message is read.
_STATE_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "run_id": str,
    "started_at": (int, float),
    "phase": int,
    "markers": dict,
    "done": list,
    "invocations": int,
    "policies_audited": int,
    "principals_audited": int,
    "findings": dict,
    "worst": list,
    "aws_managed_audited": list,
    "reference_pages": int,
    "version": int,
}


def compact_finding(finding: Finding, context: dict[str, Any]) -> dict[str, Any]:
    """A finding with where it was found, with bounded text (for the handover message and the alert)."""
    return {
        **context,
        "code": finding.code,
        "severity": finding.severity.label,
        "message": finding.message[:_MAX_TEXT],
        "statement": finding.statement_index,
        "sid": finding.sid,
        "actions": list(finding.actions[:10]),
        "resources": list(finding.resources[:5]),
        "remediation": finding.remediation[:_MAX_TEXT],
    }


@dataclass
class AuditClients:
    """The AWS clients one run uses (the handler passes the module-wide ones)."""

    iam: Any
    sqs: Any
    sns: Any
    logs: Any


@dataclass(frozen=True)
class GroupPolicies:
    """What a group gives its members: inline documents and attached managed policy ARNs."""

    inline: tuple[Any, ...]
    attached: tuple[str, ...]

    @classmethod
    def of(cls, group: dict[str, Any]) -> GroupPolicies:
        """From a GetAccountAuthorizationDetails GroupDetailList entry."""
        return cls(
            inline=tuple(item.get("PolicyDocument") for item in group.get("GroupPolicyList", [])),
            attached=tuple(item.get("PolicyArn", "") for item in group.get("AttachedManagedPolicies", [])),
        )


@dataclass
class Reference:
    """Phase-1 documents that principals need: customer-managed policies and group policies."""

    run_id: str = ""
    complete: bool = False
    pages: int = 0  # phase-1 pages this container processed for run_id
    policies: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, GroupPolicies] = field(default_factory=dict)

    def add_page(self, page: dict[str, Any]) -> None:
        """Keep the documents of one LocalManagedPolicy or Group page."""
        for policy in page.get("Policies", []):
            self.policies[policy.get("Arn", "")] = default_version_document(policy)
        for group in page.get("GroupDetailList", []):
            self.groups[group.get("GroupName", "")] = GroupPolicies.of(group)


# Kept for the life of the container: a warm container resumes a run without reloading anything.
_reference = Reference()
_aws_managed_documents: dict[str, Any] = {}
_aws_managed_lock = threading.Lock()


class Audit:
    """One invocation's share of a run: pages rounds until done or out of time."""

    def __init__(
        self,
        state: AuditState,
        context: LambdaContext,
        clients: AuditClients,
        settings: Settings,
        security_log: SecurityLog,
        max_workers: int = 2,
    ) -> None:
        self.state = state
        self.context = context
        self.clients = clients
        self.settings = settings
        self.security_log = security_log
        self.max_workers = max_workers
        self._audited_aws_managed = set(state.aws_managed_audited)
        self._lock = threading.Lock()

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> str:
        """Advance the run; returns "complete" or "continued"."""
        global _reference
        self.state.invocations += 1
        if _reference.run_id != self.state.run_id:
            _reference = Reference(run_id=self.state.run_id)
        rounds = 0
        round_estimate_ms = FIRST_ROUND_ESTIMATE_MS
        while self.state.phase < len(PHASES):
            if (
                rounds
                and self.context.get_remaining_time_in_millis() < HANDOVER_RESERVE_MS + round_estimate_ms
            ):
                self.security_log.flush()
                self._hand_over()
                return "continued"
            started = time.monotonic()
            self._round()
            self.security_log.flush()
            round_estimate_ms = int((time.monotonic() - started) * 1000)
            rounds += 1
        self._summarise()
        return "complete"

    def _round(self) -> None:
        filters = [name for name in PHASES[self.state.phase] if name not in self.state.done]
        if self.state.phase == 1:
            self._ensure_reference()
        pages = self._fetch_pages(filters)
        for name, page in zip(filters, pages, strict=True):
            self.process_page(name, page)
            if self.state.phase == 0:
                self.state.reference_pages += 1
                _reference.pages += 1
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if marker:
                self.state.markers[name] = marker
            else:
                self.state.markers.pop(name, None)
                self.state.done.append(name)
        if all(name in self.state.done for name in PHASES[self.state.phase]):
            # Complete only when this container saw every phase-1 page of the run.
            if self.state.phase == 0 and _reference.pages == self.state.reference_pages:
                _reference.complete = True
            self.state.phase += 1

    def _fetch_pages(self, filters: list[str]) -> list[dict[str, Any]]:
        """The next page of each filter, fetched in parallel when max_workers > 1."""
        if self.max_workers <= 1 or len(filters) == 1:
            return [self._fetch_page(name, self.state.markers.get(name)) for name in filters]
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(filters))) as pool:
            return list(pool.map(lambda name: self._fetch_page(name, self.state.markers.get(name)), filters))

    def _fetch_page(self, entity_filter: str, marker: str | None) -> dict[str, Any]:
        arguments: dict[str, Any] = {"Filter": [entity_filter], "MaxItems": PAGE_SIZE}
        if marker:
            arguments["Marker"] = marker
        return dict(self.clients.iam.get_account_authorization_details(**arguments))

    def _hand_over(self) -> None:
        self.state.aws_managed_audited = sorted(self._audited_aws_managed)
        body = self.state.to_json()
        if len(body.encode("utf-8")) > MAX_HANDOVER_BYTES:
            # Never lose the run over its report: keep the counters, fewer examples.
            self.state.worst = self.state.worst[:3]
            body = self.state.to_json()
        self.clients.sqs.send_message(QueueUrl=self.settings.audit_continuation_queue_url, MessageBody=body)
        log(
            "INFO",
            "audit handed over to the next invocation",
            runId=self.state.run_id,
            phase=self.state.phase,
            markers=sorted(self.state.markers),
            done=self.state.done,
            policiesAudited=self.state.policies_audited,
        )

    # -- pages ----------------------------------------------------------------------------------------

    def process_page(self, entity_filter: str, page: dict[str, Any]) -> None:
        """Analyze every entry of one GetAccountAuthorizationDetails page of `entity_filter`."""
        if entity_filter in PHASES[0]:
            _reference.add_page(page)
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "LocalManagedPolicy": self._policy,
            "Group": self._group,
            "Role": self._role,
            "User": self._user,
        }
        for item in page.get(PAGE_LIST_KEYS[entity_filter], []):
            handlers[entity_filter](item)

    def _policy(self, policy: dict[str, Any]) -> None:
        arn = policy.get("Arn", "")
        # The name is the ARN's last segment when the entry lacks PolicyName (moto omits it).
        name = policy.get("PolicyName") or arn.rsplit("/", 1)[-1]
        context = {"entity": f"policy/{name}", "policy": arn}
        self._audit_document(default_version_document(policy), "identity", context)

    def _group(self, group: dict[str, Any]) -> None:
        name = group.get("GroupName", "")
        for item in group.get("GroupPolicyList", []):
            self._audit_document(
                item.get("PolicyDocument"),
                "identity",
                {"entity": f"group/{name}", "policy": item.get("PolicyName")},
            )

    def _role(self, role: dict[str, Any]) -> None:
        name = role.get("RoleName", "")
        entity = f"role/{name}"
        self._audit_document(
            role.get("AssumeRolePolicyDocument"), "trust", {"entity": entity, "policy": "trust"}
        )
        inline = self._inline_documents(entity, role.get("RolePolicyList", []))
        attached = self._attached_documents(entity, role.get("AttachedManagedPolicies", []))
        self._audit_principal(entity, inline + attached)

    def _user(self, user: dict[str, Any]) -> None:
        entity = f"user/{user.get('UserName', '')}"
        inline = self._inline_documents(entity, user.get("UserPolicyList", []))
        attached = self._attached_documents(entity, user.get("AttachedManagedPolicies", []))
        groups: list[Any] = []
        for group in user.get("GroupList", []):
            groups.extend(self._group_documents(entity, group))
        self._audit_principal(entity, inline + attached + groups)

    # -- documents ------------------------------------------------------------------------------------

    def _inline_documents(self, entity: str, items: list[dict[str, Any]]) -> list[Any]:
        documents = []
        for item in items:
            document = item.get("PolicyDocument")
            documents.append(document)
            self._audit_document(document, "identity", {"entity": entity, "policy": item.get("PolicyName")})
        return documents

    def _attached_documents(self, entity: str, items: list[dict[str, Any]]) -> list[Any]:
        documents = []
        for item in items:
            arn = item.get("PolicyArn", "")
            document = self._managed_document(entity, arn)
            if document is not None:
                documents.append(document)
        return documents

    def _group_documents(self, entity: str, group: str) -> list[Any]:
        policies = _reference.groups.get(group, GroupPolicies((), ()))
        documents = [document for document in policies.inline if document is not None]
        for arn in policies.attached:
            document = self._managed_document(entity, arn)
            if document is not None:
                documents.append(document)
        return documents

    def _managed_document(self, entity: str, arn: str) -> Any:
        if is_aws_managed(arn):
            return self._aws_managed_document(entity, arn)
        return _reference.policies.get(arn)

    def _aws_managed_document(self, entity: str, arn: str) -> Any:
        document = fetch_aws_managed_document(self.clients.iam, arn)
        with self._lock:
            first_time = arn not in self._audited_aws_managed
            self._audited_aws_managed.add(arn)
        if first_time and document is not None:
            self._audit_document(
                document,
                "identity",
                {"entity": f"aws-policy/{arn.rsplit('/', 1)[-1]}", "policy": arn, "firstAttachedTo": entity},
            )
        return document

    def _ensure_reference(self) -> None:
        """Phase 2 needs phase 1's documents; a container that did not see all of phase 1 reloads them."""
        global _reference
        if _reference.complete and _reference.run_id == self.state.run_id:
            return
        reloaded = Reference(run_id=self.state.run_id)
        for entity_filter in PHASES[0]:
            marker: str | None = None
            while True:
                page = self._fetch_page(entity_filter, marker)
                reloaded.add_page(page)
                marker = page.get("Marker") if page.get("IsTruncated") else None
                if not marker:
                    break
        reloaded.complete = True
        _reference = reloaded
        log(
            "INFO",
            "phase-1 documents reloaded in a new container",
            runId=self.state.run_id,
            policies=len(reloaded.policies),
            groups=len(reloaded.groups),
        )

    # -- findings -------------------------------------------------------------------------------------

    def _audit_document(self, document: Any, policy_type: str, context: dict[str, Any]) -> None:
        if document is None:
            return
        findings = analyze_policy(document, policy_type)
        with self._lock:
            self.state.policies_audited += 1
            self._record(findings, {**context, "policyType": policy_type})

    def _audit_principal(self, entity: str, documents: list[Any]) -> None:
        findings = analyze_principal(documents) if len(documents) > 1 else []
        with self._lock:
            self.state.principals_audited += 1
            self._record(findings, {"entity": entity, "policy": "all attached policies combined"})

    def _record(self, findings: list[Finding], context: dict[str, Any]) -> None:
        for item in self.state.record_findings(findings, context):
            self.security_log.add({"kind": "audit-finding", "runId": self.state.run_id, **item})

    # -- the end --------------------------------------------------------------------------------------

    def _summarise(self) -> None:
        state = self.state
        duration = max(0.0, time.time() - state.started_at)
        metrics = {
            severity_metric_name(sev): (float(state.findings.get(sev.label, 0)), COUNT) for sev in Severity
        }
        metrics["PoliciesAudited"] = (float(state.policies_audited), COUNT)
        metrics["AuditDurationSeconds"] = (round(duration, 3), SECONDS)
        emit_metrics(self.settings.metrics_namespace, {"Environment": self.settings.environment}, metrics)
        summary = {
            "kind": "audit-summary",
            "runId": state.run_id,
            "invocations": state.invocations,
            "policiesAudited": state.policies_audited,
            "principalsAudited": state.principals_audited,
            "findings": state.findings,
            "durationSeconds": round(duration, 3),
            "worst": state.worst,
        }
        self.security_log.add(summary)
        self.security_log.flush()
        subject, message, severity = summary_alert(state, self.settings, duration)
        publish_alert(self.clients.sns, self.settings.alert_topic_arn, subject, message, severity)
        log("INFO", "audit complete", **{key: value for key, value in summary.items() if key != "worst"})


def is_aws_managed(arn: str) -> bool:
    """arn:<partition>:iam::aws:policy/... is an AWS managed policy."""
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == "aws"


def fetch_aws_managed_document(iam: Any, arn: str) -> Any:
    """The default version of an AWS managed policy, fetched once per container (GetPolicy +
    GetPolicyVersion); None when it no longer exists."""
    with _aws_managed_lock:
        if arn in _aws_managed_documents:
            return _aws_managed_documents[arn]
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    except iam.exceptions.NoSuchEntityException:
        document = None
    with _aws_managed_lock:
        _aws_managed_documents[arn] = document
    return document


def summary_alert(state: AuditState, settings: Settings, duration: float) -> tuple[str, str, str]:
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
        f"in {duration:.1f} s ({state.invocations} invocation(s), run {state.run_id}).",
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


def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: start a run (schedule) or resume one (SQS continuation)."""
    settings = load_settings("daily_audit")
    states = _states_from_event(event)
    if states is None:
        return {"status": "ignored"}
    clients = AuditClients(aws_client("iam"), aws_client("sqs"), aws_client("sns"), aws_client("logs"))
    results = []
    for state in states:
        security_log = SecurityLog(
            clients.logs,
            settings.security_log_group,
            log_stream_name(
                context.function_name, f"{state.run_id}-{state.invocations + 1}-{context.aws_request_id}"
            ),
        )
        outcome = Audit(state, context, clients, settings, security_log).run()
        results.append({"runId": state.run_id, "status": outcome, "policiesAudited": state.policies_audited})
    return {"status": "ok", "runs": results}


def _states_from_event(event: Any) -> list[AuditState] | None:
    """The runs an event starts or resumes; None (after a log line) for an event of another shape."""
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
        return [AuditState.new(str(event.get("id") or "") or None)]
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records:
        states = []
        for record in records:
            try:
                if not isinstance(record, dict) or record.get("eventSource") != "aws:sqs":
                    raise ValueError("record is not an SQS message")
                states.append(AuditState.from_json(str(record.get("body", ""))))
            except (ValueError, TypeError) as problem:
                log(
                    "WARNING",
                    "continuation message acknowledged without audit",
                    reason=str(problem),
                    messageId=record.get("messageId") if isinstance(record, dict) else None,
                )
        return states
    log(
        "WARNING",
        "unexpected event acknowledged without audit",
        keys=sorted(event)[:20] if isinstance(event, dict) else type(event).__name__,
    )
    return None
