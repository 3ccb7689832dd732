"""Stack 2: secure storage for financial data (DS-1 to DS-9).

A customer-managed key encrypts the data bucket and the stack's audit log group; the bucket is versioned,
private, TLS-only, logged, with lifecycle rules and MFA-guarded destructive operations; two roles read
(DataAnalyst) or read and write (DataEngineer) from the allowed networks only.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import PolicyDocument, Statement
from troposphere import GetAtt, Ref, Sub, Template, iam

from iam_guard import arns, naming
from iam_guard.blocks.kms import customer_managed_key, key_alias
from iam_guard.blocks.logs import encrypted_log_group
from iam_guard.blocks.roles import inline_policy, role
from iam_guard.blocks.storage import (
    Lifecycle,
    access_log_bucket,
    kms_encrypted_bucket,
    tls_only_bucket_policy,
)
from iam_guard.config import Config
from iam_guard.outputs import add_exported_outputs
from iam_guard.policies import document
from iam_guard.policies.common import (
    deny_outside_networks_statement,
    deny_outside_regions_statement,
    deny_sensitive_actions_statement,
)
from iam_guard.policies.kms import (
    LOGS_ENCRYPTION_CONTEXT_REASON,
    cloudwatch_logs_statement,
    use_through_service_statement,
)
from iam_guard.policies.s3 import (
    allow_access_log_delivery_statement,
    deny_data_destruction_statement,
    deny_destructive_without_mfa_statement,
    deny_wrong_encryption_statements,
    read_data_statements,
    use_data_key_through_s3_statement,
    write_data_statements,
)
from iam_guard.policies.trust import assume_with_mfa_trust

STACK = "data-store"
READ_KEY_ACTIONS = ("kms:Decrypt",)
WRITE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def audit_log_group_name(config: Config) -> str:
    return f"/{naming.PROJECT}/{config.name_suffix}/data-store-audit"


def build(config: Config) -> Template:
    template = Template(
        Description=(
            f"iam-guard data store ({config.environment}, {config.region}): KMS-encrypted, versioned, "
            "MFA-guarded S3 storage for financial data with least-privilege DataAnalyst and "
            "DataEngineer roles."
        )
    )
    analyst_name = naming.pascal_name(config, "DataAnalyst")
    engineer_name = naming.pascal_name(config, "DataEngineer")
    log_group_name = audit_log_group_name(config)

    key = template.add_resource(
        customer_managed_key(
            "DataKey",
            description=f"iam-guard data store key ({config.name_suffix}): data bucket and audit log group",
            usage=[
                cloudwatch_logs_statement([arns.log_group_bare(log_group_name)]),
                use_through_service_statement(
                    "AllowDataRolesToUseKeyOnlyThroughS3",
                    [arns.role(analyst_name), arns.role(engineer_name)],
                    "s3",
                    WRITE_KEY_ACTIONS,
                ),
            ],
        )
    )
    key.Metadata = {
        "iam-guard": {"suppressions": [{"code": "IAMG010", "reason": LOGS_ENCRYPTION_CONTEXT_REASON}]}
    }
    template.add_resource(key_alias("DataKeyAlias", alias=naming.name(config, "data"), key=key))
    log_group = template.add_resource(
        encrypted_log_group(
            "DataStoreAuditLogGroup",
            name=log_group_name,
            key=key,
            retention_days=config.data_store.log_retention_days,
        )
    )

    log_bucket = template.add_resource(
        access_log_bucket(
            "AccessLogBucket",
            name=naming.global_name(config, "logs"),
            retention_days=config.data_store.access_log_retention_days,
        )
    )
    data_bucket = kms_encrypted_bucket(
        "DataBucket",
        name=naming.global_name(config, "data"),
        key=key,
        access_log_bucket=log_bucket,
        log_prefix="data-bucket/",
        lifecycle=Lifecycle(
            glacier_transition_days=config.data_store.glacier_transition_days,
            noncurrent_glacier_transition_days=config.data_store.noncurrent_glacier_transition_days,
            abort_incomplete_multipart_days=config.data_store.abort_incomplete_multipart_days,
        ),
    )
    log_bucket_policy = template.add_resource(
        tls_only_bucket_policy(
            "AccessLogBucketPolicy",
            bucket=log_bucket,
            statements=[
                allow_access_log_delivery_statement(
                    arns.bucket_objects(log_bucket, "data-bucket/"),
                    Sub(f"arn:${{AWS::Partition}}:s3:::{_bucket_name_pattern(config, 'data')}"),
                )
            ],
            retain=True,
        )
    )
    # Log delivery must be allowed before the data bucket starts logging.
    data_bucket.DependsOn = [log_bucket_policy.title]
    template.add_resource(data_bucket)

    bucket_arn = arns.bucket(data_bucket)
    objects_arn = arns.bucket_objects(data_bucket)
    key_arn = arns.key(key)
    template.add_resource(
        tls_only_bucket_policy(
            "DataBucketPolicy",
            bucket=data_bucket,
            statements=[
                *deny_wrong_encryption_statements(objects_arn, key_arn),
                deny_destructive_without_mfa_statement(bucket_arn, objects_arn),
            ],
            retain=True,
        )
    )

    trust = assume_with_mfa_trust(
        list(config.data_store.access_principals) or [arns.account_root()], config.allowed_cidrs
    )
    cidrs = config.allowed_cidrs
    reads = read_data_statements(bucket_arn, objects_arn, cidrs)
    guards = [
        deny_data_destruction_statement(bucket_arn, objects_arn, key_arn),
        deny_outside_networks_statement(cidrs),
        deny_outside_regions_statement([Ref("AWS::Region")]),
        deny_sensitive_actions_statement(),
    ]
    analyst = template.add_resource(
        _data_role(
            "DataAnalyst",
            name=analyst_name,
            description="Reads the financial data bucket from the allowed networks, with MFA.",
            trust=trust,
            policy_name="ReadFinancialData",
            grants=[*reads, use_data_key_through_s3_statement(key_arn, READ_KEY_ACTIONS)],
            guards=guards,
        )
    )
    engineer = template.add_resource(
        _data_role(
            "DataEngineer",
            name=engineer_name,
            description="Reads and writes the financial data bucket from the allowed networks, with MFA.",
            trust=trust,
            policy_name="ReadWriteFinancialData",
            grants=[
                *reads,
                *write_data_statements(bucket_arn, objects_arn, cidrs),
                use_data_key_through_s3_statement(key_arn, WRITE_KEY_ACTIONS),
            ],
            guards=guards,
        )
    )

    outputs: dict[str, tuple[str, Any]] = {
        "DataBucketName": ("The financial data bucket", Ref(data_bucket)),
        "DataBucketArn": ("ARN of the financial data bucket", bucket_arn),
        "AccessLogBucketName": ("Server access logs of the data bucket", Ref(log_bucket)),
        "DataKeyArn": ("Customer-managed key of the data store", key_arn),
        "DataStoreAuditLogGroupName": ("Encrypted audit log group of the data store", Ref(log_group)),
        "DataAnalystRoleArn": ("Read-only data role (MFA, allowed networks)", GetAtt(analyst, "Arn")),
        "DataEngineerRoleArn": ("Read-write data role (MFA, allowed networks)", GetAtt(engineer, "Arn")),
    }
    add_exported_outputs(template, config, STACK, outputs)
    return template


def _bucket_name_pattern(config: Config, base: str) -> str:
    """The data bucket's name as a Sub string, so the log bucket policy can name it without a cycle."""
    return f"{naming.PROJECT}-{base}-${{AWS::AccountId}}-{config.name_suffix}"


def _data_role(
    kind: str,
    *,
    name: str,
    description: str,
    trust: PolicyDocument,
    policy_name: str,
    grants: list[Statement],
    guards: list[Statement],
) -> iam.Role:
    """A data role: its grants, then the explicit denies every data role carries."""
    return role(
        f"{kind}Role",
        name=name,
        description=description,
        trust=trust,
        policies=[inline_policy(policy_name, document([*grants, *guards]))],
    )
