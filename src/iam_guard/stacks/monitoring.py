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

from dataclasses import dataclass
from typing import Any

from troposphere import Export, GetAtt, Join, Output, Parameter, Ref, Sub, Tags, Template, iam, kms

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
from iam_guard.config import Config
from iam_guard.policies import document
from iam_guard.policies import monitoring as mon
from iam_guard.policies.common import deny_sensitive_actions_statement
from iam_guard.policies.kms import cloudwatch_logs_statement, use_through_service_statement
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
    "it instead; iam-guard's own remote audit narrows each session further with a session policy."
)
QUARANTINE_POLICY_NOTE = (
    "Created in every remediation mode (it is unattached and grants nothing), so QUARANTINE_POLICY_ARN is "
    "always set; only in quarantine mode may the PolicyAnalyzer role attach it."
)

AUDIT_TRUST_REASON = (
    "The trust requires sts:ExternalId equal to the NoEcho AuditExternalId parameter (32+ characters) and "
    "names only the configured audit accounts; the role it opens is read-only with explicit denies."
)
LOGS_KEY_REASON = (
    "CloudWatch Logs is admitted only with kms:EncryptionContext:aws:logs:arn equal to this stack's own "
    "log group ARNs, which carry this account's ID: the service cannot use the key for another account."
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
    """The forwarder stack's role (us-east-1), named here too: it is exempt from quarantine."""
    return naming.pascal_name(config, "IamEventForwarder")


def build(config: Config) -> Template:
    names = Names(config)
    template = Template(
        Description=(
            f"iam-guard IAM security monitoring ({config.environment}, {config.region}): analyzes every IAM "
            "policy change and audits all policies daily; KMS-encrypted logs, topic and queues; alarms."
        )
    )
    settings = config.monitoring
    analyzer_role_name = names.iam("PolicyAnalyzer")
    auditor_role_name = names.iam("DailyAuditor")
    function_role_names = (analyzer_role_name, auditor_role_name)
    analyzer_name = names.resource("policy-analyzer")
    auditor_name = names.resource("daily-auditor")
    change_rule_name = names.resource("iam-policy-changes")
    schedule_rule_name = names.resource("daily-audit")
    rule_arns = [events.rule_arn(change_rule_name), events.rule_arn(schedule_rule_name)]
    log_group_names = {
        "SecurityEventsLogGroup": security_log_group_name(config),
        "PolicyAnalyzerLogGroup": names.log_group("policy-analyzer"),
        "DailyAuditorLogGroup": names.log_group("daily-auditor"),
    }
    trail_name = names.resource("trail")
    creates_trail = settings.existing_trail_arn is None

    # Parameters ---------------------------------------------------------------------------------------
    artifact_bucket = template.add_parameter(
        Parameter(
            "ArtifactBucket",
            Type="String",
            AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            ConstraintDescription="an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
            Description="S3 bucket holding the handler zips (make package uploads them)",
        )
    )
    analyzer_code_key = template.add_parameter(
        code_key_parameter(
            "PolicyChangeCodeKey", handler="policy_change", default_key=packaging.zip_key("policy_change")
        )
    )
    auditor_code_key = template.add_parameter(
        code_key_parameter(
            "DailyAuditCodeKey", handler="daily_audit", default_key=packaging.zip_key("daily_audit")
        )
    )

    # Key (MON-2, CON-3) ---------------------------------------------------------------------------------
    function_role_arns = [arns.role(name) for name in function_role_names]
    key_usage = [
        cloudwatch_logs_statement([arns.log_group_bare(name) for name in log_group_names.values()]),
        mon.alarms_use_key_statement(alarms.alarm_arn_pattern(config.name_suffix)),
        mon.events_use_key_statement(rule_arns),
        mon.account_messaging_use_key_statement(),
        use_through_service_statement(
            "AllowFunctionRolesThroughSqs", function_role_arns, "sqs", mon.ROLE_MESSAGE_KEY_ACTIONS
        ),
        use_through_service_statement(
            "AllowFunctionRolesThroughSns", function_role_arns, "sns", mon.ROLE_MESSAGE_KEY_ACTIONS
        ),
        *mon.lambda_environment_key_statements(),
    ]
    if creates_trail:
        key_usage.extend(mon.cloudtrail_use_key_statements(trail_arn(trail_name)))
    key = template.add_resource(
        customer_managed_key(
            "MonitoringKey",
            description=(
                f"iam-guard monitoring key ({config.name_suffix}): log groups, alert topic, queues, trail"
            ),
            usage=key_usage,
        )
    )
    key.Metadata = {"iam-guard": {"suppressions": [{"code": "IAMG010", "reason": LOGS_KEY_REASON}]}}
    template.add_resource(key_alias("MonitoringKeyAlias", alias=names.resource("monitoring"), key=key))

    # Log groups (MON-3, CON-4) --------------------------------------------------------------------------
    groups = {
        logical_id: template.add_resource(
            encrypted_log_group(logical_id, name=name, key=key, retention_days=settings.log_retention_days)
        )
        for logical_id, name in log_group_names.items()
    }

    # Topic (MON-7) --------------------------------------------------------------------------------------
    topic = template.add_resource(
        encrypted_topic(
            "AlertTopic",
            name=names.resource("security-alerts"),
            display_name=f"iam-guard {config.environment} security alerts",
            key=key,
        )
    )
    for subscription in email_subscriptions(
        "AlertEmailSubscription", topic=topic, emails=config.alert_emails
    ):
        template.add_resource(subscription)
    template.add_resource(
        tls_only_topic_policy(
            "AlertTopicPolicy",
            topic=topic,
            statements=mon.topic_publishers_statements(
                Ref(topic), function_role_arns, alarms.alarm_arn_pattern(config.name_suffix)
            ),
        )
    )

    # Queues ---------------------------------------------------------------------------------------------
    analyzer_dlq = template.add_resource(
        encrypted_queue("PolicyAnalyzerDlq", name=names.resource("policy-analyzer-dlq"), key=key)
    )
    auditor_dlq = template.add_resource(
        encrypted_queue("DailyAuditorDlq", name=names.resource("daily-auditor-dlq"), key=key)
    )
    events_dlq = template.add_resource(
        encrypted_queue("EventDeliveryDlq", name=names.resource("event-delivery-dlq"), key=key)
    )
    continuation_dlq = template.add_resource(
        encrypted_queue("AuditContinuationDlq", name=names.resource("audit-continuation-dlq"), key=key)
    )
    continuation = template.add_resource(
        encrypted_queue(
            "AuditContinuationQueue",
            name=names.resource("audit-continuation"),
            key=key,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_FACTOR * DAILY_AUDITOR.timeout_seconds,
            dead_letter_queue=continuation_dlq,
        )
    )
    for queue in (analyzer_dlq, auditor_dlq, continuation_dlq, continuation):
        template.add_resource(tls_only_queue_policy(f"{queue.title}Policy", queue=queue))
    template.add_resource(
        tls_only_queue_policy(
            "EventDeliveryDlqPolicy",
            queue=events_dlq,
            statements=[mon.events_send_to_queue_statement(GetAtt(events_dlq, "Arn"), rule_arns)],
        )
    )

    # Quarantine policy (H-3, CON-2) -----------------------------------------------------------------------
    quarantine = template.add_resource(
        iam.ManagedPolicy(
            "QuarantinePolicy",
            ManagedPolicyName=names.iam("Quarantine"),
            Description="iam-guard quarantine: explicit deny of every action, for offending principals",
            PolicyDocument=document([mon.quarantine_deny_all_statement()]),
            Metadata={"iam-guard": {"notes": [QUARANTINE_POLICY_NOTE]}},
        )
    )

    # Roles (MON-5, CON-2) -------------------------------------------------------------------------------
    regions = mon.stack_regions(config.region)
    common_grants = [
        mon.publish_alerts_statement(Ref(topic)),
        mon.use_key_through_messaging_statement(GetAtt(key, "Arn")),
        mon.deny_outside_regions_statement(regions),
    ]
    quarantining = settings.remediation_mode == "quarantine"
    analyzer_statements = [
        mon.read_policies_statement(),
        mon.write_logs_statement(
            [
                arns.log_group(log_group_names["SecurityEventsLogGroup"]),
                arns.log_group(log_group_names["PolicyAnalyzerLogGroup"]),
            ]
        ),
        mon.send_to_dead_letter_queue_statement(GetAtt(analyzer_dlq, "Arn")),
        *common_grants,
    ]
    if quarantining:
        analyzer_statements.extend(mon.quarantine_statements(Ref(quarantine)))
        analyzer_statements.append(mon.deny_attach_other_policies_statement(Ref(quarantine)))
    analyzer_statements.append(
        deny_sensitive_actions_statement(exempt=mon.QUARANTINE_ATTACH_ACTIONS if quarantining else ())
    )
    analyzer_role = role(
        "PolicyAnalyzerRole",
        name=analyzer_role_name,
        description="Execution role of the PolicyAnalyzer function: reads policies, alerts, quarantines.",
        trust=service_trust("lambda.amazonaws.com"),
        policies=[inline_policy("AnalyzePolicyChanges", document(analyzer_statements))],
    )
    if quarantining:
        analyzer_role.Metadata = {
            "iam-guard": {"suppressions": [{"code": "IAMG006", "reason": QUARANTINE_ATTACH_REASON}]}
        }
        analyzer_role.Tags = Tags({mon.REMEDIATOR_TAG_KEY: mon.REMEDIATOR_TAG_VALUE})
    template.add_resource(analyzer_role)

    auditor_statements = [
        mon.read_account_authorization_statement(),
        mon.read_policies_statement(),
        mon.write_logs_statement(
            [
                arns.log_group(log_group_names["SecurityEventsLogGroup"]),
                arns.log_group(log_group_names["DailyAuditorLogGroup"]),
            ]
        ),
        mon.send_to_dead_letter_queue_statement(GetAtt(auditor_dlq, "Arn")),
        mon.use_continuation_queue_statement(GetAtt(continuation, "Arn")),
        *common_grants,
        deny_sensitive_actions_statement(),
    ]
    auditor_role = template.add_resource(
        role(
            "DailyAuditorRole",
            name=auditor_role_name,
            description="Execution role of the DailyAuditor function: reads every IAM policy, alerts.",
            trust=service_trust("lambda.amazonaws.com"),
            policies=[inline_policy("AuditAllPolicies", document(auditor_statements))],
        )
    )

    audit_role = None
    if settings.trusted_audit_account_ids:
        external_id = template.add_parameter(
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
            name=names.iam("CrossAccountAudit"),
            description="Read-only IAM audit from the trusted audit accounts, with the external ID.",
            trust=cross_account_external_id_trust(
                [arns.account_root_of(account) for account in settings.trusted_audit_account_ids],
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
                            mon.deny_outside_regions_statement(regions),
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
        template.add_resource(audit_role)

    # Functions (MON-1, MON-8, CON-1, EDGE-2, EDGE-5) ------------------------------------------------------
    exempt = [
        *function_role_arns,
        *([arns.role(names.iam("CrossAccountAudit"))] if audit_role is not None else []),
        *([arns.role(forwarder_role_name(config))] if config.region != "us-east-1" else []),
        *settings.remediation_exempt_principals,
    ]
    shared_environment = {
        "ALERT_TOPIC_ARN": Ref(topic),
        "SECURITY_LOG_GROUP": Ref(groups["SecurityEventsLogGroup"]),
        "ALERT_SEVERITY": settings.alert_severity,
        "METRICS_NAMESPACE": METRICS_NAMESPACE,
        "ENVIRONMENT": config.environment,
        "LOG_LEVEL": LOG_LEVEL,
    }
    analyzer = template.add_resource(
        python_function(
            "PolicyAnalyzerFunction",
            name=analyzer_name,
            spec=POLICY_ANALYZER,
            role=analyzer_role,
            key=key,
            log_group=groups["PolicyAnalyzerLogGroup"],
            dead_letter_queue=analyzer_dlq,
            code_bucket=artifact_bucket,
            code_key=analyzer_code_key,
            environment={
                **shared_environment,
                "REMEDIATION_MODE": settings.remediation_mode,
                "QUARANTINE_POLICY_ARN": Ref(quarantine),
                "EXEMPT_PRINCIPAL_ARNS": Join(",", exempt),
            },
        )
    )
    auditor = template.add_resource(
        python_function(
            "DailyAuditorFunction",
            name=auditor_name,
            spec=DAILY_AUDITOR,
            role=auditor_role,
            key=key,
            log_group=groups["DailyAuditorLogGroup"],
            dead_letter_queue=auditor_dlq,
            code_bucket=artifact_bucket,
            code_key=auditor_code_key,
            environment={**shared_environment, "AUDIT_CONTINUATION_QUEUE_URL": Ref(continuation)},
        )
    )
    for function in (analyzer, auditor):
        template.add_resource(
            async_retry_limits(
                f"{function.title}InvokeConfig",
                function=function,
                max_retry_attempts=ASYNC_RETRY_ATTEMPTS,
                max_event_age_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            )
        )
    template.add_resource(
        queue_event_source("AuditContinuationEventSource", function=auditor, queue=continuation)
    )

    # Rules (MON-4, MON-8, CON-5) --------------------------------------------------------------------------
    change_rule = template.add_resource(
        events.pattern_rule(
            "IamPolicyChangeRule",
            name=change_rule_name,
            description="IAM policy changes recorded by CloudTrail -> PolicyAnalyzer",
            pattern=events.iam_policy_change_pattern(),
            rule_target=events.target(
                "PolicyAnalyzer", arn=GetAtt(analyzer, "Arn"), dead_letter_queue=events_dlq
            ),
        )
    )
    schedule_rule = template.add_resource(
        events.schedule_rule(
            "DailyAuditSchedule",
            name=schedule_rule_name,
            description=f"Daily IAM audit at {settings.audit_hour_utc:02d}:00 UTC -> DailyAuditor",
            hour_utc=settings.audit_hour_utc,
            rule_target=events.target(
                "DailyAuditor", arn=GetAtt(auditor, "Arn"), dead_letter_queue=events_dlq
            ),
        )
    )
    template.add_resource(
        async_invoke_permission(
            "PolicyAnalyzerInvokePermission",
            function=analyzer,
            service="events",
            source_arn=GetAtt(change_rule, "Arn"),
        )
    )
    template.add_resource(
        async_invoke_permission(
            "DailyAuditorInvokePermission",
            function=auditor,
            service="events",
            source_arn=GetAtt(schedule_rule, "Arn"),
        )
    )

    # Alarms (MON-6, EDGE-4) -----------------------------------------------------------------------------
    change_alarm_name = names.resource("iam-policy-change-rate")
    template.add_resource(
        alarms.notifying_alarm(
            "PolicyChangeRateAlarm",
            name=change_alarm_name,
            description=(
                f"More than {settings.policy_change_alarm_threshold} IAM policy changes in 10 minutes "
                "(the rule's MatchedEvents: counted even when the analyzer fails)"
            ),
            metric=alarms.rule_metric("MatchedEvents", change_rule_name),
            topic=topic,
            threshold=settings.policy_change_alarm_threshold,
            period_seconds=alarms.TEN_MINUTES_SECONDS,
        )
    )
    for function, base in ((analyzer, "policy-analyzer"), (auditor, "daily-auditor")):
        for metric_name in ("Errors", "Throttles"):
            template.add_resource(
                alarms.notifying_alarm(
                    f"{function.title.removesuffix('Function')}{metric_name}Alarm",
                    name=names.resource(f"{base}-{metric_name.lower()}"),
                    description=f"{base}: {metric_name} > 0 in 5 minutes",
                    metric=alarms.function_metric(metric_name, function),
                    topic=topic,
                    threshold=0,
                )
            )
    dead_letter_queues = (
        (analyzer_dlq, "policy-analyzer-dlq"),
        (auditor_dlq, "daily-auditor-dlq"),
        (events_dlq, "event-delivery-dlq"),
        (continuation_dlq, "audit-continuation-dlq"),
    )
    for queue, base in dead_letter_queues:
        template.add_resource(
            alarms.notifying_alarm(
                f"{queue.title}DepthAlarm",
                name=names.resource(f"{base}-depth"),
                description=f"{queue.QueueName}: messages waiting in a dead-letter queue (something failed)",
                metric=alarms.queue_depth_metric(GetAtt(queue, "QueueName")),
                topic=topic,
                threshold=0,
            )
        )
    for rule_logical_id, rule_name, base in (
        ("IamPolicyChangeRule", change_rule_name, "iam-policy-changes"),
        ("DailyAuditSchedule", schedule_rule_name, "daily-audit"),
    ):
        template.add_resource(
            alarms.notifying_alarm(
                f"{rule_logical_id}FailedInvocationsAlarm",
                name=names.resource(f"{base}-failed-invocations"),
                description=f"{rule_name}: EventBridge could not invoke the target",
                metric=alarms.rule_metric("FailedInvocations", rule_name),
                topic=topic,
                threshold=0,
            )
        )
    template.add_resource(
        alarms.notifying_alarm(
            "DailyAuditMissingAlarm",
            name=names.resource("daily-audit-missing"),
            description="No policy audited in a day: the daily audit did not run or did not finish",
            metric=alarms.Metric(
                METRICS_NAMESPACE, "PoliciesAudited", (("Environment", config.environment),)
            ),
            topic=topic,
            threshold=1,
            period_seconds=ONE_DAY_SECONDS,
            comparison="LessThanThreshold",
            treat_missing_data="breaching",
        )
    )

    # Trail (MON-11) -------------------------------------------------------------------------------------
    trail = None
    if creates_trail:
        trail = _add_trail(template, config, names, key, trail_name)
    else:
        template.set_metadata(
            {
                "iam-guard": {
                    "existing_trail_arn": settings.existing_trail_arn,
                    "notes": [
                        "No trail is created: EventBridge receives IAM events only while the existing "
                        f"trail {settings.existing_trail_arn} logs management events (multi-region, "
                        "global service events)."
                    ],
                }
            }
        )

    # Outputs (EDGE-3) -----------------------------------------------------------------------------------
    outputs: dict[str, tuple[str, Any]] = {
        "StackKeyArn": ("Customer-managed key of the monitoring stack", GetAtt(key, "Arn")),
        "AlertTopicArn": ("Security alert topic", Ref(topic)),
        "SecurityLogGroupName": ("Security events log group", Ref(groups["SecurityEventsLogGroup"])),
        "PolicyAnalyzerFunctionName": ("PolicyAnalyzer function", Ref(analyzer)),
        "PolicyAnalyzerFunctionArn": ("PolicyAnalyzer function ARN", GetAtt(analyzer, "Arn")),
        "DailyAuditorFunctionName": ("DailyAuditor function", Ref(auditor)),
        "DailyAuditorFunctionArn": ("DailyAuditor function ARN", GetAtt(auditor, "Arn")),
        "PolicyAnalyzerDlqUrl": ("Dead-letter queue of the PolicyAnalyzer", Ref(analyzer_dlq)),
        "PolicyAnalyzerDlqArn": ("Dead-letter queue ARN of the PolicyAnalyzer", GetAtt(analyzer_dlq, "Arn")),
        "DailyAuditorDlqUrl": ("Dead-letter queue of the DailyAuditor", Ref(auditor_dlq)),
        "DailyAuditorDlqArn": ("Dead-letter queue ARN of the DailyAuditor", GetAtt(auditor_dlq, "Arn")),
        "EventDeliveryDlqUrl": ("Dead-letter queue of the EventBridge targets", Ref(events_dlq)),
        "EventDeliveryDlqArn": (
            "Dead-letter queue ARN of the EventBridge targets",
            GetAtt(events_dlq, "Arn"),
        ),
        "ContinuationQueueUrl": ("Continuation queue of the daily audit", Ref(continuation)),
        "ContinuationDlqUrl": ("Dead-letter queue of the continuation queue", Ref(continuation_dlq)),
        "IamChangeRuleName": ("EventBridge rule of IAM policy changes", Ref(change_rule)),
        "IamChangeRuleArn": ("EventBridge rule ARN of IAM policy changes", GetAtt(change_rule, "Arn")),
        "DailyAuditRuleName": ("EventBridge schedule of the daily audit", Ref(schedule_rule)),
        "PolicyChangeAlarmName": ("Alarm on the IAM policy change rate", change_alarm_name),
        "QuarantinePolicyArn": ("Explicit deny-all policy attached in quarantine mode", Ref(quarantine)),
        "PolicyAnalyzerRoleArn": ("Execution role of the PolicyAnalyzer", GetAtt(analyzer_role, "Arn")),
        "DailyAuditorRoleArn": ("Execution role of the DailyAuditor", GetAtt(auditor_role, "Arn")),
    }
    if audit_role is not None:
        outputs["AuditRoleArn"] = ("Cross-account read-only audit role", GetAtt(audit_role, "Arn"))
    if trail is not None:
        outputs["TrailArn"] = ("CloudTrail trail feeding EventBridge", GetAtt(trail, "Arn"))
        outputs["TrailBucketName"] = ("Bucket of the trail's log files", trail.S3BucketName)
    for output_key, (description, value) in outputs.items():
        template.add_output(
            Output(
                output_key,
                Description=description,
                Value=value,
                Export=Export(naming.export_name(config, STACK, output_key)),
            )
        )
    return template


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
