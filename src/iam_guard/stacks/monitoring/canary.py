"""MON-13: the heartbeat. An EventBridge Scheduler schedule calls IAM itself (a universal target, no
function of ours) to tag the stack's quarantine policy with the scheduled time; the TagPolicy event takes
the path every IAM change takes (CloudTrail, EventBridge in the global-services region, the forwarder, the
rule here, the analyzer), and the analyzer emits contract.CANARY_METRIC_NAME when it arrives. An alarm
fires when none arrived within two intervals: a stopped trail, a disabled rule, a broken forwarder, a
failing function or a deleted schedule all look the same to it, and that is the point."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, iam, scheduler, sqs

from iam_guard import arns, contract
from iam_guard.blocks import alarms, events
from iam_guard.blocks.functions import async_invoke_permission
from iam_guard.blocks.roles import inline_policy, role
from iam_guard.policies import document, heartbeat
from iam_guard.policies import monitoring as mon
from iam_guard.policies.common import deny_outside_regions_statement, deny_sensitive_actions_statement
from iam_guard.policies.trust import service_trust
from iam_guard.stacks.monitoring.plan import METRICS_NAMESPACE, Parts, Plan

# The IAM API call of the canary, as an EventBridge Scheduler universal target.
TAG_POLICY_TARGET = "arn:${AWS::Partition}:scheduler:::aws-sdk:iam:tagPolicy"
CANARY_RETRY_ATTEMPTS = 3
CANARY_ALARM_BASE = "heartbeat-missing"


def schedule_arn(name: str) -> Sub:
    return arns.regional("scheduler", f"schedule/default/{name}")


def canary_arrival_pattern(plan: Plan) -> dict[str, Any]:
    """The canary's TagPolicy call on the quarantine policy (the analyzer checks the tag key itself)."""
    return events.cloudtrail_call_pattern(
        source="aws.iam",
        event_source="iam.amazonaws.com",
        event_names=[contract.CANARY_EVENT_NAME],
        detail={"requestParameters": {"policyArn": [plan.quarantine_policy_arn]}},
    )


def canary_input(parts: Parts) -> Sub:
    """TagPolicy's parameters: the quarantine policy, the canary key, the schedule's own time."""
    return Sub(
        '{"PolicyArn":"${Policy}","Tags":[{"Key":"'
        + contract.CANARY_TAG_KEY
        + '","Value":"<aws.scheduler.scheduled-time>"}]}',
        Policy=Ref(parts.quarantine),
    )


def tag_policy_schedule(
    logical_id: str,
    *,
    name: str,
    description: str,
    minutes: int,
    role: iam.Role,
    tag_input: Sub,
    dead_letter_queue: sqs.Queue,
) -> scheduler.Schedule:
    """A canary's schedule: every `minutes`, IAM's TagPolicy with `tag_input` as `role` (a universal target,
    no function of ours), retried and dead-lettered; an attempt older than one interval is dropped (the
    next one is due)."""
    return scheduler.Schedule(
        logical_id,
        Name=name,
        Description=description,
        ScheduleExpression=f"rate({minutes} minutes)",
        FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
        State="ENABLED",
        Target=scheduler.Target(
            Arn=Sub(TAG_POLICY_TARGET),
            RoleArn=GetAtt(role, "Arn"),
            Input=tag_input,
            RetryPolicy=scheduler.RetryPolicy(
                MaximumRetryAttempts=CANARY_RETRY_ATTEMPTS, MaximumEventAgeInSeconds=minutes * 60
            ),
            DeadLetterConfig=scheduler.DeadLetterConfig(Arn=GetAtt(dead_letter_queue, "Arn")),
        ),
    )


def add_canary(parts: Parts, plan: Plan) -> None:
    """MON-13: the canary's role and schedule, the rule that brings its event to the analyzer, and the
    alarm on the analyzer's metric."""
    dlq = parts.queues["EventDeliveryDlq"]
    canary_role = parts.add(
        role(
            "CanaryRole",
            name=plan.canary_role_name,
            description="EventBridge Scheduler tags the quarantine policy with the canary key, nothing else.",
            trust=service_trust("scheduler.amazonaws.com", [schedule_arn(plan.canary_schedule_name)]),
            policies=[
                inline_policy(
                    "TagTheQuarantinePolicy",
                    document(
                        [
                            heartbeat.tag_canary_statement(Ref(parts.quarantine)),
                            mon.send_to_dead_letter_queue_statement(GetAtt(dlq, "Arn")),
                            mon.use_key_through_messaging_statement(GetAtt(parts.key, "Arn")),
                            deny_outside_regions_statement(mon.stack_regions(plan.config.region)),
                            deny_sensitive_actions_statement(),
                        ]
                    ),
                )
            ],
        )
    )
    parts.roles["CanaryRole"] = canary_role
    minutes = plan.settings.canary_interval_minutes
    parts.add(
        tag_policy_schedule(
            "CanarySchedule",
            name=plan.canary_schedule_name,
            description=f"MON-13 heartbeat: tags the quarantine policy every {minutes} minutes",
            minutes=minutes,
            role=canary_role,
            tag_input=canary_input(parts),
            dead_letter_queue=dlq,
        )
    )
    analyzer = parts.functions["PolicyAnalyzer"]
    rule = parts.add(
        events.pattern_rule(
            "CanaryArrivalRule",
            name=plan.canary_rule_name,
            description="MON-13: the canary's TagPolicy event -> PolicyAnalyzer (emits the heartbeat metric)",
            pattern=canary_arrival_pattern(plan),
            rule_target=events.target("PolicyAnalyzer", arn=GetAtt(analyzer, "Arn"), dead_letter_queue=dlq),
        )
    )
    parts.rules["CanaryArrivalRule"] = rule
    parts.add(
        async_invoke_permission(
            "CanaryArrivalInvokePermission",
            function=analyzer,
            service="events",
            source_arn=GetAtt(rule, "Arn"),
        )
    )
    parts.add(
        alarms.notifying_alarm(
            "HeartbeatMissingAlarm",
            name=plan.names.resource(CANARY_ALARM_BASE),
            description=(
                f"No heartbeat canary arrived in {2 * minutes} minutes: the trail, an IAM rule, the "
                "forwarder, the analyzer or the canary's schedule is not working (after a new deployment "
                "it fires until the first canary has arrived)"
            ),
            metric=alarms.Metric(
                METRICS_NAMESPACE, contract.CANARY_METRIC_NAME, (("Environment", plan.config.environment),)
            ),
            topic=parts.topic,
            threshold=1,
            period_seconds=minutes * 60,
            evaluation_periods=2,
            comparison="LessThanThreshold",
            treat_missing_data="breaching",
        )
    )
