"""ORG-1 / MON-13 per member account, in the org-security template: what turns the members' heartbeats
into "these accounts are blind" (the central bus rule bringing them to the PolicyAnalyzer is with the other
central rules, stacks/org_security.py; the members' schedules are stacks/org_member_canary.py).

- analyzer_heartbeat_policy(): an AWS::IAM::RolePolicy on the monitoring stack's PolicyAnalyzer role (by
  its EDGE-1 name, as org_access does) allowing dynamodb:UpdateItem on the org-audit state table, only on
  items whose partition key starts with "heartbeat#", and the org-audit key only through DynamoDB.
- the heartbeat check: an EventBridge rule every two canary intervals invokes the org audit scheduler
  with a constant input (contract.HEARTBEAT_CHECK_EVENT, its second event kind); it lists the
  organization's ACTIVE accounts, reads their heartbeat items and sends one alert naming every account
  silent for two intervals, and emits MemberAccountsBlind.
- an alarm on MemberAccountsBlind > 0 over two intervals that treats missing data as breaching: a check
  that stops running is blindness too.

Why the org-audit state table and not the monitoring stack's: the reader (the org audit scheduler) lives
in this stack and that table's key is this stack's; reading the monitoring table would widen the
monitoring stack's key policy, which must stay byte-identical without an organization. The analyzer's
write permission lives here, like its member access: deleting org-security removes both.
"""

from __future__ import annotations

import json
from typing import Any

from awacs.aws import Allow, Condition, Statement, StringEquals
from troposphere import GetAtt, Template, awslambda, iam, kms, sns, sqs
from troposphere import events as eventbridge

from iam_guard import contract
from iam_guard.blocks import alarms, events
from iam_guard.blocks.functions import async_invoke_permission
from iam_guard.policies import document
from iam_guard.policies import state_table as state
from iam_guard.policies.common import actions
from iam_guard.policies.kms import VIA_SERVICE, via_service
from iam_guard.stacks.org_plan import OrgPlan

HEARTBEAT_POLICY_ID = "AnalyzerHeartbeatPolicy"
BLIND_ALARM_BASE = "org-accounts-blind"


def check_rate_minutes(plan: OrgPlan) -> int:
    """The check runs every two canary intervals: an account is blind after two silent intervals."""
    return 2 * plan.canary_interval_minutes


def analyzer_heartbeat_policy(plan: OrgPlan, *, table_arn: Any, key_arn: Any) -> iam.RolePolicy:
    """The PolicyAnalyzer records member heartbeats: UpdateItem on heartbeat# items of the org-audit
    table, the org-audit key only through DynamoDB."""
    return iam.RolePolicy(
        HEARTBEAT_POLICY_ID,
        PolicyName=plan.name("org-heartbeats"),
        RoleName=plan.analyzer_role_name,
        PolicyDocument=document(
            [
                state.heartbeat_arrivals_statement(table_arn),
                Statement(
                    Sid="UseOrgAuditKeyOnlyThroughDynamoDb",
                    Effect=Allow,
                    Action=actions(*state.TABLE_KEY_ACTIONS),
                    Resource=[key_arn],
                    Condition=Condition(StringEquals({VIA_SERVICE: via_service("dynamodb")})),
                ),
            ]
        ).JSONrepr(),
    )


def check_schedule(plan: OrgPlan, *, function: awslambda.Function, dlq: sqs.Queue) -> eventbridge.Rule:
    minutes = check_rate_minutes(plan)
    rule_target = events.target("OrgHeartbeatCheck", arn=GetAtt(function, "Arn"), dead_letter_queue=dlq)
    rule_target.Input = json.dumps(contract.HEARTBEAT_CHECK_EVENT, sort_keys=True, separators=(",", ":"))
    return eventbridge.Rule(
        "OrgHeartbeatCheckSchedule",
        Name=plan.heartbeat_check_rule_name,
        Description=f"ORG-1/MON-13: every {minutes} minutes, alert on member accounts without heartbeat",
        ScheduleExpression=f"rate({minutes} minutes)",
        State="ENABLED",
        Targets=[rule_target],
    )


def add_heartbeat_check(
    template: Template,
    plan: OrgPlan,
    *,
    function: awslambda.Function,
    dlq: sqs.Queue,
    topic: sns.Topic,
    table: Any,
    key: kms.Key,
) -> None:
    """The analyzer's grant, the check's schedule and permission, and the blind-accounts alarm."""
    template.add_resource(
        analyzer_heartbeat_policy(plan, table_arn=GetAtt(table, "Arn"), key_arn=GetAtt(key, "Arn"))
    )
    schedule = template.add_resource(check_schedule(plan, function=function, dlq=dlq))
    template.add_resource(
        async_invoke_permission(
            "OrgHeartbeatCheckInvokePermission",
            function=function,
            service="events",
            source_arn=GetAtt(schedule, "Arn"),
        )
    )
    minutes = check_rate_minutes(plan)
    template.add_resource(
        alarms.notifying_alarm(
            "OrgAccountsBlindAlarm",
            name=plan.name(BLIND_ALARM_BASE),
            description=(
                "ORG-1/MON-13: member accounts whose IAM changes are not reaching iam-guard (no heartbeat in "
                f"{minutes} minutes; the check's alert names them), or the heartbeat check itself stopped"
            ),
            metric=alarms.Metric(
                contract.METRICS_NAMESPACE,
                contract.MEMBER_ACCOUNTS_BLIND_METRIC,
                (("Environment", plan.config.environment),),
                statistic="Maximum",
            ),
            topic=topic,
            threshold=0,
            period_seconds=minutes * 60,
            treat_missing_data="breaching",
        )
    )
