"""DEP-2: the real deploy code deploys every stack of templates/dev.yaml to moto's server; the tests read
out/flat-outputs.json and check the live resources through boto3, run the policy-change handler end to
end against them, deploy again ("no changes"), and destroy (DS-9). Properties moto does not model are
listed in iam_guard.sandbox.emulator.MOTO_GAPS and proven by the unit tests over the generated JSON."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from integration_support import CLOUDTRAIL_FIXTURES, REPO_ROOT, Transcript

from iam_guard import contract, packaging
from iam_guard.build import StackArtifact, build_stacks
from iam_guard.config import Config, load_config
from iam_guard.deploy.artifacts import default_bucket_name
from iam_guard.deploy.destroy import destroy_all
from iam_guard.deploy.runner import FLAT_OUTPUTS_FILE, DeployOptions, deploy_all
from iam_guard.naming import PROJECT
from iam_guard.sandbox.emulator import for_moto, outputs_moto_cannot_resolve
from support import HANDLERS_DIR

pytestmark = [
    pytest.mark.integration,
    # moto's CloudFormation warns for every resource type it skips (MOTO_GAPS["unsupported-resource-types"]).
    pytest.mark.filterwarnings("ignore:Tried to parse AWS..+ but it.s not supported by moto:UserWarning"),
]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "templates" / "dev.yaml"
EXTERNAL_ID = "e2e-external-id-7f3c9a1b-0c4d2e6f8a"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Deployment:
    """One deploy of every stack: the config, the artifacts as moto received them, the exit code, what
    deploy said, the out folder and the flat outputs it wrote."""

    config: Config
    artifacts: list[StackArtifact]
    exit_code: int
    transcript: Transcript
    out_dir: Path
    outputs: dict[str, str]


@pytest.fixture(scope="module")
def deployment(aws_module: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    config = load_config(CONFIG_PATH)
    artifacts = [for_moto(artifact) for artifact in build_stacks(config)]
    out_dir = tmp_path_factory.mktemp("out")
    transcript = Transcript()
    options = DeployOptions(
        out_dir=out_dir, audit_external_id=EXTERNAL_ID, tags=config.tags, poll_seconds=0.05
    )
    exit_code = deploy_all(artifacts, options, say=transcript)
    outputs = json.loads((out_dir / FLAT_OUTPUTS_FILE).read_text()) if exit_code == 0 else {}
    yield Deployment(config, artifacts, exit_code, transcript, out_dir, outputs)


def stack(name: str) -> dict[str, Any]:
    return boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def key_id(key: str) -> str:
    """The key id of a key ARN or id, so the two forms compare equal."""
    return key.rsplit("/", 1)[-1]


def output(deployment: Deployment, name: str) -> str:
    assert name in deployment.outputs, f"{name} missing from flat-outputs.json"
    return deployment.outputs[name]


# -- the deploy itself (DEP-1) ------------------------------------------------------------------------


def test_dep_1_deploys_every_stack_with_config_tags(deployment: Deployment) -> None:
    assert deployment.exit_code == 0, deployment.transcript.text
    names = [artifact.name for artifact in deployment.artifacts]
    assert names[:2] == ["data-store", "monitoring"]
    for artifact in deployment.artifacts:
        live = stack(artifact.stack_name)
        assert live["StackStatus"] == "CREATE_COMPLETE"
        assert artifact.stack_name == f"{PROJECT}-{artifact.name}-{deployment.config.environment}"
        assert {t["Key"]: t["Value"] for t in live["Tags"]} == {
            "Environment": "dev",
            "Owner": "platform-security",
            "DataClassification": "confidential",
        }


def test_ds_9_every_deployed_stack_has_termination_protection(deployment: Deployment) -> None:
    for artifact in deployment.artifacts:
        assert stack(artifact.stack_name)["EnableTerminationProtection"] is True, artifact.stack_name


def test_dep_1_flat_outputs_holds_every_output_of_every_stack(deployment: Deployment) -> None:
    live: dict[str, str] = {}
    for artifact in deployment.artifacts:
        live.update({o["OutputKey"]: o["OutputValue"] for o in stack(artifact.stack_name).get("Outputs", [])})
    assert deployment.outputs == live
    text = (deployment.out_dir / FLAT_OUTPUTS_FILE).read_text()
    assert list(json.loads(text)) == sorted(live), "keys are sorted"
    expected = set()
    for artifact in build_stacks(deployment.config):
        declared = set(json.loads(artifact.body).get("Outputs", {}))
        expected |= declared - set(outputs_moto_cannot_resolve(artifact.body))
    assert set(deployment.outputs) == expected


def test_dep_1_exports_are_unique_and_named_after_project_stack_and_environment(
    deployment: Deployment,
) -> None:
    exports = boto3.client("cloudformation").list_exports()["Exports"]
    names = [export["Name"] for export in exports]
    assert len(names) == len(set(names)) == len(deployment.outputs)
    for export in exports:
        assert re.fullmatch(
            rf"{PROJECT}-(data-store|monitoring|monitoring-forwarder)-dev-\w+", export["Name"]
        )


def test_dep_1_handler_zips_are_uploaded_under_their_content_hash_keys(deployment: Deployment) -> None:
    s3 = boto3.client("s3")
    bucket = default_bucket_name(ACCOUNT, deployment.config.region)
    lambda_client = boto3.client("lambda")
    functions = {
        "policy_change": output(deployment, "PolicyAnalyzerFunctionName"),
        "daily_audit": output(deployment, "DailyAuditorFunctionName"),
    }
    for handler, function_name in functions.items():
        payload = packaging.build_zip(handler)
        key = packaging.zip_key(handler)
        stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(payload).hexdigest()
        assert (deployment.out_dir / Path(key).name).read_bytes() == payload
        code = lambda_client.get_function(FunctionName=function_name)["Code"]["Location"]
        assert code.endswith(key), f"{function_name} runs {code}, not {key}"


def test_dep_1_artifact_bucket_is_hardened(deployment: Deployment) -> None:
    s3 = boto3.client("s3")
    bucket = default_bucket_name(ACCOUNT, deployment.config.region)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(statement["Resource"]) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}


def test_dep_1_external_id_reaches_the_trust_policy_and_is_never_printed(deployment: Deployment) -> None:
    role_name = output(deployment, "AuditRoleArn").rsplit("/", 1)[-1]
    trust = boto3.client("iam").get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    conditions = [statement["Condition"] for statement in trust["Statement"]]
    assert {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}} in conditions
    assert EXTERNAL_ID not in deployment.transcript.text
    for path in deployment.out_dir.iterdir():
        assert EXTERNAL_ID.encode() not in path.read_bytes(), f"{path.name} holds the external ID"


# -- the live resources (DEP-2) -----------------------------------------------------------------------


def test_dep_2_ds_1_mon_2_keys_rotate(deployment: Deployment) -> None:
    kms = boto3.client("kms")
    for name in ("DataKeyArn", "StackKeyArn"):
        assert kms.get_key_rotation_status(KeyId=output(deployment, name))["KeyRotationEnabled"] is True, name


def test_dep_2_mon_3_ds_1_every_log_group_keeps_its_configured_retention(deployment: Deployment) -> None:
    logs = boto3.client("logs")
    cloudformation = boto3.client("cloudformation")
    retention = {
        "data-store": deployment.config.data_store.log_retention_days,
        "monitoring": deployment.config.monitoring.log_retention_days,
    }
    checked = []
    for artifact in deployment.artifacts:
        resources = cloudformation.list_stack_resources(StackName=artifact.stack_name)[
            "StackResourceSummaries"
        ]
        for resource in resources:
            if resource["ResourceType"] != "AWS::Logs::LogGroup":
                continue
            group = resource["PhysicalResourceId"]
            (found,) = [
                g
                for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
                if g["logGroupName"] == group
            ]
            assert found["retentionInDays"] == retention[artifact.name], group
            checked.append(group)
    assert output(deployment, "SecurityLogGroupName") in checked
    assert output(deployment, "DataStoreAuditLogGroupName") in checked
    assert len(checked) >= 4, "security events, data-store audit and one per function"


def test_dep_2_mon_4_con_5_change_rule_pattern_and_target_with_dlq_and_retry(deployment: Deployment) -> None:
    events = boto3.client("events")
    rule = events.describe_rule(Name=output(deployment, "IamChangeRuleName"))
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.iam"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert {
        "CreatePolicy",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "AttachRolePolicy",
        "PutRolePolicy",
        "UpdateAssumeRolePolicy",
        "CreateRole",
    } <= set(pattern["detail"]["eventName"])
    (target,) = events.list_targets_by_rule(Rule=output(deployment, "IamChangeRuleName"))["Targets"]
    assert target["Arn"] == output(deployment, "PolicyAnalyzerFunctionArn")
    assert target["DeadLetterConfig"]["Arn"] == output(deployment, "EventDeliveryDlqArn")
    assert 0 < target["RetryPolicy"]["MaximumRetryAttempts"] <= 185
    assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400


def test_dep_2_mon_8_daily_audit_schedule_targets_the_auditor(deployment: Deployment) -> None:
    events = boto3.client("events")
    rule = events.describe_rule(Name=output(deployment, "DailyAuditRuleName"))
    hour = deployment.config.monitoring.audit_hour_utc
    assert rule["ScheduleExpression"] == f"cron(0 {hour} * * ? *)"
    (target,) = events.list_targets_by_rule(Rule=output(deployment, "DailyAuditRuleName"))["Targets"]
    assert target["Arn"] == output(deployment, "DailyAuditorFunctionArn")
    assert target["DeadLetterConfig"]["Arn"] == output(deployment, "EventDeliveryDlqArn")
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_dep_2_mon_5_ds_4_roles_have_one_hour_sessions_and_narrow_trust(deployment: Deployment) -> None:
    iam = boto3.client("iam")
    for name in ("PolicyAnalyzerRoleArn", "DailyAuditorRoleArn"):
        role = iam.get_role(RoleName=output(deployment, name).rsplit("/", 1)[-1])["Role"]
        assert role["MaxSessionDuration"] == 3600, name
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": ["lambda.amazonaws.com"]}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    audit = iam.get_role(RoleName=output(deployment, "AuditRoleArn").rsplit("/", 1)[-1])["Role"]
    assert audit["MaxSessionDuration"] == 3600
    principals = {p for s in audit["AssumeRolePolicyDocument"]["Statement"] for p in s["Principal"]["AWS"]}
    assert principals == {
        f"arn:aws:iam::{account}:root" for account in deployment.config.monitoring.trusted_audit_account_ids
    }
    for name in ("DataAnalystRoleArn", "DataEngineerRoleArn"):
        role = iam.get_role(RoleName=output(deployment, name).rsplit("/", 1)[-1])["Role"]
        assert role["MaxSessionDuration"] == 3600, name
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
        assert statement["Condition"]["IpAddress"] == {"aws:SourceIp": list(deployment.config.allowed_cidrs)}


def test_dep_2_con_1_edge_2_functions_runtime_timeout_environment_and_concurrency(
    deployment: Deployment,
) -> None:
    lambda_client = boto3.client("lambda")
    monitoring = deployment.config.monitoring
    common = {
        "ALERT_TOPIC_ARN": output(deployment, "AlertTopicArn"),
        "SECURITY_LOG_GROUP": output(deployment, "SecurityLogGroupName"),
        "ALERT_SEVERITY": monitoring.alert_severity,
        "METRICS_NAMESPACE": "IamGuard",
        "ENVIRONMENT": deployment.config.environment,
    }
    specific = {
        "PolicyAnalyzerFunctionName": {
            "REMEDIATION_MODE": monitoring.remediation_mode,
            "QUARANTINE_POLICY_ARN": output(deployment, "QuarantinePolicyArn"),
        },
        "DailyAuditorFunctionName": {
            "AUDIT_CONTINUATION_QUEUE_URL": output(deployment, "ContinuationQueueUrl")
        },
    }
    for name, extra in specific.items():
        function = lambda_client.get_function(FunctionName=output(deployment, name))
        config = function["Configuration"]
        assert (
            re.fullmatch(r"python3\.(\d+)", config["Runtime"]) and int(config["Runtime"].split(".")[1]) >= 12
        )
        assert 0 < config["Timeout"] <= 60, name
        variables = config["Environment"]["Variables"]
        assert {key: variables.get(key) for key in {**common, **extra}} == {**common, **extra}, name
        assert function["Concurrency"]["ReservedConcurrentExecutions"] > 0, name
    analyzer = lambda_client.get_function_configuration(
        FunctionName=output(deployment, "PolicyAnalyzerFunctionName")
    )
    exempt = analyzer["Environment"]["Variables"]["EXEMPT_PRINCIPAL_ARNS"].split(",")
    assert output(deployment, "PolicyAnalyzerRoleArn") in exempt
    assert output(deployment, "DailyAuditorRoleArn") in exempt


def test_dep_2_mon_2_topic_and_queues_are_encrypted_with_the_stack_key(deployment: Deployment) -> None:
    stack_key = key_id(output(deployment, "StackKeyArn"))
    topic = boto3.client("sns").get_topic_attributes(TopicArn=output(deployment, "AlertTopicArn"))[
        "Attributes"
    ]
    assert key_id(topic["KmsMasterKeyId"]) == stack_key
    sqs = boto3.client("sqs")
    queue_outputs = [
        name for name in deployment.outputs if name.endswith("Url") and "sqs" in deployment.outputs[name]
    ]
    assert len(queue_outputs) >= 4
    for name in queue_outputs:
        attributes = sqs.get_queue_attributes(QueueUrl=deployment.outputs[name], AttributeNames=["All"])[
            "Attributes"
        ]
        assert key_id(attributes["KmsMasterKeyId"]) == stack_key, name


def test_dep_2_h_5_state_table_is_keyed_by_the_contract_and_encrypted_with_the_stack_key(
    deployment: Deployment,
) -> None:
    dynamodb = boto3.client("dynamodb")
    table = dynamodb.describe_table(TableName=output(deployment, "StateTableName"))["Table"]
    assert table["TableArn"] == output(deployment, "StateTableArn")
    assert table["KeySchema"] == [
        {"AttributeName": contract.STATE_TABLE_PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": contract.STATE_TABLE_SORT_KEY, "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert key_id(table["SSEDescription"]["KMSMasterKeyArn"]) == key_id(output(deployment, "StackKeyArn"))
    assert table["DeletionProtectionEnabled"] is True
    ttl = dynamodb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": contract.STATE_TABLE_TTL_ATTRIBUTE}
    backups = dynamodb.describe_continuous_backups(TableName=table["TableName"])[
        "ContinuousBackupsDescription"
    ]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    for name in ("PolicyAnalyzerFunctionName", "DailyAuditorFunctionName"):
        variables = boto3.client("lambda").get_function_configuration(FunctionName=output(deployment, name))[
            "Environment"
        ]["Variables"]
        assert variables[contract.ENV_STATE_TABLE_NAME] == table["TableName"], name
    # A conditional put on an event item, as the handlers deduplicate: the second one is refused.
    item = {"pk": {"S": f"{contract.EVENT_KEY_PREFIX}e2e-event"}, "sk": {"S": "event"}}
    dynamodb.put_item(TableName=table["TableName"], Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName=table["TableName"], Item=item, ConditionExpression="attribute_not_exists(pk)"
        )


def test_dep_2_h_2_continuation_queue_triggers_the_auditor_one_message_at_a_time(
    deployment: Deployment,
) -> None:
    mappings = boto3.client("lambda").list_event_source_mappings(
        FunctionName=output(deployment, "DailyAuditorFunctionName")
    )["EventSourceMappings"]
    queue_url = output(deployment, "ContinuationQueueUrl")
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    (mapping,) = mappings
    assert mapping["EventSourceArn"] == queue_arn["Attributes"]["QueueArn"]
    assert mapping["BatchSize"] == 1


def test_dep_2_ds_1_data_bucket_is_encrypted_with_the_data_key(deployment: Deployment) -> None:
    encryption = boto3.client("s3").get_bucket_encryption(Bucket=output(deployment, "DataBucketName"))
    default = encryption["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"
    ]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert key_id(default["KMSMasterKeyID"]) == key_id(output(deployment, "DataKeyArn"))


# -- end to end: a permissive policy reaches the alert topic and the security log (MON-1, H-1) ---------


def test_dep_2_mon_1_permissive_policy_alert_reaches_the_topic_and_the_log(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = boto3.client("iam")
    wide_open = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    policy_arn = iam.create_policy(PolicyName="wide-open", PolicyDocument=json.dumps(wide_open))["Policy"][
        "Arn"
    ]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="app-runner", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="app-runner", PolicyArn=policy_arn)
    event = json.loads((CLOUDTRAIL_FIXTURES / "attach_role_policy_customer.json").read_text())
    assert event["detail"]["requestParameters"] == {"policyArn": policy_arn, "roleName": "app-runner"}

    alerts_queue = subscribe_queue(output(deployment, "AlertTopicArn"))
    function_name = output(deployment, "PolicyAnalyzerFunctionName")
    environment = boto3.client("lambda").get_function_configuration(FunctionName=function_name)["Environment"]
    for name, value in environment["Variables"].items():
        monkeypatch.setenv(name, value)
    policy_change = import_handler("policy_change")

    policy_change.handler(event, LambdaContext(function_name))

    (alert,) = receive_notifications(alerts_queue)
    assert alert["TopicArn"] == output(deployment, "AlertTopicArn")
    assert "IAMG001" in alert["Message"] and "app-runner" in alert["Message"]
    records = security_log_records(output(deployment, "SecurityLogGroupName"))
    (record,) = [r for r in records if r.get("kind") == "policy-finding"]
    assert record["target"]["policyArn"] == policy_arn
    assert record["target"]["principalName"] == "app-runner"
    assert record["eventName"] == "AttachRolePolicy"
    assert record["finding"]["code"] == "IAMG001"
    assert record["finding"]["severity"] == "critical"
    assert record["finding"]["actions"] == ["*"] and record["finding"]["resources"] == ["*"]


def test_dep_2_mon_12_disabling_the_iam_rule_alerts_through_the_tamper_rule(deployment: Deployment) -> None:
    """Deploy, disable the IAM change rule through the API, put that call's CloudTrail event on the bus
    (moto records none: MOTO_GAPS["events-from-api-calls"]): the deployed tamper rule matches it, its input
    transformer writes the message, and the topic delivers it to an SQS subscriber. No function runs."""
    events = boto3.client("events")
    rule_name = output(deployment, "IamChangeRuleName")
    events.disable_rule(Name=rule_name)
    try:
        assert events.describe_rule(Name=rule_name)["State"] == "DISABLED"
        recorded = json.loads((REPO_ROOT / "tests/fixtures/tamper/rules.json").read_text())["tamper"][0]
        assert recorded["detail"]["eventName"] == "DisableRule"
        assert recorded["detail"]["requestParameters"] == {"name": rule_name}
        reader = subscribe_queue(output(deployment, "AlertTopicArn"), "e2e-tamper-reader")

        reply = events.put_events(
            Entries=[
                {
                    "Source": recorded["source"],
                    "DetailType": recorded["detail-type"],
                    "Detail": json.dumps(recorded["detail"]),
                }
            ]
        )

        assert reply["FailedEntryCount"] == 0
        (alert,) = receive_notifications(reader)
        assert alert["TopicArn"] == output(deployment, "AlertTopicArn")
        lines = alert["Message"].split("\n")
        assert lines[0] == "iam-guard TAMPER ALERT (dev, us-east-1)"
        assert lines[2] == "DisableRule on an iam-guard EventBridge rule"
        assert lines[3] == "by arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice from 203.0.113.17"
        assert recorded["detail"]["eventID"] in lines[4]
    finally:
        events.enable_rule(Name=rule_name)


def test_dep_2_mon_12_an_own_deploy_call_raises_no_tamper_alert(deployment: Deployment) -> None:
    events = boto3.client("events")
    recorded = json.loads((REPO_ROOT / "tests/fixtures/tamper/rules.json").read_text())["own_deploy"][0]
    assert recorded["detail"]["sourceIPAddress"] == "cloudformation.amazonaws.com"
    reader = subscribe_queue(output(deployment, "AlertTopicArn"), "e2e-own-deploy-reader")
    events.put_events(
        Entries=[
            {
                "Source": recorded["source"],
                "DetailType": recorded["detail-type"],
                "Detail": json.dumps(recorded["detail"]),
            }
        ]
    )
    assert receive_notifications(reader) == []


@dataclass
class LambdaContext:
    """The parts of the Lambda context the handler reads."""

    function_name: str
    aws_request_id: str = "e2e00000-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 50_000


def import_handler(name: str) -> Any:
    import importlib
    import sys

    if str(HANDLERS_DIR) not in sys.path:
        sys.path.insert(0, str(HANDLERS_DIR))  # Lambda puts the zip's root on sys.path
    return importlib.import_module(name)


def subscribe_queue(topic_arn: str, name: str = "e2e-alert-reader") -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def receive_notifications(queue_url: str) -> list[dict[str, Any]]:
    reply = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(message["Body"]) for message in reply.get("Messages", [])]


def security_log_records(group: str) -> list[dict[str, Any]]:
    logs = boto3.client("logs")
    events = [
        e
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        for e in page["events"]
    ]
    return [json.loads(event["message"]) for event in sorted(events, key=lambda e: e["timestamp"])]


# -- again, then away (DEP-1, DS-9) -------------------------------------------------------------------


def test_dep_1_second_deploy_of_every_stack_reports_no_changes(deployment: Deployment) -> None:
    transcript = Transcript()
    options = DeployOptions(
        out_dir=deployment.out_dir, tags=deployment.config.tags, poll_seconds=0.05
    )  # no external ID given: the stack keeps its previous value
    assert os.environ.get("IAM_GUARD_AUDIT_EXTERNAL_ID") is None

    assert deploy_all(deployment.artifacts, options, say=transcript) == 0

    for artifact in deployment.artifacts:
        assert f"stack {artifact.stack_name}: unchanged: no changes" in transcript.text
    assert "already there, skipped" in transcript.text
    assert "uploaded" not in transcript.text.replace("already there", "")
    assert json.loads((deployment.out_dir / FLAT_OUTPUTS_FILE).read_text()) == deployment.outputs


def test_ds_9_destroy_deletes_the_stacks_and_names_the_retained_resources(deployment: Deployment) -> None:
    transcript = Transcript()

    assert destroy_all(deployment.artifacts, say=transcript, poll_seconds=0.05) == 0

    cloudformation = boto3.client("cloudformation")
    live = {
        s["StackName"]
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
    assert not live & {artifact.stack_name for artifact in deployment.artifacts}
    data_bucket = output(deployment, "DataBucketName")
    boto3.client("s3").head_bucket(Bucket=data_bucket)  # raises if the data bucket went with the stack
    assert f"DataBucket (AWS::S3::Bucket): {data_bucket}" in transcript.text
    data_key = boto3.client("kms").describe_key(KeyId=output(deployment, "DataKeyArn"))["KeyMetadata"]
    assert data_key["KeyState"] == "Enabled"
    assert f"DataKey (AWS::KMS::Key): {data_key['KeyId']}" in transcript.text
    security_log = output(deployment, "SecurityLogGroupName")
    groups = boto3.client("logs").describe_log_groups(logGroupNamePrefix=security_log)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [security_log]
    assert f"SecurityEventsLogGroup (AWS::Logs::LogGroup): {security_log}" in transcript.text
    state_table = output(deployment, "StateTableName")
    boto3.client("dynamodb").describe_table(TableName=state_table)  # raises if the table went too
    assert f"StateTable (AWS::DynamoDB::Table): {state_table}" in transcript.text
    functions = boto3.client("lambda").list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].startswith(PROJECT)], (
        "non-retained resources are gone"
    )


def test_ops_2_deploy_after_destroy_adopts_every_retained_resource_of_both_stacks(
    deployment: Deployment,
) -> None:
    """Runs after the destroy above: the whole config comes back on the same buckets, keys and logs."""
    transcript = Transcript()
    options = DeployOptions(
        out_dir=deployment.out_dir,
        audit_external_id=EXTERNAL_ID,
        tags=deployment.config.tags,
        poll_seconds=0.05,
    )

    assert deploy_all(deployment.artifacts, options, say=transcript) == 0, transcript.text

    again = json.loads((deployment.out_dir / FLAT_OUTPUTS_FILE).read_text())
    for name in ("DataBucketName", "DataKeyArn", "TrailBucketName", "SecurityLogGroupName"):
        assert again[name] == deployment.outputs[name], name
    for artifact in deployment.artifacts:
        assert f"stack {artifact.stack_name}: created: UPDATE_COMPLETE" in transcript.text
    retained = [
        spec["Type"]
        for artifact in deployment.artifacts
        for spec in json.loads(artifact.body)["Resources"].values()
        if spec.get("DeletionPolicy") == "Retain"
    ]
    adoptable = [kind for kind in retained if kind != "AWS::S3::BucketPolicy"]  # a policy is rewritten
    assert transcript.lines[-1].endswith(f"{len(adoptable)} imported, 0 deleted, 0 failed")
