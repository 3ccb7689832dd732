"""ORG-1, the org-member template: what a service-managed StackSet deploys into every account of the target
OUs (new accounts included) and every configured region.

In the partition's global-services region only (Condition InGlobalServicesRegion; IAM is global, so a
role created in two regions of one account would clash, and IAM's CloudTrail events reach EventBridge only
there): the read-only audit role, the optional remediation role and the deny-all quarantine policy it
attaches, and the rules forwarding IAM policy changes and tampering with those roles. In every region: a
rule forwarding that region's trail tampering (StopLogging, DeleteTrail, ...), a region-named forwarder
role, an encrypted dead-letter queue, and alarms on failed invocations and queue depth that notify an
encrypted topic of the member region (alarms notify topics of their own region only).

One template rather than a second forwarder template: one StackSet, one auto-deployment, one set of stack
instances per account, and the region split is a single Condition that cfn-lint checks.
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, GetAtt, Parameter, Ref, Tags, Template, iam, kms, sqs

from iam_guard.blocks import alarms, events
from iam_guard.blocks.roles import inline_policy, role
from iam_guard.blocks.topics import add_alert_topic
from iam_guard.config import Config
from iam_guard.policies import audit_role as audit_policies
from iam_guard.policies import document, quarantine
from iam_guard.policies import monitoring as mon
from iam_guard.policies import organization as org
from iam_guard.policies.common import deny_outside_regions_statement, deny_sensitive_actions_statement
from iam_guard.policies.trust import service_trust
from iam_guard.stacks.dead_letters import add_rule_dead_letters
from iam_guard.stacks.org_member_canary import add_member_canary
from iam_guard.stacks.org_plan import IN_GLOBAL_REGION, OrgPlan

EXTERNAL_ID_PARAMETER = "AuditExternalId"
# StackSets' service-managed execution roles in member accounts; never quarantined.
STACKSET_EXECUTION_ROLES = "stacksets-exec-*"

AUDIT_TRUST_REASON = (
    "ORG-1: the principal is the security account's root narrowed by aws:PrincipalArn to two roles (the "
    "auditor and the PolicyAnalyzer) and by aws:PrincipalOrgID to the organization; the role it opens is "
    "read-only with explicit denies."
)
REMEDIATION_TRUST_REASON = (
    "ORG-1: only the security account's PolicyAnalyzer role (aws:PrincipalArn) inside the organization "
    "(aws:PrincipalOrgID) assumes it; the role it opens can only attach the deny-all quarantine policy."
)
REMEDIATION_REASON = (
    "ORG-1 remediation: Attach*Policy is allowed only with iam:PolicyARN equal to this member's deny-all "
    "quarantine policy, so the grant can only take permissions away; every other action (create, delete, "
    "detach, put, update) is explicitly denied, as is remediating iam-guard's own and StackSets' roles."
)


def build(config: Config) -> Template:
    plan = OrgPlan.of(config)
    template = Template(
        Description=(
            f"iam-guard organization member ({config.environment}): read-only audit role and remediation "
            f"role for security account {plan.organization.security_account_id}, and forwarding of IAM and "
            "tamper events to its central event bus. Deployed by the org-security stack's StackSet."
        )
    )
    template.add_condition(IN_GLOBAL_REGION, Equals(Ref("AWS::Region"), plan.global_region))
    external_id = None
    if plan.organization.require_external_id:
        external_id = Ref(template.add_parameter(external_id_parameter()))
    template.add_resource(audit_role(plan, external_id))
    if plan.organization.remediation:
        policy = template.add_resource(quarantine_policy(plan))
        template.add_resource(remediation_role(plan, Ref(policy)))
    key, dlq = add_forwarder(template, plan)
    add_member_canary(template, plan, key=key, dlq=dlq)
    return template


def external_id_parameter() -> Parameter:
    return Parameter(
        EXTERNAL_ID_PARAMETER,
        Type="String",
        NoEcho=True,
        MinLength=32,
        MaxLength=1224,
        AllowedPattern=r"[\w+=,.@:/-]+",
        ConstraintDescription="32 or more characters of letters, digits and + = , . @ : / - _",
        Description="External ID the security account's auditor passes to sts:AssumeRole (a shared secret)",
    )


def audit_role(plan: OrgPlan, external_id: Any | None) -> iam.Role:
    """The single-account audit role's permissions, trusted by the security account's auditor role and its
    PolicyAnalyzer role (which narrows each session to one policy: stacks/org_access.py)."""
    audit = role(
        "MemberAuditRole",
        name=plan.audit_role_name,
        description="iam-guard ORG-1: read-only IAM audit from the security account's auditor role.",
        trust=org.org_role_trust(
            "SecurityAccountAuditorInOrganization",
            security_account_id=plan.organization.security_account_id,
            role_name=plan.auditor_role_name,
            organization_id=plan.organization.organization_id,
            external_id=external_id,
            # ORG-1: the PolicyAnalyzer reads a member's managed policy (one policy per session).
            also_role_names=[plan.analyzer_role_name],
        ),
        policies=[
            inline_policy(
                "ReadOnlyIamAudit",
                document(audit_policies.read_only_audit_statements(plan.config.region)),
            )
        ],
    )
    audit.Condition = IN_GLOBAL_REGION
    audit.Metadata = {"iam-guard": {"suppressions": [{"code": "IAMG009", "reason": AUDIT_TRUST_REASON}]}}
    return audit


def quarantine_policy(plan: OrgPlan) -> iam.ManagedPolicy:
    return iam.ManagedPolicy(
        "MemberQuarantinePolicy",
        Condition=IN_GLOBAL_REGION,
        ManagedPolicyName=plan.quarantine_policy_name,
        Description="iam-guard quarantine: explicit deny of every action, for offending principals",
        PolicyDocument=document([quarantine.quarantine_deny_all_statement()]),
    )


def remediation_role(plan: OrgPlan, quarantine_arn: Any) -> iam.Role:
    """Assumable only by the security account's PolicyAnalyzer role: attach the quarantine policy, tag."""
    protected = [
        *(org.role_in_account("${AWS::AccountId}", name) for name in plan.member_role_names),
        org.role_in_account("${AWS::AccountId}", STACKSET_EXECUTION_ROLES),
        org.role_in_account("${AWS::AccountId}", f"{plan.forwarder_role_base}-*"),
    ]
    remediation = role(
        "MemberRemediationRole",
        name=plan.remediation_role_name,
        description="iam-guard ORG-1: attaches the quarantine policy and tags, nothing else.",
        trust=org.org_role_trust(
            "SecurityAccountAnalyzerInOrganization",
            security_account_id=plan.organization.security_account_id,
            role_name=plan.analyzer_role_name,
            organization_id=plan.organization.organization_id,
        ),
        policies=[
            inline_policy(
                "QuarantineOnly",
                document(
                    [
                        *org.remediation_statements(quarantine_arn),
                        quarantine.deny_attach_other_policies_statement(quarantine_arn),
                        org.deny_remediating_protected_roles_statement(protected),
                        org.deny_create_delete_detach_statement(),
                        org.deny_everything_but_remediation_statement(),
                        deny_outside_regions_statement(mon.stack_regions(plan.config.region)),
                        deny_sensitive_actions_statement(exempt=quarantine.QUARANTINE_ATTACH_ACTIONS),
                    ]
                ),
            )
        ],
    )
    remediation.Condition = IN_GLOBAL_REGION
    remediation.Tags = Tags({quarantine.REMEDIATOR_TAG_KEY: quarantine.REMEDIATOR_TAG_VALUE})
    remediation.Metadata = {
        "iam-guard": {
            "suppressions": [
                {"code": "IAMG006", "reason": REMEDIATION_REASON},
                {"code": "IAMG009", "reason": REMEDIATION_TRUST_REASON},
            ]
        }
    }
    return remediation


def forwarded_rules(plan: OrgPlan) -> dict[str, tuple[str, str, dict[str, Any], bool]]:
    """logical ID -> (base of the name, description, pattern, global-services region only)."""
    return {
        "IamEventForwardRule": (
            "org-iam-events-fwd",
            "ORG-1: IAM policy changes -> the security account's central event bus",
            events.iam_policy_change_pattern(),
            True,
        ),
        "MemberTamperForwardRule": (
            "org-member-tamper-fwd",
            "ORG-1: calls on iam-guard's member roles and quarantine policy -> central event bus",
            plan.member_tamper_pattern(),
            True,
        ),
        "MemberCanaryForwardRule": (
            "org-member-canary-fwd",
            "ORG-1/MON-13: this member's heartbeat (TagPolicy of its canary policy) -> central event bus",
            plan.member_canary_pattern(),
            True,
        ),
        "TrailTamperForwardRule": (
            "org-trail-tamper-fwd",
            "ORG-1: this region's trails stopped, deleted or narrowed -> central event bus",
            plan.trail_tamper_pattern(),
            False,
        ),
    }


def add_forwarder(template: Template, plan: OrgPlan) -> tuple[kms.Key, sqs.Queue]:
    """CON-5: every forward rule's target has a role, retries, a maximum event age and an encrypted DLQ
    (returned with its key: the member canary's schedule uses them too)."""
    forwarded = forwarded_rules(plan)
    rule_arns = [events.rule_arn(plan.name(base)) for base, _, _, _ in forwarded.values()]
    alarm_pattern = alarms.alarm_arn_pattern(plan.config.name_suffix)
    key, dlq = add_rule_dead_letters(
        template,
        key_id="ForwarderKey",
        key_description="iam-guard org-member forwarder key: dead-letter queue and alert topic",
        alias=plan.name("org-fwd"),
        queue_id="ForwarderDlq",
        queue_name=plan.name("org-fwd-dlq"),
        rule_arns=rule_arns,
        alarm_pattern=alarm_pattern,
    )
    bus_arn = plan.bus_arn()
    forward_role = template.add_resource(
        role(
            "ForwarderRole",
            name=plan.forwarder_role_name(),
            description="EventBridge puts events on the security account's central bus, nothing else.",
            trust=service_trust("events.amazonaws.com", rule_arns),
            policies=[
                inline_policy(
                    "ForwardToCentralBus",
                    document(
                        [
                            mon.put_events_to_bus_statement(bus_arn),
                            deny_outside_regions_statement(
                                sorted({plan.config.region, *plan.organization.regions})
                            ),
                            deny_sensitive_actions_statement(),
                        ]
                    ),
                )
            ],
        )
    )
    topic, _ = add_alert_topic(
        template,
        "ForwarderAlert",
        name=plan.name("org-fwd-alerts"),
        display_name=f"iam-guard {plan.config.environment} org forwarder alerts",
        key=key,
        emails=plan.config.alert_emails,
        publishers=lambda topic_arn: mon.topic_publishers_statements(topic_arn, [], alarm_pattern),
    )
    for logical_id, (base, description, pattern, global_only) in forwarded.items():
        name = plan.name(base)
        rule = events.pattern_rule(
            logical_id,
            name=name,
            description=description,
            pattern=pattern,
            rule_target=events.target(
                "CentralEventBus", arn=bus_arn, dead_letter_queue=dlq, role_arn=GetAtt(forward_role, "Arn")
            ),
        )
        alarm = alarms.failed_invocations_alarm(
            logical_id.removesuffix("Rule") + "FailedInvocationsAlarm",
            name=plan.name(f"{base}-failed-invocations"),
            description=f"{name}: events could not be forwarded to the security account's central bus",
            rule_name=name,
            topic=topic,
        )
        if global_only:
            rule.Condition = IN_GLOBAL_REGION
            alarm.Condition = IN_GLOBAL_REGION
        template.add_resource(rule)
        template.add_resource(alarm)
    template.add_resource(
        alarms.dead_letter_alarm(
            "ForwarderDlqDepthAlarm",
            name=plan.name("org-fwd-dlq-depth"),
            description="Events for the security account waiting in the forwarder's dead-letter queue",
            queue=dlq,
            topic=topic,
        )
    )
    return key, dlq
