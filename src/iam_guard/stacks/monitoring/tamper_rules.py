"""MON-12: the calls that would blind or weaken the monitoring stack, one declarative row per service.

Each row becomes one EventBridge rule (stacks/monitoring/tamper.py) that matches the CloudTrail records of
those calls on this deployment's own resources, named in `request` (fields of requestParameters), and sends
a readable alert straight to the alert topic. Rows name their resources through the plan and the parts, so
a renamed resource cannot fall out of its rule.

`own_deploy` says how a deploy of iam-guard itself is told apart:
- "cloudformation": calls CloudFormation makes for the configured deploy roles are dropped (for any
  caller when no deploy role is configured; see events.not_cloudformation_for);
- "callers": direct calls by sessions of the configured deploy roles are dropped;
- "none": nothing is dropped (deleting a stack or lifting its termination protection always alerts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from troposphere import GetAtt, Ref, Sub

from iam_guard import arns, naming
from iam_guard.config import Config

if TYPE_CHECKING:
    from iam_guard.stacks.monitoring.plan import Parts, Plan

RequestPattern = Callable[["Plan", "Parts"], dict[str, Any]]


@dataclass(frozen=True)
class TamperRule:
    """One service's blinding calls on the stack's own resources."""

    logical_id: str
    base: str
    what: str
    source: str
    event_source: str
    event_names: tuple[Any, ...]
    request: RequestPattern
    target_path: str | None
    own_deploy: Literal["cloudformation", "callers", "none"] = "cloudformation"
    condition: Callable[[Config], bool] = lambda config: True

    def applies(self, config: Config) -> bool:
        return self.condition(config)


def _trail(plan: Plan, parts: Parts) -> dict[str, Any]:
    existing = plan.settings.existing_trail_arn
    if existing is not None:
        return {"name": [existing, existing.rsplit("/", 1)[1]]}
    return {"name": [plan.trail_name, arns.regional("cloudtrail", f"trail/{plan.trail_name}")]}


def _rules(plan: Plan, parts: Parts) -> dict[str, Any]:
    # DisableRule, DeleteRule and PutRule name the rule "name"; PutTargets and RemoveTargets "rule".
    names = list(plan.rule_names)
    return {"$or": [{"name": names}, {"rule": names}]}


def _functions(plan: Plan, parts: Parts) -> dict[str, Any]:
    names: list[Any] = []
    for name in plan.function_names:
        names.extend([name, {"suffix": f":function:{name}"}])
    return {"functionName": names}


def _topic(plan: Plan, parts: Parts) -> dict[str, Any]:
    topic_arn = arns.regional("sns", plan.topic_name)
    # Unsubscribe and SetSubscriptionAttributes name the subscription: <topic ARN>:<subscription id>.
    subscriptions = Sub(
        f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{plan.topic_name}:"
    )
    return {"$or": [{"topicArn": [topic_arn]}, {"subscriptionArn": [{"prefix": subscriptions}]}]}


def _key(plan: Plan, parts: Parts) -> dict[str, Any]:
    # KMS calls name the key by ID, key ARN, alias name or alias ARN.
    alias_arn = arns.regional("kms", plan.key_alias_name)
    return {"keyId": [Ref(parts.key), GetAtt(parts.key, "Arn"), plan.key_alias_name, alias_arn]}


def _log_groups(plan: Plan, parts: Parts) -> dict[str, Any]:
    return {"logGroupName": list(plan.log_group_names.values())}


def _buckets(plan: Plan, parts: Parts) -> dict[str, Any]:
    return {
        "bucketName": [
            naming.global_name(plan.config, "trail"),
            naming.global_name(plan.config, "trail-logs"),
        ]
    }


def _roles(plan: Plan, parts: Parts) -> dict[str, Any]:
    quarantine_arn = arns.iam_resource("policy", plan.names.iam("Quarantine"))
    return {"$or": [{"roleName": list(plan.own_role_names)}, {"policyArn": [quarantine_arn]}]}


def _alarms(plan: Plan, parts: Parts) -> dict[str, Any]:
    # Every alarm of this deployment is named iam-guard-<what>-<environment>-<region>.
    pattern = [{"wildcard": f"{naming.PROJECT}-*-{plan.config.name_suffix}"}]
    return {"$or": [{"alarmName": pattern}, {"alarmNames": pattern}]}


def _queues(plan: Plan, parts: Parts) -> dict[str, Any]:
    return {"queueUrl": [{"suffix": f"/{name}"} for name in plan.queue_names]}


def _table(plan: Plan, parts: Parts) -> dict[str, Any]:
    return {"tableName": [plan.state_table_name, GetAtt(parts.table, "Arn")]}


def _stacks(plan: Plan, parts: Parts) -> dict[str, Any]:
    names: list[Any] = []
    for name in plan.stack_names:
        names.extend([name, {"prefix": arns.regional("cloudformation", f"stack/{name}/")}])
    return {"stackName": names}


def _has_deploy_roles(config: Config) -> bool:
    return bool(config.monitoring.deploy_role_arns)


def _creates_trail(config: Config) -> bool:
    return config.monitoring.existing_trail_arn is None


def _prefixes(*names: str) -> tuple[dict[str, str], ...]:
    """Lambda records carry the API version in the event name (UpdateFunctionCode20150331v2)."""
    return tuple({"prefix": name} for name in names)


TAMPER_RULES: tuple[TamperRule, ...] = (
    TamperRule(
        "TamperTrailRule",
        "trail",
        "the CloudTrail trail that feeds the monitoring",
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        ("DeleteTrail", "PutEventSelectors", "PutInsightSelectors", "StopLogging", "UpdateTrail"),
        _trail,
        "$.detail.requestParameters.name",
    ),
    TamperRule(
        "TamperRulesRule",
        "rules",
        "an iam-guard EventBridge rule",
        "aws.events",
        "events.amazonaws.com",
        ("DeleteRule", "DisableRule", "PutRule", "PutTargets", "RemoveTargets"),
        _rules,
        None,
    ),
    TamperRule(
        "TamperFunctionsRule",
        "functions",
        "an iam-guard Lambda function",
        "aws.lambda",
        "lambda.amazonaws.com",
        _prefixes(
            "AddPermission",
            "DeleteFunction",
            "DeleteFunctionConcurrency",
            "DeleteFunctionEventInvokeConfig",
            "PutFunctionConcurrency",
            "PutFunctionEventInvokeConfig",
            "RemovePermission",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "UpdateFunctionEventInvokeConfig",
        ),
        _functions,
        "$.detail.requestParameters.functionName",
    ),
    TamperRule(
        "TamperTopicRule",
        "topic",
        "the iam-guard alert topic or one of its subscriptions",
        "aws.sns",
        "sns.amazonaws.com",
        ("DeleteTopic", "RemovePermission", "SetSubscriptionAttributes", "SetTopicAttributes", "Unsubscribe"),
        _topic,
        None,
    ),
    TamperRule(
        "TamperKeyRule",
        "key",
        "the iam-guard monitoring key",
        "aws.kms",
        "kms.amazonaws.com",
        (
            "DisableKey",
            "DisableKeyRotation",
            "PutKeyPolicy",
            "RetireGrant",
            "RevokeGrant",
            "ScheduleKeyDeletion",
        ),
        _key,
        "$.detail.requestParameters.keyId",
    ),
    TamperRule(
        "TamperLogGroupsRule",
        "log-groups",
        "an iam-guard log group",
        "aws.logs",
        "logs.amazonaws.com",
        ("DeleteLogGroup", "DeleteRetentionPolicy", "DisassociateKmsKey", "PutRetentionPolicy"),
        _log_groups,
        "$.detail.requestParameters.logGroupName",
    ),
    TamperRule(
        "TamperBucketsRule",
        "buckets",
        "the trail's bucket or its access-log bucket",
        "aws.s3",
        "s3.amazonaws.com",
        (
            "DeleteBucket",
            "DeleteBucketEncryption",
            "DeleteBucketLifecycle",
            "DeleteBucketPolicy",
            "DeleteBucketPublicAccessBlock",
            "PutBucketEncryption",
            "PutBucketLifecycle",
            "PutBucketLogging",
            "PutBucketObjectLockConfiguration",
            "PutBucketPolicy",
            "PutBucketPublicAccessBlock",
            "PutBucketVersioning",
        ),
        _buckets,
        "$.detail.requestParameters.bucketName",
        condition=_creates_trail,
    ),
    TamperRule(
        "TamperRolesRule",
        "roles",
        "an iam-guard role or the quarantine policy",
        "aws.iam",
        "iam.amazonaws.com",
        (
            "AttachRolePolicy",
            "CreatePolicyVersion",
            "DeletePolicy",
            "DeletePolicyVersion",
            "DeleteRole",
            "DeleteRolePermissionsBoundary",
            "DeleteRolePolicy",
            "DetachRolePolicy",
            "PutRolePermissionsBoundary",
            "PutRolePolicy",
            "SetDefaultPolicyVersion",
            "TagRole",
            "UntagRole",
            "UpdateAssumeRolePolicy",
            "UpdateRole",
        ),
        _roles,
        None,
    ),
    TamperRule(
        "TamperAlarmsRule",
        "alarms",
        "an iam-guard CloudWatch alarm",
        "aws.monitoring",
        "monitoring.amazonaws.com",
        ("DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm", "SetAlarmState"),
        _alarms,
        None,
    ),
    TamperRule(
        "TamperQueuesRule",
        "queues",
        "an iam-guard queue",
        "aws.sqs",
        "sqs.amazonaws.com",
        ("DeleteQueue", "PurgeQueue", "SetQueueAttributes"),
        _queues,
        "$.detail.requestParameters.queueUrl",
    ),
    TamperRule(
        "TamperStateTableRule",
        "state-table",
        "the iam-guard state table",
        "aws.dynamodb",
        "dynamodb.amazonaws.com",
        ("DeleteTable", "UpdateContinuousBackups", "UpdateTable", "UpdateTimeToLive"),
        _table,
        "$.detail.requestParameters.tableName",
    ),
    TamperRule(
        "TamperStacksRule",
        "stacks",
        "an iam-guard CloudFormation stack",
        "aws.cloudformation",
        "cloudformation.amazonaws.com",
        ("DeleteStack", "SetStackPolicy", "UpdateStack", "UpdateTerminationProtection"),
        _stacks,
        "$.detail.requestParameters.stackName",
        own_deploy="none",
    ),
    TamperRule(
        "TamperStackDeploysRule",
        "stack-deploys",
        "an iam-guard CloudFormation stack (a change set run by someone other than the deploy roles)",
        "aws.cloudformation",
        "cloudformation.amazonaws.com",
        ("ExecuteChangeSet",),
        _stacks,
        "$.detail.requestParameters.stackName",
        own_deploy="callers",
        condition=_has_deploy_roles,
    ),
)
