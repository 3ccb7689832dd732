"""ORG-1 / MON-13 per member account: the member's heartbeat, in the org-member template, global-services
region only (IAM's CloudTrail events reach EventBridge only there).

An EventBridge Scheduler schedule calls IAM itself (the universal target aws-sdk:iam:tagPolicy, no function
of ours) to tag the member's canary policy with contract.CANARY_TAG_KEY, the value being the scheduled time.
The TagPolicy event takes the path every member IAM change takes (the member's trail, its EventBridge, the
MemberCanaryForwardRule, the central bus, the CentralCanaryRule, the PolicyAnalyzer), which records the
arrival per account; the org-security stack's heartbeat check alerts on every account silent for two
intervals (stacks/org_heartbeat.py).

Why a policy of its own rather than tagging the member quarantine policy, as the single-account canary
does: the member quarantine policy exists only when the organization deploys remediation, and every call
on it is tampering (it is forwarded as such). The canary policy is a customer-managed policy attached to
nothing whose only statement denies everything on the policy itself: it grants nothing, wherever it were
attached. Its name does not match the member tamper pattern (that matches the quarantine policy's name).
"""

from __future__ import annotations

from awacs.aws import Action, Deny, Statement
from troposphere import GetAtt, Sub, Template, iam, kms, sqs

from iam_guard.blocks.roles import inline_policy, role
from iam_guard.contract import CANARY_TAG_KEY
from iam_guard.policies import document, heartbeat
from iam_guard.policies import monitoring as mon
from iam_guard.policies.common import deny_outside_regions_statement, deny_sensitive_actions_statement
from iam_guard.policies.trust import service_trust
from iam_guard.stacks.monitoring.canary import schedule_arn, tag_policy_schedule
from iam_guard.stacks.org_plan import IN_GLOBAL_REGION, OrgPlan


def canary_policy_arn(plan: OrgPlan) -> Sub:
    """The member's canary policy, by name (the schedule's role and input name it without a Ref cycle)."""
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{plan.member_canary_policy_name}")


def canary_policy(plan: OrgPlan) -> iam.ManagedPolicy:
    return iam.ManagedPolicy(
        "MemberCanaryPolicy",
        Condition=IN_GLOBAL_REGION,
        ManagedPolicyName=plan.member_canary_policy_name,
        Description=(
            "iam-guard heartbeat: tagged by a schedule so the security account sees this account's IAM "
            "events arrive; attached to nothing, grants nothing"
        ),
        PolicyDocument=document(
            [
                Statement(
                    Sid="GrantsNothingHeartbeatTagTargetOnly",
                    Effect=Deny,
                    Action=[Action("*")],
                    Resource=[canary_policy_arn(plan)],
                )
            ]
        ),
    )


def canary_input(plan: OrgPlan) -> Sub:
    """TagPolicy's parameters: the canary policy, the canary key, the schedule's own time."""
    return Sub(
        '{"PolicyArn":"${Policy}","Tags":[{"Key":"'
        + CANARY_TAG_KEY
        + '","Value":"<aws.scheduler.scheduled-time>"}]}',
        Policy=canary_policy_arn(plan),
    )


def add_member_canary(template: Template, plan: OrgPlan, *, key: kms.Key, dlq: sqs.Queue) -> None:
    """The canary policy, the scheduler's role (TagPolicy on that policy with the canary key, the DLQ)
    and the schedule; undeliverable calls go to the forwarder's encrypted dead-letter queue."""
    policy = template.add_resource(canary_policy(plan))
    canary_role = role(
        "MemberCanaryRole",
        name=plan.member_canary_role_name,
        description="EventBridge Scheduler tags the canary policy with the canary key, nothing else.",
        trust=service_trust("scheduler.amazonaws.com", [schedule_arn(plan.member_canary_schedule_name)]),
        policies=[
            inline_policy(
                "TagTheCanaryPolicy",
                document(
                    [
                        heartbeat.tag_canary_statement(
                            canary_policy_arn(plan), sid="TagTheCanaryPolicyWithTheCanaryKeyOnly"
                        ),
                        mon.send_to_dead_letter_queue_statement(GetAtt(dlq, "Arn")),
                        mon.use_key_through_messaging_statement(GetAtt(key, "Arn")),
                        deny_outside_regions_statement(mon.stack_regions(plan.config.region)),
                        deny_sensitive_actions_statement(),
                    ]
                ),
            )
        ],
    )
    canary_role.Condition = IN_GLOBAL_REGION
    template.add_resource(canary_role)
    minutes = plan.canary_interval_minutes
    schedule = tag_policy_schedule(
        "MemberCanarySchedule",
        name=plan.member_canary_schedule_name,
        description=f"MON-13 per member account: tags the canary policy every {minutes} minutes",
        minutes=minutes,
        role=canary_role,
        tag_input=canary_input(plan),
        dead_letter_queue=dlq,
    )
    schedule.Condition = IN_GLOBAL_REGION
    schedule.DependsOn = [policy.title]
    template.add_resource(schedule)
