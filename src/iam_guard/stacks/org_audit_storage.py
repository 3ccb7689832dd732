"""ORG-2's storage, in the org-security template: the org audit's own KMS key, its queues and dead-letter
queues, and the results bucket the consolidated reports go to (ORG-4). Everything is encrypted with the
unit's key; every queue has a dead-letter queue and a TLS-only policy."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Sub, Template, kms, sqs

from iam_guard import arns
from iam_guard.blocks.kms import customer_managed_key
from iam_guard.blocks.queues import encrypted_queue, tls_only_queue_policy
from iam_guard.blocks.storage import (
    Lifecycle,
    access_log_bucket,
    kms_encrypted_bucket,
    tls_only_bucket_policy,
)
from iam_guard.policies import monitoring as mon
from iam_guard.policies import state_table as state
from iam_guard.policies.kms import (
    LOGS_ENCRYPTION_CONTEXT_REASON,
    cloudwatch_logs_statement,
    use_through_service_statement,
)
from iam_guard.policies.s3 import allow_access_log_delivery_statement
from iam_guard.stacks.org_plan import OrgPlan

# The worker reports an account failed on this delivery (org_audit_worker.MAX_ATTEMPTS); the queue moves a
# message to its dead-letter queue only after two more, when even recording the failure failed.
WORKER_ATTEMPTS = 3
MAX_RECEIVE_COUNT = WORKER_ATTEMPTS + 2
VISIBILITY_TIMEOUT_FACTOR = 6  # six times the function timeout, as Lambda recommends for SQS sources
TIMEOUT_SECONDS = 60
# The dead-letter queues by logical ID, with the base of their physical names: the functions' (failed
# asynchronous invocations and the schedule's undeliverable events), the audit queue's, the consolidation
# queue's.
DEAD_LETTER_QUEUES = {
    "OrgAuditFunctionsDlq": "org-audit-functions-dlq",
    "OrgAuditDlq": "org-audit-dlq",
    "OrgConsolidationDlq": "org-audit-consolidation-dlq",
}


def audit_key(
    plan: OrgPlan, log_groups: list[str], role_arns: list[Any], schedule_arns: list[Any], analyzer_role: Any
) -> kms.Key:
    """The unit's own key: its log groups, the schedules' dead letters, its roles through SQS, DynamoDB and
    S3 (and the PolicyAnalyzer through DynamoDB, for member heartbeats), Lambda environments."""
    key = customer_managed_key(
        "OrgAuditKey",
        description=(
            f"iam-guard org audit key ({plan.config.name_suffix}): state table, queues, logs, results bucket"
        ),
        usage=[
            cloudwatch_logs_statement([arns.log_group_bare(name) for name in log_groups]),
            mon.events_use_key_statement(schedule_arns),
            mon.account_messaging_use_key_statement(),
            use_through_service_statement(
                "AllowOrgAuditRolesThroughSqs", role_arns, "sqs", mon.ROLE_MESSAGE_KEY_ACTIONS
            ),
            use_through_service_statement(
                # ORG-1/MON-13: the PolicyAnalyzer records member heartbeats in the state table.
                "AllowOrgAuditRolesThroughDynamoDb",
                [*role_arns, analyzer_role],
                "dynamodb",
                state.TABLE_KEY_ACTIONS,
            ),
            use_through_service_statement(
                "AllowOrgAuditRolesThroughS3", role_arns, "s3", state.TABLE_KEY_ACTIONS
            ),
            *mon.lambda_environment_key_statements(),
            *state.table_creation_key_statements(),
        ],
    )
    key.Metadata = {
        "iam-guard": {"suppressions": [{"code": "IAMG010", "reason": LOGS_ENCRYPTION_CONTEXT_REASON}]}
    }
    return key


def audit_queues(
    template: Template, plan: OrgPlan, key: kms.Key, schedule_arns: list[Any]
) -> dict[str, sqs.Queue]:
    """The audit and consolidation queues with their dead-letter queues, and the functions' dead-letter
    queue (which the schedules may also send to), each TLS-only; by logical ID."""
    queues: dict[str, sqs.Queue] = {}
    for logical_id, base in DEAD_LETTER_QUEUES.items():
        queues[logical_id] = template.add_resource(encrypted_queue(logical_id, name=plan.name(base), key=key))
    for logical_id, name, dlq in (
        ("OrgAuditQueue", plan.org_audit_queue_name, "OrgAuditDlq"),
        ("OrgConsolidationQueue", plan.org_consolidation_queue_name, "OrgConsolidationDlq"),
    ):
        queues[logical_id] = template.add_resource(
            encrypted_queue(
                logical_id,
                name=name,
                key=key,
                visibility_timeout_seconds=VISIBILITY_TIMEOUT_FACTOR * TIMEOUT_SECONDS,
                dead_letter_queue=queues[dlq],
                max_receive_count=MAX_RECEIVE_COUNT,
            )
        )
    for logical_id, queue in queues.items():
        extra = []
        if logical_id == "OrgAuditFunctionsDlq":
            extra.append(mon.events_send_to_queue_statement(GetAtt(queue, "Arn"), schedule_arns))
        template.add_resource(tls_only_queue_policy(f"{logical_id}Policy", queue=queue, statements=extra))
    return queues


def results_bucket(template: Template, plan: OrgPlan, key: kms.Key) -> Any:
    """ORG-4's results bucket: SSE-KMS, versioned, private, TLS-only, retained, with server access logs."""
    organization = plan.organization
    log_bucket = template.add_resource(
        access_log_bucket("OrgResultsLogBucket", name=plan.results_log_bucket_name, retention_days=365)
    )
    bucket = template.add_resource(
        kms_encrypted_bucket(
            "OrgResultsBucket",
            name=plan.results_bucket_name,
            key=key,
            access_log_bucket=log_bucket,
            log_prefix="org-results/",
            lifecycle=Lifecycle(
                expiration_days=organization.results_retention_days,
                noncurrent_expiration_days=organization.results_retention_days,
            ),
        )
    )
    log_policy = template.add_resource(
        tls_only_bucket_policy(
            "OrgResultsLogBucketPolicy",
            bucket=log_bucket,
            statements=[
                allow_access_log_delivery_statement(
                    arns.bucket_objects(log_bucket, "org-results/"),
                    Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=plan.results_bucket_name),
                )
            ],
            retain=True,
        )
    )
    bucket.DependsOn = [log_policy.title]
    template.add_resource(
        tls_only_bucket_policy("OrgResultsBucketPolicy", bucket=bucket, statements=[], retain=True)
    )
    return bucket
