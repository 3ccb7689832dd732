"""H-5 (stack side): the state table of the handlers is encrypted with the stack key, recoverable, expires
old items on the contract's TTL attribute and is retained; each function reaches only its own item family
(dynamodb:LeadingKeys), and the key lets DynamoDB work for exactly these roles."""

from __future__ import annotations

from typing import Any

import pytest
from monitoring_helpers import STACK, getatt, key_statement, ref, role_statement, role_statements, variant

from iam_guard import contract
from template_helpers import as_list, config, props, resource, resources, sub_text, template

TABLE = "StateTable"
KEY = "MonitoringKey"
FUNCTIONS = {"PolicyAnalyzerFunction": "PolicyAnalyzerRole", "DailyAuditorFunction": "DailyAuditorRole"}
KEY_ACTIONS = {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}


@pytest.fixture
def tpl(cfg_name: str) -> dict[str, Any]:
    return template(cfg_name, STACK)


def dynamodb_allows(tpl: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        s
        for s in role_statements(tpl, role)
        if s["Effect"] == "Allow" and any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
    ]


def test_h_5_one_state_table_keyed_as_the_contract_says(tpl: dict[str, Any], cfg_name: str) -> None:
    assert list(resources(tpl, "AWS::DynamoDB::Table")) == [TABLE]
    table = props(tpl, TABLE)
    assert table["TableName"] == f"iam-guard-state-{config(cfg_name).name_suffix}"
    assert table["KeySchema"] == [
        {"AttributeName": contract.STATE_TABLE_PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": contract.STATE_TABLE_SORT_KEY, "KeyType": "RANGE"},
    ]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in table


def test_h_5_table_is_encrypted_with_the_stack_key(tpl: dict[str, Any]) -> None:
    assert props(tpl, TABLE)["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": getatt(KEY),
    }


def test_h_5_point_in_time_recovery_is_on(tpl: dict[str, Any]) -> None:
    assert props(tpl, TABLE)["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_h_5_ttl_expires_items_on_the_contracts_attribute(tpl: dict[str, Any]) -> None:
    assert props(tpl, TABLE)["TimeToLiveSpecification"] == {
        "AttributeName": contract.STATE_TABLE_TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert contract.STATE_TABLE_TTL_ATTRIBUTE == "expiresAt"


def test_h_5_table_holding_audit_state_is_retained_and_deletion_protected(tpl: dict[str, Any]) -> None:
    table = resource(tpl, TABLE)
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_h_5_both_functions_get_the_table_name_and_the_remediation_mode(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    for function in FUNCTIONS:
        variables = props(tpl, function)["Environment"]["Variables"]
        assert variables[contract.ENV_STATE_TABLE_NAME] == ref(TABLE)
        assert variables[contract.ENV_REMEDIATION_MODE] == config(cfg_name).monitoring.remediation_mode
    assert tpl["Outputs"]["StateTableName"]["Value"] == ref(TABLE)


def test_h_5_auditor_reaches_only_run_items_with_exactly_its_actions(tpl: dict[str, Any]) -> None:
    [grant] = dynamodb_allows(tpl, "DailyAuditorRole")
    assert grant["Sid"] == "UseOwnAuditRunsInStateTable"
    assert grant["Action"] == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    assert grant["Resource"] == [getatt(TABLE)]
    assert grant["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{contract.RUN_KEY_PREFIX}*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }


def test_h_5_analyzer_reaches_only_event_items_with_exactly_its_actions(tpl: dict[str, Any]) -> None:
    [grant] = dynamodb_allows(tpl, "PolicyAnalyzerRole")
    assert grant["Sid"] == "MarkHandledEventsInStateTable"
    assert grant["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert grant["Resource"] == [getatt(TABLE)]
    assert grant["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{contract.EVENT_KEY_PREFIX}*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }


def test_h_5_no_role_may_scan_or_batch_the_table(tpl: dict[str, Any]) -> None:
    """A Scan or a batch call carries no single leading key: none is granted to anyone."""
    for role in resources(tpl, "AWS::IAM::Role"):
        allowed = {a for s in dynamodb_allows(tpl, role) for a in as_list(s["Action"])}
        assert not {a for a in allowed if "Scan" in a or "Batch" in a or a.endswith("*")}, role


def test_h_5_key_admits_the_function_roles_only_through_dynamodb(tpl: dict[str, Any]) -> None:
    stmt = key_statement(tpl, KEY, "AllowFunctionRolesThroughDynamoDb")
    assert set(stmt["Action"]) == KEY_ACTIONS
    assert sub_text(stmt["Condition"]["StringEquals"]["kms:ViaService"]) == (
        "dynamodb.${AWS::Region}.amazonaws.com"
    )
    assert stmt["Condition"]["StringEquals"]["kms:CallerAccount"] == ref("AWS::AccountId")
    roles = [props(tpl, r)["RoleName"] for r in FUNCTIONS.values()]
    assert [sub_text(a) for a in stmt["Condition"]["ArnLike"]["aws:PrincipalArn"]] == [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}" for name in roles
    ]
    for role in FUNCTIONS.values():
        identity = role_statement(tpl, role, "UseStackKeyOnlyThroughDynamoDb")
        assert set(identity["Action"]) == KEY_ACTIONS and identity["Resource"] == [getatt(KEY)]
        assert sub_text(identity["Condition"]["StringEquals"]["kms:ViaService"]) == (
            "dynamodb.${AWS::Region}.amazonaws.com"
        )


def test_h_5_key_lets_dynamodb_hold_a_grant_for_the_table_only(tpl: dict[str, Any]) -> None:
    grant = key_statement(tpl, KEY, "AllowDynamoDbGrantForTheStateTable")
    assert grant["Action"] == ["kms:CreateGrant"]
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert sub_text(grant["Condition"]["StringEquals"]["kms:ViaService"]) == (
        "dynamodb.${AWS::Region}.amazonaws.com"
    )
    describe = key_statement(tpl, KEY, "AllowDescribeKeyThroughDynamoDb")
    assert describe["Action"] == ["kms:DescribeKey"]


def test_h_5_the_table_exists_in_every_variant() -> None:
    for name in ("existing-trail", "off", "quarantine"):
        assert props(variant(name), TABLE)["SSESpecification"]["KMSMasterKeyId"] == getatt(KEY), name
