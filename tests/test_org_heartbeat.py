"""ORG-1 / MON-13 per member account, in the generated JSON of templates/org.yaml: each member's schedule
tags its own canary policy (which grants nothing) with the canary key, a forward rule brings that event to
the central bus, a central rule to the PolicyAnalyzer (which records the arrival in the org-audit table),
and a check every two intervals alerts on silent accounts, with an alarm that treats missing data as
breaching. The handlers' side: tests/handlers/test_org_heartbeat_handlers.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iam_guard import contract
from iam_guard.blocks.events import MAX_EVENT_AGE_SECONDS, MAX_RETRY_ATTEMPTS
from iam_guard.stacks.org_plan import OrgPlan
from iam_guard.stacks.org_security import member_template_body
from template_helpers import (
    as_list,
    config,
    inline_policy_documents,
    props,
    resource,
    statement,
    sub_text,
    template,
)

CANARY_POLICY = "IamGuardOrgMemberCanary-corp-eu-west-1"
INTERVAL = 60  # templates/org.yaml keeps the default canary interval
STACK_SET_BODY_LIMIT = 51_200


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    return template("org", "org-member")


@pytest.fixture(scope="module")
def security() -> dict[str, Any]:
    return template("org", "org-security")


def test_org_1_canary_names_come_from_the_org_plan() -> None:
    plan = OrgPlan.of(config("org"))
    assert plan.member_canary_policy_name == CANARY_POLICY
    assert plan.canary_interval_minutes == INTERVAL
    # The member tamper pattern matches the quarantine policy by name suffix: never the canary policy.
    tamper = plan.member_tamper_pattern()["detail"]["$or"][1]["requestParameters"]["policyArn"]
    assert tamper == [{"suffix": ":policy/IamGuardOrgMemberQuarantine-corp-eu-west-1"}]
    assert not f":policy/{CANARY_POLICY}".endswith(tamper[0]["suffix"])


def test_mon_13_member_canary_policy_grants_nothing(member: dict[str, Any]) -> None:
    policy = resource(member, "MemberCanaryPolicy")
    assert policy["Condition"] == "InGlobalServicesRegion"
    properties = policy["Properties"]
    assert properties["ManagedPolicyName"] == CANARY_POLICY
    assert "Roles" not in properties and "Users" not in properties and "Groups" not in properties
    [only] = properties["PolicyDocument"]["Statement"]
    assert only["Effect"] == "Deny" and as_list(only["Action"]) == ["*"]
    assert [sub_text(arn) for arn in only["Resource"]] == [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{CANARY_POLICY}"
    ]


def test_mon_13_member_schedule_tags_the_canary_policy_every_interval(member: dict[str, Any]) -> None:
    schedule = resource(member, "MemberCanarySchedule")
    assert schedule["Condition"] == "InGlobalServicesRegion"
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == f"rate({INTERVAL} minutes)"
    assert properties["State"] == "ENABLED"
    target = properties["Target"]
    assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:iam:tagPolicy"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["MemberCanaryRole", "Arn"]}
    template_text, variables = target["Input"]["Fn::Sub"]
    assert json.loads(template_text) == {
        "PolicyArn": "${Policy}",
        "Tags": [{"Key": contract.CANARY_TAG_KEY, "Value": "<aws.scheduler.scheduled-time>"}],
    }
    assert sub_text(variables["Policy"]).endswith(f":policy/{CANARY_POLICY}")
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": INTERVAL * 60}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwarderDlq", "Arn"]}}


def test_mon_13_member_scheduler_role_can_only_tag_the_canary_policy_with_the_canary_key(
    member: dict[str, Any],
) -> None:
    role = resource(member, "MemberCanaryRole")
    assert role["Condition"] == "InGlobalServicesRegion"
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": ["scheduler.amazonaws.com"]}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    [source] = trust["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sub_text(source).endswith(":schedule/default/iam-guard-org-member-canary-corp-eu-west-1")
    [document] = inline_policy_documents(role)
    allowed = [stmt for stmt in document["Statement"] if stmt["Effect"] == "Allow"]
    iam_allows = [stmt for stmt in allowed if any(a.startswith("iam:") for a in as_list(stmt["Action"]))]
    [tag] = iam_allows
    assert as_list(tag["Action"]) == ["iam:TagPolicy"]
    assert [sub_text(arn) for arn in tag["Resource"]] == [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{CANARY_POLICY}"
    ]
    assert tag["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": [contract.CANARY_TAG_KEY]},
        "Null": {"aws:TagKeys": "false"},
    }
    others = {action for stmt in allowed if stmt is not tag for action in as_list(stmt["Action"])}
    assert others <= {"sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"}, others
    send = statement(document, "SendFailedInvocationsToDeadLetterQueue")
    assert send["Resource"] == [{"Fn::GetAtt": ["ForwarderDlq", "Arn"]}]


def test_org_1_member_canary_forward_rule_pattern_and_target(member: dict[str, Any]) -> None:
    rule = resource(member, "MemberCanaryForwardRule")
    assert rule["Condition"] == "InGlobalServicesRegion"
    properties = rule["Properties"]
    assert properties["EventPattern"] == {
        "source": ["aws.iam"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["iam.amazonaws.com"],
            "eventName": ["TagPolicy"],
            "requestParameters": {"policyArn": [{"suffix": f":policy/{CANARY_POLICY}"}]},
        },
    }
    [target] = properties["Targets"]
    assert sub_text(target["Arn"]).endswith(":222233334444:event-bus/iam-guard-org-events-corp-eu-west-1")
    assert target["RoleArn"] == {"Fn::GetAtt": ["ForwarderRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwarderDlq", "Arn"]}}
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
        "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
    }
    alarm = resource(member, "MemberCanaryForwardFailedInvocationsAlarm")
    assert alarm["Condition"] == "InGlobalServicesRegion"
    assert alarm["Properties"]["MetricName"] == "FailedInvocations"
    # The forwarder role may be assumed for this rule too (its trust names every forward rule).
    trust = resource(member, "ForwarderRole")["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    sources = [sub_text(arn) for arn in trust["Condition"]["ArnLike"]["aws:SourceArn"]]
    assert any(arn.endswith("rule/iam-guard-org-member-canary-fwd-corp-eu-west-1") for arn in sources)


def test_org_1_central_canary_rule_reaches_the_analyzer(security: dict[str, Any]) -> None:
    properties = props(security, "CentralCanaryRule")
    assert properties["EventBusName"] == {"Ref": "CentralEventBus"}
    assert properties["EventPattern"]["detail"]["eventName"] == ["TagPolicy"]
    assert properties["EventPattern"]["detail"]["requestParameters"] == {
        "policyArn": [{"suffix": f":policy/{CANARY_POLICY}"}]
    }
    [target] = properties["Targets"]
    assert sub_text(target["Arn"]).endswith(":function:iam-guard-policy-analyzer-corp-eu-west-1")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["CentralDlq", "Arn"]}}
    permission = props(security, "CentralCanaryInvokePermission")
    assert permission["SourceArn"] == {"Fn::GetAtt": ["CentralCanaryRule", "Arn"]}
    assert permission["Principal"] == "events.amazonaws.com"
    assert props(security, "CentralCanaryFailedInvocationsAlarm")["MetricName"] == "FailedInvocations"
    dlq_policy = props(security, "CentralDlqPolicy")["PolicyDocument"]
    senders = [
        sub_text(arn)
        for stmt in dlq_policy["Statement"]
        if stmt["Effect"] == "Allow"
        for arn in as_list(stmt.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn", []))
    ]
    assert any(arn.endswith("/iam-guard-org-member-canary-corp-eu-west-1") for arn in senders), senders


def test_org_1_analyzer_records_heartbeats_only_in_heartbeat_items(security: dict[str, Any]) -> None:
    properties = props(security, "AnalyzerHeartbeatPolicy")
    assert properties["RoleName"] == "IamGuardPolicyAnalyzer-corp-eu-west-1"
    document = (
        json.loads(properties["PolicyDocument"])
        if isinstance(properties["PolicyDocument"], str)
        else properties["PolicyDocument"]
    )
    record = statement(document, "RecordMemberHeartbeatsInOrgStateTable")
    assert as_list(record["Action"]) == ["dynamodb:UpdateItem"]
    assert record["Resource"] == [{"Fn::GetAtt": ["OrgAuditStateTable", "Arn"]}]
    assert record["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["heartbeat#*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    key = statement(document, "UseOrgAuditKeyOnlyThroughDynamoDb")
    assert key["Resource"] == [{"Fn::GetAtt": ["OrgAuditKey", "Arn"]}]
    assert (
        sub_text(key["Condition"]["StringEquals"]["kms:ViaService"])
        == "dynamodb.${AWS::Region}.amazonaws.com"
    )


def test_mon_13_heartbeat_check_runs_every_two_intervals_with_its_constant_input(
    security: dict[str, Any],
) -> None:
    properties = props(security, "OrgHeartbeatCheckSchedule")
    assert properties["ScheduleExpression"] == f"rate({2 * INTERVAL} minutes)"
    [target] = properties["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["OrgAuditSchedulerFunction", "Arn"]}
    assert json.loads(target["Input"]) == contract.HEARTBEAT_CHECK_EVENT
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["OrgAuditFunctionsDlq", "Arn"]}}
    permission = props(security, "OrgHeartbeatCheckInvokePermission")
    assert permission["SourceArn"] == {"Fn::GetAtt": ["OrgHeartbeatCheckSchedule", "Arn"]}
    environment = props(security, "OrgAuditSchedulerFunction")["Environment"]["Variables"]
    assert environment[contract.ENV_CANARY_INTERVAL_MINUTES] == str(INTERVAL)
    scheduler = inline_policy_documents(resource(security, "OrgAuditSchedulerRole"))[0]
    check = statement(scheduler, "CheckMemberHeartbeatsInStateTable")
    assert set(as_list(check["Action"])) == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }
    assert check["Condition"]["ForAllValues:StringLike"] == {"dynamodb:LeadingKeys": ["heartbeat#*"]}


def test_mon_13_blind_accounts_alarm_treats_missing_data_as_breaching(security: dict[str, Any]) -> None:
    properties = props(security, "OrgAccountsBlindAlarm")
    assert properties["Namespace"] == contract.METRICS_NAMESPACE
    assert properties["MetricName"] == contract.MEMBER_ACCOUNTS_BLIND_METRIC
    assert properties["Dimensions"] == [{"Name": "Environment", "Value": "corp"}]
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)
    assert properties["TreatMissingData"] == "breaching"
    assert properties["Period"] == 2 * INTERVAL * 60
    assert properties["AlarmActions"] == [{"Ref": "OrgAlertTopic"}]


def test_org_1_analyzer_environment_names_the_canary_policy_and_the_heartbeat_table() -> None:
    monitoring = template("org", "monitoring")
    variables = props(monitoring, "PolicyAnalyzerFunction")["Environment"]["Variables"]
    assert variables[contract.ENV_MEMBER_CANARY_POLICY] == CANARY_POLICY
    assert variables[contract.ENV_ORG_HEARTBEAT_TABLE_NAME] == "iam-guard-org-audit-state-corp-eu-west-1"


def test_org_1_stack_set_template_body_stays_under_the_limit() -> None:
    size = len(member_template_body(config("org")).encode("utf-8"))
    assert size < STACK_SET_BODY_LIMIT, size
