"""Statement builders of the monitoring stack (MON-2, MON-5, MON-7, MON-11, CON-3); quarantine's are in
policies/quarantine.py, the audit role's in policies/audit_role.py.

Key-policy statements name the service principal, the actions and the source conditions of every path
that writes to something the stack key encrypts, so none of them fails silently. Identity statements
grant the handlers exactly the calls of the handlers contract, on scoped ARNs. Resource-policy statements
(topic, queues, trail bucket) admit only this account's publishers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import (
    Allow,
    ArnEquals,
    ArnLike,
    Bool,
    Condition,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Ref, Sub

from iam_guard import arns
from iam_guard.policies.common import actions
from iam_guard.policies.kms import CALLER_ACCOUNT, VIA_SERVICE, account_id, via_service

SOURCE_ACCOUNT = "aws:SourceAccount"
SOURCE_ARN = "aws:SourceArn"
CLOUDTRAIL_CONTEXT = "kms:EncryptionContext:aws:cloudtrail:arn"
# IAM and the other global services answer (and record their CloudTrail events) in one region per
# partition: us-east-1 in the commercial partition, us-gov-west-1 in AWS GovCloud (US).
GLOBAL_SERVICES_REGION = "us-east-1"
GOVCLOUD_GLOBAL_SERVICES_REGION = "us-gov-west-1"

# The KMS actions a service needs to write to (and read back from) an SNS topic or SQS queue encrypted
# with the key: a data key to encrypt the message, Decrypt to use a cached data key.
MESSAGE_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey*")
ROLE_MESSAGE_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")


def this_account() -> Ref:
    return account_id()


def service_principal(service: str) -> str:
    return f"{service}.amazonaws.com"


# Key policy (CON-3) -----------------------------------------------------------------------------------


def alarms_use_key_statement(alarm_arn_pattern: Any) -> Statement:
    """CloudWatch alarms publish to the KMS-encrypted topic; without this the alarm fires into nothing."""
    return Statement(
        Sid="AllowCloudWatchAlarmsToPublishToEncryptedTopic",
        Effect=Allow,
        Principal=Principal("Service", [service_principal("cloudwatch")]),
        Action=actions(*MESSAGE_KEY_ACTIONS),
        Resource=["*"],
        Condition=Condition(
            [
                StringEquals({SOURCE_ACCOUNT: this_account()}),
                ArnLike({SOURCE_ARN: alarm_arn_pattern}),
            ]
        ),
    )


def events_use_key_statement(rule_arns: Sequence[Any]) -> Statement:
    """EventBridge delivers failed events to the KMS-encrypted dead-letter queue and tamper alerts to the
    KMS-encrypted topic (MON-12), for these rules only."""
    return Statement(
        Sid="AllowEventBridgeRulesToWriteEncryptedQueueAndTopic",
        Effect=Allow,
        Principal=Principal("Service", [service_principal("events")]),
        Action=actions(*MESSAGE_KEY_ACTIONS),
        Resource=["*"],
        Condition=Condition(
            [
                StringEquals({SOURCE_ACCOUNT: this_account()}),
                ArnEquals({SOURCE_ARN: list(rule_arns)}),
            ]
        ),
    )


def account_messaging_use_key_statement() -> Statement:
    """SNS and SQS encrypt and decrypt their own messages for this account's principals (operators reading
    or redriving a dead-letter queue), only through those two services in this region."""
    return Statement(
        Sid="AllowThisAccountThroughSnsAndSqsOnly",
        Effect=Allow,
        Principal=Principal("AWS", [arns.account_root()]),
        Action=actions(*MESSAGE_KEY_ACTIONS),
        Resource=["*"],
        Condition=Condition(
            StringEquals(
                {VIA_SERVICE: [via_service("sns"), via_service("sqs")], CALLER_ACCOUNT: this_account()}
            )
        ),
    )


def lambda_environment_key_statements() -> list[Statement]:
    """Lambda encrypts the functions' environment variables with the key (KmsKeyArn). The deploying
    principal (CloudFormation acting for it) encrypts only through Lambda and lets Lambda hold a grant for
    the function; Lambda decrypts at cold start through that grant. Without these two statements the
    function cannot be created at all."""
    via_lambda = {VIA_SERVICE: via_service("lambda"), CALLER_ACCOUNT: this_account()}
    return [
        Statement(
            Sid="AllowLambdaEnvironmentEncryptionThroughLambda",
            Effect=Allow,
            Principal=Principal("AWS", [arns.account_root()]),
            Action=actions("kms:Decrypt", "kms:Encrypt"),
            Resource=["*"],
            Condition=Condition(StringEquals(via_lambda)),
        ),
        Statement(
            Sid="AllowLambdaGrantForTheFunctions",
            Effect=Allow,
            Principal=Principal("AWS", [arns.account_root()]),
            Action=actions("kms:CreateGrant"),
            Resource=["*"],
            Condition=Condition([StringEquals(via_lambda), Bool({"kms:GrantIsForAWSResource": "true"})]),
        ),
    ]


def cloudtrail_use_key_statements(trail_arn: Any) -> list[Statement]:
    """CloudTrail encrypts the trail's log files: a data key only for this account's trail (encryption
    context and aws:SourceArn), DescribeKey to validate the key; the account reads the logs back."""
    return [
        Statement(
            Sid="AllowCloudTrailToEncryptThisTrailsLogs",
            Effect=Allow,
            Principal=Principal("Service", [service_principal("cloudtrail")]),
            Action=actions("kms:GenerateDataKey*"),
            Resource=["*"],
            Condition=Condition(
                [
                    StringEquals({CLOUDTRAIL_CONTEXT: trail_arn, SOURCE_ARN: trail_arn}),
                ]
            ),
        ),
        Statement(
            Sid="AllowCloudTrailToDescribeKey",
            Effect=Allow,
            Principal=Principal("Service", [service_principal("cloudtrail")]),
            Action=actions("kms:DescribeKey"),
            Resource=["*"],
            Condition=Condition(StringEquals({SOURCE_ARN: trail_arn})),
        ),
        Statement(
            Sid="AllowThisAccountToReadTrailLogsThroughS3",
            Effect=Allow,
            Principal=Principal("AWS", [arns.account_root()]),
            Action=actions("kms:Decrypt"),
            Resource=["*"],
            Condition=Condition(
                StringEquals(
                    {
                        VIA_SERVICE: via_service("s3"),
                        CALLER_ACCOUNT: this_account(),
                        CLOUDTRAIL_CONTEXT: trail_arn,
                    }
                )
            ),
        ),
    ]


# Identity policies of the functions (handlers contract) -----------------------------------------------


def read_policies_statement() -> Statement:
    """The analyzer and the auditor read policy documents: this account's and AWS managed ones."""
    return Statement(
        Sid="ReadPolicyDocuments",
        Effect=Allow,
        Action=actions("iam:GetPolicy", "iam:GetPolicyVersion"),
        Resource=[arns.iam_resource("policy"), Sub("arn:${AWS::Partition}:iam::aws:policy/*")],
    )


def read_account_authorization_statement() -> Statement:
    """GetAccountAuthorizationDetails supports no resource-level permission: Resource must be "*"."""
    return Statement(
        Sid="ReadAccountAuthorizationDetails",
        Effect=Allow,
        Action=actions("iam:GetAccountAuthorizationDetails"),
        Resource=["*"],
    )


def publish_alerts_statement(topic_arn: Any) -> Statement:
    return Statement(
        Sid="PublishToAlertTopic", Effect=Allow, Action=actions("sns:Publish"), Resource=[topic_arn]
    )


def write_logs_statement(log_group_arns: Sequence[Any]) -> Statement:
    """Structured findings into the security log group and the function's own logs into its group."""
    return Statement(
        Sid="WriteSecurityAndFunctionLogs",
        Effect=Allow,
        Action=actions("logs:CreateLogStream", "logs:PutLogEvents"),
        Resource=list(log_group_arns),
    )


def send_to_dead_letter_queue_statement(queue_arn: Any) -> Statement:
    """Lambda delivers a failed asynchronous invocation to the DLQ with the function's own role."""
    return Statement(
        Sid="SendFailedInvocationsToDeadLetterQueue",
        Effect=Allow,
        Action=actions("sqs:SendMessage"),
        Resource=[queue_arn],
    )


def use_continuation_queue_statement(queue_arn: Any) -> Statement:
    """The audit hands its pagination markers to its next invocation; the event source mapping polls
    with the function's role."""
    return Statement(
        Sid="UseAuditContinuationQueue",
        Effect=Allow,
        Action=actions(
            "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage"
        ),
        Resource=[queue_arn],
    )


def use_key_through_messaging_statement(key_arn: Any) -> Statement:
    """The encrypted topic and queues need the key: only through SNS and SQS in this region."""
    return Statement(
        Sid="UseStackKeyOnlyThroughSnsAndSqs",
        Effect=Allow,
        Action=actions(*ROLE_MESSAGE_KEY_ACTIONS),
        Resource=[key_arn],
        Condition=Condition(StringEquals({VIA_SERVICE: [via_service("sns"), via_service("sqs")]})),
    )


def global_services_region(region: str) -> str:
    """Where IAM's API calls are requested and its CloudTrail events reach EventBridge, for a stack in
    `region`: the partition's global-services region."""
    return GOVCLOUD_GLOBAL_SERVICES_REGION if region.startswith("us-gov-") else GLOBAL_SERVICES_REGION


def stack_regions(region: str) -> list[str]:
    """The regions a stack's roles may address: its own and its partition's global-services region."""
    return sorted({region, global_services_region(region)})


# Resource policies -------------------------------------------------------------------------------------


def topic_publishers_statements(
    topic_arn: Any, role_arns: Sequence[Any], alarm_arn_pattern: Any, rule_arns: Sequence[Any] = ()
) -> list[Statement]:
    """MON-7: only this account's alarms and, when given, the functions' roles and the tamper rules
    (MON-12, EventBridge for the named rules only) publish to the topic."""
    statements = [
        Statement(
            Sid="AllowThisAccountsAlarmsToPublish",
            Effect=Allow,
            Principal=Principal("Service", [service_principal("cloudwatch")]),
            Action=actions("sns:Publish"),
            Resource=[topic_arn],
            Condition=Condition(
                [StringEquals({SOURCE_ACCOUNT: this_account()}), ArnLike({SOURCE_ARN: alarm_arn_pattern})]
            ),
        ),
    ]
    if rule_arns:
        statements.append(
            Statement(
                Sid="AllowTamperRulesToPublish",
                Effect=Allow,
                Principal=Principal("Service", [service_principal("events")]),
                Action=actions("sns:Publish"),
                Resource=[topic_arn],
                Condition=Condition(
                    [StringEquals({SOURCE_ACCOUNT: this_account()}), ArnEquals({SOURCE_ARN: list(rule_arns)})]
                ),
            )
        )
    if role_arns:
        statements.append(
            Statement(
                Sid="AllowStackFunctionsToPublish",
                Effect=Allow,
                Principal=Principal("AWS", list(role_arns)),
                Action=actions("sns:Publish"),
                Resource=[topic_arn],
            )
        )
    return statements


def events_send_to_queue_statement(queue_arn: Any, rule_arns: Sequence[Any]) -> Statement:
    """EventBridge writes undeliverable events of these rules only into the dead-letter queue."""
    return Statement(
        Sid="AllowEventBridgeRulesToSendFailedEvents",
        Effect=Allow,
        Principal=Principal("Service", [service_principal("events")]),
        Action=actions("sqs:SendMessage"),
        Resource=[queue_arn],
        Condition=Condition(ArnEquals({SOURCE_ARN: list(rule_arns)})),
    )


def trail_delivery_statements(bucket_arn: Any, logs_arn: Any, trail_arn: Any) -> list[Statement]:
    """CloudTrail checks the bucket ACL and writes under AWSLogs/<account>/, for this trail only."""
    source = Condition(StringEquals({SOURCE_ARN: trail_arn}))
    return [
        Statement(
            Sid="AllowCloudTrailAclCheck",
            Effect=Allow,
            Principal=Principal("Service", [service_principal("cloudtrail")]),
            Action=actions("s3:GetBucketAcl"),
            Resource=[bucket_arn],
            Condition=source,
        ),
        Statement(
            Sid="AllowCloudTrailLogDelivery",
            Effect=Allow,
            Principal=Principal("Service", [service_principal("cloudtrail")]),
            Action=actions("s3:PutObject"),
            Resource=[logs_arn],
            Condition=Condition(
                [StringEquals({SOURCE_ARN: trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"})]
            ),
        ),
    ]


def put_events_to_bus_statement(bus_arn: Any) -> Statement:
    """The forwarder's role puts events on the main region's default bus, nowhere else."""
    return Statement(
        Sid="PutEventsOnMainRegionBus", Effect=Allow, Action=actions("events:PutEvents"), Resource=[bus_arn]
    )
