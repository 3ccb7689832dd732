"""MON-12: tamper rules. Each rule's pattern runs through moto's EventBridge matcher (event_matching.py)
over the CloudTrail events of tests/fixtures/tamper: the blinding calls on the stack's own resources match,
iam-guard's own deploys and unrelated calls do not. The alert goes straight to the topic with a readable
message, and only the tamper rules may publish there besides the alarms and the functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from event_matching import MotoMatcher, dev_references, resolve
from monitoring_helpers import STACK, getatt, key_statement, ref, variant

from iam_guard.stacks.monitoring.tamper_rules import TAMPER_RULES
from support import REPO_ROOT
from template_helpers import config, props, resource, resources, statement, sub_text, template

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "tamper"
RULE_FILES = sorted(FIXTURES.glob("*.json"))
DEPLOY_ROLE = "arn:aws:iam::123456789012:role/IamGuardDeployer"


def fixture(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def rule_pattern(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resolve(props(tpl, logical_id)["EventPattern"], dev_references())


def template_for(data: dict[str, Any]) -> dict[str, Any]:
    """dev, or dev with the deploy role the fixture file is meant for."""
    if data.get("deploy_roles"):
        assert data["deploy_roles"] == [DEPLOY_ROLE]
        return variant("deploy-roles")
    return template("dev", STACK)


@pytest.fixture
def matcher(aws: str) -> MotoMatcher:
    return MotoMatcher()


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.stem for p in RULE_FILES])
def test_mon_12_rule_matches_tamper_calls_and_not_own_deploys_or_unrelated_calls(
    path: Path, matcher: MotoMatcher
) -> None:
    data = fixture(path)
    pattern = rule_pattern(template_for(data), data["rule"])
    groups = {group: data[group] for group in ("tamper", "own_deploy", "unrelated")}
    assert all(groups.values()), f"{path.name}: every group needs events"
    results = {group: matcher.matches(pattern, events) for group, events in groups.items()}
    assert results["tamper"] == [True] * len(groups["tamper"])
    assert results["own_deploy"] == [False] * len(groups["own_deploy"])
    assert results["unrelated"] == [False] * len(groups["unrelated"])


@pytest.mark.parametrize("rule", TAMPER_RULES, ids=[r.logical_id for r in TAMPER_RULES])
def test_mon_12_every_covered_call_has_a_recorded_tamper_event(rule: Any) -> None:
    """No event name of a rule goes untested: each has a tamper event in the rule's fixture files."""
    names: set[str] = set()
    for path in RULE_FILES:
        data = fixture(path)
        if data["rule"] == rule.logical_id:
            names |= {event["detail"]["eventName"] for event in data["tamper"]}
    for event_name in rule.event_names:
        wanted = event_name["prefix"] if isinstance(event_name, dict) else event_name
        assert any(name.startswith(wanted) for name in names), f"{rule.logical_id}: {wanted} untested"


def test_mon_12_the_matcher_is_moto_and_it_can_say_no(matcher: MotoMatcher) -> None:
    """The probe is not a tautology: a pattern for another event source matches none of the events."""
    data = fixture(FIXTURES / "trail.json")
    pattern = rule_pattern(template("dev", STACK), "TamperTrailRule")
    pattern["detail"]["eventSource"] = ["s3.amazonaws.com"]
    assert matcher.matches(pattern, data["tamper"]) == [False] * len(data["tamper"])


def test_mon_12_alert_message_is_readable_and_names_call_caller_and_resource(matcher: MotoMatcher) -> None:
    tpl = template("dev", STACK)
    [target] = props(tpl, "TamperTrailRule")["Targets"]
    event = fixture(FIXTURES / "trail.json")["tamper"][0]
    [body] = matcher.deliveries(rule_pattern(tpl, "TamperTrailRule"), [event], target["InputTransformer"])
    assert body is not None
    message = json.loads(body)
    lines = message.split("\n")
    assert lines[0] == "iam-guard TAMPER ALERT (dev, us-east-1)"
    assert lines[2] == (
        "StopLogging on the CloudTrail trail that feeds the monitoring "
        f"({event['detail']['requestParameters']['name']})"
    )
    assert lines[3] == "by arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice from 203.0.113.17"
    assert event["detail"]["eventID"] in lines[4] and event["detail"]["eventTime"] in lines[4]
    assert "<" not in message, "every placeholder is filled"


@pytest.mark.parametrize("cfg", ["dev", "prod"])
def test_mon_12_every_tamper_rule_notifies_the_topic_directly_with_dlq_and_retries(cfg: str) -> None:
    tpl = template(cfg, STACK)
    rules = {name: r for name, r in resources(tpl, "AWS::Events::Rule").items() if name.startswith("Tamper")}
    expected = {r.logical_id for r in TAMPER_RULES if r.applies(config(cfg))}
    assert set(rules) == expected
    for name, rule in rules.items():
        [target] = rule["Properties"]["Targets"]
        assert target["Arn"] == ref("AlertTopic"), name
        assert target["DeadLetterConfig"] == {"Arn": getatt("EventDeliveryDlq")}, name
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 8}, name
        transformer = target["InputTransformer"]
        assert transformer["InputTemplate"].startswith('"iam-guard TAMPER ALERT'), name
        assert transformer["InputPathsMap"]["caller"] == "$.detail.userIdentity.arn", name
        assert rule["Properties"]["State"] == "ENABLED"


def test_mon_12_only_the_tamper_rules_of_this_account_publish_for_eventbridge(cfg_name: str) -> None:
    tpl = template(cfg_name, STACK)
    allow = statement(props(tpl, "AlertTopicPolicy")["PolicyDocument"], "AllowTamperRulesToPublish")
    assert allow["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert allow["Action"] == ["sns:Publish"] and allow["Resource"] == [ref("AlertTopic")]
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    names = sorted(
        props(tpl, name)["Name"] for name in resources(tpl, "AWS::Events::Rule") if name.startswith("Tamper")
    )
    arns = sorted(sub_text(a) for a in allow["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert arns == sorted(
        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{n}" for n in names
    )
    key = key_statement(tpl, "MonitoringKey", "AllowEventBridgeRulesToWriteEncryptedQueueAndTopic")
    key_rules = {sub_text(a) for a in key["Condition"]["ArnEquals"]["aws:SourceArn"]}
    assert set(arns) <= key_rules


def test_mon_12_rules_watch_every_rule_of_the_stack_including_themselves() -> None:
    tpl = template("dev", STACK)
    watched = set(
        props(tpl, "TamperRulesRule")["EventPattern"]["detail"]["requestParameters"]["$or"][0]["name"]
    )
    assert watched == {r["Properties"]["Name"] for r in resources(tpl, "AWS::Events::Rule").values()}


def test_mon_12_own_deploys_are_told_apart_by_cloudformation_and_the_deploy_roles() -> None:
    """Without deploy roles every call CloudFormation makes is a deploy; with them, only the calls it
    makes for their sessions, and change sets they execute."""
    plain = props(template("dev", STACK), "TamperFunctionsRule")["EventPattern"]["detail"]
    assert plain["sourceIPAddress"] == [{"anything-but": ["cloudformation.amazonaws.com"]}]
    assert "TamperStackDeploysRule" not in template("dev", STACK)["Resources"]
    roles = props(variant("deploy-roles"), "TamperFunctionsRule")["EventPattern"]["detail"]["$or"]
    assert roles == [
        {"sourceIPAddress": [{"anything-but": ["cloudformation.amazonaws.com"]}]},
        {"userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [{"anything-but": [DEPLOY_ROLE]}]}}}},
        {"userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [{"exists": False}]}}}},
    ]
    stacks = props(variant("deploy-roles"), "TamperStacksRule")["EventPattern"]["detail"]
    assert "$or" not in stacks and "sourceIPAddress" not in stacks, "deleting a stack always alerts"


def test_mon_12_iam_tamper_events_are_forwarded_to_the_monitoring_region() -> None:
    """IAM's events reach EventBridge in us-east-1 only: prod (eu-west-1) forwards the roles rule's."""
    forwarder = template("prod", "monitoring-forwarder")
    monitoring = template("prod", STACK)
    forwarded = props(forwarder, "IamTamperForwardRule")["EventPattern"]
    assert forwarded == props(monitoring, "TamperRolesRule")["EventPattern"]
    assert resource(forwarder, "IamTamperForwardRule")["Properties"]["Targets"][0]["Id"] == "MainRegionBus"
