"""MON-12: tamper rules. Every row of tamper_rules.TAMPER_RULES becomes an EventBridge rule in the
monitoring stack's region whose target is the alert topic itself, through an input transformer that
writes a readable message: the alert does not depend on the analyzer function, so it still arrives when
that function is broken, throttled or deleted. Non-IAM management events reach EventBridge in the region
of the call; IAM's arrive in the global-services region and come here through the forwarder."""

from __future__ import annotations

from typing import Any

from troposphere import Ref
from troposphere import events as eventbridge

from iam_guard.blocks import events
from iam_guard.stacks.monitoring.plan import Parts, Plan
from iam_guard.stacks.monitoring.tamper_rules import TAMPER_RULES, TamperRule

TAMPER_TARGET_ID = "AlertTopic"
# What the message is built from: the CloudTrail record's who, what, where and when.
TAMPER_INPUT_PATHS: dict[str, str] = {
    "account": "$.account",
    "region": "$.region",
    "event": "$.detail.eventName",
    "caller": "$.detail.userIdentity.arn",
    "ip": "$.detail.sourceIPAddress",
    "at": "$.detail.eventTime",
    "id": "$.detail.eventID",
}


def tamper_pattern(rule: TamperRule, plan: Plan, parts: Parts) -> dict[str, Any]:
    """The rule's CloudTrail calls on the stack's own resources, less iam-guard's own deploys."""
    detail: dict[str, Any] = {"requestParameters": rule.request(plan, parts)}
    deploy_roles = list(plan.settings.deploy_role_arns)
    alternatives: list[dict[str, Any]] = []
    if rule.own_deploy == "cloudformation":
        alternatives = events.not_cloudformation_for(deploy_roles)
    elif rule.own_deploy == "callers":
        alternatives = events.not_called_by(deploy_roles)
    if len(alternatives) == 1:
        detail.update(alternatives[0])
    elif alternatives:
        detail["$or"] = alternatives
    return events.cloudtrail_call_pattern(
        source=rule.source, event_source=rule.event_source, event_names=rule.event_names, detail=detail
    )


def forwarded_tamper_patterns(plan: Plan) -> dict[str, dict[str, Any]]:
    """The tamper patterns of IAM's events, which the forwarder sends here from the global-services
    region, by logical ID (their resources are named by name and ARN only: no part is needed)."""
    return {
        rule.logical_id: tamper_pattern(rule, plan, Parts.detached())
        for rule in TAMPER_RULES
        if rule.source == "aws.iam" and rule.logical_id in plan.tamper_rule_names
    }


def tamper_message(rule: TamperRule, plan: Plan) -> eventbridge.InputTransformer:
    """A plain-text alert (a JSON string: EventBridge then delivers it as the message body, unquoted)."""
    paths = dict(TAMPER_INPUT_PATHS)
    target = ""
    if rule.target_path is not None:
        paths["target"] = rule.target_path
        target = " (<target>)"
    lines = [
        f"iam-guard TAMPER ALERT ({plan.config.environment}, {plan.config.region})",
        "",
        f"<event> on {rule.what}{target}",
        "by <caller> from <ip>",
        "at <at> in account <account>, region <region> (CloudTrail event <id>).",
        "",
        "Someone changed what watches IAM in this account. This alert goes straight from EventBridge to",
        "this topic, so it arrives even when the analyzer function is broken. If the change was not a",
        "planned iam-guard deploy, restore the stack (iam-guard deploy) and investigate the caller.",
    ]
    template = '"' + "\\n".join(lines) + '"'
    return eventbridge.InputTransformer(InputPathsMap=paths, InputTemplate=template)


def add_tamper_rules(parts: Parts, plan: Plan) -> None:
    """MON-12: one rule per row that applies to this config, each notifying the topic directly."""
    for rule in TAMPER_RULES:
        if rule.logical_id not in plan.tamper_rule_names:
            continue
        parts.rules[rule.logical_id] = parts.add(
            events.pattern_rule(
                rule.logical_id,
                name=plan.tamper_rule_names[rule.logical_id],
                description=f"MON-12 tamper: {rule.what} -> alert topic",
                pattern=tamper_pattern(rule, plan, parts),
                rule_target=events.target(
                    TAMPER_TARGET_ID,
                    arn=Ref(parts.topic),
                    dead_letter_queue=parts.queues["EventDeliveryDlq"],
                    input_transformer=tamper_message(rule, plan),
                ),
            )
        )
