"""Stack 1: IAM security monitoring and remediation (MON-1 to MON-11, CON-1 to CON-5, EDGE-1 to EDGE-5).

A customer-managed key encrypts everything that holds data: the security and function log groups, the
alert topic, the queues and the trail. An EventBridge rule sends every IAM policy change to the
PolicyAnalyzer function; a daily schedule runs the DailyAuditor, which hands long audits over to itself
through an encrypted continuation queue. Alarms on the rule's own MatchedEvents (independent of the
analyzer), on function errors and throttles, on dead-letter queue depth and on failed deliveries all
notify the encrypted topic, whose policy admits only this account's alarms and functions. A hardened
multi-region trail feeds EventBridge unless the config names an existing one; an optional cross-account
audit role reads IAM metadata with an external ID and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import (
    GetAtt,
    Join,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
    awslambda,
    iam,
    kms,
    logs,
    sns,
    sqs,
)

from iam_guard import arns, naming, packaging
from iam_guard.blocks import alarms, events
from iam_guard.blocks.functions import (
    FunctionSpec,
    async_invoke_permission,
    async_retry_limits,
    code_key_parameter,
    python_function,
    queue_event_source,
)
from iam_guard.blocks.kms import customer_managed_key, key_alias
from iam_guard.blocks.logs import encrypted_log_group
from iam_guard.blocks.queues import encrypted_queue, tls_only_queue_policy
from iam_guard.blocks.roles import inline_policy, role
from iam_guard.blocks.storage import (
    Lifecycle,
    access_log_bucket,
    kms_encrypted_bucket,
    tls_only_bucket_policy,
)
from iam_guard.blocks.topics import email_subscriptions, encrypted_topic, tls_only_topic_policy
from iam_guard.blocks.trail import hardened_trail, trail_arn, trail_logs_arn
from iam_guard.config import Config, MonitoringConfig
from iam_guard.outputs import add_exported_outputs
from iam_guard.policies import document
from iam_guard.policies import monitoring as mon
from iam_guard.policies.common import deny_outside_regions_statement, deny_sensitive_actions_statement
from iam_guard.policies.kms import (
    LOGS_ENCRYPTION_CONTEXT_REASON,
    cloudwatch_logs_statement,
    use_through_service_statement,
)
from iam_guard.policies.s3 import allow_access_log_delivery_statement
from iam_guard.policies.trust import cross_account_external_id_trust, service_trust

STACK = "monitoring"
METRICS_NAMESPACE = "IamGuard"
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

AUDIT_ROLE_SOURCE_IP_NOTE = (
    "No aws:SourceIp condition on the cross-account audit role: the auditor calls IAM's public endpoint "
    "from the auditing account's egress addresses (or from Lambda), which the internal allowed_cidrs never "
    "match, so the guard would only make the role unusable. The external ID, the account-bound trust, the "
    "requested-region guard, the read-only allow list with a NotAction deny and the one-hour session limit "
    "its use instead; iam-guard's own remote audit narrows each session further with a session policy."
)
QUARANTINE_POLICY_NOTE = (
    "Created in every remediation mode (it is unattached and grants nothing), so QUARANTINE_POLICY_ARN is "
    "always set; only in quarantine mode may the PolicyAnalyzer role attach it."
)

AUDIT_TRUST_REASON = (
    "The trust requires sts:ExternalId equal to the NoEcho AuditExternalId parameter (32+ characters) and "
    "names only the configured audit accounts; the role it opens is read-only with explicit denies."
)
QUARANTINE_ATTACH_REASON = (
    "H-3 quarantine: Attach*Policy is allowed only with iam:PolicyARN equal to the stack's deny-all "
    "quarantine policy and only while the role carries the remediator tag; attaching any other policy is "
    "explicitly denied, so the grant can only take permissions away."
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
    log_group_names: dict[str, str]

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
            log_group_names={
                "SecurityEventsLogGroup": security_log_group_name(config),
                "PolicyAnalyzerLogGroup": names.log_group("policy-analyzer"),
                "DailyAuditorLogGroup": names.log_group("daily-auditor"),
            },
        )

    @property
    def settings(self) -> MonitoringConfig:
        return self.config.monitoring

    @property
    def function_role_arns(self) -> list[Sub]:
        return [arns.role(self.analyzer_role_name), arns.role(self.auditor_role_name)]

    @property
    def rule_arns(self) -> list[Sub]:
        return [events.rule_arn(self.change_rule_name), events.rule_arn(self.schedule_rule_name)]

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

    def add(self, resource: Any) -> Any:
        return self.template.add_resource(resource)


def build(config: Config) -> Template:
    """The monitoring template of `config` (see the module docstring)."""
    plan = Plan.of(config)
    template = Template(
        Description=(
            f"iam-guard IAM security monitoring ({config.environment}, {config.region}): analyzes every IAM "
            "policy change and audits all policies daily; KMS-encrypted logs, topic and queues; alarms."
        )
    )
    parts = Parts(template=template, key=template.add_resource(_stack_key(plan)))
    _add_parameters(parts)
    parts.add(key_alias("MonitoringKeyAlias", alias=plan.names.resource("monitoring"), key=parts.key))
    _add_log_groups(parts, plan)
    _add_topic(parts, plan)
    _add_queues(parts, plan)
    _add_quarantine_policy(parts, plan)
    _add_function_roles(parts, plan)
    if plan.settings.trusted_audit_account_ids:
        _add_audit_role(parts, plan)
    _add_functions(parts, plan)
    _add_rules(parts, plan)
    _add_alarms(parts, plan)
    if plan.creates_trail:
        parts.trail = _add_trail(template, config, plan.names, parts.key, plan.trail_name)
    else:
        template.set_metadata(_existing_trail_metadata(plan.settings.existing_trail_arn or ""))
    _add_outputs(parts, plan)
    return template


# Parameters, key, log groups, topic, queues -------------------------------------------------------------


def _add_parameters(parts: Parts) -> None:
    """The artifact bucket (no default) and the content-hashed S3 keys of the handler zips."""
    parts.parameters["ArtifactBucket"] = parts.template.add_parameter(
        Parameter(
            "ArtifactBucket",
            Type="String",
            AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            ConstraintDescription="an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
            Description="S3 bucket holding the handler zips (make package uploads them)",
        )
    )
    for logical_id, handler in (
        ("PolicyChangeCodeKey", "policy_change"),
        ("DailyAuditCodeKey", "daily_audit"),
    ):
        parts.parameters[logical_id] = parts.template.add_parameter(
            code_key_parameter(logical_id, handler=handler, default_key=packaging.zip_key(handler))
        )


def _stack_key(plan: Plan) -> kms.Key:
    """MON-2, CON-3: every service that writes to something this key encrypts is admitted, narrowed."""
    usage = [
        cloudwatch_logs_statement([arns.log_group_bare(name) for name in plan.log_group_names.values()]),
        mon.alarms_use_key_statement(plan.alarm_arns),
        mon.events_use_key_statement(plan.rule_arns),
        mon.account_messaging_use_key_statement(),
        use_through_service_statement(
            "AllowFunctionRolesThroughSqs", plan.function_role_arns, "sqs", mon.ROLE_MESSAGE_KEY_ACTIONS
        ),
        use_through_service_statement(
            "AllowFunctionRolesThroughSns", plan.function_role_arns, "sns", mon.ROLE_MESSAGE_KEY_ACTIONS
        ),
        *mon.lambda_environment_key_statements(),
    ]
    if plan.creates_trail:
        usage.extend(mon.cloudtrail_use_key_statements(trail_arn(plan.trail_name)))
    key = customer_managed_key(
        "MonitoringKey",
        description=(
            f"iam-guard monitoring key ({plan.config.name_suffix}): log groups, alert topic, queues, trail"
        ),
        usage=usage,
    )
    key.Metadata = {
        "iam-guard": {"suppressions": [{"code": "IAMG010", "reason": LOGS_ENCRYPTION_CONTEXT_REASON}]}
    }
    return key


def _add_log_groups(parts: Parts, plan: Plan) -> None:
    """MON-3, CON-4: the security-events group and one per function, encrypted, retained."""
    for logical_id, name in plan.log_group_names.items():
        parts.groups[logical_id] = parts.add(
            encrypted_log_group(
                logical_id, name=name, key=parts.key, retention_days=plan.settings.log_retention_days
            )
        )


def _add_topic(parts: Parts, plan: Plan) -> None:
    """MON-7: the encrypted alert topic, an email subscription per address, publishers limited."""
    topic = parts.add(
        encrypted_topic(
            "AlertTopic",
            name=plan.names.resource("security-alerts"),
            display_name=f"iam-guard {plan.config.environment} security alerts",
            key=parts.key,
        )
    )
    for subscription in email_subscriptions(
        "AlertEmailSubscription", topic=topic, emails=plan.config.alert_emails
    ):
        parts.add(subscription)
    policy = tls_only_topic_policy(
        "AlertTopicPolicy",
        topic=topic,
        statements=mon.topic_publishers_statements(Ref(topic), plan.function_role_arns, plan.alarm_arns),
    )
    # SNS rejects a policy whose principal does not exist yet (PrincipalNotFound): the roles come first.
    policy.DependsOn = list(FUNCTION_ROLE_IDS)
    parts.add(policy)
    parts.topic = topic


def _add_queues(parts: Parts, plan: Plan) -> None:
    """The functions' DLQs, the EventBridge targets' DLQ, and the audit's continuation queue with its
    own DLQ; all encrypted, all TLS-only."""
    for logical_id, base in DEAD_LETTER_QUEUES.items():
        parts.queues[logical_id] = parts.add(
            encrypted_queue(logical_id, name=plan.names.resource(base), key=parts.key)
        )
    parts.queues["AuditContinuationQueue"] = parts.add(
        encrypted_queue(
            "AuditContinuationQueue",
            name=plan.names.resource("audit-continuation"),
            key=parts.key,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_FACTOR * DAILY_AUDITOR.timeout_seconds,
            dead_letter_queue=parts.queues["AuditContinuationDlq"],
        )
    )
    for logical_id, queue in parts.queues.items():
        statements = []
        if logical_id == "EventDeliveryDlq":
            statements.append(mon.events_send_to_queue_statement(GetAtt(queue, "Arn"), plan.rule_arns))
        parts.add(tls_only_queue_policy(f"{logical_id}Policy", queue=queue, statements=statements))


# Roles ----------------------------------------------------------------------------------------------------


def _add_quarantine_policy(parts: Parts, plan: Plan) -> None:
    """H-3, CON-2: the explicit deny-all policy quarantine attaches (see QUARANTINE_POLICY_NOTE)."""
    parts.quarantine = parts.add(
        iam.ManagedPolicy(
            "QuarantinePolicy",
            ManagedPolicyName=plan.names.iam("Quarantine"),
            Description="iam-guard quarantine: explicit deny of every action, for offending principals",
            PolicyDocument=document([mon.quarantine_deny_all_statement()]),
            Metadata={"iam-guard": {"notes": [QUARANTINE_POLICY_NOTE]}},
        )
    )


def _common_function_statements(parts: Parts, plan: Plan) -> list[Any]:
    return [
        mon.publish_alerts_statement(Ref(parts.topic)),
        mon.use_key_through_messaging_statement(GetAtt(parts.key, "Arn")),
        deny_outside_regions_statement(mon.stack_regions(plan.config.region)),
    ]


def _analyzer_statements(parts: Parts, plan: Plan) -> list[Any]:
    """The handlers contract for policy_change; Attach*Policy only in quarantine mode, tightly scoped."""
    quarantine = Ref(parts.quarantine)
    statements = [
        mon.read_policies_statement(),
        mon.write_logs_statement(
            [plan.log_group_arn("SecurityEventsLogGroup"), plan.log_group_arn("PolicyAnalyzerLogGroup")]
        ),
        mon.send_to_dead_letter_queue_statement(GetAtt(parts.queues["PolicyAnalyzerDlq"], "Arn")),
        *_common_function_statements(parts, plan),
    ]
    if plan.quarantining:
        statements.extend(mon.quarantine_statements(quarantine))
        statements.append(mon.deny_attach_other_policies_statement(quarantine))
    exempt = mon.QUARANTINE_ATTACH_ACTIONS if plan.quarantining else ()
    statements.append(deny_sensitive_actions_statement(exempt=exempt))
    return statements


def _auditor_statements(parts: Parts, plan: Plan) -> list[Any]:
    """The handlers contract for daily_audit."""
    return [
        mon.read_account_authorization_statement(),
        mon.read_policies_statement(),
        mon.write_logs_statement(
            [plan.log_group_arn("SecurityEventsLogGroup"), plan.log_group_arn("DailyAuditorLogGroup")]
        ),
        mon.send_to_dead_letter_queue_statement(GetAtt(parts.queues["DailyAuditorDlq"], "Arn")),
        mon.use_continuation_queue_statement(GetAtt(parts.queues["AuditContinuationQueue"], "Arn")),
        *_common_function_statements(parts, plan),
        deny_sensitive_actions_statement(),
    ]


def _add_function_roles(parts: Parts, plan: Plan) -> None:
    """MON-5, CON-2: the execution roles, assumed by Lambda for this account only, one-hour sessions."""
    analyzer_role = role(
        "PolicyAnalyzerRole",
        name=plan.analyzer_role_name,
        description="Execution role of the PolicyAnalyzer function: reads policies, alerts, quarantines.",
        trust=service_trust("lambda.amazonaws.com"),
        policies=[inline_policy("AnalyzePolicyChanges", document(_analyzer_statements(parts, plan)))],
    )
    if plan.quarantining:
        analyzer_role.Metadata = {
            "iam-guard": {"suppressions": [{"code": "IAMG006", "reason": QUARANTINE_ATTACH_REASON}]}
        }
        analyzer_role.Tags = Tags({mon.REMEDIATOR_TAG_KEY: mon.REMEDIATOR_TAG_VALUE})
    parts.roles["PolicyAnalyzerRole"] = parts.add(analyzer_role)
    parts.roles["DailyAuditorRole"] = parts.add(
        role(
            "DailyAuditorRole",
            name=plan.auditor_role_name,
            description="Execution role of the DailyAuditor function: reads every IAM policy, alerts.",
            trust=service_trust("lambda.amazonaws.com"),
            policies=[inline_policy("AuditAllPolicies", document(_auditor_statements(parts, plan)))],
        )
    )


def _add_audit_role(parts: Parts, plan: Plan) -> None:
    """MON-10: read-only IAM metadata for the trusted audit accounts, with the NoEcho external ID."""
    external_id = parts.template.add_parameter(
        Parameter(
            "AuditExternalId",
            Type="String",
            NoEcho=True,
            MinLength=32,
            MaxLength=1224,
            AllowedPattern=r"[\w+=,.@:/-]+",
            ConstraintDescription="32 or more characters of letters, digits and + = , . @ : / - _",
            Description="External ID the trusted audit accounts pass to sts:AssumeRole (a shared secret)",
        )
    )
    audit_role = role(
        "CrossAccountAuditRole",
        name=plan.audit_role_name,
        description="Read-only IAM audit from the trusted audit accounts, with the external ID.",
        trust=cross_account_external_id_trust(
            [arns.account_root_of(account) for account in plan.settings.trusted_audit_account_ids],
            Ref(external_id),
        ),
        policies=[
            inline_policy(
                "ReadOnlyIamAudit",
                document(
                    [
                        *mon.audit_read_statements(),
                        mon.deny_data_reads_statement(),
                        mon.deny_everything_but_audit_reads_statement(),
                        deny_outside_regions_statement(mon.stack_regions(plan.config.region)),
                        deny_sensitive_actions_statement(),
                    ]
                ),
            )
        ],
    )
    audit_role.Metadata = {
        "iam-guard": {
            "notes": [AUDIT_ROLE_SOURCE_IP_NOTE],
            "suppressions": [{"code": "IAMG009", "reason": AUDIT_TRUST_REASON}],
        }
    }
    parts.roles["CrossAccountAuditRole"] = parts.add(audit_role)


# Functions and rules --------------------------------------------------------------------------------------


def _exempt_principals(parts: Parts, plan: Plan) -> list[Any]:
    """Quarantine never touches the stack's own roles, the forwarder's, or the configured principals."""
    exempt: list[Any] = list(plan.function_role_arns)
    if "CrossAccountAuditRole" in parts.roles:
        exempt.append(arns.role(plan.audit_role_name))
    if plan.config.region != mon.global_services_region(plan.config.region):
        exempt.append(arns.role(forwarder_role_name(plan.config)))
    exempt.extend(plan.settings.remediation_exempt_principals)
    return exempt


def _add_functions(parts: Parts, plan: Plan) -> None:
    """MON-1, MON-8, CON-1, EDGE-2, EDGE-5: the two functions with exactly the contract's variables."""
    shared_environment = {
        "ALERT_TOPIC_ARN": Ref(parts.topic),
        "SECURITY_LOG_GROUP": Ref(parts.groups["SecurityEventsLogGroup"]),
        "ALERT_SEVERITY": plan.settings.alert_severity,
        "METRICS_NAMESPACE": METRICS_NAMESPACE,
        "ENVIRONMENT": plan.config.environment,
        "LOG_LEVEL": LOG_LEVEL,
    }
    specific_environment = {
        "PolicyAnalyzer": {
            "REMEDIATION_MODE": plan.settings.remediation_mode,
            "QUARANTINE_POLICY_ARN": Ref(parts.quarantine),
            "EXEMPT_PRINCIPAL_ARNS": Join(",", _exempt_principals(parts, plan)),
        },
        "DailyAuditor": {"AUDIT_CONTINUATION_QUEUE_URL": Ref(parts.queues["AuditContinuationQueue"])},
    }
    functions = (
        ("PolicyAnalyzer", "policy-analyzer", POLICY_ANALYZER, "PolicyChangeCodeKey"),
        ("DailyAuditor", "daily-auditor", DAILY_AUDITOR, "DailyAuditCodeKey"),
    )
    for base, physical, spec, code_key in functions:
        function = parts.add(
            python_function(
                f"{base}Function",
                name=plan.names.resource(physical),
                spec=spec,
                role=parts.roles[f"{base}Role"],
                key=parts.key,
                log_group=parts.groups[f"{base}LogGroup"],
                dead_letter_queue=parts.queues[f"{base}Dlq"],
                code_bucket=parts.parameters["ArtifactBucket"],
                code_key=parts.parameters[code_key],
                environment={**shared_environment, **specific_environment[base]},
            )
        )
        parts.add(
            async_retry_limits(
                f"{function.title}InvokeConfig",
                function=function,
                max_retry_attempts=ASYNC_RETRY_ATTEMPTS,
                max_event_age_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            )
        )
        parts.functions[base] = function
    parts.add(
        queue_event_source(
            "AuditContinuationEventSource",
            function=parts.functions["DailyAuditor"],
            queue=parts.queues["AuditContinuationQueue"],
        )
    )


def _add_rules(parts: Parts, plan: Plan) -> None:
    """MON-4, MON-8, CON-5: the IAM change rule and the daily schedule, each target with DLQ and retries,
    each function invocable by EventBridge only from its rule."""
    events_dlq = parts.queues["EventDeliveryDlq"]
    analyzer = parts.functions["PolicyAnalyzer"]
    auditor = parts.functions["DailyAuditor"]
    hour = plan.settings.audit_hour_utc
    parts.rules["IamPolicyChangeRule"] = parts.add(
        events.pattern_rule(
            "IamPolicyChangeRule",
            name=plan.change_rule_name,
            description="IAM policy changes recorded by CloudTrail -> PolicyAnalyzer",
            pattern=events.iam_policy_change_pattern(),
            rule_target=events.target(
                "PolicyAnalyzer", arn=GetAtt(analyzer, "Arn"), dead_letter_queue=events_dlq
            ),
        )
    )
    parts.rules["DailyAuditSchedule"] = parts.add(
        events.schedule_rule(
            "DailyAuditSchedule",
            name=plan.schedule_rule_name,
            description=f"Daily IAM audit at {hour:02d}:00 UTC -> DailyAuditor",
            hour_utc=hour,
            rule_target=events.target(
                "DailyAuditor", arn=GetAtt(auditor, "Arn"), dead_letter_queue=events_dlq
            ),
        )
    )
    for function, rule in ((analyzer, "IamPolicyChangeRule"), (auditor, "DailyAuditSchedule")):
        parts.add(
            async_invoke_permission(
                f"{function.title.removesuffix('Function')}InvokePermission",
                function=function,
                service="events",
                source_arn=GetAtt(parts.rules[rule], "Arn"),
            )
        )


# Alarms, trail, outputs -----------------------------------------------------------------------------------


def _add_alarms(parts: Parts, plan: Plan) -> None:
    """MON-6, EDGE-4: the change-rate alarm on MatchedEvents, errors and throttles, DLQ depth, failed
    deliveries and a missing daily audit; every one notifies the topic."""
    names = plan.names
    topic = parts.topic
    threshold = plan.settings.policy_change_alarm_threshold
    parts.add(
        alarms.notifying_alarm(
            "PolicyChangeRateAlarm",
            name=names.resource(CHANGE_ALARM_BASE),
            description=(
                f"More than {threshold} IAM policy changes in 10 minutes "
                "(the rule's MatchedEvents: counted even when the analyzer fails)"
            ),
            metric=alarms.rule_metric("MatchedEvents", plan.change_rule_name),
            topic=topic,
            threshold=threshold,
            period_seconds=alarms.TEN_MINUTES_SECONDS,
        )
    )
    for base, physical in (("PolicyAnalyzer", "policy-analyzer"), ("DailyAuditor", "daily-auditor")):
        for metric_name in ("Errors", "Throttles"):
            parts.add(
                alarms.notifying_alarm(
                    f"{base}{metric_name}Alarm",
                    name=names.resource(f"{physical}-{metric_name.lower()}"),
                    description=f"{physical}: {metric_name} > 0 in 5 minutes",
                    metric=alarms.function_metric(metric_name, parts.functions[base]),
                    topic=topic,
                    threshold=0,
                )
            )
    for logical_id, base in DEAD_LETTER_QUEUES.items():
        queue = parts.queues[logical_id]
        parts.add(
            alarms.notifying_alarm(
                f"{logical_id}DepthAlarm",
                name=names.resource(f"{base}-depth"),
                description=f"{queue.QueueName}: messages waiting in a dead-letter queue (something failed)",
                metric=alarms.queue_depth_metric(GetAtt(queue, "QueueName")),
                topic=topic,
                threshold=0,
            )
        )
    for logical_id, rule_name, base in (
        ("IamPolicyChangeRule", plan.change_rule_name, "iam-policy-changes"),
        ("DailyAuditSchedule", plan.schedule_rule_name, "daily-audit"),
    ):
        parts.add(
            alarms.notifying_alarm(
                f"{logical_id}FailedInvocationsAlarm",
                name=names.resource(f"{base}-failed-invocations"),
                description=f"{rule_name}: EventBridge could not invoke the target",
                metric=alarms.rule_metric("FailedInvocations", rule_name),
                topic=topic,
                threshold=0,
            )
        )
    parts.add(
        alarms.notifying_alarm(
            "DailyAuditMissingAlarm",
            name=names.resource("daily-audit-missing"),
            description=(
                "No policy audited in a day: the daily audit did not run or did not finish (after a new "
                "deployment it also fires until the first audit at the configured hour has completed)"
            ),
            metric=alarms.Metric(
                METRICS_NAMESPACE, "PoliciesAudited", (("Environment", plan.config.environment),)
            ),
            topic=topic,
            threshold=1,
            period_seconds=ONE_DAY_SECONDS,
            comparison="LessThanThreshold",
            treat_missing_data="breaching",
        )
    )


def _existing_trail_metadata(trail: str) -> dict[str, Any]:
    """MON-11: the template says which trail it relies on when it creates none."""
    return {
        "iam-guard": {
            "existing_trail_arn": trail,
            "notes": [
                "No trail is created: EventBridge receives IAM events only while the existing "
                f"trail {trail} logs management events (multi-region, global service events)."
            ],
        }
    }


def _add_outputs(parts: Parts, plan: Plan) -> None:
    """EDGE-3: every output exported under iam-guard-monitoring-<environment>-<OutputKey>."""
    queues, functions, roles, rules = parts.queues, parts.functions, parts.roles, parts.rules
    outputs: dict[str, tuple[str, Any]] = {
        "StackKeyArn": ("Customer-managed key of the monitoring stack", GetAtt(parts.key, "Arn")),
        "AlertTopicArn": ("Security alert topic", Ref(parts.topic)),
        "SecurityLogGroupName": ("Security events log group", Ref(parts.groups["SecurityEventsLogGroup"])),
        "PolicyAnalyzerFunctionName": ("PolicyAnalyzer function", Ref(functions["PolicyAnalyzer"])),
        "PolicyAnalyzerFunctionArn": (
            "PolicyAnalyzer function ARN",
            GetAtt(functions["PolicyAnalyzer"], "Arn"),
        ),
        "DailyAuditorFunctionName": ("DailyAuditor function", Ref(functions["DailyAuditor"])),
        "DailyAuditorFunctionArn": ("DailyAuditor function ARN", GetAtt(functions["DailyAuditor"], "Arn")),
        "PolicyAnalyzerDlqUrl": ("Dead-letter queue of the PolicyAnalyzer", Ref(queues["PolicyAnalyzerDlq"])),
        "PolicyAnalyzerDlqArn": (
            "Dead-letter queue ARN of the PolicyAnalyzer",
            GetAtt(queues["PolicyAnalyzerDlq"], "Arn"),
        ),
        "DailyAuditorDlqUrl": ("Dead-letter queue of the DailyAuditor", Ref(queues["DailyAuditorDlq"])),
        "DailyAuditorDlqArn": (
            "Dead-letter queue ARN of the DailyAuditor",
            GetAtt(queues["DailyAuditorDlq"], "Arn"),
        ),
        "EventDeliveryDlqUrl": (
            "Dead-letter queue of the EventBridge targets",
            Ref(queues["EventDeliveryDlq"]),
        ),
        "EventDeliveryDlqArn": (
            "Dead-letter queue ARN of the EventBridge targets",
            GetAtt(queues["EventDeliveryDlq"], "Arn"),
        ),
        "ContinuationQueueUrl": (
            "Continuation queue of the daily audit",
            Ref(queues["AuditContinuationQueue"]),
        ),
        "ContinuationDlqUrl": (
            "Dead-letter queue of the continuation queue",
            Ref(queues["AuditContinuationDlq"]),
        ),
        "IamChangeRuleName": ("EventBridge rule of IAM policy changes", Ref(rules["IamPolicyChangeRule"])),
        "IamChangeRuleArn": (
            "EventBridge rule ARN of IAM policy changes",
            GetAtt(rules["IamPolicyChangeRule"], "Arn"),
        ),
        "DailyAuditRuleName": ("EventBridge schedule of the daily audit", Ref(rules["DailyAuditSchedule"])),
        "PolicyChangeAlarmName": (
            "Alarm on the IAM policy change rate",
            plan.names.resource(CHANGE_ALARM_BASE),
        ),
        "QuarantinePolicyArn": (
            "Explicit deny-all policy attached in quarantine mode",
            Ref(parts.quarantine),
        ),
        "PolicyAnalyzerRoleArn": (
            "Execution role of the PolicyAnalyzer",
            GetAtt(roles["PolicyAnalyzerRole"], "Arn"),
        ),
        "DailyAuditorRoleArn": (
            "Execution role of the DailyAuditor",
            GetAtt(roles["DailyAuditorRole"], "Arn"),
        ),
    }
    if "CrossAccountAuditRole" in roles:
        outputs["AuditRoleArn"] = (
            "Cross-account read-only audit role",
            GetAtt(roles["CrossAccountAuditRole"], "Arn"),
        )
    if parts.trail is not None:
        outputs["TrailArn"] = ("CloudTrail trail feeding EventBridge", GetAtt(parts.trail, "Arn"))
        outputs["TrailBucketName"] = ("Bucket of the trail's log files", parts.trail.S3BucketName)
    add_exported_outputs(parts.template, plan.config, STACK, outputs)


def _add_trail(template: Template, config: Config, names: Names, key: kms.Key, trail_name: str) -> Any:
    """The hardened trail (MON-11) and its locked-down bucket, logged into an access-log bucket."""
    log_bucket = template.add_resource(
        access_log_bucket(
            "TrailAccessLogBucket",
            name=naming.global_name(config, "trail-logs"),
            retention_days=config.data_store.access_log_retention_days,
        )
    )
    bucket_base = naming.global_name(config, "trail")
    trail_bucket = kms_encrypted_bucket(
        "TrailBucket",
        name=bucket_base,
        key=key,
        access_log_bucket=log_bucket,
        log_prefix="trail-bucket/",
        lifecycle=Lifecycle(glacier_transition_days=90, noncurrent_glacier_transition_days=30),
    )
    log_bucket_policy = template.add_resource(
        tls_only_bucket_policy(
            "TrailAccessLogBucketPolicy",
            bucket=log_bucket,
            statements=[
                allow_access_log_delivery_statement(
                    arns.bucket_objects(log_bucket, "trail-bucket/"),
                    _bucket_arn_by_name(config, "trail"),
                )
            ],
            retain=True,
        )
    )
    trail_bucket.DependsOn = [log_bucket_policy.title]
    template.add_resource(trail_bucket)
    this_trail = trail_arn(trail_name)
    bucket_policy = template.add_resource(
        tls_only_bucket_policy(
            "TrailBucketPolicy",
            bucket=trail_bucket,
            statements=mon.trail_delivery_statements(
                arns.bucket(trail_bucket), trail_logs_arn(trail_bucket), this_trail
            ),
            retain=True,
        )
    )
    trail = hardened_trail("Trail", name=trail_name, bucket=trail_bucket, key=key)
    # CloudTrail checks the bucket policy when the trail is created.
    trail.DependsOn = [bucket_policy.title]
    return template.add_resource(trail)


def _bucket_arn_by_name(config: Config, base: str) -> Any:
    """A bucket's ARN from its name pattern, so the access-log policy can name it without a cycle."""
    return Sub(
        f"arn:${{AWS::Partition}}:s3:::{naming.PROJECT}-{base}-${{AWS::AccountId}}-{config.name_suffix}"
    )
