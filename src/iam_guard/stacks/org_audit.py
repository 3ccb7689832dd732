"""ORG-2, in the org-security template: the organization's daily audit fanned out over every member account.

An EventBridge schedule starts the scheduler, which lists the organization's ACTIVE accounts and sends one
message per account to the audit queue; an SQS event source mapping (batch size 1, MaximumConcurrency =
organization.audit_concurrency) runs the worker, which assumes the member audit role of one account and
runs the daily audit's resumable run there (continuations through the same queue); the last account hands
the run to the consolidator (consolidation queue), which also enforces the run's deadline, writes the
report into the results bucket and sends one summary to the organization alert topic.

Everything the unit stores is encrypted with its own key (state table, queues, log groups, bucket, function
environments); the results bucket is versioned, retained, private and TLS-only, with server access logs;
every queue has a dead-letter queue, every dead-letter queue and function an alarm, and a missing
completion metric alarms too.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Parameter, Ref, Template, awslambda, kms, sns, sqs
from troposphere.validators import integer

from iam_guard import arns, contract, packaging
from iam_guard.blocks import alarms, events
from iam_guard.blocks.functions import (
    FunctionSpec,
    async_invoke_permission,
    async_retry_limits,
    code_key_parameter,
    python_function,
    queue_event_source,
)
from iam_guard.blocks.kms import key_alias
from iam_guard.blocks.logs import encrypted_log_group
from iam_guard.blocks.roles import inline_policy, role
from iam_guard.blocks.tables import encrypted_table
from iam_guard.outputs import add_exported_outputs
from iam_guard.policies import document
from iam_guard.policies import monitoring as mon
from iam_guard.policies import org_audit as org_audit_policies
from iam_guard.policies.trust import service_trust
from iam_guard.stacks.org_audit_storage import (
    DEAD_LETTER_QUEUES,
    TIMEOUT_SECONDS,
    audit_key,
    audit_queues,
    results_bucket,
)
from iam_guard.stacks.org_heartbeat import add_heartbeat_check
from iam_guard.stacks.org_member import EXTERNAL_ID_PARAMETER
from iam_guard.stacks.org_plan import SECURITY_STACK, OrgPlan

ARTIFACT_BUCKET = "ArtifactBucket"
ONE_DAY_SECONDS = 86400
SCHEDULER = FunctionSpec(
    handler=contract.ORG_AUDIT_SCHEDULER.handler,
    description="ORG-2: lists the organization's active accounts and queues one audit per account.",
    timeout_seconds=TIMEOUT_SECONDS,
    memory_mb=256,
    reserved_concurrency=1,
)
CONSOLIDATOR = FunctionSpec(
    handler=contract.ORG_AUDIT_CONSOLIDATOR.handler,
    description="ORG-2: fails late accounts at the deadline, writes the org report, sends one summary.",
    timeout_seconds=TIMEOUT_SECONDS,
    # Every account's records and the organization's reach graph in memory at once: ORG-3's graph of 1,000
    # accounts x 500 principals peaks near 0.9 GB (scripts/bench_cross_account.py); once a day, so the
    # margin costs cents a month (and brings 1.7 vCPUs).
    memory_mb=3008,
    reserved_concurrency=2,
)
WORKER_MEMORY_MB = 1024
SCHEDULER_NOTE = (
    "organizations:ListAccounts and DescribeOrganization support no resource-level permission; the "
    "security account may call them as a delegated administrator of the organization."
)
ASSUME_NOTE = (
    "sts:AssumeRole only on the member audit role's name, in any account (account IDs are not known at "
    "synthesis and new accounts join), and only while that role's account belongs to the organization "
    "(aws:ResourceOrgID). Each session is narrowed further by a session policy to the audit's three reads."
)


class EventSourceScalingConfig(awslambda.ScalingConfig):
    """troposphere's awslambda.ScalingConfig lost the event source mapping's MaximumConcurrency to a
    same-named class of another resource; the mapping's ScalingConfig has it (2..1000)."""

    props = {**awslambda.ScalingConfig.props, "MaximumConcurrency": (integer, False)}


def add_org_audit(template: Template, plan: OrgPlan, *, topic: sns.Topic, topic_key: kms.Key) -> None:
    """ORG-2: the fan-out audit of every member account (see the module docstring); alarms and the
    summary go to the organization alert topic (encrypted with `topic_key`)."""
    config = plan.config
    organization = plan.organization
    functions = {
        contract.ORG_AUDIT_SCHEDULER.logical_base: SCHEDULER,
        contract.ORG_AUDIT_WORKER.logical_base: FunctionSpec(
            handler=contract.ORG_AUDIT_WORKER.handler,
            description="ORG-2: audits one member account through its audit role (resumable, exactly once).",
            timeout_seconds=TIMEOUT_SECONDS,
            memory_mb=WORKER_MEMORY_MB,
            reserved_concurrency=organization.audit_concurrency,
        ),
        contract.ORG_AUDIT_CONSOLIDATOR.logical_base: CONSOLIDATOR,
    }
    role_names = {
        contract.ORG_AUDIT_SCHEDULER.logical_base: plan.org_audit_scheduler_role_name,
        contract.ORG_AUDIT_WORKER.logical_base: plan.auditor_role_name,
        contract.ORG_AUDIT_CONSOLIDATOR.logical_base: plan.org_audit_consolidator_role_name,
    }
    log_groups = {
        function.logical_base: plan.org_audit_log_group_name(function.physical_base)
        for function in contract.ORG_AUDIT_FUNCTIONS
    }
    schedule_arns = [
        events.rule_arn(plan.org_audit_schedule_name),
        events.rule_arn(plan.heartbeat_check_rule_name),
    ]
    role_arns = [arns.role(name) for name in role_names.values()]
    key = template.add_resource(
        audit_key(
            plan, list(log_groups.values()), role_arns, schedule_arns, arns.role(plan.analyzer_role_name)
        )
    )
    template.add_resource(key_alias("OrgAuditKeyAlias", alias=plan.name("org-audit"), key=key))

    queues = audit_queues(template, plan, key, schedule_arns)
    table = template.add_resource(
        encrypted_table(
            "OrgAuditStateTable",
            name=plan.org_audit_table_name,
            key=key,
            partition_key=contract.STATE_TABLE_PARTITION_KEY,
            sort_key=contract.STATE_TABLE_SORT_KEY,
            ttl_attribute=contract.STATE_TABLE_TTL_ATTRIBUTE,
        )
    )
    bucket = results_bucket(template, plan, key)

    statements = org_audit_policies.function_statements(
        org_audit_policies.OrgAuditArns(
            key=GetAtt(key, "Arn"),
            topic=Ref(topic),
            topic_key=GetAtt(topic_key, "Arn"),
            table=GetAtt(table, "Arn"),
            bucket=arns.bucket(bucket),
            runs=arns.bucket_objects(bucket, contract.RESULTS_RUNS_PREFIX),
            audit_queue=GetAtt(queues["OrgAuditQueue"], "Arn"),
            consolidation_queue=GetAtt(queues["OrgConsolidationQueue"], "Arn"),
            functions_dlq=GetAtt(queues["OrgAuditFunctionsDlq"], "Arn"),
            log_groups={base: arns.log_group(name) for base, name in log_groups.items()},
        ),
        member_audit_role_name=plan.audit_role_name,
        organization_id=plan.organization.organization_id,
        regions=mon.stack_regions(plan.config.region),
    )
    roles = {}
    for base, name in role_names.items():
        execution_role = role(
            f"{base}Role",
            name=name,
            description=f"Execution role of the {base} function (ORG-2 organization audit).",
            trust=service_trust("lambda.amazonaws.com"),
            policies=[inline_policy(f"{base}Permissions", document(statements[base]))],
        )
        execution_role.Metadata = {
            "iam-guard": {"notes": [ASSUME_NOTE if base == "OrgAuditWorker" else SCHEDULER_NOTE]}
        }
        roles[base] = template.add_resource(execution_role)

    artifact_bucket = template.parameters.get(ARTIFACT_BUCKET) or template.add_parameter(
        Parameter(
            ARTIFACT_BUCKET,
            Type="String",
            AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            ConstraintDescription="an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
            Description="S3 bucket holding the handler zips (make package uploads them)",
        )
    )
    environment = {
        contract.ENV_STATE_TABLE_NAME: Ref(table),
        contract.ENV_ORG_AUDIT_QUEUE_URL: Ref(queues["OrgAuditQueue"]),
        contract.ENV_ORG_CONSOLIDATION_QUEUE_URL: Ref(queues["OrgConsolidationQueue"]),
        contract.ENV_RESULTS_BUCKET: Ref(bucket),
        contract.ENV_MEMBER_AUDIT_ROLE: plan.audit_role_name,
        contract.ENV_ORGANIZATION_ID: organization.organization_id,
        contract.ENV_ORG_AUDIT_DEADLINE_MINUTES: str(organization.audit_deadline_minutes),
        contract.ENV_ALERT_TOPIC_ARN: Ref(topic),
        contract.ENV_ENVIRONMENT: config.environment,
        contract.ENV_METRICS_NAMESPACE: contract.METRICS_NAMESPACE,
        contract.ENV_LOG_LEVEL: "INFO",
        contract.ENV_CANARY_INTERVAL_MINUTES: str(plan.canary_interval_minutes),
    }
    external_id = template.parameters.get(EXTERNAL_ID_PARAMETER)
    if external_id is not None:
        environment[contract.ENV_AUDIT_EXTERNAL_ID] = Ref(external_id)
    built = {}
    for function in contract.ORG_AUDIT_FUNCTIONS:
        base = function.logical_base
        group = template.add_resource(
            encrypted_log_group(
                f"{base}LogGroup",
                name=log_groups[base],
                key=key,
                retention_days=config.monitoring.log_retention_days,
            )
        )
        code_key = template.add_parameter(
            code_key_parameter(
                function.code_key_parameter,
                handler=function.module,
                default_key=packaging.zip_key(function.module),
            )
        )
        built[base] = template.add_resource(
            python_function(
                f"{base}Function",
                name=plan.org_audit_function_name(function.physical_base),
                spec=functions[base],
                role=roles[base],
                key=key,
                log_group=group,
                dead_letter_queue=queues["OrgAuditFunctionsDlq"],
                code_bucket=artifact_bucket,
                code_key=code_key,
                environment=environment,
            )
        )
    scheduler = built["OrgAuditScheduler"]
    template.add_resource(
        async_retry_limits(
            "OrgAuditSchedulerInvokeConfig",
            function=scheduler,
            max_retry_attempts=2,
            max_event_age_seconds=3600,
        )
    )
    schedule = template.add_resource(
        events.schedule_rule(
            "OrgAuditSchedule",
            name=plan.org_audit_schedule_name,
            description=f"ORG-2: organization IAM audit at {organization.audit_hour_utc:02d}:00 UTC",
            hour_utc=organization.audit_hour_utc,
            rule_target=events.target(
                "OrgAuditScheduler",
                arn=GetAtt(scheduler, "Arn"),
                dead_letter_queue=queues["OrgAuditFunctionsDlq"],
            ),
        )
    )
    template.add_resource(
        async_invoke_permission(
            "OrgAuditSchedulerInvokePermission",
            function=scheduler,
            service="events",
            source_arn=GetAtt(schedule, "Arn"),
        )
    )
    add_heartbeat_check(
        template,
        plan,
        function=scheduler,
        dlq=queues["OrgAuditFunctionsDlq"],
        topic=topic,
        table=table,
        key=key,
    )
    for logical_id, function, queue, concurrency in (
        (
            "OrgAuditEventSource",
            built["OrgAuditWorker"],
            queues["OrgAuditQueue"],
            organization.audit_concurrency,
        ),
        ("OrgConsolidationEventSource", built["OrgAuditConsolidator"], queues["OrgConsolidationQueue"], 2),
    ):
        mapping = queue_event_source(logical_id, function=function, queue=queue)
        mapping.ScalingConfig = EventSourceScalingConfig(MaximumConcurrency=concurrency)
        template.add_resource(mapping)
    _alarms(template, plan, topic, built, queues)
    add_exported_outputs(
        template,
        config,
        SECURITY_STACK,
        {
            "OrgAuditResultsBucket": (
                "ORG-2: per-account results and the consolidated reports (runs/<run>/report.html)",
                Ref(bucket),
            ),
            "OrgAuditQueueArn": (
                "ORG-2: the per-account audit queue",
                GetAtt(queues["OrgAuditQueue"], "Arn"),
            ),
        },
    )


def _alarms(
    template: Template,
    plan: OrgPlan,
    topic: sns.Topic,
    functions: dict[str, Any],
    queues: dict[str, sqs.Queue],
) -> None:
    """Dead-letter queues not empty, function errors, and no completed org audit in a day."""
    for logical_id, base in DEAD_LETTER_QUEUES.items():
        queue = queues[logical_id]
        template.add_resource(
            alarms.dead_letter_alarm(
                f"{logical_id}DepthAlarm",
                name=plan.name(f"{base}-depth"),
                description=f"{queue.QueueName}: ORG-2 messages in a dead-letter queue (something failed)",
                queue=queue,
                topic=topic,
            )
        )
    for function in contract.ORG_AUDIT_FUNCTIONS:
        template.add_resource(
            alarms.notifying_alarm(
                f"{function.logical_base}ErrorsAlarm",
                name=plan.name(f"{function.physical_base}-errors"),
                description=f"{function.physical_base}: Errors > 0 in 5 minutes",
                metric=alarms.function_metric("Errors", functions[function.logical_base]),
                topic=topic,
                threshold=0,
            )
        )
    dimensions = (("Environment", plan.config.environment),)
    template.add_resource(
        alarms.notifying_alarm(
            "OrgAuditMissingAlarm",
            name=plan.name("org-audit-missing"),
            description=(
                "ORG-2: no organization audit summary in a day (the run did not finish, or its summary could "
                "not be sent); after a new deployment it fires until the first run has completed"
            ),
            metric=alarms.Metric(
                contract.METRICS_NAMESPACE, contract.ORG_ACCOUNTS_AUDITED_METRIC, dimensions
            ),
            topic=topic,
            threshold=1,
            period_seconds=ONE_DAY_SECONDS,
            comparison="LessThanThreshold",
            treat_missing_data="breaching",
        )
    )
    template.add_resource(
        alarms.notifying_alarm(
            "OrgAuditFailedAccountsAlarm",
            name=plan.name("org-audit-failed-accounts"),
            description="ORG-2: accounts of the last organization audit could not be audited (see summary)",
            metric=alarms.Metric(contract.METRICS_NAMESPACE, contract.ORG_ACCOUNTS_FAILED_METRIC, dimensions),
            topic=topic,
            threshold=0,
            period_seconds=ONE_DAY_SECONDS,
        )
    )
