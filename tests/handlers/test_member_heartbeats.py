"""ORG-1 / MON-13 per member account, the PolicyAnalyzer's side (member_heartbeats.py): a member's canary
(TagPolicy of its canary policy, through the central bus) records that account's arrival in the org-audit
state table and emits MemberCanaryReceived; an event that is not exactly that (another account's ARN, a
wrong tag key, a malformed tag list, the security account itself) records nothing and stays what any other
TagPolicy is: logged and acknowledged."""

from __future__ import annotations

import copy
import time
from typing import Any

import boto3
import pytest
from handler_helpers import (
    ACCOUNT,
    FakeContext,
    Monitoring,
    emf_records,
    load_event,
    log_lines,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)

import policy_change
from iam_guard import contract
from lambda_support import SettingsError
from member_heartbeats import HeartbeatSettings, member_canary_account

pytestmark = pytest.mark.integration

MEMBER = "111122223333"
OTHER_MEMBER = "444455556666"
ORGANIZATION_ID = "o-a1b2c3d4e5"
CANARY_POLICY = "IamGuardOrgMemberCanary-dev-us-east-1"
HEARTBEAT_TABLE = "iam-guard-org-audit-state-dev-us-east-1"


@pytest.fixture
def org_heartbeats(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The PolicyAnalyzer's organization environment (as the monitoring stack sets it with an
    organization) and the org-security stack's state table, which holds the heartbeats."""
    monkeypatch.setenv(contract.ENV_ORGANIZATION_ID, ORGANIZATION_ID)
    monkeypatch.setenv(contract.ENV_MEMBER_AUDIT_ROLE, "IamGuardOrgMemberAudit-dev-us-east-1")
    monkeypatch.setenv(contract.ENV_MEMBER_CANARY_POLICY, CANARY_POLICY)
    monkeypatch.setenv(contract.ENV_ORG_HEARTBEAT_TABLE_NAME, HEARTBEAT_TABLE)
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=HEARTBEAT_TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


def member_canary_event(account: str = MEMBER) -> dict[str, Any]:
    """The member's schedule's TagPolicy as the central bus delivers it."""
    event = copy.deepcopy(load_event("tag_policy_canary"))
    detail = event["detail"]
    event["account"] = detail["recipientAccountId"] = detail["userIdentity"]["accountId"] = account
    detail["requestParameters"]["policyArn"] = f"arn:aws:iam::{account}:policy/{CANARY_POLICY}"
    return event


def heartbeat_items(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=HEARTBEAT_TABLE)["Items"]


def test_org_1_member_canary_records_the_arrival_and_emits_one_metric_without_alert(
    org_heartbeats: Any, monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    before = int(time.time())
    result = policy_change.handler(member_canary_event(), FakeContext())
    after = int(time.time())

    assert result == {"status": "member-heartbeat", "account": MEMBER}
    [item] = heartbeat_items(org_heartbeats)
    assert item["pk"] == {"S": f"heartbeat#{MEMBER}"} and item["sk"] == {"S": "heartbeat"}
    arrival = int(item["lastArrival"]["N"])
    assert before <= arrival <= after
    assert int(item["expiresAt"]["N"]) == arrival + contract.HEARTBEAT_RETENTION_DAYS * 86400
    out = capsys.readouterr().out
    [metrics] = emf_records(out)
    [directive] = metrics["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Environment"]]
    assert directive["Metrics"] == [{"Name": "MemberCanaryReceived", "Unit": "Count"}]
    assert metrics["MemberCanaryReceived"] == 1.0
    [line] = log_lines(out)
    assert (line["message"], line["account"]) == ("member canary heartbeat", MEMBER)
    assert monitoring.alerts() == [] and monitoring.records() == []


def test_org_1_a_late_member_canary_never_moves_the_arrival_back(org_heartbeats: Any) -> None:
    future = int(time.time()) + 3600
    org_heartbeats.put_item(
        TableName=HEARTBEAT_TABLE,
        Item={
            "pk": {"S": f"heartbeat#{MEMBER}"},
            "sk": {"S": "heartbeat"},
            "lastArrival": {"N": str(future)},
        },
    )
    policy_change.handler(member_canary_event(), FakeContext())
    [item] = heartbeat_items(org_heartbeats)
    assert item["lastArrival"] == {"N": str(future)}


def _another_accounts_arn(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["policyArn"] = f"arn:aws:iam::{OTHER_MEMBER}:policy/{CANARY_POLICY}"


def _wrong_tag_key(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["tags"] = [{"key": "team", "value": "x"}]


def _extra_tag(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["tags"].append({"key": "owner", "value": "x"})


def _no_tags(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["tags"] = []


def _tags_not_a_list(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["tags"] = {"key": contract.CANARY_TAG_KEY}


def _path_in_arn(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["policyArn"] = f"arn:aws:iam::{MEMBER}:policy/x/{CANARY_POLICY}"


def _other_policy_name(event: dict[str, Any]) -> None:
    event["detail"]["requestParameters"]["policyArn"] = f"arn:aws:iam::{MEMBER}:policy/{CANARY_POLICY}x"


def _thirteen_digits(event: dict[str, Any]) -> None:
    account = MEMBER + "4"
    event["account"] = event["detail"]["recipientAccountId"] = account
    event["detail"]["requestParameters"]["policyArn"] = f"arn:aws:iam::{account}:policy/{CANARY_POLICY}"


def _two_accounts(event: dict[str, Any]) -> None:
    event["account"] = OTHER_MEMBER


def _the_security_account_itself(event: dict[str, Any]) -> None:
    event["account"] = event["detail"]["recipientAccountId"] = ACCOUNT
    event["detail"]["requestParameters"]["policyArn"] = f"arn:aws:iam::{ACCOUNT}:policy/{CANARY_POLICY}"


FORGERIES = [
    _another_accounts_arn,
    _wrong_tag_key,
    _extra_tag,
    _no_tags,
    _tags_not_a_list,
    _path_in_arn,
    _other_policy_name,
    _thirteen_digits,
    _two_accounts,
    _the_security_account_itself,
]


@pytest.mark.parametrize("forge", FORGERIES, ids=[forge.__name__.strip("_") for forge in FORGERIES])
def test_org_1_a_forged_member_canary_records_nothing(
    org_heartbeats: Any, monitoring: Monitoring, forge: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    event = member_canary_event()
    forge(event)

    result = policy_change.handler(event, FakeContext())

    assert result["status"] == "ignored"
    assert heartbeat_items(org_heartbeats) == []
    out = capsys.readouterr().out
    assert emf_records(out) == []
    assert monitoring.alerts() == [] and monitoring.records() == []


def test_org_1_without_an_organization_a_member_canary_is_an_ordinary_tag_policy(
    monitoring: Monitoring, capsys: pytest.CaptureFixture[str]
) -> None:
    result = policy_change.handler(member_canary_event(), FakeContext())
    assert result["status"] == "ignored"
    assert emf_records(capsys.readouterr().out) == []


def test_org_1_member_canary_account_checks_the_arn_against_the_event_account() -> None:
    request = {
        "policyArn": f"arn:aws-us-gov:iam::{MEMBER}:policy/{CANARY_POLICY}",
        "tags": [{"key": contract.CANARY_TAG_KEY, "value": "t"}],
    }
    accounts = frozenset({MEMBER})
    assert (
        member_canary_account("TagPolicy", accounts, request, ACCOUNT, CANARY_POLICY, "aws-us-gov") == MEMBER
    )
    # The partition is the function's own: an ARN of another partition is not this deployment's canary.
    assert member_canary_account("TagPolicy", accounts, request, ACCOUNT, CANARY_POLICY, "aws") is None
    assert (
        member_canary_account("UntagPolicy", accounts, request, ACCOUNT, CANARY_POLICY, "aws-us-gov") is None
    )


def test_org_1_heartbeat_settings_are_both_set_or_neither() -> None:
    assert HeartbeatSettings.from_environment({}) is None
    settings = HeartbeatSettings.from_environment(
        {contract.ENV_MEMBER_CANARY_POLICY: CANARY_POLICY, contract.ENV_ORG_HEARTBEAT_TABLE_NAME: "t-able"}
    )
    assert settings is not None and settings.table_name == "t-able"
    with pytest.raises(SettingsError, match=contract.ENV_ORG_HEARTBEAT_TABLE_NAME):
        HeartbeatSettings.from_environment({contract.ENV_MEMBER_CANARY_POLICY: CANARY_POLICY})
    with pytest.raises(SettingsError, match=contract.ENV_MEMBER_CANARY_POLICY):
        HeartbeatSettings.from_environment(
            {contract.ENV_MEMBER_CANARY_POLICY: "a b", contract.ENV_ORG_HEARTBEAT_TABLE_NAME: "t-able"}
        )
