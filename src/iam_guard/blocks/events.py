"""EventBridge rules whose every target has a dead-letter queue, a retry policy and a maximum event age
(MON-4, MON-8, CON-5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from troposphere import GetAtt, Sub, events, sqs

MAX_RETRY_ATTEMPTS = 8
MAX_EVENT_AGE_SECONDS = 3600

# MON-4: the CloudTrail events that create or change what an IAM principal may do.
IAM_POLICY_CHANGE_EVENTS: tuple[str, ...] = (
    "AddUserToGroup",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "CreatePolicy",
    "CreatePolicyVersion",
    "CreateRole",
    "DeleteGroupPolicy",
    "DeletePolicy",
    "DeletePolicyVersion",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DeleteUserPermissionsBoundary",
    "DeleteUserPolicy",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "PutGroupPolicy",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
    "PutUserPermissionsBoundary",
    "PutUserPolicy",
    "SetDefaultPolicyVersion",
    "UpdateAssumeRolePolicy",
)


def iam_policy_change_pattern() -> dict[str, Any]:
    """CloudTrail management events of IAM that change policies (EventBridge receives them in the
    partition's global-services region only: us-east-1, us-gov-west-1)."""
    return {
        "source": ["aws.iam"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["iam.amazonaws.com"],
            "eventName": list(IAM_POLICY_CHANGE_EVENTS),
        },
    }


CLOUDTRAIL_API_CALL = "AWS API Call via CloudTrail"
CLOUDFORMATION_SERVICE = "cloudformation.amazonaws.com"


def cloudtrail_call_pattern(
    *,
    source: str,
    event_source: str,
    event_names: Sequence[Any],
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """CloudTrail management events of one service, narrowed by `event_names` and by `detail` (fields of
    the CloudTrail record, e.g. requestParameters naming a resource, or an "$or" of alternatives)."""
    return {
        "source": [source],
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {"eventSource": [event_source], "eventName": list(event_names), **dict(detail or {})},
    }


def not_cloudformation_for(deploy_role_arns: Sequence[Any]) -> list[dict[str, Any]]:
    """The alternatives of an "$or" that drop the calls CloudFormation makes for a deploy.

    Without deploy roles every call CloudFormation makes (sourceIPAddress cloudformation.amazonaws.com)
    is dropped, whoever asked for it. With deploy roles only the calls CloudFormation makes for a session
    of one of those roles are dropped: a call kept is one not made by CloudFormation, or made for another
    principal (a session of another role, or an IAM user, whose record has no sessionIssuer)."""
    not_cloudformation = {"sourceIPAddress": [{"anything-but": [CLOUDFORMATION_SERVICE]}]}
    if not deploy_role_arns:
        return [not_cloudformation]
    issuer = ("userIdentity", "sessionContext", "sessionIssuer", "arn")
    return [
        not_cloudformation,
        _nested(issuer, [{"anything-but": list(deploy_role_arns)}]),
        _nested(issuer, [{"exists": False}]),
    ]


def not_called_by(role_arns: Sequence[Any]) -> list[dict[str, Any]]:
    """The alternatives of an "$or" that drop direct calls by sessions of `role_arns`."""
    issuer = ("userIdentity", "sessionContext", "sessionIssuer", "arn")
    return [_nested(issuer, [{"anything-but": list(role_arns)}]), _nested(issuer, [{"exists": False}])]


def _nested(path: Sequence[str], leaf: Any) -> dict[str, Any]:
    node: Any = leaf
    for key in reversed(path):
        node = {key: node}
    return dict(node)


def rule_arn(name: str) -> Sub:
    """A rule of this account and region on the default bus, by name: usable in key and queue policies
    without a reference cycle (the rule depends on its target, which depends on the key)."""
    return Sub(f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{name}")


def default_bus_arn(region: str) -> Sub:
    """The default event bus of this account in `region`."""
    return Sub(f"arn:${{AWS::Partition}}:events:{region}:${{AWS::AccountId}}:event-bus/default")


def target(
    target_id: str,
    *,
    arn: Any,
    dead_letter_queue: sqs.Queue,
    role_arn: Any | None = None,
    input_transformer: events.InputTransformer | None = None,
    max_retry_attempts: int = MAX_RETRY_ATTEMPTS,
    max_event_age_seconds: int = MAX_EVENT_AGE_SECONDS,
) -> events.Target:
    """A target that cannot lose an event silently: retries for at most an hour, then the DLQ (CON-5)."""
    extra: dict[str, Any] = {"RoleArn": role_arn} if role_arn is not None else {}
    if input_transformer is not None:
        extra["InputTransformer"] = input_transformer
    return events.Target(
        Id=target_id,
        Arn=arn,
        DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(dead_letter_queue, "Arn")),
        RetryPolicy=events.RetryPolicy(
            MaximumRetryAttempts=max_retry_attempts, MaximumEventAgeInSeconds=max_event_age_seconds
        ),
        **extra,
    )


def pattern_rule(
    logical_id: str, *, name: str, description: str, pattern: Mapping[str, Any], rule_target: events.Target
) -> events.Rule:
    return events.Rule(
        logical_id,
        Name=name,
        Description=description,
        EventPattern=dict(pattern),
        State="ENABLED",
        Targets=[rule_target],
    )


def schedule_rule(
    logical_id: str, *, name: str, description: str, hour_utc: int, rule_target: events.Target
) -> events.Rule:
    """Once a day at `hour_utc`:00 UTC."""
    return events.Rule(
        logical_id,
        Name=name,
        Description=description,
        ScheduleExpression=f"cron(0 {hour_utc} * * ? *)",
        State="ENABLED",
        Targets=[rule_target],
    )
