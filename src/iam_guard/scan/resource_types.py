"""The one table of CloudFormation resource types that carry an IAM policy, and where the policy is.

Each entry is data: a property path and the policy type (identity, resource or trust), plus the shape of
the value. Shapes:
- `document`: a policy document (object, or JSON text as AWS::Logs::ResourcePolicy takes it);
- `statement`: one statement (AWS::Events::EventBusPolicy `Statement`);
- `sam`: AWS::Serverless::* `Policies` (inline documents, statements, SAM policy templates, managed
  policy names);
- `permission`: a statement spread over properties (AWS::Lambda::Permission: Principal, Action,
  SourceArn...), see `Permission`.
Paths use `.` for a nested property and `[*]` for every item of a list; `name` is the sibling property
that names an item (`PolicyName`); `limits_only` marks a policy that grants nothing and only limits what
passes (a VPC endpoint policy, whose default is Principal "*" and Action "*"): its findings are at most low.

Found by searching cfn-lint's resource schemas (cfnlint/data/schemas) for properties that hold an IAM
policy document. Left out on purpose, because their grammar is not IAM's: AWS::IoT::Policy (IoT Core
policies), AWS::Organizations::Policy (SCPs, tag and backup policies: an SCP Allow grants nothing),
AWS::OpenSearchServerless::AccessPolicy / SecurityPolicy, AWS::NetworkManager::CoreNetwork,
AWS::RAM::Permission (a template without principal), AWS::Transfer::User `Policy` and
AWS::RolesAnywhere::Profile `SessionPolicy` (session policies that only narrow a role), and
AWS::Serverless::Api `Auth.ResourcePolicy` (SAM's own shorthand), AWS::EC2::VerifiedAccess* (Cedar).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Permission:
    """A statement built from properties: Principal, Action and Resource taken from the named
    properties (or the fixed action), each (operator, condition key, property) adding a condition;
    `condition_object` names a property of the form {Type, Key, Value} (EventBusPolicy)."""

    principal: str
    resource: str
    action: str | None = None
    fixed_action: str | None = None
    sid: str | None = None
    conditions: tuple[tuple[str, str, str], ...] = ()
    condition_object: str | None = None


@dataclass(frozen=True)
class PolicyProperty:
    """Where one policy sits in a resource's Properties."""

    path: str
    policy_type: str
    shape: str = "document"
    name: str | None = None
    limits_only: bool = False
    permission: Permission | None = field(default=None, compare=False)


def _identity(path: str, name: str | None = None) -> PolicyProperty:
    return PolicyProperty(path, "identity", name=name)


def _resource(path: str) -> PolicyProperty:
    return PolicyProperty(path, "resource")


_TRUST = PolicyProperty("AssumeRolePolicyDocument", "trust")
_INLINE = _identity("Policies[*].PolicyDocument", name="PolicyName")
_SAM = PolicyProperty("Policies", "identity", shape="sam")
_SOURCE_CONDITIONS = (
    ("ArnLike", "aws:SourceArn", "SourceArn"),
    ("StringEquals", "aws:SourceAccount", "SourceAccount"),
    ("StringEquals", "aws:PrincipalOrgID", "PrincipalOrgID"),
)

POLICY_PROPERTIES: dict[str, tuple[PolicyProperty, ...]] = {
    # identity policies
    "AWS::IAM::Role": (_TRUST, _INLINE),
    "AWS::IAM::User": (_INLINE,),
    "AWS::IAM::Group": (_INLINE,),
    "AWS::IAM::Policy": (_identity("PolicyDocument"),),
    "AWS::IAM::ManagedPolicy": (_identity("PolicyDocument"),),
    "AWS::IAM::RolePolicy": (_identity("PolicyDocument"),),
    "AWS::IAM::UserPolicy": (_identity("PolicyDocument"),),
    "AWS::IAM::GroupPolicy": (_identity("PolicyDocument"),),
    "AWS::SSO::PermissionSet": (_identity("InlinePolicy"),),
    "AWS::Serverless::Function": (_SAM, _TRUST),
    "AWS::Serverless::StateMachine": (_SAM,),
    # resource policies
    "AWS::S3::BucketPolicy": (_resource("PolicyDocument"),),
    "AWS::S3::AccessPoint": (_resource("Policy"),),
    "AWS::S3::MultiRegionAccessPointPolicy": (_resource("Policy"),),
    "AWS::S3ObjectLambda::AccessPointPolicy": (_resource("PolicyDocument"),),
    "AWS::S3Express::BucketPolicy": (_resource("PolicyDocument"),),
    "AWS::S3Express::AccessPoint": (_resource("Policy"),),
    "AWS::S3Outposts::BucketPolicy": (_resource("PolicyDocument"),),
    "AWS::S3Outposts::AccessPoint": (_resource("Policy"),),
    "AWS::S3Tables::TableBucketPolicy": (_resource("ResourcePolicy"),),
    "AWS::S3Tables::TablePolicy": (_resource("ResourcePolicy"),),
    "AWS::S3Vectors::VectorBucketPolicy": (_resource("Policy"),),
    "AWS::KMS::Key": (_resource("KeyPolicy"),),
    "AWS::KMS::ReplicaKey": (_resource("KeyPolicy"),),
    "AWS::SNS::TopicPolicy": (_resource("PolicyDocument"),),
    "AWS::SNS::TopicInlinePolicy": (_resource("PolicyDocument"),),
    "AWS::SQS::QueuePolicy": (_resource("PolicyDocument"),),
    "AWS::SQS::QueueInlinePolicy": (_resource("PolicyDocument"),),
    "AWS::SecretsManager::ResourcePolicy": (_resource("ResourcePolicy"),),
    "AWS::EC2::VPCEndpoint": (PolicyProperty("PolicyDocument", "resource", limits_only=True),),
    "AWS::ECR::Repository": (_resource("RepositoryPolicyText"),),
    "AWS::ECR::PublicRepository": (_resource("RepositoryPolicyText"),),
    "AWS::ECR::RegistryPolicy": (_resource("PolicyText"),),
    "AWS::ECR::RepositoryCreationTemplate": (_resource("RepositoryPolicy"),),
    "AWS::OpenSearchService::Domain": (_resource("AccessPolicies"),),
    "AWS::Elasticsearch::Domain": (_resource("AccessPolicies"),),
    "AWS::ApiGateway::RestApi": (_resource("Policy"),),
    "AWS::ApiGateway::DomainNameV2": (_resource("Policy"),),
    "AWS::Backup::BackupVault": (_resource("AccessPolicy"),),
    "AWS::Backup::LogicallyAirGappedBackupVault": (_resource("AccessPolicy"),),
    "AWS::Events::EventBus": (_resource("Policy"),),
    "AWS::Events::EventBusPolicy": (
        PolicyProperty("Statement", "resource", shape="statement"),
        PolicyProperty(
            "Principal",
            "resource",
            shape="permission",
            permission=Permission(
                principal="Principal",
                resource="EventBusName",
                action="Action",
                sid="StatementId",
                condition_object="Condition",
            ),
        ),
    ),
    "AWS::EventSchemas::RegistryPolicy": (_resource("Policy"),),
    "AWS::Logs::ResourcePolicy": (_resource("PolicyDocument"),),
    "AWS::Logs::Destination": (_resource("DestinationPolicy"),),
    "AWS::Logs::DeliveryDestination": (_resource("DeliveryDestinationPolicy.DeliveryDestinationPolicy"),),
    "AWS::Logs::LogGroup": (_resource("ResourcePolicyDocument"),),
    "AWS::Lambda::Permission": (
        PolicyProperty(
            "Principal",
            "resource",
            shape="permission",
            permission=Permission(
                principal="Principal",
                resource="FunctionName",
                action="Action",
                conditions=(
                    *_SOURCE_CONDITIONS,
                    ("StringEquals", "lambda:FunctionUrlAuthType", "FunctionUrlAuthType"),
                ),
            ),
        ),
    ),
    "AWS::Lambda::LayerVersionPermission": (
        PolicyProperty(
            "Principal",
            "resource",
            shape="permission",
            permission=Permission(
                principal="Principal",
                resource="LayerVersionArn",
                action="Action",
                conditions=(("StringEquals", "aws:PrincipalOrgID", "OrganizationId"),),
            ),
        ),
    ),
    "AWS::Lambda::ResourcePolicy": (_resource("PolicyDocument"),),
    "AWS::DynamoDB::Table": (
        _resource("ResourcePolicy.PolicyDocument"),
        _resource("StreamSpecification.ResourcePolicy.PolicyDocument"),
    ),
    "AWS::DynamoDB::GlobalTable": (
        _resource("Replicas[*].ResourcePolicy.PolicyDocument"),
        _resource("Replicas[*].ReplicaStreamSpecification.ResourcePolicy.PolicyDocument"),
    ),
    "AWS::Kinesis::ResourcePolicy": (_resource("ResourcePolicy"),),
    "AWS::CloudTrail::ResourcePolicy": (_resource("ResourcePolicy"),),
    "AWS::CodeArtifact::Domain": (_resource("PermissionsPolicyDocument"),),
    "AWS::CodeArtifact::Repository": (_resource("PermissionsPolicyDocument"),),
    "AWS::EFS::FileSystem": (_resource("FileSystemPolicy"),),
    "AWS::MSK::ClusterPolicy": (_resource("Policy"),),
    "AWS::MediaStore::Container": (_resource("Policy"),),
    "AWS::MediaPackageV2::ChannelPolicy": (_resource("Policy"),),
    "AWS::MediaPackageV2::OriginEndpointPolicy": (_resource("Policy"),),
    "AWS::MediaTailor::ChannelPolicy": (_resource("Policy"),),
    "AWS::Oam::Sink": (_resource("Policy"),),
    "AWS::OSIS::Pipeline": (_resource("ResourcePolicy.Policy"),),
    "AWS::Redshift::Cluster": (_resource("NamespaceResourcePolicy"),),
    "AWS::RedshiftServerless::Namespace": (_resource("NamespaceResourcePolicy"),),
    "AWS::SageMaker::ModelPackageGroup": (_resource("ModelPackageGroupPolicy"),),
    "AWS::SSM::ResourcePolicy": (_resource("Policy"),),
    "AWS::VpcLattice::AuthPolicy": (_resource("Policy"),),
    "AWS::VpcLattice::ResourcePolicy": (_resource("Policy"),),
    "AWS::XRay::ResourcePolicy": (_resource("PolicyDocument"),),
    "AWS::APS::ResourcePolicy": (_resource("PolicyDocument"),),
    "AWS::Bedrock::ResourcePolicy": (_resource("PolicyDocument"),),
    "AWS::Bedrock::KnowledgeBasePolicy": (_resource("PolicyDocument"),),
    "AWS::BedrockAgentCore::ResourcePolicy": (_resource("Policy"),),
    "AWS::DSQL::Cluster": (_resource("PolicyDocument"),),
    "AWS::EventsV2::ResourcePolicy": (_resource("PolicyDocument"),),
    "AWS::FSx::S3AccessPointAttachment": (_resource("S3AccessPoint.Policy"),),
    "AWS::Lex::ResourcePolicy": (_resource("Policy"),),
    "AWS::RUM::AppMonitor": (_resource("ResourcePolicy.PolicyDocument"),),
    "AWS::S3Files::FileSystemPolicy": (_resource("Policy"),),
    "AWS::SMSVOICE::ResourcePolicy": (_resource("PolicyDocument"),),
    "AWS::AIOps::InvestigationGroup": (_resource("InvestigationGroupPolicy"),),
    "AWS::Comprehend::DocumentClassifier": (_resource("ModelPolicy"),),
    "AWS::Comprehend::EntityRecognizer": (_resource("ModelPolicy"),),
}

POLICY_BEARING_TYPES = tuple(sorted(POLICY_PROPERTIES))
