"""MON-1 to MON-11, CON-1, CON-2, CON-4, CON-5, EDGE-1 to EDGE-5: the monitoring template says what the
requirements mean (event names, thresholds, periods, condition keys and values, keys, retention, DLQs)."""

from __future__ import annotations

import fnmatch
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cfnlint.data import AdditionalSpecs
from monitoring_helpers import (
    FORWARDER,
    STACK,
    alarms,
    dimension,
    getatt,
    handler_module,
    ref,
    role_statement,
    role_statements,
    variant,
)

from iam_guard import contract, packaging
from iam_guard.policies.common import SENSITIVE_ACTIONS
from iam_guard.render import template_dict
from iam_guard.stacks import monitoring
from support import HANDLERS_DIR
from template_helpers import (
    as_list,
    config,
    props,
    resource,
    resources,
    stack_names,
    statement,
    statements,
    sub_text,
    template,
)

ANALYZER = "PolicyAnalyzerFunction"
AUDITOR = "DailyAuditorFunction"
FUNCTION_ROLES = {ANALYZER: "PolicyAnalyzerRole", AUDITOR: "DailyAuditorRole"}
DLQS = ("PolicyAnalyzerDlq", "DailyAuditorDlq", "EventDeliveryDlq", "AuditContinuationDlq")
REQUIRED_EVENT_NAMES = {
    "CreatePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeletePolicy",
    "DeletePolicyVersion",
    "PutRolePolicy",
    "PutUserPolicy",
    "PutGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "AttachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "DetachGroupPolicy",
    "DeleteRolePolicy",
    "DeleteUserPolicy",
    "DeleteGroupPolicy",
    "UpdateAssumeRolePolicy",
    "CreateRole",
}
SHARED_ENV = {
    contract.ENV_ALERT_TOPIC_ARN,
    contract.ENV_SECURITY_LOG_GROUP,
    contract.ENV_ALERT_SEVERITY,
    contract.ENV_METRICS_NAMESPACE,
    contract.ENV_ENVIRONMENT,
    contract.ENV_LOG_LEVEL,
    contract.ENV_REMEDIATION_MODE,
    contract.ENV_STATE_TABLE_NAME,
}


@pytest.fixture
def tpl(cfg_name: str) -> dict[str, Any]:
    return template(cfg_name, STACK)


def env(tpl: dict[str, Any], function: str) -> dict[str, Any]:
    return props(tpl, function)["Environment"]["Variables"]


def actions_of(stmt: dict[str, Any]) -> list[str]:
    return as_list(stmt.get("Action", []))


# MON-1 -----------------------------------------------------------------------------------------------


def test_mon_1_policy_analyzer_runs_the_policy_change_handler(tpl: dict[str, Any]) -> None:
    function = props(tpl, ANALYZER)
    assert function["Handler"] == "policy_change.handler"
    assert function["Role"] == getatt("PolicyAnalyzerRole")
    rule = props(tpl, "IamPolicyChangeRule")
    assert [t["Arn"] for t in rule["Targets"]] == [getatt(ANALYZER)]


def test_mon_1_events_may_invoke_the_analyzer_only_from_the_change_rule(tpl: dict[str, Any]) -> None:
    permission = props(tpl, "PolicyAnalyzerInvokePermission")
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["FunctionName"] == {"Ref": ANALYZER}
    assert permission["SourceArn"] == getatt("IamPolicyChangeRule")
    assert permission["SourceAccount"] == ref("AWS::AccountId")


def test_mon_1_code_comes_from_the_artifact_bucket_with_the_content_hashed_key(cfg_name: str) -> None:
    # Built afresh, not from the session cache: the key must match the handler sources as they are now.
    tpl = template_dict(monitoring.build(config(cfg_name)))
    parameters = tpl["Parameters"]
    assert "Default" not in parameters["ArtifactBucket"]
    for function, parameter, handler in (
        (ANALYZER, "PolicyChangeCodeKey", "policy_change"),
        (AUDITOR, "DailyAuditCodeKey", "daily_audit"),
    ):
        assert props(tpl, function)["Code"] == {"S3Bucket": ref("ArtifactBucket"), "S3Key": ref(parameter)}
        assert parameters[parameter]["Default"] == packaging.zip_key(handler)
        assert parameters[parameter]["Default"].startswith(f"lambda/{handler}-")


def test_mon_1_rule_event_names_are_exactly_the_ones_the_handler_knows() -> None:
    """The rule sends nothing the handler would reject as unexpected, and misses nothing it handles."""
    policy_change = handler_module("policy_change")
    pattern = props(template("dev", STACK), "IamPolicyChangeRule")["EventPattern"]
    assert set(pattern["detail"]["eventName"]) == set(policy_change.HANDLED_EVENTS)


# MON-2 -----------------------------------------------------------------------------------------------


def test_mon_2_customer_managed_key_rotates_and_is_retained(tpl: dict[str, Any]) -> None:
    key = resource(tpl, "MonitoringKey")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["RotationPeriodInDays"] == 365
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    assert props(tpl, "MonitoringKeyAlias")["TargetKeyId"] == ref("MonitoringKey")


def test_mon_2_topic_and_every_queue_are_encrypted_with_the_stack_key(tpl: dict[str, Any]) -> None:
    assert props(tpl, "AlertTopic")["KmsMasterKeyId"] == getatt("MonitoringKey")
    queues = resources(tpl, "AWS::SQS::Queue")
    assert set(queues) == {*DLQS, "AuditContinuationQueue"}
    for name, queue in queues.items():
        assert queue["Properties"]["KmsMasterKeyId"] == getatt("MonitoringKey"), name
        assert "SqsManagedSseEnabled" not in queue["Properties"], name


def test_mon_2_trail_is_encrypted_with_the_stack_key(tpl: dict[str, Any]) -> None:
    assert props(tpl, "Trail")["KMSKeyId"] == getatt("MonitoringKey")


# MON-3, CON-4 ----------------------------------------------------------------------------------------


def test_mon_3_security_and_function_log_groups_are_retained(tpl: dict[str, Any], cfg_name: str) -> None:
    groups = resources(tpl, "AWS::Logs::LogGroup")
    suffix = config(cfg_name).name_suffix
    assert {name: g["Properties"]["LogGroupName"] for name, g in groups.items()} == {
        "SecurityEventsLogGroup": f"/iam-guard/{suffix}/security-events",
        "PolicyAnalyzerLogGroup": f"/iam-guard/{suffix}/policy-analyzer",
        "DailyAuditorLogGroup": f"/iam-guard/{suffix}/daily-auditor",
    }
    for name, group in groups.items():
        # DS-11: prod keeps the security findings a year (PCI DSS 10.7); function logs stay at 90 days.
        expected = 365 if (cfg_name, name) == ("prod", "SecurityEventsLogGroup") else 90
        assert group["Properties"]["RetentionInDays"] == expected, name
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain", name


def test_mon_3_each_function_logs_json_into_its_own_group(tpl: dict[str, Any]) -> None:
    assert props(tpl, ANALYZER)["LoggingConfig"] == {
        "ApplicationLogLevel": "INFO",
        "LogFormat": "JSON",
        "LogGroup": ref("PolicyAnalyzerLogGroup"),
        "SystemLogLevel": "WARN",
    }
    assert props(tpl, AUDITOR)["LoggingConfig"] == {
        "ApplicationLogLevel": "INFO",
        "LogFormat": "JSON",
        "LogGroup": ref("DailyAuditorLogGroup"),
        "SystemLogLevel": "WARN",
    }


def test_con_4_every_log_group_is_encrypted_with_the_customer_managed_key(tpl: dict[str, Any]) -> None:
    groups = resources(tpl, "AWS::Logs::LogGroup")
    assert len(groups) == 3
    for name, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == getatt("MonitoringKey"), name


# MON-4 -----------------------------------------------------------------------------------------------


def test_mon_4_rule_matches_cloudtrail_iam_policy_changes(tpl: dict[str, Any]) -> None:
    pattern = props(tpl, "IamPolicyChangeRule")["EventPattern"]
    assert pattern["source"] == ["aws.iam"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["eventSource"] == ["iam.amazonaws.com"]
    names = set(pattern["detail"]["eventName"])
    assert names >= REQUIRED_EVENT_NAMES
    assert {"PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary", "AddUserToGroup"} <= names
    assert props(tpl, "IamPolicyChangeRule")["State"] == "ENABLED"


def test_mon_4_us_east_1_config_needs_no_forwarder() -> None:
    assert config("dev").region == "us-east-1"
    assert FORWARDER not in stack_names("dev")


def test_mon_4_other_region_gets_a_forwarder_in_us_east_1() -> None:
    from iam_guard.build import build_stacks

    plan = [(a.name, a.region) for a in build_stacks(config("prod"))]
    assert plan == [
        ("data-store", "eu-west-1"),
        ("monitoring", "eu-west-1"),
        ("monitoring-forwarder", "us-east-1"),
    ]


# MON-5 -----------------------------------------------------------------------------------------------


def test_mon_5_every_role_has_a_one_hour_maximum_session(tpl: dict[str, Any]) -> None:
    roles = resources(tpl, "AWS::IAM::Role")
    assert set(roles) == {"PolicyAnalyzerRole", "DailyAuditorRole", "CrossAccountAuditRole", "CanaryRole"}
    for name, role in roles.items():
        assert role["Properties"]["MaxSessionDuration"] == 3600, name


def test_mon_5_every_role_is_denied_outside_the_stack_region_and_us_east_1(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    expected = sorted({config(cfg_name).region, "us-east-1"})
    for name in resources(tpl, "AWS::IAM::Role"):
        deny = role_statement(tpl, name, "DenyRequestsToOtherRegions")
        assert deny["Effect"] == "Deny"
        assert deny["Action"] == ["*"] and deny["Resource"] == ["*"]
        assert deny["Condition"] == {
            "StringNotEquals": {"aws:RequestedRegion": expected},
            "Bool": {"aws:ViaAWSService": "false"},
        }


def test_mon_5_lambda_assumes_function_roles_only_for_this_account(tpl: dict[str, Any]) -> None:
    for role in FUNCTION_ROLES.values():
        trust = statement(props(tpl, role)["AssumeRolePolicyDocument"], "ServiceAssumesForThisAccountOnly")
        assert trust["Principal"] == {"Service": ["lambda.amazonaws.com"]}
        assert trust["Action"] == ["sts:AssumeRole"]
        assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}


def test_mon_5_quarantine_attach_needs_the_remediator_principal_tag() -> None:
    tpl = template("prod", STACK)
    assert config("prod").monitoring.remediation_mode == "quarantine"
    attach = role_statement(tpl, "PolicyAnalyzerRole", "AttachOnlyTheQuarantinePolicy")
    assert attach["Condition"]["StringEquals"] == {"aws:PrincipalTag/iam-guard-remediator": "quarantine"}
    tags = {t["Key"]: t["Value"] for t in props(tpl, "PolicyAnalyzerRole")["Tags"]}
    assert tags["iam-guard-remediator"] == "quarantine"


def test_mon_5_quarantine_may_write_only_the_quarantine_tag() -> None:
    sys.path.insert(0, str(HANDLERS_DIR))
    try:
        import remediation
    finally:
        sys.path.remove(str(HANDLERS_DIR))
    tag = role_statement(template("prod", STACK), "PolicyAnalyzerRole", "TagQuarantinedPrincipals")
    assert tag["Action"] == ["iam:TagRole", "iam:TagUser"]
    assert tag["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": [remediation.QUARANTINE_TAG_KEY]}
    }


def test_mon_5_audit_role_source_ip_decision_is_documented(tpl: dict[str, Any]) -> None:
    notes = resource(tpl, "CrossAccountAuditRole")["Metadata"]["iam-guard"]["notes"]
    assert any("aws:SourceIp" in note and "external ID" in note for note in notes)


# MON-6 -----------------------------------------------------------------------------------------------


def test_mon_6_change_alarm_counts_matched_events_of_the_rule(tpl: dict[str, Any], cfg_name: str) -> None:
    alarm = alarms(tpl)["PolicyChangeRateAlarm"]
    assert alarm["Namespace"] == "AWS/Events"
    assert alarm["MetricName"] == "MatchedEvents"
    assert dimension(alarm, "RuleName") == props(tpl, "IamPolicyChangeRule")["Name"]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 600
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["Threshold"] == config(cfg_name).monitoring.policy_change_alarm_threshold == 5
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert tpl["Outputs"]["PolicyChangeAlarmName"]["Value"] == alarm["AlarmName"]


def test_mon_6_every_alarm_notifies_the_topic_when_it_fires_and_clears(tpl: dict[str, Any]) -> None:
    found = alarms(tpl)
    assert len(found) == 13
    for name, alarm in found.items():
        assert alarm["AlarmActions"] == [ref("AlertTopic")], name
        assert alarm["OKActions"] == [ref("AlertTopic")], name
        assert alarm["ActionsEnabled"] is True, name


def test_mon_6_function_errors_and_throttles_are_alarmed(tpl: dict[str, Any]) -> None:
    found = alarms(tpl)
    for function in (ANALYZER, AUDITOR):
        for metric in ("Errors", "Throttles"):
            alarm = found[f"{function.removesuffix('Function')}{metric}Alarm"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
            assert dimension(alarm, "FunctionName") == ref(function)
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_mon_6_every_dead_letter_queue_depth_is_alarmed(tpl: dict[str, Any]) -> None:
    found = alarms(tpl)
    for queue in DLQS:
        alarm = found[f"{queue}DepthAlarm"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert dimension(alarm, "QueueName") == getatt(queue, "QueueName")
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_mon_6_failed_invocations_of_every_rule_are_alarmed(tpl: dict[str, Any]) -> None:
    found = alarms(tpl)
    for rule in ("IamPolicyChangeRule", "DailyAuditSchedule"):
        alarm = found[f"{rule}FailedInvocationsAlarm"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "FailedInvocations")
        assert dimension(alarm, "RuleName") == props(tpl, rule)["Name"]


def test_mon_6_every_alarm_name_is_admitted_by_the_topic_and_key_policies(tpl: dict[str, Any]) -> None:
    """The topic policy and key policy admit alarms by ARN pattern: an alarm outside it would be silent."""
    pattern = sub_text(
        statement(props(tpl, "AlertTopicPolicy")["PolicyDocument"], "AllowThisAccountsAlarmsToPublish")[
            "Condition"
        ]["ArnLike"]["aws:SourceArn"]
    )
    name_pattern = pattern.split(":alarm:", 1)[1]
    for alarm in alarms(tpl).values():
        assert fnmatch.fnmatchcase(alarm["AlarmName"], name_pattern), alarm["AlarmName"]


# MON-7 -----------------------------------------------------------------------------------------------


def test_mon_7_topic_has_an_email_subscription_per_configured_address(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    subscriptions = resources(tpl, "AWS::SNS::Subscription").values()
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions) == sorted(config(cfg_name).alert_emails)
    for subscription in subscriptions:
        assert subscription["Properties"]["Protocol"] == "email"
        assert subscription["Properties"]["TopicArn"] == ref("AlertTopic")


def test_mon_7_topic_policy_denies_publishing_without_tls(tpl: dict[str, Any]) -> None:
    policy = props(tpl, "AlertTopicPolicy")
    assert policy["Topics"] == [ref("AlertTopic")]
    deny = statement(policy["PolicyDocument"], "DenyInsecureTransport")
    assert (deny["Effect"], deny["Principal"]) == ("Deny", "*")
    assert deny["Action"] == ["sns:*"]
    assert deny["Resource"] == [ref("AlertTopic")]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_mon_7_only_this_accounts_alarms_and_function_roles_publish(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    document = props(tpl, "AlertTopicPolicy")["PolicyDocument"]
    allows = [s for s in statements(document) if s["Effect"] == "Allow"]
    assert {s["Sid"] for s in allows} == {
        "AllowThisAccountsAlarmsToPublish",
        "AllowStackFunctionsToPublish",
        "AllowTamperRulesToPublish",  # MON-12, tested in test_monitoring_tamper.py
    }
    alarms_allow = statement(document, "AllowThisAccountsAlarmsToPublish")
    assert alarms_allow["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert alarms_allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    suffix = config(cfg_name).name_suffix
    assert sub_text(alarms_allow["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:iam-guard-*-{suffix}"
    )
    # The role principals must exist before SNS accepts the policy.
    assert resource(tpl, "AlertTopicPolicy")["DependsOn"] == list(FUNCTION_ROLES.values())
    roles = statement(document, "AllowStackFunctionsToPublish")["Principal"]["AWS"]
    assert sorted(sub_text(r) for r in roles) == sorted(
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{props(tpl, role)['RoleName']}"
        for role in FUNCTION_ROLES.values()
    )
    for allow in allows:
        assert allow["Action"] == ["sns:Publish"]


# MON-8 -----------------------------------------------------------------------------------------------


def test_mon_8_daily_audit_runs_at_the_configured_hour(tpl: dict[str, Any], cfg_name: str) -> None:
    hour = config(cfg_name).monitoring.audit_hour_utc
    assert hour == 2
    rule = props(tpl, "DailyAuditSchedule")
    assert rule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert [t["Arn"] for t in rule["Targets"]] == [getatt(AUDITOR)]
    assert props(tpl, AUDITOR)["Handler"] == "daily_audit.handler"
    permission = props(tpl, "DailyAuditorInvokePermission")
    assert permission["SourceArn"] == getatt("DailyAuditSchedule")
    assert permission["Principal"] == "events.amazonaws.com"


def test_mon_8_large_audits_continue_through_the_encrypted_queue(tpl: dict[str, Any]) -> None:
    mapping = props(tpl, "AuditContinuationEventSource")
    assert mapping["EventSourceArn"] == getatt("AuditContinuationQueue")
    assert mapping["FunctionName"] == {"Ref": AUDITOR}
    assert mapping["BatchSize"] == 1
    queue = props(tpl, "AuditContinuationQueue")
    assert queue["VisibilityTimeout"] >= 6 * props(tpl, AUDITOR)["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == getatt("AuditContinuationDlq")
    assert env(tpl, AUDITOR)["AUDIT_CONTINUATION_QUEUE_URL"] == ref("AuditContinuationQueue")
    grant = role_statement(tpl, "DailyAuditorRole", "UseAuditContinuationQueue")
    assert sorted(grant["Action"]) == [
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
    ]
    assert grant["Resource"] == [getatt("AuditContinuationQueue")]


def test_mon_8_auditor_reads_authorization_details_and_policy_versions(tpl: dict[str, Any]) -> None:
    details = role_statement(tpl, "DailyAuditorRole", "ReadAccountAuthorizationDetails")
    assert details["Action"] == ["iam:GetAccountAuthorizationDetails"] and details["Resource"] == ["*"]
    versions = role_statement(tpl, "DailyAuditorRole", "ReadPolicyDocuments")
    assert versions["Action"] == ["iam:GetPolicy", "iam:GetPolicyVersion"]
    assert [sub_text(r) for r in versions["Resource"]] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*",
        "arn:${AWS::Partition}:iam::aws:policy/*",
    ]


# MON-10 ----------------------------------------------------------------------------------------------


def test_mon_10_audit_role_needs_the_external_id_of_the_trusted_accounts(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    trust = statement(
        props(tpl, "CrossAccountAuditRole")["AssumeRolePolicyDocument"], "TrustedAuditAccountsWithExternalId"
    )
    accounts = config(cfg_name).monitoring.trusted_audit_account_ids
    assert [sub_text(p) for p in trust["Principal"]["AWS"]] == [
        f"arn:${{AWS::Partition}}:iam::{account}:root" for account in accounts
    ]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": ref("AuditExternalId")}}
    parameter = tpl["Parameters"]["AuditExternalId"]
    assert parameter["NoEcho"] is True
    assert parameter["MinLength"] == 32
    assert parameter["AllowedPattern"] == r"[\w+=,.@:/-]+"
    assert parameter["ConstraintDescription"]
    assert "Default" not in parameter


def test_mon_10_audit_role_allows_only_reads(tpl: dict[str, Any]) -> None:
    allowed = [
        a
        for s in role_statements(tpl, "CrossAccountAuditRole")
        if s["Effect"] == "Allow"
        for a in actions_of(s)
    ]
    assert "iam:GetAccountAuthorizationDetails" in allowed
    for action in allowed:
        verb = action.split(":", 1)[1]
        assert action.startswith("iam:") and verb.startswith(("Get", "List", "Generate")), action
        assert "*" not in action, action


def test_mon_10_audit_role_denies_data_reads_and_every_other_action(tpl: dict[str, Any]) -> None:
    data = role_statement(tpl, "CrossAccountAuditRole", "DenyDataReads")
    assert data["Effect"] == "Deny"
    assert {
        "s3:GetObject",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "ssm:GetParameter",
        "dynamodb:Scan",
    } <= set(data["Action"])
    rest = role_statement(tpl, "CrossAccountAuditRole", "DenyEverythingButAuditReads")
    assert rest["Effect"] == "Deny" and rest["Resource"] == ["*"]
    allowed = {
        a
        for s in role_statements(tpl, "CrossAccountAuditRole")
        if s["Effect"] == "Allow"
        for a in actions_of(s)
    }
    assert set(rest["NotAction"]) == allowed
    assert props(tpl, "CrossAccountAuditRole")["MaxSessionDuration"] == 3600


def test_mon_10_no_audit_role_without_trusted_accounts() -> None:
    tpl = variant("off")
    assert "CrossAccountAuditRole" not in tpl["Resources"]
    assert "AuditExternalId" not in tpl.get("Parameters", {})
    assert "AuditRoleArn" not in tpl["Outputs"]


# MON-11 ----------------------------------------------------------------------------------------------


def test_mon_11_trail_logs_every_region_with_validation(tpl: dict[str, Any], cfg_name: str) -> None:
    trail = props(tpl, "Trail")
    assert trail["IsLogging"] is True
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["EnableLogFileValidation"] is True
    assert trail["S3BucketName"] == ref("TrailBucket")
    assert trail["TrailName"] == f"iam-guard-trail-{config(cfg_name).name_suffix}"
    assert resource(tpl, "Trail")["DependsOn"] == ["TrailBucketPolicy"]


def test_mon_11_trail_bucket_is_locked_down(tpl: dict[str, Any]) -> None:
    bucket = resource(tpl, "TrailBucket")
    p = bucket["Properties"]
    rule = p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"KMSMasterKeyID": getatt("MonitoringKey"), "SSEAlgorithm": "aws:kms"}
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(p["PublicAccessBlockConfiguration"].values())
    assert p["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert p["LoggingConfiguration"]["DestinationBucketName"] == ref("TrailAccessLogBucket")
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_mon_11_only_this_trail_writes_to_the_bucket_over_tls(tpl: dict[str, Any], cfg_name: str) -> None:
    document = props(tpl, "TrailBucketPolicy")["PolicyDocument"]
    trail_arn = (
        "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/"
        f"iam-guard-trail-{config(cfg_name).name_suffix}"
    )
    acl = statement(document, "AllowCloudTrailAclCheck")
    assert acl["Principal"] == {"Service": ["cloudtrail.amazonaws.com"]}
    assert acl["Action"] == ["s3:GetBucketAcl"] and acl["Resource"] == [getatt("TrailBucket")]
    assert sub_text(acl["Condition"]["StringEquals"]["aws:SourceArn"]) == trail_arn
    put = statement(document, "AllowCloudTrailLogDelivery")
    assert put["Action"] == ["s3:PutObject"]
    assert sub_text(put["Resource"][0]) == "${BucketArn}/AWSLogs/${AWS::AccountId}/*"
    assert sub_text(put["Condition"]["StringEquals"]["aws:SourceArn"]) == trail_arn
    tls = statement(document, "DenyInsecureTransport")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_mon_11_existing_trail_is_used_and_noted() -> None:
    tpl = variant("existing-trail")
    assert not resources(tpl, "AWS::CloudTrail::Trail")
    assert "TrailBucket" not in tpl["Resources"]
    assert "TrailArn" not in tpl["Outputs"]
    note = tpl["Metadata"]["iam-guard"]
    assert note["existing_trail_arn"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
    sids = {s["Sid"] for s in statements(props(tpl, "MonitoringKey")["KeyPolicy"])}
    assert not {sid for sid in sids if "CloudTrail" in sid}


# CON-1 -----------------------------------------------------------------------------------------------


def test_con_1_every_function_times_out_within_60_seconds(tpl: dict[str, Any]) -> None:
    functions = resources(tpl, "AWS::Lambda::Function")
    assert set(functions) == {ANALYZER, AUDITOR}
    for name, function in functions.items():
        assert 1 <= function["Properties"]["Timeout"] <= 60, name


def test_con_1_block_refuses_a_longer_timeout() -> None:
    from iam_guard.blocks.functions import FunctionSpec, python_function

    spec = FunctionSpec(
        handler="x.handler", description="x", timeout_seconds=61, memory_mb=128, reserved_concurrency=1
    )
    with pytest.raises(ValueError, match="CON-1"):
        python_function(
            "F",
            name="f",
            spec=spec,
            role=None,
            key=None,
            log_group=None,
            dead_letter_queue=None,  # type: ignore[arg-type]
            code_bucket=None,
            code_key=None,
            environment={},
        )  # type: ignore[arg-type]


# CON-2 -----------------------------------------------------------------------------------------------


def identity_documents(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, role in resources(tpl, "AWS::IAM::Role").items():
        for policy in role["Properties"]["Policies"]:
            found[f"{name}/{policy['PolicyName']}"] = policy["PolicyDocument"]
    for name, policy in resources(tpl, "AWS::IAM::ManagedPolicy").items():
        found[name] = policy["Properties"]["PolicyDocument"]
    return found


@pytest.mark.parametrize("cfg_or_variant", ["dev", "prod", "off", "quarantine"])
def test_con_2_every_identity_policy_denies_sensitive_actions(cfg_or_variant: str) -> None:
    tpl = template(cfg_or_variant, STACK) if cfg_or_variant in ("dev", "prod") else variant(cfg_or_variant)
    documents = identity_documents(tpl)
    assert documents
    for name, document in documents.items():
        denies = [s for s in statements(document) if s["Effect"] == "Deny"]
        denied = {a for s in denies for a in actions_of(s)}
        assert denies, f"{name} has no explicit Deny"
        assert "*" in denied or {"iam:PassRole", "iam:CreateAccessKey", "cloudtrail:StopLogging"} <= denied, (
            name
        )


def test_con_2_quarantine_exempts_only_attach_and_put_and_scopes_attach_to_the_quarantine_policy() -> None:
    tpl = variant("quarantine")
    deny = role_statement(tpl, "PolicyAnalyzerRole", "DenySensitiveActions")
    attach = {"iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy"}
    put = {"iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy"}
    assert set(deny["Action"]) == set(SENSITIVE_ACTIONS) - attach - put
    allow = role_statement(tpl, "PolicyAnalyzerRole", "AttachOnlyTheQuarantinePolicy")
    assert set(allow["Action"]) == attach
    assert allow["Condition"]["ArnEquals"] == {"iam:PolicyARN": ref("QuarantinePolicy")}
    other = role_statement(tpl, "PolicyAnalyzerRole", "DenyAttachingAnyOtherPolicy")
    assert other["Effect"] == "Deny" and set(other["Action"]) == attach
    assert other["Condition"] == {"StringNotEquals": {"iam:PolicyARN": ref("QuarantinePolicy")}}


def test_con_2_quarantine_inline_fallback_needs_the_remediator_tag_and_spares_exempt_principals() -> None:
    """H-3 fallback when the managed-policy quota is full: Put*Policy on this account's principals, only
    with the remediator tag; attaching or putting anything on the stack's own roles and the configured
    exempt principals is explicitly denied."""
    tpl = template("prod", STACK)
    put = role_statement(tpl, "PolicyAnalyzerRole", "PutTheQuarantineInlinePolicyWhenTheQuotaIsFull")
    assert put["Action"] == ["iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy"]
    assert [sub_text(r) for r in put["Resource"]] == [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{kind}/*" for kind in ("role", "user", "group")
    ]
    assert put["Condition"] == {"StringEquals": {"aws:PrincipalTag/iam-guard-remediator": "quarantine"}}
    deny = role_statement(tpl, "PolicyAnalyzerRole", "DenyQuarantiningExemptPrincipals")
    assert deny["Effect"] == "Deny"
    assert set(deny["Action"]) == {
        "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy",
        "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy",
    }  # fmt: skip
    assert deny["Resource"] == env(tpl, ANALYZER)["EXEMPT_PRINCIPAL_ARNS"]["Fn::Join"][1]
    denied = [sub_text(r) for r in deny["Resource"]]
    for role in ("PolicyAnalyzerRole", "DailyAuditorRole", "CrossAccountAuditRole"):
        name = props(tpl, role)["RoleName"]
        assert f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}" in denied
    assert "arn:aws:iam::444455556666:role/BreakGlass" in denied
    reason = resource(tpl, "PolicyAnalyzerRole")["Metadata"]["iam-guard"]["suppressions"][0]
    assert reason["code"] == "IAMG006" and "Put*Policy" in reason["reason"]


def test_con_2_without_quarantine_the_analyzer_cannot_attach_anything() -> None:
    tpl = template("dev", STACK)
    assert config("dev").monitoring.remediation_mode == "notify"
    deny = role_statement(tpl, "PolicyAnalyzerRole", "DenySensitiveActions")
    assert set(deny["Action"]) == set(SENSITIVE_ACTIONS)
    allowed = {
        a for s in role_statements(tpl, "PolicyAnalyzerRole") if s["Effect"] == "Allow" for a in actions_of(s)
    }
    assert not {a for a in allowed if a.startswith(("iam:Attach", "iam:Put", "iam:Tag"))}


def test_con_2_quarantine_policy_is_an_explicit_deny_of_everything(tpl: dict[str, Any]) -> None:
    document = props(tpl, "QuarantinePolicy")["PolicyDocument"]
    assert statements(document) == [
        {"Action": ["*"], "Effect": "Deny", "Resource": ["*"], "Sid": "QuarantineDenyEverything"}
    ]
    assert env(tpl, ANALYZER)["QUARANTINE_POLICY_ARN"] == ref("QuarantinePolicy")


# CON-5 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cfg", "stack"), [("dev", STACK), ("prod", STACK), ("prod", FORWARDER)])
def test_con_5_every_target_has_dlq_retry_policy_and_maximum_age(cfg: str, stack: str) -> None:
    tpl = template(cfg, stack)
    rules = resources(tpl, "AWS::Events::Rule")
    assert rules
    queues = set(resources(tpl, "AWS::SQS::Queue"))
    for name, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"]
            assert dlq[0] in queues and dlq[1] == "Arn", name
            assert 0 < target["RetryPolicy"]["MaximumRetryAttempts"] <= 185, name
            assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400, name


def test_con_5_event_dlq_admits_only_the_stack_rules_over_tls(tpl: dict[str, Any]) -> None:
    document = props(tpl, "EventDeliveryDlqPolicy")["PolicyDocument"]
    allow = statement(document, "AllowEventBridgeRulesToSendFailedEvents")
    assert allow["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert allow["Action"] == ["sqs:SendMessage"]
    assert allow["Resource"] == [getatt("EventDeliveryDlq")]
    names = [r["Properties"]["Name"] for r in resources(tpl, "AWS::Events::Rule").values()]
    assert len(names) > 2
    assert sorted(sub_text(a) for a in allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{n}" for n in names
    )
    for queue in (*DLQS, "AuditContinuationQueue"):
        policy = props(tpl, f"{queue}Policy")
        assert policy["Queues"] == [ref(queue)]
        tls = statement(policy["PolicyDocument"], "DenyInsecureTransport")
        assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, queue


def test_con_5_functions_have_a_dead_letter_queue_and_bounded_async_retries(tpl: dict[str, Any]) -> None:
    for function, queue in ((ANALYZER, "PolicyAnalyzerDlq"), (AUDITOR, "DailyAuditorDlq")):
        assert props(tpl, function)["DeadLetterConfig"] == {"TargetArn": getatt(queue)}
        send = role_statement(tpl, FUNCTION_ROLES[function], "SendFailedInvocationsToDeadLetterQueue")
        assert send["Action"] == ["sqs:SendMessage"] and send["Resource"] == [getatt(queue)]
        invoke = props(tpl, f"{function}InvokeConfig")
        assert invoke["FunctionName"] == {"Ref": function}
        assert invoke["Qualifier"] == "$LATEST"
        assert invoke["MaximumRetryAttempts"] == 2 and invoke["MaximumEventAgeInSeconds"] == 3600


# EDGE ------------------------------------------------------------------------------------------------


def test_edge_1_monitoring_names_carry_environment_and_region(tpl: dict[str, Any], cfg_name: str) -> None:
    suffix = config(cfg_name).name_suffix
    assert props(tpl, ANALYZER)["FunctionName"] == f"iam-guard-policy-analyzer-{suffix}"
    assert props(tpl, AUDITOR)["FunctionName"] == f"iam-guard-daily-auditor-{suffix}"
    assert props(tpl, "AlertTopic")["TopicName"] == f"iam-guard-security-alerts-{suffix}"
    for name, queue in resources(tpl, "AWS::SQS::Queue").items():
        assert queue["Properties"]["QueueName"].endswith(f"-{suffix}"), name
    for name, alarm in alarms(tpl).items():
        assert alarm["AlarmName"].startswith("iam-guard-") and alarm["AlarmName"].endswith(f"-{suffix}"), name
    for name, role in resources(tpl, "AWS::IAM::Role").items():
        assert role["Properties"]["RoleName"].endswith(f"-{suffix}"), name
        assert len(role["Properties"]["RoleName"]) <= 64, name


def test_edge_2_functions_get_exactly_the_contract_variables(tpl: dict[str, Any], cfg_name: str) -> None:
    settings = config(cfg_name).monitoring
    analyzer = env(tpl, ANALYZER)
    auditor = env(tpl, AUDITOR)
    assert set(analyzer) == SHARED_ENV | {
        contract.ENV_QUARANTINE_POLICY_ARN,
        contract.ENV_EXEMPT_PRINCIPAL_ARNS,
    }
    assert set(auditor) == SHARED_ENV | {contract.ENV_AUDIT_CONTINUATION_QUEUE_URL, contract.ENV_TRAIL_ARN}
    for variables in (analyzer, auditor):
        assert variables["ALERT_TOPIC_ARN"] == ref("AlertTopic")
        assert variables["SECURITY_LOG_GROUP"] == ref("SecurityEventsLogGroup")
        assert variables["ALERT_SEVERITY"] == settings.alert_severity
        assert variables["METRICS_NAMESPACE"] == "IamGuard"
        assert variables["ENVIRONMENT"] == config(cfg_name).environment
        assert variables["REMEDIATION_MODE"] == settings.remediation_mode
        assert variables["STATE_TABLE_NAME"] == ref("StateTable")
    assert props(tpl, ANALYZER)["KmsKeyArn"] == getatt("MonitoringKey")


def test_edge_2_exempt_principals_are_the_stack_roles_and_the_configured_ones(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    separator, values = env(tpl, ANALYZER)["EXEMPT_PRINCIPAL_ARNS"]["Fn::Join"]
    assert separator == ","
    texts = [sub_text(v) for v in values]
    for role in resources(tpl, "AWS::IAM::Role").values():
        assert (
            f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role['Properties']['RoleName']}" in texts
        )
    for principal in config(cfg_name).monitoring.remediation_exempt_principals:
        assert principal in texts
    if cfg_name == "prod":
        forwarder_role = props(template("prod", FORWARDER), "ForwarderRole")["RoleName"]
        assert f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{forwarder_role}" in texts


def test_edge_2_handlers_read_what_the_stack_sets() -> None:
    """The handlers' settings loader accepts the stack's variables (with references resolved)."""
    load_settings = handler_module("lambda_support").load_settings
    tpl = template("prod", STACK)
    resolved = {
        k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in env(tpl, ANALYZER).items()
    }
    settings = load_settings("policy_change", resolved)
    assert settings.remediation_mode == "quarantine"
    assert settings.alert_severity.label == "high"
    assert settings.state_table_name == "resolved-state_table_name"
    resolved = {k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in env(tpl, AUDITOR).items()}
    auditor = load_settings("daily_audit", resolved)
    assert auditor.audit_continuation_queue_url == "resolved-audit_continuation_queue_url"
    assert auditor.state_table_name == "resolved-state_table_name"
    assert auditor.remediation_mode == "quarantine"


def test_edge_3_required_outputs_are_exported_under_unique_names(tpl: dict[str, Any], cfg_name: str) -> None:
    outputs = tpl["Outputs"]
    required = {
        "AlertTopicArn", "SecurityLogGroupName", "StackKeyArn", "IamChangeRuleName", "PolicyChangeAlarmName",
        "PolicyAnalyzerFunctionName", "PolicyAnalyzerFunctionArn", "DailyAuditorFunctionName",
        "DailyAuditorFunctionArn", "PolicyAnalyzerDlqUrl", "PolicyAnalyzerDlqArn", "DailyAuditorDlqUrl",
        "DailyAuditorDlqArn", "EventDeliveryDlqUrl", "ContinuationQueueUrl", "AuditRoleArn",
        "QuarantinePolicyArn", "TrailArn",
    }  # fmt: skip
    assert required <= set(outputs)
    names = [o["Export"]["Name"] for o in outputs.values()]
    assert len(names) == len(set(names))
    for key, output in outputs.items():
        assert output["Export"]["Name"] == f"iam-guard-monitoring-{config(cfg_name).environment}-{key}"


def test_edge_4_metrics_namespace_feeds_the_missing_audit_alarm(tpl: dict[str, Any], cfg_name: str) -> None:
    alarm = alarms(tpl)["DailyAuditMissingAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("IamGuard", "PoliciesAudited")
    assert dimension(alarm, "Environment") == config(cfg_name).environment
    assert (alarm["Period"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        86400,
        1,
        "LessThanThreshold",
    )
    assert alarm["TreatMissingData"] == "breaching"
    assert env(tpl, AUDITOR)["METRICS_NAMESPACE"] == alarm["Namespace"]


def newest_supported_python_runtime() -> str:
    """The newest Python runtime in cfn-lint's Lambda lifecycle data that is not yet deprecated."""
    lifecycle = json.loads((Path(AdditionalSpecs.__file__).parent / "LmbdRuntimeLifecycle.json").read_text())
    today = date.today().isoformat()
    supported = [
        name for name, dates in lifecycle.items()
        if name.startswith("python3.") and dates["deprecated"] > today
    ]  # fmt: skip
    return max(supported, key=python_version)


def python_version(runtime: str) -> tuple[int, ...]:
    """The version of a runtime name, "python3.13" -> (3, 13): "python3.9" > "python3.13" as strings."""
    assert runtime.startswith("python"), runtime
    return tuple(int(part) for part in runtime[len("python") :].split("."))


def test_edge_5_functions_use_the_newest_python_runtime(tpl: dict[str, Any]) -> None:
    newest = newest_supported_python_runtime()
    assert python_version(newest) >= (3, 13), newest
    for name, function in resources(tpl, "AWS::Lambda::Function").items():
        assert function["Properties"]["Runtime"] == newest, name
