"""ORG-2: the identity policies of the organization audit's three functions (stacks/org_audit.py).

Each function gets what its handler calls and nothing else: the scheduler lists the organization and
queues, and (its heartbeat check) reads the heartbeat# items and alerts the organization topic; the worker
assumes only the member audit role, only inside the organization (aws:ResourceOrgID), uses only the
account-run and org-run item families of the state table (dynamodb:LeadingKeys) and writes only under
runs/ of the results bucket; the consolidator reads and writes runs/ and publishes to the organization
alert topic. Every one is held to the stack's regions and denied the sensitive actions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from awacs.aws import Allow, Condition, Statement, StringEquals, StringLike
from troposphere import Sub

from iam_guard import contract
from iam_guard.policies import monitoring as mon
from iam_guard.policies import state_table as state
from iam_guard.policies.common import (
    actions,
    deny_outside_regions_statement,
    deny_sensitive_actions_statement,
)

RESOURCE_ORG_ID = "aws:ResourceOrgID"


@dataclass(frozen=True)
class OrgAuditArns:
    """The ARNs the statements name (template expressions)."""

    key: Any
    topic: Any
    topic_key: Any
    table: Any
    bucket: Any
    runs: Any  # the bucket's objects under runs/
    audit_queue: Any
    consolidation_queue: Any
    functions_dlq: Any
    log_groups: Mapping[str, Any]  # by function logical base


def function_statements(
    resources: OrgAuditArns, *, member_audit_role_name: str, organization_id: str, regions: Sequence[str]
) -> dict[str, list[Statement]]:
    """Least privilege per function, by logical base (each handler's docstring says what it calls)."""
    key_arn = resources.key
    table_arn = resources.table
    runs = resources.runs

    def common(base: str) -> list[Statement]:
        return [
            mon.write_logs_statement([resources.log_groups[base]]),
            mon.send_to_dead_letter_queue_statement(resources.functions_dlq),
            mon.use_key_through_messaging_statement(key_arn),
            state.use_key_through_dynamodb_statement(key_arn),
            deny_outside_regions_statement(regions),
            deny_sensitive_actions_statement(),
        ]

    def consume(sid: str, queue_arn: Any) -> Statement:
        return Statement(
            Sid=sid,
            Effect=Allow,
            Action=actions(
                "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"
            ),
            Resource=[queue_arn],
        )

    send_to_consolidator = Statement(
        Sid="RequestConsolidation",
        Effect=Allow,
        Action=actions("sqs:SendMessage"),
        Resource=[resources.consolidation_queue],
    )
    use_bucket_key = Statement(
        Sid="UseOrgAuditKeyOnlyThroughS3",
        Effect=Allow,
        Action=actions("kms:Decrypt", "kms:GenerateDataKey"),
        Resource=[key_arn],
        Condition=Condition(StringEquals({"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")})),
    )
    use_topic_key = Statement(
        Sid="UseTopicKeyOnlyThroughSns",
        Effect=Allow,
        Action=actions(*mon.ROLE_MESSAGE_KEY_ACTIONS),
        Resource=[resources.topic_key],
        Condition=Condition(StringEquals({"kms:ViaService": Sub("sns.${AWS::Region}.amazonaws.com")})),
    )
    return {
        "OrgAuditScheduler": [
            Statement(
                Sid="ListTheOrganizationsAccounts",
                Effect=Allow,
                Action=actions("organizations:DescribeOrganization", "organizations:ListAccounts"),
                Resource=["*"],
            ),
            state.item_family_statement(
                "UseOrgRunsInStateTable",
                table_arn,
                ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"),
                contract.ORG_RUN_KEY_PREFIX,
            ),
            state.heartbeat_check_statement(table_arn),
            mon.publish_alerts_statement(resources.topic),
            use_topic_key,
            Statement(
                Sid="QueueAccountsAndTheDeadlineCheck",
                Effect=Allow,
                Action=actions("sqs:SendMessage"),
                Resource=[
                    resources.audit_queue,
                    resources.consolidation_queue,
                ],
            ),
            *common("OrgAuditScheduler"),
        ],
        "OrgAuditWorker": [
            Statement(
                Sid="AssumeTheMemberAuditRoleInsideTheOrganization",
                Effect=Allow,
                Action=actions("sts:AssumeRole"),
                Resource=[Sub(f"arn:${{AWS::Partition}}:iam::*:role/{member_audit_role_name}")],
                Condition=Condition(StringEquals({RESOURCE_ORG_ID: organization_id})),
            ),
            state.item_family_statement(
                "UseAccountRunsInStateTable",
                table_arn,
                ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
                contract.RUN_KEY_PREFIX,
            ),
            state.item_family_statement(
                "UseOrgRunsInStateTable",
                table_arn,
                ("dynamodb:GetItem", "dynamodb:UpdateItem"),
                contract.ORG_RUN_KEY_PREFIX,
            ),
            consume("ConsumeAndContinueAccountAudits", resources.audit_queue),
            send_to_consolidator,
            Statement(
                Sid="WriteAccountResults", Effect=Allow, Action=actions("s3:PutObject"), Resource=[runs]
            ),
            use_bucket_key,
            *common("OrgAuditWorker"),
        ],
        "OrgAuditConsolidator": [
            state.item_family_statement(
                "UseOrgRunsInStateTable",
                table_arn,
                ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
                contract.ORG_RUN_KEY_PREFIX,
            ),
            consume("ConsumeAndRearmConsolidation", resources.consolidation_queue),
            Statement(
                Sid="ListRunResults",
                Effect=Allow,
                Action=actions("s3:ListBucket"),
                Resource=[resources.bucket],
                Condition=Condition(StringLike({"s3:prefix": [f"{contract.RESULTS_RUNS_PREFIX}*"]})),
            ),
            Statement(
                Sid="ReadResultsWriteReports",
                Effect=Allow,
                Action=actions("s3:GetObject", "s3:PutObject"),
                Resource=[runs],
            ),
            use_bucket_key,
            mon.publish_alerts_statement(resources.topic),
            use_topic_key,
            *common("OrgAuditConsolidator"),
        ],
    }
