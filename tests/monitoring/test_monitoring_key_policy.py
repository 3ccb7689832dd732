"""CON-3: the stack key lets only named services use it, each narrowed by its own conditions; every path
that writes to something the key encrypts is admitted (one test per path), administrators manage but do
not use it."""

from __future__ import annotations

from typing import Any

import pytest
from monitoring_helpers import STACK, getatt, key_statement, ref, role_statement, variant

from iam_guard.policies.kms import KEY_ADMIN_ACTIONS
from template_helpers import config, props, resources, statements, sub_text, template

KEY = "MonitoringKey"
USE_ACTIONS = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"}


@pytest.fixture
def tpl(cfg_name: str) -> dict[str, Any]:
    return template(cfg_name, STACK)


def arn_prefix(service: str) -> str:
    return f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:"


def test_con_3_administrators_manage_but_never_use_the_key(tpl: dict[str, Any]) -> None:
    admin = key_statement(tpl, KEY, "AllowAccountAdministratorsToManageNotUseKey")
    assert set(admin["Action"]) == set(KEY_ADMIN_ACTIONS)
    assert not set(admin["Action"]) & (USE_ACTIONS | {"kms:CreateGrant"})
    guard = key_statement(tpl, KEY, "DenyKeyDestructionWithoutMfa")
    assert guard["Effect"] == "Deny"
    assert guard["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def test_con_3_every_use_statement_names_a_service_or_a_via_service_condition(tpl: dict[str, Any]) -> None:
    for stmt in statements(props(tpl, KEY)["KeyPolicy"]):
        if stmt["Effect"] != "Allow" or not set(stmt["Action"]) & (USE_ACTIONS | {"kms:CreateGrant"}):
            continue
        principal = stmt["Principal"]
        conditions = {key for operator in stmt.get("Condition", {}).values() for key in operator}
        if "Service" in principal:
            assert conditions, stmt["Sid"]
        else:
            assert "kms:ViaService" in conditions, stmt["Sid"]


def test_con_3_cloudwatch_logs_only_for_this_stacks_log_groups(tpl: dict[str, Any], cfg_name: str) -> None:
    stmt = key_statement(tpl, KEY, "AllowCloudWatchLogsForThisStacksLogGroups")
    assert sub_text(stmt["Principal"]["Service"][0]) == "logs.${AWS::Region}.amazonaws.com"
    groups = [sub_text(arn) for arn in stmt["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]]
    suffix = config(cfg_name).name_suffix
    assert groups == [
        f"{arn_prefix('logs')}log-group:/iam-guard/{suffix}/{name}"
        for name in ("security-events", "policy-analyzer", "daily-auditor")
    ]


def test_con_3_cloudwatch_alarms_may_publish_to_the_encrypted_topic(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    stmt = key_statement(tpl, KEY, "AllowCloudWatchAlarmsToPublishToEncryptedTopic")
    assert stmt["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert set(stmt["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    assert sub_text(stmt["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        f"{arn_prefix('cloudwatch')}alarm:iam-guard-*-{config(cfg_name).name_suffix}"
    )


def test_con_3_eventbridge_may_write_the_encrypted_dead_letter_queue(tpl: dict[str, Any]) -> None:
    stmt = key_statement(tpl, KEY, "AllowEventBridgeRulesToWriteEncryptedQueueAndTopic")
    assert stmt["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert set(stmt["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    rules = resources(tpl, "AWS::Events::Rule")
    assert {"IamPolicyChangeRule", "DailyAuditSchedule", "TamperTrailRule"} <= set(rules)
    assert sorted(sub_text(a) for a in stmt["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        f"{arn_prefix('events')}rule/{rule['Properties']['Name']}" for rule in rules.values()
    )
    # The DLQ it admits EventBridge to is the one the targets name, encrypted with this key; the tamper
    # rules' topic is encrypted with it too (MON-12).
    for name, rule in rules.items():
        assert rule["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"] == getatt("EventDeliveryDlq"), name
    assert props(tpl, "AlertTopic")["KmsMasterKeyId"] == getatt(KEY)
    assert props(tpl, "EventDeliveryDlq")["KmsMasterKeyId"] == getatt(KEY)


def test_con_3_sns_and_sqs_for_this_accounts_principals_only_through_the_services(
    tpl: dict[str, Any],
) -> None:
    stmt = key_statement(tpl, KEY, "AllowThisAccountThroughSnsAndSqsOnly")
    assert sub_text(stmt["Principal"]["AWS"][0]) == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
    assert set(stmt["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    equals = stmt["Condition"]["StringEquals"]
    assert [sub_text(v) for v in equals["kms:ViaService"]] == [
        "sns.${AWS::Region}.amazonaws.com",
        "sqs.${AWS::Region}.amazonaws.com",
    ]
    assert equals["kms:CallerAccount"] == ref("AWS::AccountId")


@pytest.mark.parametrize("service", ["sqs", "sns"])
def test_con_3_function_roles_use_the_key_for_their_queues_and_topic(
    tpl: dict[str, Any], service: str
) -> None:
    stmt = key_statement(tpl, KEY, f"AllowFunctionRolesThrough{service.capitalize()}")
    assert set(stmt["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert (
        sub_text(stmt["Condition"]["StringEquals"]["kms:ViaService"])
        == f"{service}.${{AWS::Region}}.amazonaws.com"
    )
    roles = [props(tpl, r)["RoleName"] for r in ("PolicyAnalyzerRole", "DailyAuditorRole")]
    assert [sub_text(a) for a in stmt["Condition"]["ArnLike"]["aws:PrincipalArn"]] == [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}" for name in roles
    ]


def test_con_3_function_roles_grant_the_key_only_through_sns_and_sqs(tpl: dict[str, Any]) -> None:
    for role in ("PolicyAnalyzerRole", "DailyAuditorRole"):
        stmt = role_statement(tpl, role, "UseStackKeyOnlyThroughSnsAndSqs")
        assert stmt["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert stmt["Resource"] == [getatt(KEY)]
        assert [sub_text(v) for v in stmt["Condition"]["StringEquals"]["kms:ViaService"]] == [
            "sns.${AWS::Region}.amazonaws.com",
            "sqs.${AWS::Region}.amazonaws.com",
        ]


def test_con_3_cloudtrail_encrypts_only_this_trails_logs(tpl: dict[str, Any], cfg_name: str) -> None:
    trail = f"{arn_prefix('cloudtrail')}trail/iam-guard-trail-{config(cfg_name).name_suffix}"
    encrypt = key_statement(tpl, KEY, "AllowCloudTrailToEncryptThisTrailsLogs")
    assert encrypt["Principal"] == {"Service": ["cloudtrail.amazonaws.com"]}
    assert encrypt["Action"] == ["kms:GenerateDataKey*"]
    equals = encrypt["Condition"]["StringEquals"]
    assert sub_text(equals["kms:EncryptionContext:aws:cloudtrail:arn"]) == trail
    assert sub_text(equals["aws:SourceArn"]) == trail
    describe = key_statement(tpl, KEY, "AllowCloudTrailToDescribeKey")
    assert describe["Action"] == ["kms:DescribeKey"]
    assert sub_text(describe["Condition"]["StringEquals"]["aws:SourceArn"]) == trail
    assert props(tpl, "Trail")["TrailName"] == trail.rsplit("/", 1)[1]


def test_con_3_lambda_encrypts_function_environments_only_through_lambda(tpl: dict[str, Any]) -> None:
    use = key_statement(tpl, KEY, "AllowLambdaEnvironmentEncryptionThroughLambda")
    assert set(use["Action"]) == {"kms:Decrypt", "kms:Encrypt"}
    assert (
        sub_text(use["Condition"]["StringEquals"]["kms:ViaService"]) == "lambda.${AWS::Region}.amazonaws.com"
    )
    grant = key_statement(tpl, KEY, "AllowLambdaGrantForTheFunctions")
    assert grant["Action"] == ["kms:CreateGrant"]
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    for function in ("PolicyAnalyzerFunction", "DailyAuditorFunction"):
        assert props(tpl, function)["KmsKeyArn"] == getatt(KEY)


def test_con_3_no_trail_statements_when_the_trail_is_not_created() -> None:
    sids = {s["Sid"] for s in statements(props(variant("existing-trail"), KEY)["KeyPolicy"])}
    assert "AllowCloudTrailToEncryptThisTrailsLogs" not in sids
    assert "AllowCloudWatchAlarmsToPublishToEncryptedTopic" in sids
