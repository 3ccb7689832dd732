"""Per-detection tests of iam_guard.analysis (ANA-1 to ANA-10), positive and negative, on small documents."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from iam_guard.analysis import Finding, Severity, analyze_policy, analyze_principal
from iam_guard.analysis.index import expand


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def by_code(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def one(findings: list[Finding], code: str) -> Finding:
    found = by_code(findings, code)
    assert len(found) == 1, [f.to_dict() for f in findings]
    return found[0]


# ---------------------------------------------------------------- contract


def test_ana_1_severity_parse_label_and_order() -> None:
    assert Severity.parse("high") is Severity.HIGH
    assert Severity.parse("CRITICAL") is Severity.CRITICAL
    assert Severity.HIGH.label == "high"
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    with pytest.raises(ValueError, match="severe"):
        Severity.parse("severe")


def test_ana_1_finding_to_dict_is_json_with_severity_label() -> None:
    finding = one(analyze_policy(policy(allow("*", Sid="All"))), "IAMG001")
    data = json.loads(json.dumps(finding.to_dict()))
    assert data["severity"] == "critical"
    assert data["code"] == "IAMG001"
    assert data["statement_index"] == 0
    assert data["actions"] == ["*"] and data["resources"] == ["*"]
    assert data["remediation"]


def test_ana_1_accepts_dict_json_text_and_url_encoded_json() -> None:
    document = policy(allow("*", Sid="All"))
    text = json.dumps(document)
    encoded = urllib.parse.quote(text)
    for form in (document, text, encoded):
        assert [f.code for f in analyze_policy(form)] == ["IAMG001"]


def test_ana_1_findings_sorted_by_severity_then_statement() -> None:
    findings = analyze_policy(
        policy(
            allow("s3:GetObject", "arn:aws:s3:::b/*"),
            allow("s3:PutObject"),
            allow("*"),
        )
    )
    keys = [(-int(f.severity), f.statement_index) for f in findings]
    assert keys == sorted(keys)
    assert findings[0].code == "IAMG001" and findings[0].statement_index == 2


# ---------------------------------------------------------------- ANA-1


def test_ana_1_star_action_on_star_resource_is_critical() -> None:
    finding = one(analyze_policy(policy(allow("*", Sid="Admin"))), "IAMG001")
    assert finding.severity is Severity.CRITICAL
    assert finding.sid == "Admin"


def test_ana_1_star_action_on_named_resource_is_medium() -> None:
    findings = analyze_policy(policy(allow("*", "arn:aws:s3:::reports/*")))
    assert one(findings, "IAMG001").severity is Severity.MEDIUM


def test_ana_1_deny_star_raises_no_permissive_finding() -> None:
    assert analyze_policy(policy({"Effect": "Deny", "Action": "*", "Resource": "*"})) == []


# ---------------------------------------------------------------- ANA-2


def test_ana_2_write_on_star_is_medium_and_names_the_actions() -> None:
    finding = one(analyze_policy(policy(allow(["s3:PutObject", "s3:DeleteObject"]))), "IAMG002")
    assert finding.severity is Severity.MEDIUM
    assert finding.actions == ("s3:DeleteObject", "s3:PutObject")


def test_ana_2_permissions_management_on_star_is_high() -> None:
    finding = one(analyze_policy(policy(allow("iam:DeleteRolePolicy"))), "IAMG002")
    assert finding.severity is Severity.HIGH
    assert finding.actions == ("iam:DeleteRolePolicy",)


def test_ana_2_service_linked_roles_and_permission_reads_are_not_high() -> None:
    # AWS defines a service-linked role's permissions: creating one on '*' is a write, not a grant
    linked = one(analyze_policy(policy(allow("iam:CreateServiceLinkedRole"))), "IAMG002")
    assert linked.severity is Severity.MEDIUM
    # catalogued as permissions management, but it only reads
    assert analyze_policy(policy(allow("quicksight:DescribeDataSetPermissions"))) == []


def test_ana_2_sharing_snapshots_and_images_is_resource_exposure() -> None:
    finding = one(
        analyze_policy(policy(allow(["ec2:ModifySnapshotAttribute", "ec2:ModifyImageAttribute"]))), "IAMG014"
    )
    assert set(finding.actions) == {"ec2:ModifySnapshotAttribute", "ec2:ModifyImageAttribute"}


def test_ana_2_no_finding_for_actions_without_resource_level_permission_or_reads() -> None:
    document = policy(
        allow(["cloudwatch:PutMetricData", "xray:PutTraceSegments", "ec2:Describe*", "s3:ListAllMyBuckets"])
    )
    assert analyze_policy(document) == []


def test_ana_2_no_finding_for_named_resources() -> None:
    assert analyze_policy(policy(allow("s3:PutObject", "arn:aws:s3:::bucket/prefix/*"))) == []


def test_ana_2_resource_policy_changes_on_star_have_their_own_code() -> None:
    findings = analyze_policy(policy(allow(["s3:PutBucketPolicy", "kms:PutKeyPolicy"])))
    finding = one(findings, "IAMG014")
    assert finding.severity is Severity.HIGH
    assert set(finding.actions) == {"s3:PutBucketPolicy", "kms:PutKeyPolicy"}
    assert by_code(findings, "IAMG002") == []


# ---------------------------------------------------------------- ANA-3


def test_ana_3_iam_service_wildcard_on_star_is_high() -> None:
    finding = one(analyze_policy(policy(allow("iam:*"))), "IAMG003")
    assert finding.severity is Severity.HIGH
    assert finding.actions == ("iam:*",)


def test_ana_3_service_wildcard_on_named_resource_is_lowered() -> None:
    finding = one(analyze_policy(policy(allow("s3:*", "arn:aws:s3:::bucket/*"))), "IAMG003")
    assert finding.severity is Severity.MEDIUM


def test_ana_3_prefix_wildcard_is_not_a_service_wildcard() -> None:
    assert by_code(analyze_policy(policy(allow("s3:Get*", "arn:aws:s3:::bucket/*"))), "IAMG003") == []


# ---------------------------------------------------------------- ANA-4 / ANA-5


def test_ana_4_allow_not_action_on_star_is_high() -> None:
    document = policy({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
    finding = one(analyze_policy(document), "IAMG004")
    assert finding.severity is Severity.HIGH
    assert finding.actions == ("iam:*", "organizations:*")


def test_ana_4_deny_not_action_is_no_finding() -> None:
    document = policy({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"})
    assert analyze_policy(document) == []


def test_ana_5_allow_not_resource_is_flagged() -> None:
    document = policy({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"})
    finding = one(analyze_policy(document), "IAMG005")
    assert finding.severity is Severity.MEDIUM
    assert finding.resources == ("arn:aws:s3:::secret/*",)


def test_ana_5_deny_not_resource_is_no_finding() -> None:
    document = policy({"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::mine/*"})
    assert analyze_policy(document) == []


# ---------------------------------------------------------------- ANA-6


@pytest.mark.parametrize(
    ("actions", "technique"),
    [
        (["iam:CreatePolicyVersion"], "CreateNewPolicyVersion"),
        (["iam:SetDefaultPolicyVersion"], "SetExistingDefaultPolicyVersion"),
        (["iam:CreateLoginProfile"], "CreateLoginProfile"),
        (["iam:UpdateLoginProfile"], "UpdateLoginProfile"),
        (["iam:CreateAccessKey"], "CreateAccessKey"),
        (["iam:AttachUserPolicy"], "AttachUserPolicy"),
        (["iam:PutGroupPolicy"], "PutGroupPolicy"),
        (["iam:AddUserToGroup"], "AddUserToGroup"),
        (["iam:UpdateAssumeRolePolicy"], "UpdateAssumeRolePolicy"),
        (["sts:AssumeRole"], "AssumeRoleOnAnyRole"),
        (["iam:PassRole", "ec2:RunInstances"], "PassRoleToNewEC2Instance"),
        (["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"], "PassRoleToNewLambdaThenInvoke"),
        (["iam:PassRole", "glue:CreateDevEndpoint"], "PassRoleToNewGlueDevEndpoint"),
        (["iam:PassRole", "cloudformation:CreateStack"], "PassRoleToCloudFormation"),
        (
            ["iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"],
            "PassRoleToNewDataPipeline",
        ),
        (
            ["iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuild"],
            "PassRoleToNewCodeBuildProject",
        ),
        (["iam:PassRole", "sagemaker:CreateNotebookInstance"], "PassRoleToNewSageMakerNotebook"),
        (["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"], "PassRoleToNewECSTask"),
        (["lambda:UpdateFunctionCode"], "EditExistingLambdaFunctionCode"),
        (["glue:UpdateDevEndpoint"], "UpdateExistingGlueDevEndpoint"),
        (["ssm:SendCommand"], "SSMSendCommandToInstances"),
    ],
)
def test_ana_6_published_technique_is_high(actions: list[str], technique: str) -> None:
    finding = one(analyze_policy(policy(allow(actions))), "IAMG006")
    assert finding.severity is Severity.HIGH
    assert technique in finding.message


def test_ana_6_incomplete_chain_is_no_escalation() -> None:
    assert (
        by_code(analyze_policy(policy(allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))), "IAMG006")
        == []
    )


def test_ana_6_wildcards_expand_against_the_index() -> None:
    assert "iam:putrolepolicy" in expand("iam:Put*")
    assert "iam:putrolepolicy" in expand("iam:Pu?Role*")
    assert "iam:putuserpolicy" not in expand("iam:Pu?Role*")
    finding = one(analyze_policy(policy(allow("iam:Pu?Role*"))), "IAMG006")
    assert "PutRolePolicy" in finding.message
    assert "iam:PutRolePolicy" in finding.actions


def test_ana_6_matching_is_case_insensitive() -> None:
    finding = one(analyze_policy(policy(allow("IAM:createPOLICYversion"))), "IAMG006")
    assert "iam:CreatePolicyVersion" in finding.actions


def test_ana_6_scoped_resource_lowers_to_medium() -> None:
    document = policy(allow("iam:CreatePolicyVersion", "arn:aws:iam::*:policy/app-*"))
    assert one(analyze_policy(document), "IAMG006").severity is Severity.MEDIUM


def test_ana_6_aws_managed_policy_arns_cannot_be_changed() -> None:
    document = policy(allow("iam:CreatePolicyVersion", "arn:aws:iam::aws:policy/fp4-*"))
    assert by_code(analyze_policy(document), "IAMG006") == []


def test_ana_6_allow_and_deny_of_the_same_actions_is_no_escalation() -> None:
    document = policy(allow("iam:*"), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"})
    assert analyze_policy(document) == []


def test_ana_6_never_true_date_condition_grants_nothing() -> None:
    past = {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}
    assert analyze_policy(policy(allow("iam:CreatePolicyVersion", Condition=past))) == []
    always = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}
    assert one(analyze_policy(policy(allow("iam:CreatePolicyVersion", Condition=always))), "IAMG006")


def test_ana_6_passed_to_service_of_another_service_breaks_the_chain() -> None:
    only_ec2 = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    document = policy(
        allow("iam:PassRole", Condition=only_ec2),
        allow(["lambda:CreateFunction", "lambda:InvokeFunction"]),
    )
    assert by_code(analyze_policy(document), "IAMG006") == []
    document["Statement"].append(allow("ec2:RunInstances"))
    finding = one(analyze_policy(document), "IAMG006")
    assert "PassRoleToNewEC2Instance" in finding.message and "Lambda" not in finding.message


def test_ana_6_not_action_allow_still_escalates() -> None:
    document = policy(
        {"Effect": "Allow", "NotAction": ["iam:Update*", "iam:Create*", "iam:Attach*"], "Resource": "*"}
    )
    finding = one(analyze_policy(document), "IAMG006")
    assert "SSMSendCommandToInstances" in finding.message and "PutUserPolicy" in finding.message


def test_ana_6_principal_combination_finds_split_chain() -> None:
    run = policy(allow("ec2:RunInstances"))
    passrole = policy(allow("iam:PassRole"))
    assert by_code(analyze_policy(run), "IAMG006") == []
    assert by_code(analyze_policy(passrole), "IAMG006") == []
    finding = one(analyze_principal([run, json.dumps(passrole)]), "IAMG006")
    assert "PassRoleToNewEC2Instance" in finding.message
    assert finding.statement_index is None
    assert {"iam:PassRole", "ec2:RunInstances"} <= set(finding.actions)


def test_ana_6_principal_deny_in_another_policy_removes_the_chain() -> None:
    run = policy(allow("ec2:RunInstances"))
    passrole = policy(allow("iam:PassRole"))
    deny = policy({"Effect": "Deny", "Action": "iam:*", "Resource": "*"})
    assert analyze_principal([run, passrole, deny]) == []


def test_ana_6_principal_reports_only_what_single_documents_do_not() -> None:
    assert (
        analyze_principal(
            [policy(allow("iam:CreateAccessKey")), policy(allow("s3:GetObject", "arn:aws:s3:::b/*"))]
        )
        == []
    )


# ---------------------------------------------------------------- ANA-7


def test_ana_7_passrole_on_star_is_high() -> None:
    finding = one(analyze_policy(policy(allow("iam:PassRole"))), "IAMG007")
    assert finding.severity is Severity.HIGH
    assert finding.actions == ("iam:PassRole",)


def test_ana_7_passrole_on_every_role_pattern_is_flagged() -> None:
    finding = one(analyze_policy(policy(allow("iam:PassRole", "arn:aws:iam::*:role/*"))), "IAMG007")
    assert finding.resources == ("arn:aws:iam::*:role/*",)


def test_ana_7_passed_to_service_lowers_to_low() -> None:
    condition = {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    finding = one(analyze_policy(policy(allow("iam:PassRole", Condition=condition))), "IAMG007")
    assert finding.severity is Severity.LOW
    assert "iam:PassedToService" in finding.message


def test_ana_7_passrole_on_named_role_is_no_finding() -> None:
    document = policy(allow("iam:PassRole", "arn:aws:iam::123456789012:role/app-worker"))
    assert analyze_policy(document) == []


# ---------------------------------------------------------------- ANA-8


def test_ana_8_secret_and_parameter_reads_on_star_are_medium() -> None:
    finding = one(
        analyze_policy(policy(allow(["secretsmanager:GetSecretValue", "ssm:GetParameter*"]))), "IAMG008"
    )
    assert finding.severity is Severity.MEDIUM
    assert {"secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParametersByPath"} <= set(
        finding.actions
    )


def test_ana_8_kms_decrypt_via_service_is_lowered_two_levels() -> None:
    condition = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    finding = one(analyze_policy(policy(allow("kms:Decrypt", Condition=condition))), "IAMG008")
    assert finding.severity is Severity.INFO
    assert "kms:ViaService" in finding.message


def test_ana_8_every_object_of_every_bucket_counts_as_star() -> None:
    finding = one(analyze_policy(policy(allow("s3:GetObject", "arn:aws:s3:::*/*"))), "IAMG008")
    assert finding.actions == ("s3:GetObject",) and finding.resources == ("arn:aws:s3:::*/*",)


def test_ana_8_named_secret_is_no_finding() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password-AbCdEf"
    assert analyze_policy(policy(allow("secretsmanager:GetSecretValue", arn))) == []


def test_ana_8_credentials_exposure_on_star() -> None:
    findings = analyze_policy(policy(allow(["sts:AssumeRole", "redshift:GetClusterCredentials"])))
    finding = one(findings, "IAMG015")
    assert finding.severity is Severity.MEDIUM
    # sts:AssumeRole on '*' is an escalation of its own (pathfinding sts-001), reported once, as that
    assert finding.actions == ("redshift:GetClusterCredentials",)
    assert "AssumeRoleOnAnyRole" in one(findings, "IAMG006").message
    assert analyze_policy(policy(allow("ecr:GetAuthorizationToken"))) == []


# ---------------------------------------------------------------- ANA-9


def trust(principal: Any, **extra: Any) -> dict[str, Any]:
    return policy({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra})


def test_ana_9_trust_open_to_everyone_is_critical() -> None:
    for principal in ("*", {"AWS": "*"}):
        finding = one(analyze_policy(trust(principal), "trust"), "IAMG009")
        assert finding.severity is Severity.CRITICAL


def test_ana_9_wildcard_account_is_everyone() -> None:
    finding = one(analyze_policy(trust({"AWS": "arn:aws:iam::*:root"}), "trust"), "IAMG009")
    assert finding.severity is Severity.CRITICAL


def test_ana_9_other_account_without_external_id_is_high_and_with_it_low() -> None:
    root = {"AWS": "arn:aws:iam::111122223333:root"}
    assert one(analyze_policy(trust(root), "trust"), "IAMG009").severity is Severity.HIGH
    external = {"StringEquals": {"sts:ExternalId": "a-shared-secret"}}
    finding = one(analyze_policy(trust(root, Condition=external), "trust"), "IAMG009")
    assert finding.severity is Severity.LOW
    assert "sts:ExternalId" in finding.message
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    assert (
        one(analyze_policy(trust({"AWS": "111122223333"}, Condition=org), "trust"), "IAMG009").severity
        is Severity.LOW
    )


def test_ana_9_own_account_root_is_low() -> None:
    own = {"AWS": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    assert one(analyze_policy(trust(own), "trust"), "IAMG009").severity is Severity.LOW


def test_ana_9_named_role_is_no_finding() -> None:
    assert analyze_policy(trust({"AWS": "arn:aws:iam::111122223333:role/deployer"}), "trust") == []


def test_ana_9_service_principal_without_source_conditions_is_low() -> None:
    finding = one(analyze_policy(trust({"Service": "events.amazonaws.com"}), "trust"), "IAMG010")
    assert finding.severity is Severity.LOW
    scoped = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert analyze_policy(trust({"Service": "events.amazonaws.com"}, Condition=scoped), "trust") == []


def test_ana_9_federated_without_audience_is_high() -> None:
    provider = {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}
    open_trust = trust(provider)
    open_trust["Statement"][0]["Action"] = "sts:AssumeRoleWithWebIdentity"
    assert one(analyze_policy(open_trust, "trust"), "IAMG009").severity is Severity.HIGH
    open_trust["Statement"][0]["Condition"] = {
        "StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/app:ref:refs/heads/main"}
    }
    assert analyze_policy(open_trust, "trust") == []


def test_ana_9_allow_not_principal_is_high() -> None:
    document = policy(
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": "arn:aws:iam::1:role/x"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
        }
    )
    assert one(analyze_policy(document, "resource"), "IAMG013").severity is Severity.HIGH


def test_ana_9_public_resource_policy_is_critical_unless_narrowed() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    assert one(analyze_policy(policy(statement), "resource"), "IAMG017").severity is Severity.CRITICAL
    statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    assert one(analyze_policy(policy(statement), "resource"), "IAMG017").severity is Severity.INFO


def test_ana_9_deny_with_public_principal_is_no_finding() -> None:
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert analyze_policy(policy(statement), "resource") == []


# ---------------------------------------------------------------- ANA-10


def passrole_severity(condition: dict[str, Any]) -> Severity:
    return one(analyze_policy(policy(allow("iam:PassRole", Condition=condition))), "IAMG007").severity


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, Severity.MEDIUM),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, Severity.HIGH),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, Severity.HIGH),
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, Severity.MEDIUM),
        ({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, Severity.HIGH),
        ({"Bool": {"aws:SecureTransport": "true"}}, Severity.HIGH),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, Severity.LOW),
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}}, Severity.MEDIUM),
        ({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}, Severity.HIGH),
        ({"StringLike": {"iam:PassedToService": "*"}}, Severity.HIGH),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": "team"}}, Severity.HIGH),
        ({"ForAnyValue:StringEquals": {"aws:CalledVia": "cloudformation.amazonaws.com"}}, Severity.MEDIUM),
        ({"Null": {"aws:ResourceTag/team": "false"}}, Severity.HIGH),
        ({"StringEquals": {"aws:ResourceTag/team": "payments"}}, Severity.MEDIUM),
        ({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}, Severity.HIGH),
        ({"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}, Severity.HIGH),
    ],
)
def test_ana_10_condition_operators_and_keys(condition: dict[str, Any], expected: Severity) -> None:
    # kms:ViaService narrows kms actions only: on iam:PassRole it must not lower anything
    assert passrole_severity(condition) is expected


def test_ana_10_strongest_condition_counts_not_the_sum() -> None:
    condition = {
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
    }
    assert passrole_severity(condition) is Severity.MEDIUM


def test_ana_10_quarantine_attach_limited_by_policy_arn_is_low() -> None:
    condition = {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::123456789012:policy/iam-guard-quarantine"}}
    finding = one(analyze_policy(policy(allow("iam:AttachRolePolicy", Condition=condition))), "IAMG006")
    assert finding.severity is Severity.LOW


# ---------------------------------------------------------------- beyond: typos and malformed documents


def test_ana_1_unknown_service_and_action_are_reported() -> None:
    findings = analyze_policy(policy(allow(["s4:GetObject", "s3:GetObjekt"], "arn:aws:s3:::b/*")))
    assert one(findings, "IAMG011").actions == ("s4:GetObject",)
    assert one(findings, "IAMG012").actions == ("s3:GetObjekt",)
    assert {f.severity for f in findings} == {Severity.LOW}


def test_ana_1_typo_in_deny_is_medium() -> None:
    findings = analyze_policy(policy({"Effect": "Deny", "Action": "iam:DeleteRol", "Resource": "*"}))
    assert one(findings, "IAMG012").severity is Severity.MEDIUM


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (42, "JSON object"),
        ({"Version": "2012-10-17"}, "no Statement"),
        (
            policy({"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"}),
            "Effect must be Allow or Deny",
        ),
        (policy({"Effect": "Allow", "Resource": "*"}), "exactly one of Action or NotAction"),
        (policy({"Effect": "Allow", "Action": 7, "Resource": "*"}), "Action must be a string"),
        (
            policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": "yes"}),
            "Condition",
        ),
    ],
)
def test_ana_1_malformed_documents_are_findings(document: Any, fragment: str) -> None:
    findings = analyze_policy(document)
    malformed = [f for f in findings if f.code == "IAMG016"]
    assert malformed and fragment in malformed[0].message
    assert malformed[0].severity is Severity.HIGH


def test_ana_1_single_statement_object_and_string_values_are_accepted() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
    }
    assert one(analyze_policy(document), "IAMG007").statement_index == 0


def documented_condition_rows() -> list[tuple[str, int]]:
    from iam_guard.analysis import conditions

    rows = []
    for line in (conditions.__doc__ or "").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2].isdigit():
            for key in cells[0].split(", "):
                if "`" not in key and "*" not in key and " " not in key:
                    rows.append((key, int(cells[2])))
    return rows


def test_ana_10_documented_condition_table_is_what_the_code_does() -> None:
    from iam_guard.analysis.conditions import key_levels

    rows = documented_condition_rows()
    assert len(rows) >= 30
    assert {key: key_levels(key.lower()) for key, _ in rows} == dict(rows)
    for prefix_key in ("aws:ResourceTag/team", "ec2:ResourceTag/team", "kms:EncryptionContext:app"):
        assert key_levels(prefix_key.lower()) == 1
    for not_narrowing in ("aws:SecureTransport", "aws:RequestedRegion", "aws:CurrentTime"):
        assert key_levels(not_narrowing.lower()) == 0
