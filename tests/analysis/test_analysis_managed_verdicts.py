"""ANA-13: precision on what every account has. A table of AWS managed policies by expected verdict, each
with its reason: the policies every account meets in its daily audit must tell the operator about their
own risk, not AWS's, while the powerful ones stay loud.

Verdicts (the issue's four, plus two the loud policies need to be named honestly):
- admin-equivalent: IAMG001 at critical.
- privilege escalation: IAMG006 at high or above.
- permissions on '*': changes who may use resources (bucket, topic, queue policies, sharing, directory and
  user-pool administration): IAMG002 (permissions management), IAMG003 or IAMG014 at high or above.
- data access on '*': IAMG008 at medium, nothing at high or above.
- write on '*': a consequential write on every resource (IAMG002 at medium), nothing at high or above.
- quiet: nothing at medium or above.

The documents of the 34 most important rows are copied in tests/fixtures/aws-managed (see its README), so
the core of the table runs without ../shared; the other rows read ../shared/corpus/aws-managed and are
skipped, visibly, when it is absent."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from iam_guard.analysis import Finding, Severity, analyze_policy
from iam_guard.analysis.index import load_index
from iam_guard.analysis.knowledge import LOW_IMPACT_WRITES, NOT_EXPOSURE
from iam_guard.cli import main
from support import FIXTURES, REPO_ROOT, corpus_dir

FIXTURE_DIR = FIXTURES / "aws-managed"

ADMIN = "admin-equivalent"
ESCALATION = "privilege escalation"
PERMISSIONS = "permissions on '*'"
DATA = "data access on '*'"
WRITE = "write on '*'"
QUIET = "quiet"


@dataclass(frozen=True)
class Verdict:
    """One row: the policy, its verdict, the evidence the verdict's finding must name (a technique for
    escalation, an action or service wildcard otherwise; nothing for quiet) and why."""

    policy: str
    verdict: str
    evidence: str
    reason: str


def _rows(verdict: str, *rows: tuple[str, str, str]) -> list[Verdict]:
    return [Verdict(policy, verdict, evidence, reason) for policy, evidence, reason in rows]


# The 30 service-role policies most attached in AWS accounts (by judgement: the execution roles of Lambda,
# ECS, EKS, EC2 agents and the long-standing service roles that every tutorial attaches).
MOST_ATTACHED_SERVICE_ROLES = (
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "AmazonECSTaskExecutionRolePolicy",
    "AmazonSSMManagedInstanceCore",
    "CloudWatchAgentServerPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AWSXRayDaemonWriteAccess",
    "AmazonEKSClusterPolicy",
    "AWSLambdaRole",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaKinesisExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
    "AmazonRDSEnhancedMonitoringRole",
    "AmazonAPIGatewayPushToCloudWatchLogs",
    "AWSGlueServiceRole",
    "AmazonEC2RoleforSSM",
    "AmazonSSMManagedEC2InstanceDefaultPolicy",
    "AmazonEC2ContainerServiceforEC2Role",
    "AWSCodeDeployRole",
    "AmazonEBSCSIDriverPolicy",
    "AmazonEKSVPCResourceController",
    "AmazonEKSFargatePodExecutionRolePolicy",
    "CloudWatchLambdaInsightsExecutionRolePolicy",
    "AWSLambdaMSKExecutionRole",
    "AmazonElasticMapReduceRole",
    "AmazonElasticMapReduceforEC2Role",
    "AWSElasticBeanstalkWebTier",
    "AWS_ConfigRole",
)

VERDICTS: tuple[Verdict, ...] = tuple(
    _rows(ADMIN, ("AdministratorAccess", "*", "'*' on '*'"))
    + _rows(
        ESCALATION,
        ("IAMFullAccess", "AttachUserPolicy", "iam:* attaches any policy to itself"),
        (
            "PowerUserAccess",
            "SSMSendCommandToInstances",
            "NotAction iam: SSM SendCommand, Lambda code, CloudFormation stacks of any role",
        ),
        (
            "AWSCloudFormationFullAccess",
            "UpdateExistingCloudFormationStack",
            "updates any stack, running as the stack's role",
        ),
        (
            "AmazonEC2FullAccess",
            "EC2UserDataOnExistingInstance",
            "rewrites the user data of any instance and restarts it",
        ),
        (
            "AWSLambda_FullAccess",
            "EditExistingLambdaFunctionCode",
            "edits the code of any function, running as its role",
        ),
        (
            "AmazonSSMFullAccess",
            "SSMSendCommandToInstances",
            "ssm:SendCommand runs commands on any managed instance as its role",
        ),
        (
            "AmazonSSMAutomationRole",
            "UpdateExistingCloudFormationStack",
            "ssm:* and cloudformation:UpdateStack on '*'",
        ),
        (
            "AWSGlueServiceRole",
            "UpdateExistingGlueDevEndpoint",
            "glue:* updates any dev endpoint, running as its role",
        ),
        ("AWSGlueServiceNotebookRole", "UpdateExistingGlueDevEndpoint", "glue:UpdateDevEndpoint on '*'"),
        (
            "AmazonElasticMapReduceRole",
            "PassRoleToNewEC2Instance",
            "iam:PassRole on '*' with ec2:RunInstances",
        ),
        (
            "AmazonSageMakerFullAccess",
            "PassRoleToNewSageMakerNotebook",
            "passes roles to new notebooks and jobs, presigned notebook URLs",
        ),
        ("AmazonECS_FullAccess", "PassRoleToNewECSTask", "passes roles to new ECS tasks"),
        (
            "AdministratorAccess-Amplify",
            "PutRolePolicy",
            "iam:PutRolePolicy / AttachRolePolicy and Lambda code on '*'",
        ),
        (
            "AdministratorAccess-AWSElasticBeanstalk",
            "PassRoleToNewEC2Instance",
            "passes roles to new EC2 instances",
        ),
        (
            "SecretsManagerReadWrite",
            "ExecuteChangeSetOnExistingStack",
            "executes CloudFormation change sets on existing stacks",
        ),
        ("AWSDataPipelineRole", "PassRoleToNewEC2Instance", "iam:PassRole on '*' with ec2:RunInstances"),
        (
            "AWSBatchServiceRole",
            "PassRoleToNewECSTask",
            "passes roles to new instances, auto scaling groups and ECS tasks",
        ),
        ("AmazonEC2SpotFleetTaggingRole", "PassRoleToNewEC2Instance", "iam:PassRole with ec2:RunInstances"),
    )
    + _rows(
        PERMISSIONS,
        ("AmazonS3FullAccess", "s3:*", "s3:* writes bucket policies and ACLs: any bucket can be made public"),
        ("AmazonSNSFullAccess", "sns:*", "sns:* sets topic policies"),
        ("AmazonSQSFullAccess", "sqs:*", "sqs:* sets queue policies"),
        ("CloudWatchLogsFullAccess", "logs:*", "logs:* writes resource policies and deletes log groups"),
        ("AWSResourceAccessManagerFullAccess", "ram:*", "ram:* shares resources with other accounts"),
        ("AWSSSODirectoryAdministrator", "sso-directory:*", "administers the IAM Identity Center directory"),
        ("AWSSSOMasterAccountAdministrator", "sso:*", "administers IAM Identity Center permission sets"),
        ("AmazonCognitoPowerUser", "cognito-idp:*", "cognito-idp:* administers user pools and their users"),
        (
            "AmazonVPCFullAccess",
            "ec2:ModifyVpcEndpointServicePermissions",
            "endpoint-service permissions and endpoint policies on '*'",
        ),
        (
            "NetworkAdministrator",
            "ec2:ModifyVpcEndpointServicePermissions",
            "permissions management and resource-policy changes across networking",
        ),
        ("AmazonDynamoDBFullAccess", "dynamodb:*", "dynamodb:* writes table resource policies"),
        ("AmazonElasticMapReduceforEC2Role", "s3:*", "s3:*, dynamodb:*, sns:*, sqs:* on '*'"),
    )
    + _rows(
        DATA,
        ("AmazonS3ReadOnlyAccess", "s3:GetObject", "s3:Get* reads every object"),
        ("ReadOnlyAccess", "dynamodb:Scan", "reads every object, table item and parameter"),
        ("AmazonDynamoDBReadOnlyAccess", "dynamodb:Scan", "scans and queries every table"),
        ("AmazonSSMReadOnlyAccess", "ssm:GetParametersByPath", "reads every parameter"),
        (
            "AmazonSSMManagedInstanceCore",
            "ssm:GetParameter",
            "ssm:GetParameter(s) on '*': every parameter, SecureString too",
        ),
        ("AmazonEC2RoleforSSM", "ssm:GetParameters", "ssm:GetParameters and s3:GetObject on '*'"),
        ("AmazonEC2RoleforAWSCodeDeploy", "s3:GetObject", "s3:GetObject on '*'"),
        (
            "AmazonMacieServiceRolePolicy",
            "s3:GetObject",
            "s3:GetObject on '*' (Macie reads objects to classify them)",
        ),
        ("AWSConfigRole", "s3:GetObject", "s3:GetObject on '*'"),
    )
    + _rows(
        WRITE,
        (
            "CloudWatchAgentServerPolicy",
            "logs:PutRetentionPolicy",
            "logs:PutRetentionPolicy on '*' can cut every log group's history",
        ),
        (
            "AmazonEKSClusterPolicy",
            "ec2:AuthorizeSecurityGroupIngress",
            "creates and opens security groups, changes routes on '*'",
        ),
        ("AWSLambdaRole", "lambda:InvokeFunction", "lambda:InvokeFunction on every function"),
        (
            "AmazonEBSCSIDriverPolicy",
            "ec2:AttachVolume",
            "attaches and detaches every volume to every instance (arn:aws:ec2:*:*:volume/* is every volume, "
            "ANA-12) and deletes the volumes where a tag key is merely present ('*' narrows nothing); the "
            "statements whose tag condition names a value stay narrowed",
        ),
        ("AWSLambdaSQSQueueExecutionRole", "sqs:DeleteMessage", "sqs:DeleteMessage on every queue"),
        (
            "AmazonEC2ContainerServiceforEC2Role",
            "ecs:DeregisterContainerInstance",
            "ecs:DeregisterContainerInstance and cluster writes on '*'",
        ),
        (
            "AWSCodeDeployRole",
            "autoscaling:DeleteAutoScalingGroup",
            "creates and deletes auto scaling groups on '*'",
        ),
        (
            "AmazonEC2ContainerServiceRole",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupIngress on '*'",
        ),
        ("AWSElasticBeanstalkWorkerTier", "sqs:DeleteMessage", "sends and deletes messages of every queue"),
        (
            "AWSElasticBeanstalkMulticontainerDocker",
            "ecs:StopTask",
            "starts and stops tasks on every cluster",
        ),
        (
            "AWS_ConfigRole",
            "config:PutConfigurationRecorder",
            "config:Put* on '*' changes recorders and rules",
        ),
        (
            "AWSBackupServiceRolePolicyForRestores",
            "rds:DeleteDBInstance",
            "deletes and restores databases, runs instances on '*'",
        ),
        (
            "AmazonEKSServicePolicy",
            "eks:UpdateClusterVersion",
            "eks:UpdateClusterVersion, route53:AssociateVPCWithHostedZone on '*'",
        ),
    )
    + _rows(
        QUIET,
        ("AWSLambdaBasicExecutionRole", "", "log writes only"),
        ("AWSLambdaVPCAccessExecutionRole", "", "log writes and the function's network interfaces"),
        ("AmazonECSTaskExecutionRolePolicy", "", "pulls images (ecr auth is '*' only) and writes logs"),
        ("AmazonEKSWorkerNodePolicy", "", "describe calls and eks-auth:AssumeRoleForPodIdentity"),
        ("AmazonEKS_CNI_Policy", "", "the node's network interfaces and their addresses"),
        ("AmazonEC2ContainerRegistryReadOnly", "", "reads images"),
        ("AWSXRayDaemonWriteAccess", "", "trace segments and sampling rules: no resource-level actions"),
        ("AWSLambdaKinesisExecutionRole", "", "reads streams, writes logs"),
        ("AWSLambdaDynamoDBExecutionRole", "", "reads table streams, writes logs"),
        ("AWSLambdaMSKExecutionRole", "", "reads cluster metadata, network interfaces, logs"),
        ("AWSLambdaENIManagementAccess", "", "network interfaces only"),
        ("AmazonRDSEnhancedMonitoringRole", "", "log writes to the RDSOSMetrics group"),
        ("AmazonAPIGatewayPushToCloudWatchLogs", "", "log writes only"),
        ("AWSAppSyncPushToCloudWatchLogs", "", "log writes only"),
        ("AmazonDMSCloudWatchLogsRole", "", "log writes to dms-tasks-* groups"),
        ("CloudWatchLambdaInsightsExecutionRolePolicy", "", "log writes to /aws/lambda-insights"),
        ("AmazonSSMManagedEC2InstanceDefaultPolicy", "", "the SSM agent reporting its own state"),
        ("AmazonEKSVPCResourceController", "", "the pods' branch network interfaces"),
        ("AmazonEKSFargatePodExecutionRolePolicy", "", "pulls images"),
        ("AmazonDMSVPCManagementRole", "", "the replication instance's network interfaces"),
        ("AWSElasticBeanstalkWebTier", "", "writes to the environment's own bucket and log groups"),
        ("AmazonEKSForFargateServiceRolePolicy", "", "network interfaces and their permissions"),
        ("AWSVPCTransitGatewayServiceRolePolicy", "", "the attachment's network interfaces and permissions"),
        ("AmazonSageMakerCoreServiceRolePolicy", "", "network interface permissions"),
        ("WorkLinkServiceRolePolicy", "", "network interfaces and their permissions"),
        ("AWSS3OnOutpostsServiceRolePolicy", "", "network interface permissions with conditions"),
        ("AWSGlueDataBrewServiceRole", "", "network interfaces and their permissions, logs"),
        ("AWSDeviceFarmServiceRolePolicy", "", "network interfaces and their permissions"),
        ("KafkaConnectServiceRolePolicy", "", "network interface permissions"),
        ("AmazonMWAAServiceRolePolicy", "", "network interfaces, logs and metrics"),
        ("AmazonOpenSearchServiceRolePolicy", "", "network interfaces of the domain"),
        ("AccessAnalyzerServiceRolePolicy", "", "reads resource policies to analyze them"),
        ("AWSTrustedAdvisorServiceRolePolicy", "", "describe calls"),
        ("AmazonDetectiveServiceLinkedRolePolicy", "", "reads organization membership"),
        ("SecurityAudit", "", "reads configuration, no data"),
        ("ViewOnlyAccess", "", "lists and describes"),
        ("AmazonEC2ReadOnlyAccess", "", "describe calls"),
        ("CloudWatchReadOnlyAccess", "", "reads metrics and alarms"),
        ("AWSCloudTrail_ReadOnlyAccess", "", "reads trails and events"),
        ("IAMReadOnlyAccess", "", "reads IAM"),
        ("AmazonVPCReadOnlyAccess", "", "describe calls, network interface permissions included"),
        ("AWSOrganizationsReadOnlyAccess", "", "reads the organization"),
        ("IAMUserChangePassword", "", "a user changing their own password"),
    )
)
BY_POLICY = {row.policy: row for row in VERDICTS}
FIXTURE_POLICIES = frozenset(path.stem for path in FIXTURE_DIR.glob("*.json"))
CORE = tuple(row for row in VERDICTS if row.policy in FIXTURE_POLICIES)
REST = tuple(row for row in VERDICTS if row.policy not in FIXTURE_POLICIES)


@cache
def findings_of(policy: str) -> tuple[Finding, ...]:
    """The analyzer's findings for a policy: from the project's copy if there is one, else the corpus."""
    path = FIXTURE_DIR / f"{policy}.json"
    if not path.is_file():
        path = corpus_dir("aws-managed") / f"{policy}.json"
    return tuple(analyze_policy(path.read_text(encoding="utf-8")))


def loud(findings: tuple[Finding, ...], at_least: Severity) -> list[tuple[str, str, str]]:
    return [(f.severity.label, f.code, f.message) for f in findings if f.severity >= at_least]


def assert_verdict(row: Verdict) -> None:
    findings = findings_of(row.policy)
    why = f"{row.policy} should be {row.verdict} ({row.reason}); got {loud(findings, Severity.MEDIUM)}"
    if row.verdict == QUIET:
        assert loud(findings, Severity.MEDIUM) == [], why
        return
    codes, at_least, at_most = VERDICT_FINDINGS[row.verdict]
    evidence = [
        f
        for f in findings
        if f.code in codes
        and f.severity >= at_least
        and (row.evidence in f.actions or (f.code == "IAMG006" and row.evidence in f.message))
    ]
    assert evidence, why
    assert max(f.severity for f in findings) <= at_most, why


# verdict -> (codes that carry it, their lowest severity, the highest severity the policy may have)
VERDICT_FINDINGS: dict[str, tuple[tuple[str, ...], Severity, Severity]] = {
    ADMIN: (("IAMG001",), Severity.CRITICAL, Severity.CRITICAL),
    ESCALATION: (("IAMG006",), Severity.HIGH, Severity.CRITICAL),
    PERMISSIONS: (("IAMG002", "IAMG003", "IAMG014"), Severity.HIGH, Severity.CRITICAL),
    DATA: (("IAMG008",), Severity.MEDIUM, Severity.MEDIUM),
    WRITE: (("IAMG002",), Severity.MEDIUM, Severity.MEDIUM),
}


def _id(row: Verdict) -> str:
    return f"{row.verdict.split()[0]}-{row.policy}"


# ------------------------------------------------------------------------------------------ the table


def test_ana_13_table_covers_60_policies_and_the_30_most_attached_service_roles() -> None:
    assert len(VERDICTS) == len(BY_POLICY) >= 60  # no policy twice
    assert len(MOST_ATTACHED_SERVICE_ROLES) == len(set(MOST_ATTACHED_SERVICE_ROLES)) == 30
    assert [name for name in MOST_ATTACHED_SERVICE_ROLES if name not in BY_POLICY] == []
    assert all(row.reason.strip() and bool(row.evidence) == (row.verdict != QUIET) for row in VERDICTS)
    assert {row.verdict for row in VERDICTS} == {ADMIN, ESCALATION, PERMISSIONS, DATA, WRITE, QUIET}


def test_ana_13_every_fixture_copy_has_a_row_and_the_core_holds_the_most_attached_roles() -> None:
    assert len(FIXTURE_POLICIES) >= 30
    assert sorted(FIXTURE_POLICIES - set(BY_POLICY)) == []
    core_roles = [name for name in MOST_ATTACHED_SERVICE_ROLES if name in FIXTURE_POLICIES]
    assert len(core_roles) >= 20


def test_ana_13_fixture_copies_match_the_corpus() -> None:
    folder = corpus_dir("aws-managed")
    different = [
        name
        for name in sorted(FIXTURE_POLICIES)
        if (FIXTURE_DIR / f"{name}.json").read_bytes() != (folder / f"{name}.json").read_bytes()
    ]
    assert different == []


@pytest.mark.parametrize("row", [row for row in CORE if row.verdict == QUIET], ids=_id)
def test_ana_13_quiet_managed_policies_raise_nothing_at_medium_or_above(row: Verdict) -> None:
    assert_verdict(row)


@pytest.mark.parametrize("row", [row for row in CORE if row.verdict != QUIET], ids=_id)
def test_ana_13_loud_managed_policies_keep_their_verdict(row: Verdict) -> None:
    """AdministratorAccess, IAMFullAccess, the *FullAccess of services that manage permissions and the
    data readers stay loud: precision must not hide real risk."""
    assert_verdict(row)


@pytest.mark.corpus
@pytest.mark.parametrize("row", REST, ids=_id)
def test_ana_13_managed_policy_verdicts_hold_on_the_corpus(row: Verdict) -> None:
    assert_verdict(row)


# ------------------------------------------------------------------------------------ what was noisy

ENI_AND_GRANT_ACTIONS = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterfacePermission",
    "kms:RetireGrant",
)


def identity(actions: list[str], resource: str = "*") -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    }


def test_ana_13_low_impact_and_not_exposure_name_scoped_writes_and_permissions_of_the_index() -> None:
    """Both lists name real actions that the catalogue files as Write or Permissions management and that
    support resource-level permissions (otherwise IAMG002 would never report them and the list is dead)."""
    actions = load_index().actions
    for action in LOW_IMPACT_WRITES | NOT_EXPOSURE:
        info = actions.get(action)
        assert info is not None, action
        assert info.level in ("W", "P") and info.resource_types, (action, info)
    assert {"kms:retiregrant", "ec2:createnetworkinterfacepermission"} <= LOW_IMPACT_WRITES & NOT_EXPOSURE
    assert "kms:revokegrant" not in LOW_IMPACT_WRITES
    assert "logs:putretentionpolicy" not in LOW_IMPACT_WRITES


@pytest.mark.parametrize("action", ENI_AND_GRANT_ACTIONS)
def test_ana_13_interface_permissions_and_retire_grant_are_not_resource_policy_changes(action: str) -> None:
    findings = analyze_policy(identity([action]))
    assert [f.code for f in findings if f.code == "IAMG014"] == []
    (write,) = [f for f in findings if f.code == "IAMG002"]
    assert (write.severity, write.actions) == (Severity.LOW, (action,))


def test_ana_13_real_resource_policy_changes_and_grants_stay_high() -> None:
    for action in (
        "kms:PutKeyPolicy",
        "kms:CreateGrant",
        "s3:PutBucketPolicy",
        "ec2:ModifySnapshotAttribute",
    ):
        findings = analyze_policy(identity([action]))
        assert [(f.code, f.severity) for f in findings] == [("IAMG014", Severity.HIGH)], action


def test_ana_13_revoking_a_grant_is_a_medium_write_not_a_resource_policy_change() -> None:
    """kms:RevokeGrant takes access away (no exposure), but a key administrator can cut a service off."""
    findings = analyze_policy(identity(["kms:RevokeGrant"]))
    assert [(f.code, f.severity) for f in findings] == [("IAMG002", Severity.MEDIUM)]


def test_ana_13_log_writes_on_star_are_low() -> None:
    findings = analyze_policy(identity(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]))
    assert [(f.code, f.severity) for f in findings] == [("IAMG002", Severity.LOW)]
    assert findings[0].actions == ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")


@pytest.mark.parametrize(
    "other",
    [
        "logs:PutRetentionPolicy",
        "logs:DeleteLogGroup",
        "sqs:DeleteMessage",
        "ec2:AuthorizeSecurityGroupIngress",
    ],
)
def test_ana_13_a_consequential_write_beside_log_writes_keeps_the_statement_medium(other: str) -> None:
    findings = analyze_policy(identity(["logs:CreateLogStream", "logs:PutLogEvents", other]))
    (write,) = [f for f in findings if f.code == "IAMG002"]
    assert write.severity is Severity.MEDIUM
    assert other in write.actions


def test_ana_13_log_writes_on_named_log_groups_raise_nothing() -> None:
    arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/payments:*"
    assert analyze_policy(identity(["logs:CreateLogStream", "logs:PutLogEvents"], arn)) == []


def test_ana_13_permissions_management_beside_interface_actions_stays_high() -> None:
    findings = analyze_policy(identity(["ec2:CreateNetworkInterface", "iam:CreatePolicy"]))
    (write,) = [f for f in findings if f.code == "IAMG002"]
    assert write.severity is Severity.HIGH


def test_ana_13_no_corpus_policy_is_loud_for_low_impact_actions_alone() -> None:
    """Over all 1,388 AWS managed policies: no medium-or-above write finding names only low-impact writes,
    and no resource-policy finding names an action that lets nobody in."""
    folder = corpus_dir("aws-managed")
    low_impact = {action.lower() for action in LOW_IMPACT_WRITES}
    offenders = []
    for path in sorted(folder.glob("*.json")):
        for item in analyze_policy(path.read_text(encoding="utf-8")):
            named = {action.lower() for action in item.actions}
            if item.code == "IAMG002" and item.severity >= Severity.MEDIUM and named <= low_impact:
                offenders.append((path.stem, item.message))
            if item.code == "IAMG014" and named & NOT_EXPOSURE:
                offenders.append((path.stem, item.message))
    assert offenders == []


# ------------------------------------------------------------------------------ the default key policy

OWN_ROOTS = (
    "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",  # !Sub, as the scanner renders it
    "arn:aws:iam::${AWS::AccountId}:root",
    "${AWS::AccountId}",  # !Ref AWS::AccountId
)


def key_policy(principal: object, action: str = "kms:*") -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": action,
                "Resource": "*",
            }
        ],
    }


@pytest.mark.parametrize("root", OWN_ROOTS)
def test_ana_13_default_key_policy_of_this_account_is_not_medium(root: str) -> None:
    findings = analyze_policy(key_policy(root), "resource")
    assert [(f.code, f.severity) for f in findings] == [("IAMG003", Severity.LOW)]
    assert "to this account only" in findings[0].message


def test_ana_13_key_policy_with_every_action_for_this_account_is_low() -> None:
    findings = analyze_policy(key_policy(OWN_ROOTS[0], "*"), "resource")
    assert [(f.code, f.severity) for f in findings] == [("IAMG001", Severity.LOW)]


@pytest.mark.parametrize(
    ("principal", "code", "severity"),
    [
        ("arn:aws:iam::111122223333:root", "IAMG003", Severity.MEDIUM),  # may be another account
        ([OWN_ROOTS[0], "arn:aws:iam::444455556666:root"], "IAMG003", Severity.MEDIUM),
        ("arn:aws:iam::${AWS::AccountId}:role/admin", "IAMG003", Severity.MEDIUM),  # a role, not delegation
        ("*", "IAMG017", Severity.CRITICAL),
    ],
)
def test_ana_13_key_policies_for_other_principals_stay_loud(
    principal: object, code: str, severity: Severity
) -> None:
    findings = analyze_policy(key_policy(principal), "resource")
    assert (code, severity) in {(f.code, f.severity) for f in findings}
    assert max(f.severity for f in findings) >= Severity.MEDIUM


def test_ana_13_own_account_in_an_identity_policy_changes_nothing() -> None:
    """The delegation rule reads the Principal of a resource policy; an identity policy has none."""
    findings = analyze_policy(identity(["kms:*"]))
    assert ("IAMG003", Severity.HIGH) in {(f.code, f.severity) for f in findings}


def test_ana_13_scanner_reads_a_template_default_key_policy_as_low(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "key.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Key": {
                        "Type": "AWS::KMS::Key",
                        "Properties": {"KeyPolicy": key_policy({"Fn::Sub": OWN_ROOTS[0]})},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    code = main(["analyze", str(template), "--format", "json", "--fail-on", "medium"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 0
    assert [(f["code"], f["severity"]) for f in findings] == [("IAMG003", "low")]


# --------------------------------------------------------------------------------- the distribution


def distribution_script() -> ModuleType:
    """scripts/managed_distribution.py as a module (scripts/ is not a package)."""
    path = REPO_ROOT / "scripts" / "managed_distribution.py"
    spec = importlib.util.spec_from_file_location("managed_distribution", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_ana_13_distribution_script_counts_every_policy_once_by_its_worst_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """scripts/managed_distribution.py over the project's copies: every file counted once, and the policies
    at medium or above are exactly the table's non-quiet rows among them."""
    script = distribution_script()
    assert script.main(["--corpus", str(FIXTURE_DIR), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["policies"] == len(FIXTURE_POLICIES)
    assert sum(result["worst"].values()) == len(FIXTURE_POLICIES)
    loud_policies = sum(result["worst"][label] for label in ("critical", "high", "medium"))
    assert loud_policies == sum(1 for row in CORE if row.verdict != QUIET)
    assert result["worst"]["critical"] == result["any"]["critical"] == 1  # AdministratorAccess
    assert all(result["any"][label] >= result["worst"][label] for label in result["any"])


def test_ana_13_distribution_script_rejects_a_missing_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = distribution_script()
    missing = tmp_path / "absent"
    assert script.main(["--corpus", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"--corpus: {missing} is not a directory"
