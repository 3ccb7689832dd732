"""ORG-1, the org-security template, deployed in the security account next to (after) its monitoring stack:
the central event bus, its organization-only policy, the rules that hand member events to the existing
PolicyAnalyzer (IAM policy changes) and to an alert topic (tampering), and the service-managed StackSet that
deploys the org-member template to every account of the target OUs.

A stack of its own rather than an option of the monitoring stack: the monitoring stack stays byte-identical
whether or not an organization is configured, and a StackSet operation across an organization (slow, and
failing for reasons of single member accounts) never rolls back the monitoring of the security account.
Everything of the monitoring stack is reached by its physical name (function, topic: EDGE-1 names).
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import GetAtt, Ref, Sub, Template, awslambda, cloudformation
from troposphere import events as eventbridge

from iam_guard.blocks import alarms, events
from iam_guard.blocks.topics import add_alert_topic
from iam_guard.config import Config
from iam_guard.outputs import add_exported_outputs
from iam_guard.policies import document
from iam_guard.policies import monitoring as mon
from iam_guard.policies import organization as org
from iam_guard.stacks import org_member
from iam_guard.stacks.dead_letters import add_rule_dead_letters
from iam_guard.stacks.org_access import add_analyzer_member_access
from iam_guard.stacks.org_audit import add_org_audit
from iam_guard.stacks.org_plan import SECURITY_STACK, OrgPlan
from iam_guard.tags import apply_compliance_tags

# StackSet operations: at most a quarter of the accounts at once, stop once 10 % of them failed; regions
# one after the other, the global-services region first (it holds the roles).
MAX_CONCURRENT_PERCENTAGE = 25
FAILURE_TOLERANCE_PERCENTAGE = 10
TAMPER_INPUT_PATHS: dict[str, str] = {
    "account": "$.account",
    "region": "$.region",
    "event": "$.detail.eventName",
    "caller": "$.detail.userIdentity.arn",
    "at": "$.detail.eventTime",
    "id": "$.detail.eventID",
}


def member_template_body(config: Config) -> str:
    """The org-member template exactly as generate.py writes it (compliance tags applied), compact: the
    StackSet's TemplateBody limit is 51,200 bytes. Sorted keys: the same config gives the same bytes."""
    template = org_member.build(config)
    apply_compliance_tags(template, config.tags)
    return json.dumps(template.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def build(config: Config) -> Template:
    plan = OrgPlan.of(config)
    template = Template(
        Description=(
            f"iam-guard organization security account ({config.environment}, {config.region}): central "
            f"event bus for organization {plan.organization.organization_id}, rules to the PolicyAnalyzer "
            "and the tamper alert topic, and the org-member StackSet."
        )
    )
    central_bases = {
        "CentralIamEventsRule": "org-iam-events",
        "CentralMemberTamperRule": "org-member-tamper",
        "CentralTrailTamperRule": "org-trail-tamper",
        "CentralCanaryRule": "org-member-canary",
    }
    tamper_patterns = {
        "CentralMemberTamperRule": (
            "ORG-1: calls on iam-guard's member roles or quarantine policy -> organization alert topic",
            plan.member_tamper_pattern(),
        ),
        "CentralTrailTamperRule": (
            "ORG-1: a member's trail stopped, deleted or narrowed -> organization alert topic",
            plan.trail_tamper_pattern(),
        ),
    }
    central_rules = {logical_id: plan.name(base) for logical_id, base in central_bases.items()}
    rule_arns = [plan.central_rule_arn(name) for name in central_rules.values()]
    alarm_pattern = alarms.alarm_arn_pattern(config.name_suffix)
    key, dlq = add_rule_dead_letters(
        template,
        key_id="OrgSecurityKey",
        key_description=f"iam-guard org-security key ({config.environment}): dead-letter queue and topic",
        alias=plan.name("org-security"),
        queue_id="CentralDlq",
        queue_name=plan.name("org-central-dlq"),
        rule_arns=rule_arns,
        alarm_pattern=alarm_pattern,
    )
    bus_arn = Sub(
        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/{plan.bus_name}"
    )
    bus_policy = document(
        [
            org.central_bus_policy_statement(
                bus_arn, plan.organization.organization_id, plan.forwarder_role_pattern()
            )
        ]
    )
    bus = template.add_resource(
        eventbridge.EventBus("CentralEventBus", Name=plan.bus_name, Policy=bus_policy.JSONrepr())
    )
    topic, _ = add_alert_topic(
        template,
        "OrgAlert",
        name=plan.name("org-alerts"),
        display_name=f"iam-guard {config.environment} organization alerts",
        key=key,
        emails=config.alert_emails,
        publishers=lambda topic_arn: mon.topic_publishers_statements(
            topic_arn, [], alarm_pattern, [plan.central_rule_arn(central_rules[t]) for t in tamper_patterns]
        ),
    )
    analyzer_arn = Sub(
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
        f"function:{plan.analyzer_function_name}"
    )
    analyzer_rules = {
        "CentralIamEvents": (
            "ORG-1: member accounts' IAM policy changes -> the monitoring stack's PolicyAnalyzer",
            events.iam_policy_change_pattern(),
        ),
        "CentralCanary": (
            "ORG-1/MON-13: member accounts' heartbeats -> the PolicyAnalyzer (records each arrival)",
            plan.member_canary_pattern(),
        ),
    }
    for base, (description, pattern) in analyzer_rules.items():
        analyzer_rule = template.add_resource(
            _bus_rule(
                f"{base}Rule",
                name=central_rules[f"{base}Rule"],
                bus=bus,
                description=description,
                pattern=pattern,
                rule_target=events.target("PolicyAnalyzer", arn=analyzer_arn, dead_letter_queue=dlq),
            )
        )
        template.add_resource(
            awslambda.Permission(
                f"{base}InvokePermission",
                Action="lambda:InvokeFunction",
                FunctionName=analyzer_arn,
                Principal="events.amazonaws.com",
                SourceArn=GetAtt(analyzer_rule, "Arn"),
                SourceAccount=Ref("AWS::AccountId"),
            )
        )
    for logical_id, (description, pattern) in tamper_patterns.items():
        template.add_resource(
            _bus_rule(
                logical_id,
                name=central_rules[logical_id],
                bus=bus,
                description=description,
                pattern=pattern,
                rule_target=events.target(
                    "OrgAlertTopic",
                    arn=Ref(topic),
                    dead_letter_queue=dlq,
                    input_transformer=_tamper_message(plan),
                ),
            )
        )
    for logical_id, name in central_rules.items():
        template.add_resource(
            alarms.failed_invocations_alarm(
                logical_id.removesuffix("Rule") + "FailedInvocationsAlarm",
                name=plan.name(f"{central_bases[logical_id]}-failed-invocations"),
                description=f"{name}: member events could not be delivered",
                rule_name=name,
                topic=topic,
                bus_name=plan.bus_name,
            )
        )
    template.add_resource(
        alarms.dead_letter_alarm(
            "CentralDlqDepthAlarm",
            name=plan.name("org-central-dlq-depth"),
            description="Member events waiting in the central dead-letter queue",
            queue=dlq,
            topic=topic,
        )
    )
    add_analyzer_member_access(template, plan)
    stack_set = template.add_resource(member_stack_set(config, plan, template))
    add_org_audit(template, plan, topic=topic, topic_key=key)
    add_exported_outputs(
        template,
        config,
        SECURITY_STACK,
        {
            "CentralEventBusArn": ("Central event bus of the organization", GetAtt(bus, "Arn")),
            "CentralDlqArn": ("Dead-letter queue of the central rules", GetAtt(dlq, "Arn")),
            "OrgAlertTopicArn": ("Organization tamper and delivery alerts", Ref(topic)),
            "MemberStackSetId": ("StackSet deploying org-member", GetAtt(stack_set, "StackSetId")),
        },
    )
    return template


def _bus_rule(
    logical_id: str,
    *,
    name: str,
    bus: eventbridge.EventBus,
    description: str,
    pattern: dict[str, Any],
    rule_target: eventbridge.Target,
) -> eventbridge.Rule:
    rule = events.pattern_rule(
        logical_id, name=name, description=description, pattern=pattern, rule_target=rule_target
    )
    rule.EventBusName = Ref(bus)
    return rule


def _tamper_message(plan: OrgPlan) -> eventbridge.InputTransformer:
    lines = [
        f"iam-guard ORGANIZATION TAMPER ALERT ({plan.config.environment})",
        "",
        "<event> by <caller>",
        "at <at> in member account <account>, region <region> (CloudTrail event <id>).",
        "",
        "Someone changed iam-guard's member roles or a trail of a member account. If this was not a",
        "planned StackSet operation, investigate the caller and redeploy the org-member StackSet.",
    ]
    return eventbridge.InputTransformer(
        InputPathsMap=dict(TAMPER_INPUT_PATHS), InputTemplate='"' + "\\n".join(lines) + '"'
    )


def member_stack_set(config: Config, plan: OrgPlan, template: Template) -> cloudformation.StackSet:
    """SERVICE_MANAGED, auto-deployed to new accounts of the target OUs, stacks removed with the account."""
    parameters = []
    if plan.organization.require_external_id:
        external_id = template.add_parameter(org_member.external_id_parameter())
        parameters.append(
            cloudformation.Parameter(
                ParameterKey=org_member.EXTERNAL_ID_PARAMETER, ParameterValue=Ref(external_id)
            )
        )
    regions = [plan.global_region, *sorted(set(plan.organization.regions) - {plan.global_region})]
    extra: dict[str, Any] = {"Parameters": parameters} if parameters else {}
    return cloudformation.StackSet(
        "MemberStackSet",
        StackSetName=plan.name("org-member"),
        Description="iam-guard ORG-1 member template: audit role, remediation role, event forwarding",
        PermissionModel="SERVICE_MANAGED",
        CallAs="DELEGATED_ADMIN",
        AutoDeployment=cloudformation.AutoDeployment(Enabled=True, RetainStacksOnAccountRemoval=False),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        ManagedExecution=cloudformation.ManagedExecution(Active=True),
        OperationPreferences=cloudformation.OperationPreferences(
            MaxConcurrentPercentage=MAX_CONCURRENT_PERCENTAGE,
            FailureTolerancePercentage=FAILURE_TOLERANCE_PERCENTAGE,
            RegionConcurrencyType="SEQUENTIAL",
            RegionOrder=regions,
        ),
        StackInstancesGroup=[
            cloudformation.StackInstances(
                DeploymentTargets=cloudformation.DeploymentTargets(
                    OrganizationalUnitIds=list(plan.organization.target_ou_ids)
                ),
                Regions=regions,
            )
        ],
        TemplateBody=member_template_body(config),
        **extra,
    )
