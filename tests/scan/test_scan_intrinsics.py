"""CLI-2: templates read as CloudFormation reads them. YAML dates are the string IAM receives; both
branches of every Fn::If are analyzed wherever it sits (document, statement, value, Policies) and the
finding names the branch; Ref/Sub/GetAtt/Join/ImportValue are named resources; intrinsics only deploy
time resolves are "not analyzed" (IAMG901), never a typo or a malformed policy."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from scan_cli import analyze

HEADER = """\
AWSTemplateFormatVersion: "2010-09-09"
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Open: !Equals [!Ref Env, open]
Parameters:
  Env: {Type: String}
  ActionParam: {Type: String}
  PolicyParam: {Type: String}
Resources:
"""


def scan_yaml(tmp_path: Path, resources: str) -> list[dict[str, Any]]:
    path = tmp_path / "template.yaml"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(resources), "  "))
    outcome = analyze(str(path), "--format", "json", "--fail-on", "none")
    assert outcome.code == 0, outcome.stderr
    return outcome.findings()


def codes(findings: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    return {(f["code"], f["severity"], f["branch"]) for f in findings}


def test_cli_2_yaml_date_version_is_the_string_iam_receives(tmp_path: Path) -> None:
    findings = scan_yaml(
        tmp_path,
        """
        Admin:
          Type: AWS::IAM::ManagedPolicy
          Properties:
            PolicyDocument:
              Version: 2012-10-17
              Statement:
                - {Effect: Allow, Action: "*", Resource: "*"}
        Wrong:
          Type: AWS::IAM::ManagedPolicy
          Properties:
            PolicyDocument:
              Version: 2012-10-18
              Statement:
                - {Effect: Allow, Action: "s3:GetObject", Resource: !Sub "arn:${AWS::Partition}:s3:::b/*"}
        """,
    )
    by_resource = {(f["resource"], f["code"], f["severity"]) for f in findings}
    assert ("Admin", "IAMG001", "critical") in by_resource
    assert not [f for f in findings if f["resource"] == "Admin" and f["code"] == "IAMG016"]
    # a date IAM does not accept is still malformed: the date is read, not ignored
    (wrong,) = [f for f in findings if f["resource"] == "Wrong"]
    assert (wrong["code"], wrong["severity"]) == ("IAMG016", "high") and "'2012-10-18'" in wrong["message"]


def test_cli_2_fn_if_whole_document_both_branches(tmp_path: Path) -> None:
    findings = scan_yaml(
        tmp_path,
        """
        Managed:
          Type: AWS::IAM::ManagedPolicy
          Properties:
            PolicyDocument: !If
              - IsProd
              - Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: !Sub "${Bucket.Arn}/*"}]
              - Statement: [{Effect: Allow, Action: "*", Resource: "*"}]
        """,
    )
    (admin,) = findings
    assert (admin["code"], admin["severity"], admin["resource"]) == ("IAMG001", "critical", "Managed")
    assert admin["branch"] == "IsProd=false" and admin["message"].endswith("(under Fn::If IsProd=false)")


def test_cli_2_fn_if_statement_and_value_positions(tmp_path: Path) -> None:
    findings = scan_yaml(
        tmp_path,
        """
        Inline:
          Type: AWS::IAM::Policy
          Properties:
            PolicyName: p
            Roles: [r]
            PolicyDocument:
              Version: "2012-10-17"
              Statement:
                - !If
                  - Open
                  - {Sid: OpenAll, Effect: Allow, Action: "*", Resource: "*"}
                  - !Ref AWS::NoValue
                - Sid: Put
                  Effect: Allow
                  Action: s3:PutObject
                  Resource: !If [IsProd, !GetAtt Bucket.Arn, "*"]
                - Sid: Read
                  Effect: Allow
                  Action: !If [IsProd, "s3:GetObject", "*"]
                  Resource: !GetAtt Bucket.Arn
        """,
    )
    found = {(f["code"], f["severity"], f["sid"], f["branch"]) for f in findings}
    assert ("IAMG001", "critical", "OpenAll", "Open=true") in found  # statement position
    assert ("IAMG002", "medium", "Put", "IsProd=false") in found  # value position, Resource
    assert ("IAMG001", "medium", "Read", "IsProd=false") in found  # value position, Action
    assert all(f["resource"] == "Inline" for f in findings)


def test_cli_2_fn_if_around_policies_and_findings_under_every_branch(tmp_path: Path) -> None:
    findings = scan_yaml(
        tmp_path,
        """
        Role:
          Type: AWS::IAM::Role
          Properties:
            AssumeRolePolicyDocument:
              Statement: [{Effect: Allow, Principal: {AWS: "*"}, Action: sts:AssumeRole}]
            Policies: !If
              - IsProd
              - - PolicyName: admin
                  PolicyDocument:
                    Statement: [{Effect: Allow, Action: "iam:*", Resource: "*"}]
              - !Ref AWS::NoValue
        """,
    )
    by_policy = {(f["policy"], f["code"], f["severity"], f["branch"]) for f in findings}
    assert ("Policies[0] admin", "IAMG003", "high", "IsProd=true") in by_policy
    # the trust policy does not depend on the condition: reported once, without a branch
    trust = [f for f in findings if f["policy"] == "AssumeRolePolicyDocument"]
    assert [(f["code"], f["severity"], f["branch"]) for f in trust] == [("IAMG009", "critical", None)]


@pytest.mark.parametrize(
    ("resource", "named"),
    [
        ("!Ref Bucket", True),
        ('!Sub "arn:${AWS::Partition}:s3:::${Bucket}/*"', True),
        ("!GetAtt Bucket.Arn", True),
        ('!Join ["", [!GetAtt Bucket.Arn, "/*"]]', True),
        ("!ImportValue shared-bucket-arn", True),
        ("!FindInMap [Buckets, !Ref Env, Arn]", True),
        ('!Sub "*"', False),
        ('!Sub ["${Target}", {Target: "*"}]', False),
        ('!Select [0, ["*", "arn:aws:s3:::b"]]', False),
    ],
)
def test_cli_2_intrinsic_resources_count_as_named(tmp_path: Path, resource: str, named: bool) -> None:
    findings = scan_yaml(
        tmp_path,
        f"""
        Writer:
          Type: AWS::IAM::RolePolicy
          Properties:
            RoleName: r
            PolicyName: p
            PolicyDocument:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: s3:PutObject
                  Resource: {resource}
        """,
    )
    if named:
        assert findings == []
    else:
        assert codes(findings) == {("IAMG002", "medium", None)}
        assert findings[0]["resources"] == ["*"] and findings[0]["resource"] == "Writer"


def test_cli_2_unresolvable_intrinsics_are_not_typos_or_malformed(tmp_path: Path) -> None:
    findings = scan_yaml(
        tmp_path,
        """
        FromParameter:
          Type: AWS::IAM::ManagedPolicy
          Properties:
            PolicyDocument:
              Statement:
                - {Effect: Allow, Action: !Ref ActionParam, Resource: !GetAtt Bucket.Arn}
                - {Effect: Allow, Action: !Split [",", !Ref ActionParam], Resource: !GetAtt Bucket.Arn}
                - {Effect: Allow, Action: "s3:GetObjekt", Resource: !GetAtt Bucket.Arn}
        WholeDocument:
          Type: AWS::IAM::ManagedPolicy
          Properties:
            PolicyDocument: !Ref PolicyParam
        Imported:
          Type: AWS::S3::BucketPolicy
          Properties:
            Bucket: b
            PolicyDocument: !ImportValue shared-policy
        EffectFromParameter:
          Type: AWS::IAM::ManagedPolicy
          Properties:
            PolicyDocument:
              Statement: [{Effect: !Ref Env, Action: s3:GetObject, Resource: !GetAtt Bucket.Arn}]
        """,
    )
    found = {(f["resource"], f["code"], f["severity"]) for f in findings}
    assert found == {
        ("FromParameter", "IAMG012", "low"),  # the real typo, and only it
        ("WholeDocument", "IAMG901", "medium"),
        ("Imported", "IAMG901", "medium"),
        ("EffectFromParameter", "IAMG901", "medium"),
    }
    typo = next(f for f in findings if f["code"] == "IAMG012")
    assert typo["actions"] == ["s3:GetObjekt"]


def test_cli_2_policy_as_sub_json_text(tmp_path: Path) -> None:
    findings = scan_yaml(
        tmp_path,
        """
        LogsPolicy:
          Type: AWS::Logs::ResourcePolicy
          Properties:
            PolicyName: open
            PolicyDocument: !Sub '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
              "Principal": "*", "Action": "logs:PutLogEvents",
              "Resource": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:x:*"}]}'
        BuiltLater:
          Type: AWS::Logs::ResourcePolicy
          Properties:
            PolicyName: later
            PolicyDocument: !Sub '{"Statement": ${Statements}}'
        """,
    )
    found = {(f["resource"], f["code"], f["severity"]) for f in findings}
    assert found == {("LogsPolicy", "IAMG017", "critical"), ("BuiltLater", "IAMG901", "medium")}
