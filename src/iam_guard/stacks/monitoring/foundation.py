"""Parameters, the stack key, log groups, the alert topic and the queues (MON-2, MON-3, MON-7, CON-3,
CON-4)."""

from __future__ import annotations

from troposphere import (
    GetAtt,
    Parameter,
    kms,
)

from iam_guard import arns, contract, packaging
from iam_guard.blocks.functions import (
    code_key_parameter,
)
from iam_guard.blocks.kms import customer_managed_key
from iam_guard.blocks.logs import encrypted_log_group
from iam_guard.blocks.queues import encrypted_queue, tls_only_queue_policy
from iam_guard.blocks.topics import add_alert_topic
from iam_guard.blocks.trail import trail_arn
from iam_guard.policies import monitoring as mon
from iam_guard.policies import state_table as state
from iam_guard.policies.kms import (
    LOGS_ENCRYPTION_CONTEXT_REASON,
    cloudwatch_logs_statement,
    use_through_service_statement,
)
from iam_guard.stacks.monitoring.plan import (
    CONTINUATION_QUEUE_BASE,
    DAILY_AUDITOR,
    DEAD_LETTER_QUEUES,
    FUNCTION_ROLE_IDS,
    VISIBILITY_TIMEOUT_FACTOR,
    Parts,
    Plan,
)


def add_parameters(parts: Parts) -> None:
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
    for function in contract.MONITORING_FUNCTIONS:
        parts.parameters[function.code_key_parameter] = parts.template.add_parameter(
            code_key_parameter(
                function.code_key_parameter,
                handler=function.module,
                default_key=packaging.zip_key(function.module),
            )
        )


def stack_key(plan: Plan) -> kms.Key:
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
        use_through_service_statement(
            "AllowFunctionRolesThroughDynamoDb", plan.function_role_arns, "dynamodb", state.TABLE_KEY_ACTIONS
        ),
        *state.table_creation_key_statements(),
        use_through_service_statement(
            "AllowCanaryRoleThroughSqs",
            [arns.role(plan.canary_role_name)],
            "sqs",
            mon.ROLE_MESSAGE_KEY_ACTIONS,
        ),
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


def add_log_groups(parts: Parts, plan: Plan) -> None:
    """MON-3, CON-4: the security-events group and one per function, encrypted, retained."""
    for logical_id, name in plan.log_group_names.items():
        retention = plan.settings.log_retention_days
        if logical_id == "SecurityEventsLogGroup":
            retention = plan.settings.security_log_retention_days  # DS-11: the findings' history
        parts.groups[logical_id] = parts.add(
            encrypted_log_group(logical_id, name=name, key=parts.key, retention_days=retention)
        )


def add_topic(parts: Parts, plan: Plan) -> None:
    """MON-7: the encrypted alert topic, an email subscription per address, publishers limited."""
    topic, policy = add_alert_topic(
        parts.template,
        "Alert",
        name=plan.topic_name,
        display_name=f"iam-guard {plan.config.environment} security alerts",
        key=parts.key,
        emails=plan.config.alert_emails,
        publishers=lambda topic_arn: mon.topic_publishers_statements(
            topic_arn, plan.function_role_arns, plan.alarm_arns, plan.tamper_rule_arns
        ),
        subscription_prefix="AlertEmailSubscription",
    )
    # SNS rejects a policy whose principal does not exist yet (PrincipalNotFound): the roles come first.
    policy.DependsOn = list(FUNCTION_ROLE_IDS)
    parts.topic = topic


def add_queues(parts: Parts, plan: Plan) -> None:
    """The functions' DLQs, the EventBridge targets' DLQ, and the audit's continuation queue with its
    own DLQ; all encrypted, all TLS-only."""
    for logical_id, base in DEAD_LETTER_QUEUES.items():
        parts.queues[logical_id] = parts.add(
            encrypted_queue(logical_id, name=plan.names.resource(base), key=parts.key)
        )
    parts.queues["AuditContinuationQueue"] = parts.add(
        encrypted_queue(
            "AuditContinuationQueue",
            name=plan.names.resource(CONTINUATION_QUEUE_BASE),
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
