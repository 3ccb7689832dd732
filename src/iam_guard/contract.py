"""The contract between the monitoring stack and its Lambda handlers: environment variable names, the
state table's key schema, tag keys and policy names. The stack (troposphere) and the handlers (standard
library + boto3, shipped in the zip) both import this module, so a name cannot drift between them.

Standard library only: it is packaged into every handler zip.
"""

from __future__ import annotations

# -- environment variables (EDGE-2) ------------------------------------------------------------------------
ENV_ALERT_TOPIC_ARN = "ALERT_TOPIC_ARN"
ENV_SECURITY_LOG_GROUP = "SECURITY_LOG_GROUP"
ENV_ALERT_SEVERITY = "ALERT_SEVERITY"
ENV_METRICS_NAMESPACE = "METRICS_NAMESPACE"
ENV_ENVIRONMENT = "ENVIRONMENT"
ENV_LOG_LEVEL = "LOG_LEVEL"
ENV_REMEDIATION_MODE = "REMEDIATION_MODE"
ENV_QUARANTINE_POLICY_ARN = "QUARANTINE_POLICY_ARN"
ENV_EXEMPT_PRINCIPAL_ARNS = "EXEMPT_PRINCIPAL_ARNS"
ENV_AUDIT_CONTINUATION_QUEUE_URL = "AUDIT_CONTINUATION_QUEUE_URL"
# H-5: the DynamoDB table holding audit runs and policy-change event IDs (both functions use it).
ENV_STATE_TABLE_NAME = "STATE_TABLE_NAME"

# -- the state table (H-5) ---------------------------------------------------------------------------------
# One table, two item families, told apart by the partition key's prefix:
#   pk = "run#<run id>"      sk = "run" (the run), "step#<n>#..." (a step's pending records), ...
#   pk = "event#<eventID>"   sk = "event"  (a CloudTrail event already handled: one event, one alert)
STATE_TABLE_PARTITION_KEY = "pk"
STATE_TABLE_SORT_KEY = "sk"
# Epoch seconds after which DynamoDB's TTL deletes the item.
STATE_TABLE_TTL_ATTRIBUTE = "expiresAt"
RUN_KEY_PREFIX = "run#"
EVENT_KEY_PREFIX = "event#"
# How long items live: a run is kept long enough to investigate a failed night; an event ID longer than
# EventBridge's maximum event age plus the function's retries (24 h), so a late duplicate is still known.
RUN_RETENTION_DAYS = 14
EVENT_RETENTION_DAYS = 2

# -- remediation (H-3) -------------------------------------------------------------------------------------
# The only tag quarantine writes (roles and users).
QUARANTINE_TAG_KEY = "iam-guard:quarantined"
# When the principal's managed-policy quota is full, quarantine puts an inline explicit deny of this name.
QUARANTINE_INLINE_POLICY_NAME = "iam-guard-quarantine"

# -- heartbeat (MON-13) ------------------------------------------------------------------------------------
# A schedule tags the stack's quarantine policy (QUARANTINE_POLICY_ARN) with this key, the value being the
# scheduled time; the TagPolicy event reaches the policy-change function through its own rule, which
# records it and emits CANARY_METRIC_NAME (count 1, dimension Environment) in METRICS_NAMESPACE. An alarm
# fires when no canary arrived within two intervals.
CANARY_TAG_KEY = "iam-guard:canary"
CANARY_EVENT_NAME = "TagPolicy"
CANARY_METRIC_NAME = "CanaryReceived"
# The daily audit checks this trail with GetTrailStatus/GetEventSelectors (IsLogging, multi-region,
# management events included) and reports what it finds.
ENV_TRAIL_ARN = "TRAIL_ARN"

# -- the functions and their metrics (OPS-1/EDGE-2) ----------------------------------------------------------
# CloudWatch namespace of every metric the handlers emit (EMF) and the alarms watch; dimension Environment.
METRICS_NAMESPACE = "IamGuard"
# Emitted once per daily audit run, after its summary was delivered; the "daily audit missing" alarm
# watches it.
POLICIES_AUDITED_METRIC = "PoliciesAudited"


class LambdaFunction:
    """One function of the monitoring stack, described once: its logical-ID base in the template, its
    physical name base, the handler module (and zip) it runs, and the template parameter holding its
    zip's content-hash S3 key."""

    __slots__ = ("code_key_parameter", "logical_base", "module", "physical_base")

    def __init__(self, logical_base: str, physical_base: str, module: str, code_key_parameter: str) -> None:
        self.logical_base = logical_base
        self.physical_base = physical_base
        self.module = module
        self.code_key_parameter = code_key_parameter

    @property
    def handler(self) -> str:
        """The Lambda handler string, e.g. "policy_change.handler"."""
        return f"{self.module}.handler"


POLICY_ANALYZER = LambdaFunction("PolicyAnalyzer", "policy-analyzer", "policy_change", "PolicyChangeCodeKey")
DAILY_AUDITOR = LambdaFunction("DailyAuditor", "daily-auditor", "daily_audit", "DailyAuditCodeKey")
# The monitoring stack's functions (one account); the organization's fan-out audit has its own (ORG-2).
MONITORING_FUNCTIONS: tuple[LambdaFunction, ...] = (POLICY_ANALYZER, DAILY_AUDITOR)
ORG_AUDIT_SCHEDULER = LambdaFunction(
    "OrgAuditScheduler", "org-audit-scheduler", "org_audit_scheduler", "OrgAuditSchedulerCodeKey"
)
ORG_AUDIT_WORKER = LambdaFunction(
    "OrgAuditWorker", "org-audit-worker", "org_audit_worker", "OrgAuditWorkerCodeKey"
)
ORG_AUDIT_CONSOLIDATOR = LambdaFunction(
    "OrgAuditConsolidator", "org-audit-consolidator", "org_audit_consolidator", "OrgAuditConsolidatorCodeKey"
)
ORG_AUDIT_FUNCTIONS: tuple[LambdaFunction, ...] = (
    ORG_AUDIT_SCHEDULER,
    ORG_AUDIT_WORKER,
    ORG_AUDIT_CONSOLIDATOR,
)
# Every function iam-guard packages and deploys (a zip each, a code-key parameter each).
FUNCTIONS: tuple[LambdaFunction, ...] = (*MONITORING_FUNCTIONS, *ORG_AUDIT_FUNCTIONS)

# -- the organization's fan-out audit (ORG-2) ----------------------------------------------------------------
# One org run: its head item (pk "orgrun#<id>", sk "run") and one item per account (sk "account#<id>") in
# the org-security stack's own state table; each account's resumable audit is a run item of its own
# (pk "run#<org run id>.<account id>", run_store). Same key schema and TTL as the monitoring state table.
ORG_RUN_KEY_PREFIX = "orgrun#"
ENV_ORG_AUDIT_QUEUE_URL = "ORG_AUDIT_QUEUE_URL"
ENV_ORG_CONSOLIDATION_QUEUE_URL = "ORG_CONSOLIDATION_QUEUE_URL"
ENV_RESULTS_BUCKET = "RESULTS_BUCKET"
ENV_AUDIT_EXTERNAL_ID = "AUDIT_EXTERNAL_ID"
ENV_ORG_AUDIT_DEADLINE_MINUTES = "ORG_AUDIT_DEADLINE_MINUTES"
# Where results go in the results bucket: runs/<org run id>/accounts/<account>/step-..-part-...jsonl, and
# the consolidated runs/<org run id>/report.json and report.html.
RESULTS_RUNS_PREFIX = "runs/"
# Emitted once per org run, after its consolidated summary went out; the "org audit missing" alarm watches
# it (dimension Environment), as the daily audit's PoliciesAudited.
ORG_ACCOUNTS_AUDITED_METRIC = "OrgAccountsAudited"
ORG_ACCOUNTS_FAILED_METRIC = "OrgAccountsFailed"

# -- the analyzer across accounts (ORG-1) -------------------------------------------------------------------
# Set on the PolicyAnalyzer only when the config has an organization (the single-account template is
# unchanged): the organization, the member roles the analyzer assumes (names from stacks/org_plan.py) and
# the member quarantine policy's name. MEMBER_REMEDIATION_ROLE is absent when the organization deploys no
# member remediation role.
ENV_ORGANIZATION_ID = "ORGANIZATION_ID"
ENV_MEMBER_AUDIT_ROLE = "MEMBER_AUDIT_ROLE"
ENV_MEMBER_REMEDIATION_ROLE = "MEMBER_REMEDIATION_ROLE"
ENV_MEMBER_QUARANTINE_POLICY = "MEMBER_QUARANTINE_POLICY"
# The lifetime of each narrowed member session (STS's minimum).
MEMBER_SESSION_SECONDS = 900

# -- the heartbeat per member account (ORG-1, MON-13 per account) -------------------------------------------
# Each member's schedule tags its own canary policy (MEMBER_CANARY_POLICY, a policy granting nothing) with
# CANARY_TAG_KEY; the event travels the member's forward rule and the central bus to the PolicyAnalyzer,
# which records the arrival in the org-security stack's state table (ORG_HEARTBEAT_TABLE_NAME): pk
# "heartbeat#<account>", sk "heartbeat", lastArrival (epoch seconds) and expiresAt, and emits
# MEMBER_CANARY_METRIC (dimension Environment only). The org audit scheduler's heartbeat check lists the
# organization's accounts, reads those items and alerts on every account silent for two intervals.
ENV_MEMBER_CANARY_POLICY = "MEMBER_CANARY_POLICY"
ENV_ORG_HEARTBEAT_TABLE_NAME = "ORG_HEARTBEAT_TABLE_NAME"
ENV_CANARY_INTERVAL_MINUTES = "CANARY_INTERVAL_MINUTES"
HEARTBEAT_KEY_PREFIX = "heartbeat#"
HEARTBEAT_SORT_KEY = "heartbeat"
HEARTBEAT_RETENTION_DAYS = 7
MEMBER_CANARY_METRIC = "MemberCanaryReceived"
MEMBER_ACCOUNTS_BLIND_METRIC = "MemberAccountsBlind"
# The constant input of the heartbeat check's schedule (the scheduler function's second event kind).
HEARTBEAT_CHECK_EVENT = {"iamGuardCheck": "member-heartbeats"}
