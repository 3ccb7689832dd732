"""The fault-injection proxy does what the fault tests rely on: each fault reaches a real boto3 client as
the service's own error, on the matching operation only, and a duplicated SendMessage leaves two messages."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from fault_injection import FaultProxy, FaultRule

pytestmark = pytest.mark.integration

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_h_5_throttling_reaches_the_client_as_the_services_error(fault_proxy: FaultProxy) -> None:
    iam = boto3.client("iam", config=NO_RETRIES)
    rule = fault_proxy.add(FaultRule("iam", "ListRoles", "throttle", times=1))

    with pytest.raises(ClientError) as raised:
        iam.list_roles()
    assert raised.value.response["Error"]["Code"] == "Throttling"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert iam.list_roles()["Roles"] == []  # times=1: the second call goes through
    iam.list_users()  # another operation is never faulted
    assert rule.applied == 1
    assert fault_proxy.count("iam", "ListRoles") == 2
    assert fault_proxy.count("iam", "ListUsers") == 1


def test_h_5_json_protocol_services_get_their_error_shape(fault_proxy: FaultProxy) -> None:
    dynamodb = boto3.client("dynamodb", config=NO_RETRIES)
    fault_proxy.add(FaultRule("dynamodb", "ListTables", "throttle"))
    fault_proxy.add(FaultRule("logs", "DescribeLogGroups", "error500", skip=1))
    logs = boto3.client("logs", config=NO_RETRIES)

    with pytest.raises(ClientError) as throttled:
        dynamodb.list_tables()
    logs.describe_log_groups()  # skip=1: the first call goes through
    with pytest.raises(ClientError) as failed:
        logs.describe_log_groups()

    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    assert failed.value.response["Error"]["Code"] == "InternalFailure"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_h_5_a_duplicated_send_leaves_two_copies_in_the_queue(fault_proxy: FaultProxy) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="duplicates")["QueueUrl"]
    fault_proxy.add(FaultRule("sqs", "SendMessage", "duplicate", times=1))

    sqs.send_message(QueueUrl=queue_url, MessageBody='{"runId":"r1","step":2}')
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]

    assert [message["Body"] for message in received] == ['{"runId":"r1","step":2}'] * 2
    assert len({message["MessageId"] for message in received}) == 2


def test_fault_rule_rejects_an_unknown_fault() -> None:
    with pytest.raises(ValueError, match="'explode' is not one of"):
        FaultRule("iam", "ListRoles", "explode")
