"""ORG-2: the fan-out audit's resources in the org-security template of templates/org.yaml, read from the
generated JSON: the queues and their redrive, the event source mapping's MaximumConcurrency, the functions'
permissions (what each may call, on what, under which condition), the results bucket's protection, the
alarms, the names the member audit role and the handlers share, and the organization config's new keys."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from iam_guard import contract, packaging
from iam_guard.config import ConfigError, parse_config
from iam_guard.remote_audit import audit_session_policy
from iam_guard.stacks.org_audit_storage import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR, WORKER_ATTEMPTS
from support import HANDLERS_DIR
from template_helpers import (
    as_list,
    config,
    inline_policy_documents,
    props,
    resource,
    resources,
    statement,
    sub_text,
)
from template_helpers import template as generated

ORGANIZATION_ID = "o-a1b2c3d4e5"
SECURITY = "org-security"
WORKER_ROLES = {
    "OrgAuditSchedulerFunction": "OrgAuditSchedulerRole",
    "OrgAuditWorkerFunction": "OrgAuditWorkerRole",
    "OrgAuditConsolidatorFunction": "OrgAuditConsolidatorRole",
}


@pytest.fixture(scope="module")
def security() -> dict[str, Any]:
    return generated("org", SECURITY)


def policy_of(tpl: dict[str, Any], role_id: str) -> dict[str, Any]:
    [document] = inline_policy_documents(resource(tpl, role_id))
    return document


def allowed_actions(document: dict[str, Any]) -> set[str]:
    return {
        action
        for stmt in document["Statement"]
        if stmt["Effect"] == "Allow"
        for action in as_list(stmt["Action"])
    }


def test_org_2_audit_queue_redrives_to_an_encrypted_dead_letter_queue_after_bounded_receives(
    security: dict[str, Any],
) -> None:
    for queue_id, dlq_id in (
        ("OrgAuditQueue", "OrgAuditDlq"),
        ("OrgConsolidationQueue", "OrgConsolidationDlq"),
    ):
        queue = props(security, queue_id)
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": 5,
        }
        assert queue["VisibilityTimeout"] == VISIBILITY_TIMEOUT_FACTOR * 60 == 360
        for encrypted in (queue, props(security, dlq_id)):
            assert encrypted["KmsMasterKeyId"] == {"Fn::GetAtt": ["OrgAuditKey", "Arn"]}
    # The worker reports an account failed on its third delivery, before SQS gives the message up.
    assert WORKER_ATTEMPTS == 3 and MAX_RECEIVE_COUNT == 5
    worker = sys.modules.get("org_audit_worker")
    if worker is None:
        sys.path.insert(0, str(HANDLERS_DIR))
        import org_audit_worker as worker
    assert worker.MAX_ATTEMPTS == WORKER_ATTEMPTS


def test_org_2_worker_mapping_bounds_concurrency_with_maximum_concurrency(security: dict[str, Any]) -> None:
    mappings = {
        mapping["Properties"]["FunctionName"]["Ref"]: mapping["Properties"]
        for mapping in resources(security, "AWS::Lambda::EventSourceMapping").values()
    }
    worker = mappings["OrgAuditWorkerFunction"]
    concurrency = config("org").organization.audit_concurrency
    assert worker["EventSourceArn"] == {"Fn::GetAtt": ["OrgAuditQueue", "Arn"]}
    assert worker["BatchSize"] == 1 and worker["ScalingConfig"] == {"MaximumConcurrency": concurrency}
    assert props(security, "OrgAuditWorkerFunction")["ReservedConcurrentExecutions"] == concurrency
    assert mappings["OrgAuditConsolidatorFunction"]["ScalingConfig"] == {"MaximumConcurrency": 2}
    for function_id in WORKER_ROLES:
        function = props(security, function_id)
        assert function["Timeout"] <= 60 and function["KmsKeyArn"] == {"Fn::GetAtt": ["OrgAuditKey", "Arn"]}
        assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["OrgAuditFunctionsDlq", "Arn"]}}


def test_org_2_schedule_starts_the_scheduler_at_the_configured_hour_with_dlq(
    security: dict[str, Any],
) -> None:
    rule = props(security, "OrgAuditSchedule")
    hour = config("org").organization.audit_hour_utc
    assert rule["ScheduleExpression"] == f"cron(0 {hour} * * ? *)"
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["OrgAuditSchedulerFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["OrgAuditFunctionsDlq", "Arn"]}}
    permission = props(security, "OrgAuditSchedulerInvokePermission")
    assert permission["SourceArn"] == {"Fn::GetAtt": ["OrgAuditSchedule", "Arn"]}


def test_org_2_worker_assumes_only_the_member_audit_role_inside_the_organization(
    security: dict[str, Any],
) -> None:
    document = policy_of(security, "OrgAuditWorkerRole")
    assume = statement(document, "AssumeTheMemberAuditRoleInsideTheOrganization")
    member_role = config("org")
    audit_role = f"IamGuardOrgMemberAudit-{member_role.name_suffix}"
    assert as_list(assume["Action"]) == ["sts:AssumeRole"]
    assert [sub_text(resource_arn) for resource_arn in assume["Resource"]] == [
        f"arn:${{AWS::Partition}}:iam::*:role/{audit_role}"
    ]
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION_ID}}
    # The handlers are told the same role name the member template creates.
    worker_env = props(security, "OrgAuditWorkerFunction")["Environment"]["Variables"]
    assert worker_env[contract.ENV_MEMBER_AUDIT_ROLE] == audit_role
    member_template = generated("org", "org-member")
    assert props(member_template, "MemberAuditRole")["RoleName"] == audit_role
    # No other role of the security account may assume anything; nobody else reads IAM or Organizations.
    for role_id in ("OrgAuditSchedulerRole", "OrgAuditConsolidatorRole"):
        assert not any(action.startswith("sts:") for action in allowed_actions(policy_of(security, role_id)))
    assert allowed_actions(policy_of(security, "OrgAuditSchedulerRole")) >= {
        "organizations:ListAccounts",
        "organizations:DescribeOrganization",
    }
    assert not any(action.startswith("organizations:") for action in allowed_actions(document))


def test_org_2_state_table_access_is_fenced_by_leading_keys(security: dict[str, Any]) -> None:
    for role_id, prefixes in (
        # The scheduler's heartbeat check reads heartbeat# items (tests/test_org_heartbeat.py).
        ("OrgAuditSchedulerRole", {"orgrun#*", "heartbeat#*"}),
        ("OrgAuditWorkerRole", {"run#*", "orgrun#*"}),
        ("OrgAuditConsolidatorRole", {"orgrun#*"}),
    ):
        table_statements = [
            stmt
            for stmt in policy_of(security, role_id)["Statement"]
            if any(a.startswith("dynamodb:") for a in as_list(stmt["Action"]))
        ]
        seen = set()
        for stmt in table_statements:
            assert stmt["Resource"] == [{"Fn::GetAtt": ["OrgAuditStateTable", "Arn"]}]
            assert stmt["Condition"]["Null"] == {"dynamodb:LeadingKeys": "false"}
            seen.update(stmt["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
            assert "dynamodb:Scan" not in as_list(stmt["Action"]) and "dynamodb:DeleteItem" not in as_list(
                stmt["Action"]
            )
        assert seen == prefixes, role_id
    table = resource(security, "OrgAuditStateTable")
    assert table["DeletionPolicy"] == "Retain" and table["Properties"]["SSESpecification"]["SSEType"] == "KMS"


def test_org_2_results_bucket_is_encrypted_versioned_retained_private_and_tls_only(
    security: dict[str, Any],
) -> None:
    bucket = resource(security, "OrgResultsBucket")
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["OrgAuditKey", "Arn"]},
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "OrgResultsLogBucket"}
    policy = props(security, "OrgResultsBucketPolicy")["PolicyDocument"]
    tls = statement(policy, "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Writers and readers only under runs/: the worker writes, the consolidator reads and writes.
    objects = {"Fn::Sub": ["${BucketArn}/runs/*", {"BucketArn": {"Fn::GetAtt": ["OrgResultsBucket", "Arn"]}}]}
    assert statement(policy_of(security, "OrgAuditWorkerRole"), "WriteAccountResults")["Resource"] == [
        objects
    ]
    read = statement(policy_of(security, "OrgAuditConsolidatorRole"), "ReadResultsWriteReports")
    assert read["Resource"] == [objects] and as_list(read["Action"]) == ["s3:GetObject", "s3:PutObject"]
    listing = statement(policy_of(security, "OrgAuditConsolidatorRole"), "ListRunResults")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["runs/*"]}}


def test_org_2_only_the_consolidator_and_the_heartbeat_check_publish_to_the_org_alert_topic(
    security: dict[str, Any],
) -> None:
    publishers = [
        role_id
        for role_id in WORKER_ROLES.values()
        if "sns:Publish" in allowed_actions(policy_of(security, role_id))
    ]
    # The scheduler publishes the heartbeat check's blind-accounts alert (MON-13 per member account).
    assert publishers == ["OrgAuditSchedulerRole", "OrgAuditConsolidatorRole"]
    publish = statement(policy_of(security, "OrgAuditConsolidatorRole"), "PublishToAlertTopic")
    assert publish["Resource"] == [{"Ref": "OrgAlertTopic"}]


def test_org_2_alarms_on_dead_letters_errors_and_a_missing_completion(security: dict[str, Any]) -> None:
    alarms = {
        logical_id: item["Properties"]
        for logical_id, item in resources(security, "AWS::CloudWatch::Alarm").items()
    }
    for dlq in ("OrgAuditFunctionsDlq", "OrgAuditDlq", "OrgConsolidationDlq"):
        alarm = alarms[f"{dlq}DepthAlarm"]
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
        assert alarm["Threshold"] == 0 and alarm["AlarmActions"] == [{"Ref": "OrgAlertTopic"}]
    for function_id in WORKER_ROLES:
        alarm = alarms[function_id.removesuffix("Function") + "ErrorsAlarm"]
        assert alarm["MetricName"] == "Errors" and alarm["Dimensions"][0]["Value"] == {"Ref": function_id}
    missing = alarms["OrgAuditMissingAlarm"]
    assert (missing["Namespace"], missing["MetricName"]) == (
        contract.METRICS_NAMESPACE,
        contract.ORG_ACCOUNTS_AUDITED_METRIC,
    )
    assert missing["ComparisonOperator"] == "LessThanThreshold" and missing["Threshold"] == 1
    assert missing["TreatMissingData"] == "breaching" and missing["Period"] == 86400


def test_org_2_member_session_policy_is_the_remote_audits() -> None:
    sys.path.insert(0, str(HANDLERS_DIR))
    from org_audit_support import member_role_arn, member_session_policy

    arn = member_role_arn("aws", "111122223333", "IamGuardOrgMemberAudit-corp-eu-west-1")
    assert member_session_policy("aws", "111122223333") == audit_session_policy(arn)


def test_org_2_handler_zips_hold_the_modules_they_import() -> None:
    for handler in ("org_audit_scheduler", "org_audit_worker", "org_audit_consolidator"):
        assert handler in packaging.HANDLERS
        names = {name for name, _ in packaging.zip_entries(handler)}
        assert f"{handler}.py" in names and "iam_guard/analysis/cross_account.py" in names
    consolidator = {name for name, _ in packaging.zip_entries("org_audit_consolidator")}
    assert {"org_report.py", "org_report_html.py", "org_report_graph.py", "org_reach.py"} <= consolidator


def test_org_2_config_concurrency_and_deadline_defaults_and_bounds() -> None:
    base = {
        "environment": "corp",
        "region": "eu-west-1",
        "owner": "platform-security",
        "data_classification": "confidential",
        "alert_emails": ["security@example.com"],
        "organization": {
            "security_account_id": "222233334444",
            "organization_id": ORGANIZATION_ID,
            "target_ou_ids": ["ou-ab12-cdef3456"],
        },
    }
    organization = parse_config(base).organization
    assert organization is not None
    assert (organization.audit_concurrency, organization.audit_deadline_minutes) == (20, 180)
    for key, value, message in (
        ("audit_concurrency", 1, "organization.audit_concurrency: 1 must be between 2 and 200"),
        ("audit_concurrency", 201, "organization.audit_concurrency: 201 must be between 2 and 200"),
        ("audit_deadline_minutes", 10, "organization.audit_deadline_minutes: 10 must be between 30 and 1440"),
    ):
        changed = json.loads(json.dumps(base))
        changed["organization"][key] = value
        with pytest.raises(ConfigError) as raised:
            parse_config(changed, source="org.yaml")
        assert message in str(raised.value) and "\n" not in str(raised.value)
