"""DS-1 to DS-9: the data-store template says what the requirements mean (keys, ARNs, conditions, days)."""

from __future__ import annotations

from typing import Any

import pytest

from template_helpers import (
    as_list,
    config,
    inline_policy_documents,
    props,
    resource,
    resources,
    statement,
    statements,
    sub_text,
    template,
)

STACK = "data-store"


@pytest.fixture
def tpl(cfg_name: str) -> dict[str, Any]:
    return template(cfg_name, STACK)


def getatt(logical_id: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def data_role_policies(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "DataAnalystRole": inline_policy_documents(resource(tpl, "DataAnalystRole"))[0],
        "DataEngineerRole": inline_policy_documents(resource(tpl, "DataEngineerRole"))[0],
    }


# DS-1 ------------------------------------------------------------------------------------------------


def test_ds_1_customer_managed_key_rotates(tpl: dict[str, Any]) -> None:
    key = props(tpl, "DataKey")
    assert key["EnableKeyRotation"] is True
    assert key["RotationPeriodInDays"] == 365
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"


def test_ds_1_log_group_encrypted_with_the_data_key(tpl: dict[str, Any], cfg_name: str) -> None:
    groups = resources(tpl, "AWS::Logs::LogGroup")
    assert set(groups) == {"DataStoreAuditLogGroup"}
    group = groups["DataStoreAuditLogGroup"]["Properties"]
    assert group["KmsKeyId"] == getatt("DataKey")
    assert group["RetentionInDays"] == config(cfg_name).data_store.log_retention_days
    assert group["LogGroupName"] == f"/iam-guard/{config(cfg_name).name_suffix}/data-store-audit"


def test_ds_1_key_policy_lets_logs_use_key_only_for_this_log_group(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    policy = props(tpl, "DataKey")["KeyPolicy"]
    logs = statement(policy, "AllowCloudWatchLogsForThisStacksLogGroups")
    assert logs["Principal"] == {"Service": [{"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}]}
    context = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    name = f"/iam-guard/{config(cfg_name).name_suffix}/data-store-audit"
    assert [sub_text(arn) for arn in context] == [
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}"
    ]


def test_ds_1_administrators_manage_but_cannot_use_the_key(tpl: dict[str, Any]) -> None:
    policy = props(tpl, "DataKey")["KeyPolicy"]
    admin = statement(policy, "AllowAccountAdministratorsToManageNotUseKey")
    admin_actions = as_list(admin["Action"])
    assert "kms:PutKeyPolicy" in admin_actions and "kms:ScheduleKeyDeletion" in admin_actions
    use_actions = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*", "kms:CreateGrant"}
    assert not use_actions & set(admin_actions)
    assert not any(action.endswith("*") for action in admin_actions)


def test_ds_1_data_roles_use_key_only_through_s3(tpl: dict[str, Any], cfg_name: str) -> None:
    policy = props(tpl, "DataKey")["KeyPolicy"]
    use = statement(policy, "AllowDataRolesToUseKeyOnlyThroughS3")
    condition = use["Condition"]
    assert condition["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}
    suffix = config(cfg_name).name_suffix
    roles = [sub_text(arn) for arn in condition["ArnLike"]["aws:PrincipalArn"]]
    assert roles == [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/IamGuardDataAnalyst-{suffix}",
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/IamGuardDataEngineer-{suffix}",
    ]


def test_ds_1_key_destruction_needs_mfa(tpl: dict[str, Any]) -> None:
    deny = statement(props(tpl, "DataKey")["KeyPolicy"], "DenyKeyDestructionWithoutMfa")
    assert deny["Effect"] == "Deny"
    assert set(deny["Action"]) == {"kms:DisableKey", "kms:DisableKeyRotation", "kms:ScheduleKeyDeletion"}
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


# DS-2 ------------------------------------------------------------------------------------------------


def test_ds_2_bucket_versioned(tpl: dict[str, Any]) -> None:
    assert props(tpl, "DataBucket")["VersioningConfiguration"] == {"Status": "Enabled"}


def test_ds_2_destructive_operations_need_mfa_in_bucket_policy(tpl: dict[str, Any]) -> None:
    policy = props(tpl, "DataBucketPolicy")["PolicyDocument"]
    deny = statement(policy, "DenyDestructiveOperationsWithoutMfa")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert set(deny["Action"]) >= {
        "s3:DeleteObjectVersion",
        "s3:PutBucketVersioning",
        "s3:PutLifecycleConfiguration",
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
    }
    # BoolIfExists: a request with no MFA context at all (long-term keys) is denied too.
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert getatt("DataBucket") in deny["Resource"]


def test_ds_2_template_does_not_claim_mfa_delete(tpl: dict[str, Any]) -> None:
    """CloudFormation cannot switch MFA delete on (only the root user, through PutBucketVersioning with
    the MFA device): the template must not pretend to, and the lifecycle rules DS-3 needs rule it out."""
    versioning = props(tpl, "DataBucket")["VersioningConfiguration"]
    assert "MfaDelete" not in versioning and "MFADelete" not in versioning
    assert props(tpl, "DataBucket")["LifecycleConfiguration"]["Rules"]


# DS-3 ------------------------------------------------------------------------------------------------


def lifecycle_rules(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Id"]: rule for rule in props(tpl, "DataBucket")["LifecycleConfiguration"]["Rules"]}


def test_ds_3_transition_to_glacier_after_configured_days(tpl: dict[str, Any], cfg_name: str) -> None:
    days = config(cfg_name).data_store
    rules = lifecycle_rules(tpl)
    current = rules["CurrentVersionsToGlacier"]
    assert current["Status"] == "Enabled"
    assert current["Transitions"] == [
        {"StorageClass": "GLACIER", "TransitionInDays": days.glacier_transition_days}
    ]
    noncurrent = rules["NoncurrentVersionsToGlacier"]
    assert noncurrent["NoncurrentVersionTransitions"] == [
        {"StorageClass": "GLACIER", "TransitionInDays": days.noncurrent_glacier_transition_days}
    ]


def test_ds_3_abort_incomplete_multipart_uploads_after_7_days(tpl: dict[str, Any]) -> None:
    rule = lifecycle_rules(tpl)["AbortIncompleteMultipartUploads"]
    assert rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_ds_3_dev_and_prod_use_their_own_days() -> None:
    dev = lifecycle_rules(template("dev", STACK))["CurrentVersionsToGlacier"]["Transitions"][0]
    prod = lifecycle_rules(template("prod", STACK))["CurrentVersionsToGlacier"]["Transitions"][0]
    assert (dev["TransitionInDays"], prod["TransitionInDays"]) == (90, 30)


# DS-4 ------------------------------------------------------------------------------------------------


def test_ds_4_roles_have_one_hour_sessions(tpl: dict[str, Any]) -> None:
    roles = resources(tpl, "AWS::IAM::Role")
    assert set(roles) == {"DataAnalystRole", "DataEngineerRole"}
    assert all(role["Properties"]["MaxSessionDuration"] == 3600 for role in roles.values())


def granted_actions(document: dict[str, Any]) -> set[str]:
    return {a for s in statements(document) if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def test_ds_4_analyst_reads_engineer_reads_and_writes(tpl: dict[str, Any]) -> None:
    policies = data_role_policies(tpl)
    analyst, engineer = (
        granted_actions(policies["DataAnalystRole"]),
        granted_actions(policies["DataEngineerRole"]),
    )
    reads = {"s3:GetObject", "s3:ListBucket"}
    writes = {"s3:PutObject", "s3:DeleteObject", "kms:GenerateDataKey"}
    assert reads <= analyst and not writes & analyst
    assert reads | writes <= engineer
    assert "s3:DeleteObjectVersion" not in engineer


def test_ds_4_trust_requires_mfa_and_configured_principals(tpl: dict[str, Any], cfg_name: str) -> None:
    for logical_id in ("DataAnalystRole", "DataEngineerRole"):
        trust = statement(
            props(tpl, logical_id)["AssumeRolePolicyDocument"], "AssumeWithMfaFromAllowedNetworks"
        )
        assert trust["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
        assert trust["Condition"]["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
        principals = trust["Principal"]["AWS"]
        configured = list(config(cfg_name).data_store.access_principals)
        if configured:
            assert principals == configured
        else:
            assert principals == [{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}]


def test_ds_4_explicit_denies_for_versions_policy_and_key_deletion(tpl: dict[str, Any]) -> None:
    for document in data_role_policies(tpl).values():
        deny = statement(document, "DenyDataDestructionAndPolicyChanges")
        assert deny["Effect"] == "Deny"
        assert {"s3:DeleteObjectVersion", "s3:PutBucketPolicy", "kms:ScheduleKeyDeletion"} <= set(
            deny["Action"]
        )
        assert getatt("DataKey") in deny["Resource"]


# DS-5 ------------------------------------------------------------------------------------------------


def test_ds_5_no_wildcard_resource_in_any_allow(tpl: dict[str, Any]) -> None:
    for document in data_role_policies(tpl).values():
        for stmt in statements(document):
            if stmt["Effect"] != "Allow":
                continue
            for res in as_list(stmt["Resource"]):
                assert res != "*", stmt["Sid"]
                assert "Fn::GetAtt" in res or "Fn::Sub" in res, stmt["Sid"]


def test_ds_5_allows_name_the_bucket_its_objects_and_the_key(tpl: dict[str, Any]) -> None:
    document = data_role_policies(tpl)["DataEngineerRole"]
    assert statement(document, "ListDataBucketFromAllowedNetworks")["Resource"] == [getatt("DataBucket")]
    assert statement(document, "WriteDataObjectsFromAllowedNetworks")["Resource"] == [
        {"Fn::Sub": ["${BucketArn}/*", {"BucketArn": getatt("DataBucket")}]}
    ]
    assert statement(document, "UseDataKeyOnlyThroughS3")["Resource"] == [getatt("DataKey")]


# DS-6 ------------------------------------------------------------------------------------------------


def test_ds_6_every_direct_allow_carries_source_ip(tpl: dict[str, Any], cfg_name: str) -> None:
    cidrs = list(config(cfg_name).allowed_cidrs)
    for document in data_role_policies(tpl).values():
        for stmt in statements(document):
            if stmt["Effect"] != "Allow" or stmt["Sid"] == "UseDataKeyOnlyThroughS3":
                continue
            assert stmt["Condition"]["IpAddress"] == {"aws:SourceIp": cidrs}, stmt["Sid"]


def test_ds_6_default_cidr_is_10_slash_8() -> None:
    assert config("dev").allowed_cidrs == ("10.0.0.0/8",)
    guard = statement(
        data_role_policies(template("dev", STACK))["DataAnalystRole"],
        "DenyRequestsFromOutsideAllowedNetworks",
    )
    assert guard["Condition"]["NotIpAddress"] == {"aws:SourceIp": ["10.0.0.0/8"]}


def test_ds_6_deny_all_guard_outside_ranges_spares_aws_service_calls(
    tpl: dict[str, Any], cfg_name: str
) -> None:
    for document in data_role_policies(tpl).values():
        guard = statement(document, "DenyRequestsFromOutsideAllowedNetworks")
        assert guard["Effect"] == "Deny" and guard["Action"] == ["*"] and guard["Resource"] == ["*"]
        assert guard["Condition"]["NotIpAddress"] == {"aws:SourceIp": list(config(cfg_name).allowed_cidrs)}
        assert guard["Condition"]["Bool"] == {"aws:ViaAWSService": "false"}


def test_ds_6_kms_through_s3_has_no_source_ip_but_via_service(tpl: dict[str, Any]) -> None:
    """S3 calls KMS on the role's behalf (forward access session) for SSE-KMS objects. KMS sees S3's
    address, not the caller's, so an aws:SourceIp condition on these statements would never match and
    every encrypted object would be unreadable. They are limited by kms:ViaService instead, and the
    deny-all network guard spares them through aws:ViaAWSService false."""
    for document in data_role_policies(tpl).values():
        kms = statement(document, "UseDataKeyOnlyThroughS3")
        assert "IpAddress" not in kms["Condition"]
        assert kms["Condition"] == {
            "StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
        }


def test_ds_6_trust_limited_to_allowed_networks(tpl: dict[str, Any], cfg_name: str) -> None:
    trust = statement(
        props(tpl, "DataAnalystRole")["AssumeRolePolicyDocument"], "AssumeWithMfaFromAllowedNetworks"
    )
    assert trust["Condition"]["IpAddress"] == {"aws:SourceIp": list(config(cfg_name).allowed_cidrs)}


# DS-7 ------------------------------------------------------------------------------------------------


def test_ds_7_bucket_policy_denies_requests_without_tls(tpl: dict[str, Any]) -> None:
    policy = props(tpl, "DataBucketPolicy")["PolicyDocument"]
    tls = statement(policy, "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == ["s3:*"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    old_tls = statement(policy, "DenyTlsBelow12")
    assert old_tls["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_ds_7_denies_unencrypted_or_wrongly_keyed_uploads(tpl: dict[str, Any]) -> None:
    policy = props(tpl, "DataBucketPolicy")["PolicyDocument"]
    wrong_sse = statement(policy, "DenyUploadsNotEncryptedWithSseKms")
    assert wrong_sse["Action"] == ["s3:PutObject"]
    assert wrong_sse["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "aws:kms"}
    wrong_key = statement(policy, "DenyUploadsWithAnotherKmsKey")
    assert wrong_key["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": getatt("DataKey")
    }
    # An upload naming no encryption gets the bucket default (SSE-KMS, this key); the Null guards keep
    # UploadPart, which never carries the header, from being denied.
    assert wrong_sse["Condition"]["Null"] == {"s3:x-amz-server-side-encryption": "false"}
    encryption = props(tpl, "DataBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": getatt("DataKey"),
    }


def test_ds_7_both_buckets_tls_only(tpl: dict[str, Any]) -> None:
    for policy_id in ("DataBucketPolicy", "AccessLogBucketPolicy"):
        tls = statement(props(tpl, policy_id)["PolicyDocument"], "DenyInsecureTransport")
        assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# DS-8 ------------------------------------------------------------------------------------------------


def test_ds_8_public_access_fully_blocked_and_owner_enforced(tpl: dict[str, Any]) -> None:
    for bucket in ("DataBucket", "AccessLogBucket"):
        bucket_props = props(tpl, bucket)
        assert bucket_props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket_props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_ds_8_default_encryption_with_key_and_bucket_key(tpl: dict[str, Any]) -> None:
    rule = props(tpl, "DataBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == getatt("DataKey")


def test_ds_8_server_access_logging_to_dedicated_bucket(tpl: dict[str, Any]) -> None:
    logging = props(tpl, "DataBucket")["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": {"Ref": "AccessLogBucket"}, "LogFilePrefix": "data-bucket/"}
    delivery = statement(
        props(tpl, "AccessLogBucketPolicy")["PolicyDocument"], "AllowServerAccessLogDeliveryFromDataBucket"
    )
    assert delivery["Principal"] == {"Service": ["logging.s3.amazonaws.com"]}
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = sub_text(delivery["Condition"]["ArnLike"]["aws:SourceArn"])
    assert source.startswith("arn:${AWS::Partition}:s3:::iam-guard-data-${AWS::AccountId}-")
    assert resource(tpl, "DataBucket")["DependsOn"] == ["AccessLogBucketPolicy"]


def test_ds_8_access_log_bucket_uses_sse_s3_with_written_reason(tpl: dict[str, Any]) -> None:
    """Server access logging cannot deliver to an SSE-KMS bucket; the choice is explained in Metadata."""
    log_bucket = resource(tpl, "AccessLogBucket")
    rule = log_bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    notes = " ".join(log_bucket["Metadata"]["iam-guard"]["notes"])
    assert "does not deliver to a bucket whose default encryption is SSE-KMS" in notes
    for skip in log_bucket["Metadata"]["checkov"]["skip"]:
        assert len(skip["comment"]) > 40


# DS-9 ------------------------------------------------------------------------------------------------


def test_ds_9_data_log_bucket_and_key_retained(tpl: dict[str, Any]) -> None:
    for logical_id in (
        "DataBucket",
        "AccessLogBucket",
        "DataKey",
        "DataStoreAuditLogGroup",
        "DataBucketPolicy",
        "AccessLogBucketPolicy",
    ):
        res = resource(tpl, logical_id)
        assert res["DeletionPolicy"] == "Retain", logical_id
        assert res["UpdateReplacePolicy"] == "Retain", logical_id


def test_ds_9_key_deletion_window_is_30_days(tpl: dict[str, Any]) -> None:
    assert props(tpl, "DataKey")["PendingWindowInDays"] == 30


def test_ds_outputs_exported(tpl: dict[str, Any], cfg_name: str) -> None:
    env = config(cfg_name).environment
    outputs = tpl["Outputs"]
    assert {"DataBucketName", "DataKeyArn", "DataAnalystRoleArn", "DataEngineerRoleArn"} <= set(outputs)
    for key, output in outputs.items():
        assert output["Export"]["Name"] == f"iam-guard-data-store-{env}-{key}"


def test_mon_5_data_roles_denied_outside_stack_region(tpl: dict[str, Any]) -> None:
    """Request context (MON-5): the data roles' sessions work only in the stack's own region."""
    for document in data_role_policies(tpl).values():
        guard = statement(document, "DenyRequestsToOtherRegions")
        assert guard["Effect"] == "Deny" and guard["Action"] == ["*"]
        assert guard["Condition"]["StringNotEquals"] == {"aws:RequestedRegion": [{"Ref": "AWS::Region"}]}
        assert guard["Condition"]["Bool"] == {"aws:ViaAWSService": "false"}
