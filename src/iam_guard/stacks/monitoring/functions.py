"""The two functions, their event rules and invoke permissions (MON-1, MON-4, MON-8, CON-1, CON-5, EDGE-2)."""

from __future__ import annotations

from troposphere import (
    GetAtt,
    Join,
    Ref,
)

from iam_guard import contract
from iam_guard.blocks import events
from iam_guard.blocks.functions import (
    async_invoke_permission,
    async_retry_limits,
    python_function,
    queue_event_source,
)
from iam_guard.stacks.monitoring.plan import (
    ASYNC_MAX_EVENT_AGE_SECONDS,
    ASYNC_RETRY_ATTEMPTS,
    DAILY_AUDITOR,
    FUNCTIONS,
    LOG_LEVEL,
    METRICS_NAMESPACE,
    POLICY_ANALYZER,
    Parts,
    Plan,
)


def add_functions(parts: Parts, plan: Plan) -> None:
    """MON-1, MON-8, CON-1, EDGE-2, EDGE-5: the two functions with exactly the contract's variables."""
    shared_environment = {
        contract.ENV_ALERT_TOPIC_ARN: Ref(parts.topic),
        contract.ENV_SECURITY_LOG_GROUP: Ref(parts.groups["SecurityEventsLogGroup"]),
        contract.ENV_ALERT_SEVERITY: plan.settings.alert_severity,
        contract.ENV_METRICS_NAMESPACE: METRICS_NAMESPACE,
        contract.ENV_ENVIRONMENT: plan.config.environment,
        contract.ENV_LOG_LEVEL: LOG_LEVEL,
        # The daily audit's summary follows the remediation mode too (off: logged only).
        contract.ENV_REMEDIATION_MODE: plan.settings.remediation_mode,
        contract.ENV_STATE_TABLE_NAME: Ref(parts.table),
    }
    specific_environment = {
        "PolicyAnalyzer": {
            contract.ENV_QUARANTINE_POLICY_ARN: Ref(parts.quarantine),
            contract.ENV_EXEMPT_PRINCIPAL_ARNS: Join(",", plan.exempt_principal_arns),
        },
        "DailyAuditor": {
            contract.ENV_AUDIT_CONTINUATION_QUEUE_URL: Ref(parts.queues["AuditContinuationQueue"]),
            contract.ENV_TRAIL_ARN: plan.trail_arn,
        },
    }
    if plan.config.organization is not None:
        # ORG-1: only with an organization (single-account templates stay byte-identical). Imported here:
        # org_plan imports the monitoring plan.
        from iam_guard.stacks.org_access import analyzer_environment
        from iam_guard.stacks.org_plan import OrgPlan

        specific_environment["PolicyAnalyzer"].update(analyzer_environment(OrgPlan.of(plan.config)))
    functions = (
        (
            "PolicyAnalyzer",
            FUNCTIONS["PolicyAnalyzer"],
            POLICY_ANALYZER,
            contract.POLICY_ANALYZER.code_key_parameter,
        ),
        ("DailyAuditor", FUNCTIONS["DailyAuditor"], DAILY_AUDITOR, contract.DAILY_AUDITOR.code_key_parameter),
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


def add_rules(parts: Parts, plan: Plan) -> None:
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
