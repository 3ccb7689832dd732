"""MON-13 (stack side): a schedule calls IAM itself to tag the quarantine policy with the canary key, the
TagPolicy event comes back through its own rule (forwarded from us-east-1 where needed) to the analyzer,
and an alarm fires when the analyzer's canary metric is missing for two intervals. The daily audit may
read the trail's status. The alarm's logic runs on moto's CloudWatch metrics in the last tests."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from monitoring_helpers import STACK, alarms, dimension, getatt, key_statement, ref, role_statements

from iam_guard import contract
from iam_guard.build import build_stacks
from template_helpers import as_list, config, props, sub_text, template

ALARM = "HeartbeatMissingAlarm"


@pytest.fixture
def tpl(cfg_name: str) -> dict[str, Any]:
    return template(cfg_name, STACK)


def test_mon_13_contract_names_the_canary_tag_event_and_metric() -> None:
    assert contract.CANARY_TAG_KEY == "iam-guard:canary"
    assert contract.CANARY_EVENT_NAME == "TagPolicy"
    assert contract.CANARY_METRIC_NAME == "CanaryReceived"


def test_mon_13_schedule_tags_the_quarantine_policy_hourly_with_its_time(tpl: dict[str, Any]) -> None:
    schedule = props(tpl, "CanarySchedule")
    assert schedule["ScheduleExpression"] == "rate(60 minutes)"
    assert schedule["State"] == "ENABLED"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert sub_text(target["Arn"]) == "arn:${AWS::Partition}:scheduler:::aws-sdk:iam:tagPolicy"
    assert target["RoleArn"] == getatt("CanaryRole")
    text, variables = target["Input"]["Fn::Sub"]
    assert variables == {"Policy": ref("QuarantinePolicy")}
    assert json.loads(text) == {
        "PolicyArn": "${Policy}",
        "Tags": [{"Key": contract.CANARY_TAG_KEY, "Value": "<aws.scheduler.scheduled-time>"}],
    }
    assert target["DeadLetterConfig"] == {"Arn": getatt("EventDeliveryDlq")}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}


def test_mon_13_canary_role_may_tag_one_policy_with_one_key_and_nothing_else(tpl: dict[str, Any]) -> None:
    allows = [s for s in role_statements(tpl, "CanaryRole") if s["Effect"] == "Allow"]
    tag = next(s for s in allows if s["Sid"] == "TagTheQuarantinePolicyWithTheCanaryKeyOnly")
    assert tag["Action"] == ["iam:TagPolicy"] and tag["Resource"] == [ref("QuarantinePolicy")]
    assert tag["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": [contract.CANARY_TAG_KEY]},
        "Null": {"aws:TagKeys": "false"},
    }
    allowed = sorted(a for s in allows for a in as_list(s["Action"]))
    assert allowed == ["iam:TagPolicy", "kms:Decrypt", "kms:GenerateDataKey", "sqs:SendMessage"]
    trust = props(tpl, "CanaryRole")["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["scheduler.amazonaws.com"]}
    assert [sub_text(a) for a in trust["Condition"]["ArnLike"]["aws:SourceArn"]] == [
        "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/default/"
        + props(tpl, "CanarySchedule")["Name"]
    ]
    key = key_statement(tpl, "MonitoringKey", "AllowCanaryRoleThroughSqs")
    assert sub_text(key["Condition"]["StringEquals"]["kms:ViaService"]) == "sqs.${AWS::Region}.amazonaws.com"


def test_mon_13_canary_event_reaches_the_analyzer_through_its_own_rule(tpl: dict[str, Any]) -> None:
    rule = props(tpl, "CanaryArrivalRule")
    detail = rule["EventPattern"]["detail"]
    assert rule["EventPattern"]["source"] == ["aws.iam"]
    assert detail["eventName"] == [contract.CANARY_EVENT_NAME]
    assert [sub_text(a) for a in detail["requestParameters"]["policyArn"]] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/"
        + props(tpl, "QuarantinePolicy")["ManagedPolicyName"]
    ]
    [target] = rule["Targets"]
    assert target["Arn"] == getatt("PolicyAnalyzerFunction")
    assert target["DeadLetterConfig"] == {"Arn": getatt("EventDeliveryDlq")}
    permission = props(tpl, "CanaryArrivalInvokePermission")
    assert permission["SourceArn"] == getatt("CanaryArrivalRule")
    assert props(tpl, "PolicyAnalyzerFunction")["Environment"]["Variables"]["QUARANTINE_POLICY_ARN"] == ref(
        "QuarantinePolicy"
    )


def test_mon_13_alarm_fires_when_no_canary_arrived_in_two_intervals(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    alarm = alarms(tpl)[ALARM]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("IamGuard", contract.CANARY_METRIC_NAME)
    assert dimension(alarm, "Environment") == config(cfg_name).environment
    assert alarm["Statistic"] == "Sum"
    assert (alarm["Period"], alarm["EvaluationPeriods"]) == (3600, 2)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [ref("AlertTopic")]


def test_mon_13_the_interval_is_a_config_field() -> None:
    base = config("dev")
    changed = dataclasses.replace(
        base, monitoring=dataclasses.replace(base.monitoring, canary_interval_minutes=15)
    )
    tpl = json.loads(next(a.body for a in build_stacks(changed) if a.name == STACK))
    assert props(tpl, "CanarySchedule")["ScheduleExpression"] == "rate(15 minutes)"
    assert alarms(tpl)[ALARM]["Period"] == 900


def test_mon_13_the_canary_is_forwarded_from_us_east_1() -> None:
    forwarder = template("prod", "monitoring-forwarder")
    assert (
        props(forwarder, "CanaryForwardRule")["EventPattern"]
        == props(template("prod", STACK), "CanaryArrivalRule")["EventPattern"]
    )


def test_mon_13_the_daily_audit_may_read_the_trails_status(tpl: dict[str, Any]) -> None:
    variables = props(tpl, "DailyAuditorFunction")["Environment"]["Variables"]
    trail = sub_text(variables[contract.ENV_TRAIL_ARN])
    assert trail.endswith(f":trail/{props(tpl, 'Trail')['TrailName']}")
    statements = {s["Sid"]: s for s in role_statements(tpl, "DailyAuditorRole")}
    status = statements["ReadTheTrailsStatus"]
    assert status["Action"] == [
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetTrail",
        "cloudtrail:GetTrailStatus",
    ]
    assert [sub_text(r) for r in status["Resource"]] == [trail]
    assert statements["DescribeTrails"]["Action"] == ["cloudtrail:DescribeTrails"]


# The alarm's logic on moto ---------------------------------------------------------------------------------
# moto stores alarms and metrics but never evaluates an alarm (its state only changes by SetAlarmState), so
# the evaluation below is CloudWatch's documented rule for this alarm, applied to the datapoints moto returns:
# the last EvaluationPeriods periods, a missing period counted as breaching (TreatMissingData), ALARM when
# every one of them breaches (DatapointsToAlarm defaults to EvaluationPeriods), OK otherwise.


def evaluate(alarm: dict[str, Any], now: datetime) -> str:
    period = timedelta(seconds=alarm["Period"])
    end = now.replace(minute=0, second=0, microsecond=0)
    breaching = 0
    for index in range(alarm["EvaluationPeriods"], 0, -1):
        window = end - index * period
        reply = boto3.client("cloudwatch").get_metric_statistics(
            Namespace=alarm["Namespace"],
            MetricName=alarm["MetricName"],
            Dimensions=alarm["Dimensions"],
            StartTime=window,
            EndTime=window + period,
            Period=alarm["Period"],
            Statistics=[alarm["Statistic"]],
        )
        values = [point[alarm["Statistic"]] for point in reply["Datapoints"]]
        assert len(values) <= 1, values
        if not values:
            breaching += alarm["TreatMissingData"] == "breaching"
        elif values[0] < alarm["Threshold"]:
            breaching += 1
    needed = alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"])
    return "ALARM" if breaching >= needed else "OK"


def store_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    """The template's alarm as moto stores it (PutMetricAlarm accepts every property), read back."""
    resolved = {**alarm, "AlarmActions": [], "OKActions": []}
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(**resolved)
    [stored] = cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"]
    return {
        **alarm,
        **{k: stored[k] for k in ("Period", "EvaluationPeriods", "Threshold", "TreatMissingData")},
    }


def put_canary(at: datetime) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace="IamGuard",
        MetricData=[
            {
                "MetricName": contract.CANARY_METRIC_NAME,
                "Dimensions": [{"Name": "Environment", "Value": "dev"}],
                "Timestamp": at,
                "Value": 1,
                "Unit": "Count",
            }
        ],
    )


def test_mon_13_no_canary_for_two_intervals_fires_the_alarm_and_arrivals_clear_it(aws: str) -> None:
    alarm = store_alarm(alarms(template("dev", STACK))[ALARM])
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    assert evaluate(alarm, now) == "ALARM", "nothing arrived yet"
    put_canary(hour - timedelta(minutes=50))
    assert evaluate(alarm, now) == "OK", "one interval without a canary is not yet two"
    put_canary(hour - timedelta(minutes=110))
    assert evaluate(alarm, now) == "OK"
    later = now + timedelta(hours=2)
    assert evaluate(alarm, later) == "ALARM", "two intervals passed without a canary"
    put_canary(hour + timedelta(minutes=70))
    assert evaluate(alarm, later) == "OK", "a canary arrived again"
