"""MON-4 (and CON-3, CON-5, MON-5, MON-6 for the forwarder): outside us-east-1, a small us-east-1 stack
forwards the IAM events to the main region's default bus through a least-privilege role."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from monitoring_helpers import FORWARDER, STACK, alarms, dimension, getatt, key_statement, ref, role_statement

from iam_guard.build import build_stacks
from iam_guard.policies.common import SENSITIVE_ACTIONS
from template_helpers import config, props, resources, statement, sub_text, template


@pytest.fixture
def tpl() -> dict[str, Any]:
    return template("prod", FORWARDER)


def forward_rule_arns(tpl: dict[str, Any]) -> list[str]:
    """Every forward rule of the stack, by ARN, sorted (policies list them in the stack's own order)."""
    names = [rule["Properties"]["Name"] for rule in resources(tpl, "AWS::Events::Rule").values()]
    assert len(names) == 3
    return sorted(
        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{n}" for n in names
    )


def test_mon_4_forwarder_rule_has_the_monitoring_rule_pattern(tpl: dict[str, Any]) -> None:
    forward = props(tpl, "IamEventForwardRule")["EventPattern"]
    main = props(template("prod", STACK), "IamPolicyChangeRule")["EventPattern"]
    assert forward == main
    assert forward["detail-type"] == ["AWS API Call via CloudTrail"]


def test_mon_4_forwarder_targets_the_main_regions_default_bus(tpl: dict[str, Any]) -> None:
    (target,) = props(tpl, "IamEventForwardRule")["Targets"]
    assert (
        sub_text(target["Arn"])
        == "arn:${AWS::Partition}:events:eu-west-1:${AWS::AccountId}:event-bus/default"
    )
    assert target["RoleArn"] == getatt("ForwarderRole")
    assert target["DeadLetterConfig"] == {"Arn": getatt("ForwarderDlq")}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 3600


def test_mon_4_forwarder_role_may_only_put_events_on_that_bus(tpl: dict[str, Any]) -> None:
    put = role_statement(tpl, "ForwarderRole", "PutEventsOnMainRegionBus")
    assert (put["Effect"], put["Action"]) == ("Allow", ["events:PutEvents"])
    assert [sub_text(r) for r in put["Resource"]] == [
        "arn:${AWS::Partition}:events:eu-west-1:${AWS::AccountId}:event-bus/default"
    ]
    allows = [
        s
        for s in props(tpl, "ForwarderRole")["Policies"][0]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert allows == [put]
    deny = role_statement(tpl, "ForwarderRole", "DenySensitiveActions")
    assert set(deny["Action"]) == set(SENSITIVE_ACTIONS)


def test_mon_5_forwarder_role_trusts_events_for_its_rule_only_for_an_hour(tpl: dict[str, Any]) -> None:
    role = props(tpl, "ForwarderRole")
    assert role["MaxSessionDuration"] == 3600
    trust = statement(role["AssumeRolePolicyDocument"], "ServiceAssumesForThisAccountOnly")
    assert trust["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    assert sorted(sub_text(a) for a in trust["Condition"]["ArnLike"]["aws:SourceArn"]) == forward_rule_arns(
        tpl
    )


def test_con_3_forwarder_key_admits_eventbridge_for_the_forward_rule_only(tpl: dict[str, Any]) -> None:
    assert props(tpl, "ForwarderDlq")["KmsMasterKeyId"] == getatt("ForwarderKey")
    stmt = key_statement(tpl, "ForwarderKey", "AllowEventBridgeRulesToWriteEncryptedQueueAndTopic")
    assert sorted(sub_text(a) for a in stmt["Condition"]["ArnEquals"]["aws:SourceArn"]) == forward_rule_arns(
        tpl
    )
    queue_policy = props(tpl, "ForwarderDlqPolicy")["PolicyDocument"]
    allow = statement(queue_policy, "AllowEventBridgeRulesToSendFailedEvents")
    assert sorted(sub_text(a) for a in allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == forward_rule_arns(
        tpl
    )


def test_mon_6_forwarder_failures_notify_a_topic_in_us_east_1(tpl: dict[str, Any]) -> None:
    found = alarms(tpl)
    assert set(found) == {
        "ForwarderFailedInvocationsAlarm",
        "TamperForwardFailedInvocationsAlarm",
        "CanaryForwardFailedInvocationsAlarm",
        "ForwarderDlqDepthAlarm",
    }
    for alarm_id, rule in (
        ("ForwarderFailedInvocationsAlarm", "IamEventForwardRule"),
        ("TamperForwardFailedInvocationsAlarm", "IamTamperForwardRule"),
        ("CanaryForwardFailedInvocationsAlarm", "CanaryForwardRule"),
    ):
        failed = found[alarm_id]
        assert (failed["Namespace"], failed["MetricName"]) == ("AWS/Events", "FailedInvocations")
        assert dimension(failed, "RuleName") == props(tpl, rule)["Name"]
    depth = found["ForwarderDlqDepthAlarm"]
    assert dimension(depth, "QueueName") == getatt("ForwarderDlq", "QueueName")
    allowed = statement(
        props(tpl, "ForwarderAlertTopicPolicy")["PolicyDocument"], "AllowThisAccountsAlarmsToPublish"
    )
    name_pattern = sub_text(allowed["Condition"]["ArnLike"]["aws:SourceArn"]).split(":alarm:", 1)[1]
    key_allows = key_statement(tpl, "ForwarderKey", "AllowCloudWatchAlarmsToPublishToEncryptedTopic")
    assert key_allows["Condition"]["ArnLike"] == allowed["Condition"]["ArnLike"]
    for alarm in found.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [ref("ForwarderAlertTopic")]
        assert fnmatch.fnmatchcase(alarm["AlarmName"], name_pattern), alarm["AlarmName"]
    assert props(tpl, "ForwarderAlertTopic")["KmsMasterKeyId"] == getatt("ForwarderKey")
    emails = sorted(s["Properties"]["Endpoint"] for s in resources(tpl, "AWS::SNS::Subscription").values())
    assert emails == ["security-alerts@example.com", "soc-oncall@example.com"]


def test_edge_3_forwarder_outputs_are_exported(tpl: dict[str, Any]) -> None:
    outputs = tpl["Outputs"]
    assert {"ForwarderRuleArn", "ForwarderDlqUrl"} <= set(outputs)
    assert outputs["ForwarderRuleArn"]["Value"] == getatt("IamEventForwardRule")
    assert outputs["ForwarderDlqUrl"]["Value"] == ref("ForwarderDlq")
    for key, output in outputs.items():
        assert output["Export"]["Name"] == f"iam-guard-monitoring-forwarder-prod-{key}"


@pytest.mark.parametrize(
    ("region", "forwarder_region"),
    [
        ("us-east-1", None),
        ("eu-central-1", "us-east-1"),
        ("ap-southeast-2", "us-east-1"),
        ("us-gov-west-1", None),
        ("us-gov-east-1", "us-gov-west-1"),
    ],
)
def test_mon_4_forwarder_goes_to_the_partitions_global_services_region(
    region: str, forwarder_region: str | None
) -> None:
    """IAM events reach EventBridge only in us-east-1 (us-gov-west-1 in GovCloud): every other region gets
    a forwarder there, whose target is the monitoring region's bus; no config watches nothing."""
    settings = dataclasses.replace(config("dev"), region=region)
    artifacts = {artifact.name: artifact for artifact in build_stacks(settings)}
    assert artifacts["monitoring"].region == region
    if forwarder_region is None:
        assert FORWARDER not in artifacts
        return
    forwarder = artifacts[FORWARDER]
    assert forwarder.region == forwarder_region
    assert list(artifacts) == ["data-store", "monitoring", FORWARDER]
    (target,) = props(json.loads(forwarder.body), "IamEventForwardRule")["Targets"]
    assert (
        sub_text(target["Arn"])
        == f"arn:${{AWS::Partition}}:events:{region}:${{AWS::AccountId}}:event-bus/default"
    )
    matches = lint(forwarder.body, regions=[forwarder_region], config=ManualArgs(regions=[forwarder_region]))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


def test_mon_5_govcloud_roles_may_address_govcloud_iam_region() -> None:
    settings = dataclasses.replace(config("dev"), region="us-gov-east-1")
    (monitoring,) = build_stacks(settings, only=STACK)
    deny = role_statement(json.loads(monitoring.body), "PolicyAnalyzerRole", "DenyRequestsToOtherRegions")
    assert deny["Condition"]["StringNotEquals"] == {"aws:RequestedRegion": ["us-gov-east-1", "us-gov-west-1"]}
