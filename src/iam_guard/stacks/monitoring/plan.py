"""The monitoring stack's names, sizing and the plan every part of it reads (EDGE-1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import (
    Parameter,
    Sub,
    Template,
    awslambda,
    dynamodb,
    iam,
    kms,
    logs,
    sns,
    sqs,
)

from iam_guard import arns, contract, naming
from iam_guard.blocks import alarms, events
from iam_guard.blocks.functions import (
    FunctionSpec,
)
from iam_guard.config import Config, MonitoringConfig
from iam_guard.policies import monitoring as mon
from iam_guard.stacks.monitoring.tamper_rules import TAMPER_RULES

STACK = "monitoring"
METRICS_NAMESPACE = contract.METRICS_NAMESPACE
LOG_LEVEL = "INFO"
# The continuation queue hides a message for six times the function timeout, as Lambda recommends for
# SQS event sources, so a slow invocation is never processed twice at once.
VISIBILITY_TIMEOUT_FACTOR = 6
ONE_DAY_SECONDS = 86400
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE_SECONDS = 3600
CHANGE_ALARM_BASE = "iam-policy-change-rate"
FUNCTION_ROLE_IDS = ("PolicyAnalyzerRole", "DailyAuditorRole")
# Dead-letter queues by logical ID, with the base of their physical names.
DEAD_LETTER_QUEUES = {
    "PolicyAnalyzerDlq": "policy-analyzer-dlq",
    "DailyAuditorDlq": "daily-auditor-dlq",
    "EventDeliveryDlq": "event-delivery-dlq",
    "AuditContinuationDlq": "audit-continuation-dlq",
}
CONTINUATION_QUEUE_BASE = "audit-continuation"
TOPIC_BASE = "security-alerts"
KEY_ALIAS_BASE = "monitoring"
# The functions by logical base, with the base of their physical names.
FUNCTIONS = {function.logical_base: function.physical_base for function in contract.MONITORING_FUNCTIONS}

POLICY_ANALYZER = FunctionSpec(
    handler="policy_change.handler",
    description="Analyzes every IAM policy change (CloudTrail via EventBridge) and alerts on risky policies.",
    timeout_seconds=30,
    memory_mb=256,
    reserved_concurrency=5,
)
DAILY_AUDITOR = FunctionSpec(
    handler="daily_audit.handler",
    description="Audits every IAM policy of the account once a day, continuing large accounts via SQS.",
    timeout_seconds=60,
    memory_mb=512,
    reserved_concurrency=2,
)


@dataclass(frozen=True)
class Names:
    """Every physical name of the stack, each carrying the environment and the region (EDGE-1)."""

    config: Config

    def resource(self, base: str) -> str:
        return naming.name(self.config, base)

    def iam(self, base: str) -> str:
        return naming.pascal_name(self.config, base)

    def log_group(self, base: str) -> str:
        return f"/{naming.PROJECT}/{self.config.name_suffix}/{base}"


def security_log_group_name(config: Config) -> str:
    return Names(config).log_group("security-events")


def forwarder_role_name(config: Config) -> str:
    """The forwarder stack's role (in the global-services region), named here too: quarantine exempts it."""
    return naming.pascal_name(config, "IamEventForwarder")


@dataclass(frozen=True)
class Plan:
    """Every name and ARN the stack uses, known before any resource exists: key, topic and queue policies
    name roles, rules and alarms by ARN built from their names, which avoids reference cycles."""

    config: Config
    names: Names
    analyzer_role_name: str
    auditor_role_name: str
    audit_role_name: str
    change_rule_name: str
    schedule_rule_name: str
    trail_name: str
    state_table_name: str
    log_group_names: dict[str, str]
    tamper_rule_names: dict[str, str]
    canary_role_name: str
    canary_schedule_name: str
    canary_rule_name: str

    @classmethod
    def of(cls, config: Config) -> Plan:
        names = Names(config)
        return cls(
            config=config,
            names=names,
            analyzer_role_name=names.iam("PolicyAnalyzer"),
            auditor_role_name=names.iam("DailyAuditor"),
            audit_role_name=names.iam("CrossAccountAudit"),
            change_rule_name=names.resource("iam-policy-changes"),
            schedule_rule_name=names.resource("daily-audit"),
            trail_name=names.resource("trail"),
            state_table_name=names.resource("state"),
            log_group_names={
                "SecurityEventsLogGroup": security_log_group_name(config),
                "PolicyAnalyzerLogGroup": names.log_group("policy-analyzer"),
                "DailyAuditorLogGroup": names.log_group("daily-auditor"),
            },
            canary_role_name=names.iam("Canary"),
            canary_schedule_name=names.resource("canary"),
            canary_rule_name=names.resource("canary-arrivals"),
            tamper_rule_names={
                rule.logical_id: names.resource(f"tamper-{rule.base}")
                for rule in TAMPER_RULES
                if rule.applies(config)
            },
        )

    @property
    def settings(self) -> MonitoringConfig:
        return self.config.monitoring

    @property
    def function_role_arns(self) -> list[Sub]:
        return [arns.role(self.analyzer_role_name), arns.role(self.auditor_role_name)]

    @property
    def own_role_names(self) -> list[str]:
        """Every role of this deployment: the functions', the audit role (when created) and the
        forwarder's (when the stack runs outside the global-services region)."""
        own = [self.analyzer_role_name, self.auditor_role_name, self.canary_role_name]
        if self.settings.trusted_audit_account_ids:
            own.append(self.audit_role_name)
        if self.config.region != mon.global_services_region(self.config.region):
            own.append(forwarder_role_name(self.config))
        return own

    @property
    def own_role_arns(self) -> list[Sub]:
        return [arns.role(name) for name in self.own_role_names]

    @property
    def exempt_principal_arns(self) -> list[Any]:
        """Quarantine never touches the stack's own roles or the configured principals."""
        return [*self.own_role_arns, *self.settings.remediation_exempt_principals]

    @property
    def rule_names(self) -> list[str]:
        """Every EventBridge rule of the stack, the canary's and the tamper rules included."""
        return [
            self.change_rule_name,
            self.schedule_rule_name,
            self.canary_rule_name,
            *self.tamper_rule_names.values(),
        ]

    @property
    def rule_arns(self) -> list[Sub]:
        return [events.rule_arn(name) for name in self.rule_names]

    @property
    def tamper_rule_arns(self) -> list[Sub]:
        return [events.rule_arn(name) for name in self.tamper_rule_names.values()]

    @property
    def topic_name(self) -> str:
        return self.names.resource(TOPIC_BASE)

    @property
    def function_names(self) -> list[str]:
        return [self.names.resource(base) for base in FUNCTIONS.values()]

    @property
    def queue_names(self) -> list[str]:
        return [self.names.resource(base) for base in (*DEAD_LETTER_QUEUES.values(), CONTINUATION_QUEUE_BASE)]

    @property
    def key_alias_name(self) -> str:
        return f"alias/{self.names.resource(KEY_ALIAS_BASE)}"

    @property
    def stack_names(self) -> list[str]:
        """This deployment's stacks in the monitoring stack's region."""
        return [f"{naming.PROJECT}-{stack}-{self.config.environment}" for stack in ("data-store", STACK)]

    @property
    def quarantine_policy_arn(self) -> Sub:
        return arns.iam_resource("policy", self.names.iam("Quarantine"))

    @property
    def trail_arn(self) -> Any:
        """The trail the stack relies on: its own, or the configured existing one."""
        existing = self.settings.existing_trail_arn
        return existing if existing is not None else arns.regional("cloudtrail", f"trail/{self.trail_name}")

    @property
    def alarm_arns(self) -> Sub:
        return alarms.alarm_arn_pattern(self.config.name_suffix)

    @property
    def creates_trail(self) -> bool:
        return self.settings.existing_trail_arn is None

    @property
    def quarantining(self) -> bool:
        return self.settings.remediation_mode == "quarantine"

    def log_group_arn(self, logical_id: str) -> Sub:
        return arns.log_group(self.log_group_names[logical_id])


@dataclass
class Parts:
    """The resources of the stack, filled in as they are added."""

    template: Template
    key: kms.Key
    parameters: dict[str, Parameter] = field(default_factory=dict)
    groups: dict[str, logs.LogGroup] = field(default_factory=dict)
    queues: dict[str, sqs.Queue] = field(default_factory=dict)
    topic: sns.Topic | None = None
    quarantine: iam.ManagedPolicy | None = None
    roles: dict[str, iam.Role] = field(default_factory=dict)
    functions: dict[str, awslambda.Function] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    trail: Any = None
    table: dynamodb.Table | None = None

    def add(self, resource: Any) -> Any:
        return self.template.add_resource(resource)

    @classmethod
    def detached(cls) -> Parts:
        """No resources: for patterns that name resources by name only (the forwarder's copies)."""
        return cls(template=Template(), key=kms.Key("Detached"))
