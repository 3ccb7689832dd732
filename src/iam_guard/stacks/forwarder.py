"""The forwarder of the monitoring stack (MON-4): IAM's CloudTrail events reach EventBridge only in the
partition's global-services region (us-east-1; us-gov-west-1 in GovCloud), so a monitoring stack in any
other region would watch nothing without it. The forwarder deploys to that region.

A rule with the monitoring rule's pattern sends the IAM events to the main region's default event bus,
through a role that may only put events on that bus, with retries and an encrypted dead-letter queue.
Alarms on the rule's failed invocations and on the queue's depth notify a small encrypted topic here in
the forwarder's region (CloudWatch alarms notify topics of their own region only), subscribed by the same
addresses.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Template

from iam_guard import naming
from iam_guard.blocks import alarms, events
from iam_guard.blocks.roles import inline_policy, role
from iam_guard.blocks.topics import add_alert_topic
from iam_guard.config import Config
from iam_guard.outputs import add_exported_outputs
from iam_guard.policies import document
from iam_guard.policies import monitoring as mon
from iam_guard.policies.common import deny_outside_regions_statement, deny_sensitive_actions_statement
from iam_guard.policies.trust import service_trust
from iam_guard.stacks.dead_letters import add_rule_dead_letters
from iam_guard.stacks.monitoring import forwarder_role_name
from iam_guard.stacks.monitoring.canary import canary_arrival_pattern
from iam_guard.stacks.monitoring.plan import Plan
from iam_guard.stacks.monitoring.tamper import forwarded_tamper_patterns

STACK = "monitoring-forwarder"


def region_of(config: Config) -> str | None:
    """The region the forwarder deploys to, or None when the monitoring stack already runs there."""
    home = mon.global_services_region(config.region)
    return None if home == config.region else home


def forwarder_names(config: Config) -> dict[str, str]:
    """Physical names: the config's environment and region (the region the events go to), plus a
    'fwd' marker, so they never clash with a monitoring stack deployed in the forwarder's region."""
    return {
        "rule": naming.name(config, "iam-events-fwd"),
        "queue": naming.name(config, "iam-events-fwd-dlq"),
        "topic": naming.name(config, "iam-events-fwd-alerts"),
        "alias": naming.name(config, "iam-events-fwd"),
    }


# The failed-invocations alarm of each forward rule: logical ID and the base of its name.
FAILED_INVOCATION_ALARMS = {
    "IamEventForwardRule": ("ForwarderFailedInvocationsAlarm", "iam-events-fwd-failed-invocations"),
    "IamTamperForwardRule": ("TamperForwardFailedInvocationsAlarm", "iam-tamper-fwd-failed-invocations"),
    "CanaryForwardRule": ("CanaryForwardFailedInvocationsAlarm", "canary-fwd-failed-invocations"),
}


def forwarded_rules(config: Config) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """logical ID -> (name, description, pattern) of every IAM event the monitoring stack needs: the
    policy changes (MON-4) and the tamper calls on its roles and quarantine policy (MON-12)."""
    rules: dict[str, tuple[str, str, dict[str, Any]]] = {
        "IamEventForwardRule": (
            forwarder_names(config)["rule"],
            f"IAM policy changes recorded by CloudTrail -> default event bus of {config.region}",
            events.iam_policy_change_pattern(),
        ),
    }
    plan = Plan.of(config)
    for pattern in forwarded_tamper_patterns(plan).values():
        rules["IamTamperForwardRule"] = (
            naming.name(config, "iam-tamper-fwd"),
            f"MON-12 tamper calls on iam-guard's roles -> default event bus of {config.region}",
            pattern,
        )
    rules["CanaryForwardRule"] = (
        naming.name(config, "canary-fwd"),
        f"MON-13 heartbeat canary (TagPolicy on the quarantine policy) -> event bus of {config.region}",
        canary_arrival_pattern(plan),
    )
    return rules


def build(config: Config) -> Template:
    names = forwarder_names(config)
    template = Template(
        Description=(
            f"iam-guard IAM event forwarder ({config.environment}): forwards IAM policy changes from "
            f"{mon.global_services_region(config.region)} to the default event bus of {config.region}, "
            "where the monitoring stack runs."
        )
    )
    forwarded = forwarded_rules(config)
    rule_arns = [events.rule_arn(name) for name, _, _ in forwarded.values()]
    alarm_pattern = alarms.alarm_arn_pattern(config.name_suffix)
    key, dlq = add_rule_dead_letters(
        template,
        key_id="ForwarderKey",
        key_description=f"iam-guard forwarder key ({config.environment}): dead-letter queue and alert topic",
        alias=names["alias"],
        queue_id="ForwarderDlq",
        queue_name=names["queue"],
        rule_arns=rule_arns,
        alarm_pattern=alarm_pattern,
    )

    bus_arn = events.default_bus_arn(config.region)
    forward_role = template.add_resource(
        role(
            "ForwarderRole",
            name=forwarder_role_name(config),
            description=f"EventBridge puts IAM events on the default bus of {config.region}, nothing else.",
            trust=service_trust("events.amazonaws.com", rule_arns),
            policies=[
                inline_policy(
                    "ForwardIamEvents",
                    document(
                        [
                            mon.put_events_to_bus_statement(bus_arn),
                            deny_outside_regions_statement(mon.stack_regions(config.region)),
                            deny_sensitive_actions_statement(),
                        ]
                    ),
                )
            ],
        )
    )
    rules = {}
    for logical_id, (name, description, pattern) in forwarded.items():
        rules[logical_id] = template.add_resource(
            events.pattern_rule(
                logical_id,
                name=name,
                description=description,
                pattern=pattern,
                rule_target=events.target(
                    "MainRegionBus", arn=bus_arn, dead_letter_queue=dlq, role_arn=GetAtt(forward_role, "Arn")
                ),
            )
        )
    rule = rules["IamEventForwardRule"]

    topic, _ = add_alert_topic(
        template,
        "ForwarderAlert",
        name=names["topic"],
        display_name=f"iam-guard {config.environment} forwarder alerts",
        key=key,
        emails=config.alert_emails,
        publishers=lambda topic_arn: mon.topic_publishers_statements(topic_arn, [], alarm_pattern),
    )
    for logical_id, (name, _, _) in forwarded.items():
        alarm_id, alarm_base = FAILED_INVOCATION_ALARMS[logical_id]
        template.add_resource(
            alarms.failed_invocations_alarm(
                alarm_id,
                name=naming.name(config, alarm_base),
                description=f"{name}: IAM events could not be forwarded to {config.region}",
                rule_name=name,
                topic=topic,
            )
        )
    template.add_resource(
        alarms.dead_letter_alarm(
            "ForwarderDlqDepthAlarm",
            name=naming.name(config, "iam-events-fwd-dlq-depth"),
            description="IAM events waiting in the forwarder's dead-letter queue",
            queue=dlq,
            topic=topic,
        )
    )

    outputs: dict[str, tuple[str, Any]] = {
        "ForwarderRuleArn": ("Rule forwarding the IAM events", GetAtt(rule, "Arn")),
        "ForwarderDlqUrl": ("Dead-letter queue of the forwarder", Ref(dlq)),
        "ForwarderDlqArn": ("Dead-letter queue ARN of the forwarder", GetAtt(dlq, "Arn")),
        "ForwarderRoleArn": ("Role EventBridge forwards with", GetAtt(forward_role, "Arn")),
        "ForwarderAlertTopicArn": ("Alert topic of the forwarder, in its region", Ref(topic)),
        "ForwarderTargetBusArn": ("Event bus the IAM events are forwarded to", bus_arn),
    }
    add_exported_outputs(template, config, STACK, outputs)
    return template
