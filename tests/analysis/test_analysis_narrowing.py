"""ANA-10 (issue 12): conditions and Deny statements that really narrow a grant, and those that only seem
to. Each rule has a positive case (it narrows) and a negative one (it does not)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iam_guard.analysis import Finding, Severity, analyze_policy
from support import FIXTURES


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def only(findings: list[Finding], code: str) -> Finding:
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, [f.to_dict() for f in findings]
    return found[0]


def public_trust_severity(operator: str, key: str, value: str) -> Severity:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sts:AssumeRole",
        "Condition": {operator: {key: value}},
    }
    return only(analyze_policy(policy(statement), "trust"), "IAMG009").severity


@pytest.mark.parametrize(
    ("operator", "key", "narrowing", "wildcard"),
    [
        ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::123456789012:role/ci", "arn:aws:iam::*:role/ci"),
        (
            "StringLike",
            "aws:PrincipalArn",
            "arn:aws:iam::123456789012:role/ci-*",
            "arn:aws:iam::1234*:role/ci",
        ),
        ("StringLike", "aws:PrincipalAccount", "123456789012", "*1"),
        ("ArnLike", "aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:alerts", "arn:aws:sns:*:*:*"),
        ("ArnLike", "aws:SourceArn", "arn:aws:s3:::audit-logs", "arn:aws:s3:::*-logs"),
        ("StringLike", "aws:SourceAccount", "123456789012", "12345678901?"),
        ("StringLike", "aws:PrincipalOrgID", "o-abc123", "o-*"),
        (
            "ForAnyValue:StringLike",
            "aws:PrincipalOrgPaths",
            "o-abc123/r-ab12/ou-ab12-11111111/*",
            "o-*/r-ab12/*",
        ),
        ("StringLike", "aws:userid", "AROAEXAMPLEID:*", "*:ci"),
    ],
)
def test_ana_12_wildcard_where_the_identity_is_narrows_nothing(
    operator: str, key: str, narrowing: str, wildcard: str
) -> None:
    """A trust open to '*' stays critical when the condition's wildcard admits any account (negative);
    a value that names the account or organization lowers it (positive)."""
    assert public_trust_severity(operator, key, wildcard) is Severity.CRITICAL
    assert public_trust_severity(operator, key, narrowing) < Severity.HIGH


def test_ana_12_wildcard_condition_on_an_identity_grant_lowers_nothing() -> None:
    def passrole(value: str) -> Severity:
        statement = {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:ResourceAccount": value}},
        }
        return only(analyze_policy(policy(statement)), "IAMG007").severity

    assert passrole("*9") is Severity.HIGH
    assert passrole("123456789012") is Severity.MEDIUM


ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_ana_12_deny_not_action_leaves_admin_only_what_it_spares() -> None:
    """'*' minus 'Deny NotAction ec2:DescribeInstances' grants one Describe call: no finding at all."""
    deny = {"Effect": "Deny", "NotAction": "ec2:DescribeInstances", "Resource": "*"}
    assert analyze_policy(policy(ADMIN, deny)) == []


def test_ana_12_deny_not_action_that_spares_iam_still_leaves_escalation() -> None:
    deny = {"Effect": "Deny", "NotAction": ["iam:*", "ec2:*"], "Resource": "*"}
    findings = analyze_policy(policy(ADMIN, deny))
    assert all(f.code != "IAMG001" for f in findings)
    escalation = only(findings, "IAMG006")
    assert escalation.severity is Severity.HIGH and "AttachRolePolicy" in escalation.message
    assert "PassRoleToNewEC2Instance" in escalation.message


@pytest.mark.parametrize(
    "deny",
    [
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": "ec2:DescribeInstances", "Resource": "arn:aws:s3:::b"},
        {
            "Effect": "Deny",
            "NotAction": "ec2:DescribeInstances",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
)
def test_ana_12_denies_that_take_little_or_depend_on_a_condition_leave_admin_critical(
    deny: dict[str, Any],
) -> None:
    """Negative cases: a Deny of one service, a Deny on one resource, a conditional Deny."""
    assert only(analyze_policy(policy(ADMIN, deny)), "IAMG001").severity is Severity.CRITICAL


def statement_findings(
    action: str | list[str], resource: str = "*", **extra: Any
) -> list[tuple[str, Severity]]:
    document = policy({"Effect": "Allow", "Action": action, "Resource": resource, **extra})
    return [(f.code, f.severity) for f in analyze_policy(document)]


SELF = "arn:aws:iam::*:user/${aws:username}"


def test_ana_12_self_service_on_own_credentials_is_not_escalation() -> None:
    own = ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"]
    assert statement_findings(own, SELF) == []
    assert statement_findings(own, "arn:aws:iam::123456789012:user/${aws:username}") == []


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("iam:CreateAccessKey", "arn:aws:iam::*:user/*", Severity.HIGH),  # anyone's keys
        ("iam:CreateAccessKey", "arn:aws:iam::*:user/admin", Severity.MEDIUM),  # a named other user
        ("iam:AttachUserPolicy", SELF, Severity.MEDIUM),  # attaching a policy to oneself is self-escalation
        ("iam:PutUserPolicy", SELF, Severity.MEDIUM),
    ],
)
def test_ana_12_credentials_of_others_and_policies_on_oneself_stay_escalation(
    action: str, resource: str, expected: Severity
) -> None:
    assert [finding for finding in statement_findings(action, resource) if finding[0] == "IAMG006"] == [
        ("IAMG006", expected)
    ]


def test_ana_12_iam_resource_tag_narrows_sts_assume_role() -> None:
    tagged = {"StringEquals": {"iam:ResourceTag/team": "ci"}}
    assert ("IAMG006", Severity.MEDIUM) in statement_findings("sts:AssumeRole", Condition=tagged)
    assert ("IAMG006", Severity.HIGH) in statement_findings("sts:AssumeRole")
    bare = {"StringLike": {"iam:ResourceTag/team": "*"}}
    assert ("IAMG006", Severity.HIGH) in statement_findings("sts:AssumeRole", Condition=bare)
    # an iam: tag key still narrows nothing for another service's actions
    assert statement_findings("s3:PutBucketPolicy", Condition=tagged) == [("IAMG014", Severity.HIGH)]


def test_ana_12_aws_service_name_narrows_create_service_linked_role() -> None:
    named = {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}
    assert statement_findings("iam:CreateServiceLinkedRole", Condition=named) == [("IAMG002", Severity.LOW)]
    assert statement_findings("iam:CreateServiceLinkedRole") == [("IAMG002", Severity.MEDIUM)]
    anything = {"StringLike": {"iam:AWSServiceName": "*"}}
    assert statement_findings("iam:CreateServiceLinkedRole", Condition=anything) == [
        ("IAMG002", Severity.MEDIUM)
    ]


BASES = [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"], "Resource": "*"},
    {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::*:user/*"},
    # every resource of a type counts as '*' (ANA-12): a condition may only take that away
    {"Effect": "Allow", "Action": "cloudtrail:StopLogging", "Resource": "arn:*:cloudtrail:*:*:trail/*"},
    {"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "arn:${AWS::Partition}:iam::*:role/*"},
    {"Effect": "Allow", "Action": "ec2:DeleteVolume", "Resource": "arn:aws:ec2:*:*:volume/*"},
]
CONDITION_KEYS = [
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:SourceArn",
    "aws:SourceIp",
    "aws:ResourceTag/team",
    "ec2:ResourceTag/team",
    "aws:RequestTag/team",
    "iam:PassedToService",
    "kms:ViaService",
    "aws:MultiFactorAuthPresent",
    "aws:SecureTransport",
    "sts:ExternalId",
    "token.actions.githubusercontent.com:sub",
]
OPERATORS = [
    "StringEquals",
    "StringLike",
    "ArnLike",
    "StringNotEquals",
    "ForAllValues:StringLike",
    "ForAnyValue:StringEquals",
    "StringEqualsIfExists",
    "Bool",
    "IpAddress",
    "Null",
]
VALUES = [
    "123456789012",
    "o-abc123",
    "arn:aws:iam::123456789012:role/ci",
    "10.0.0.0/8",
    "true",
    "false",
    "ec2.amazonaws.com",
    "repo:my-org/*",
    "team-a",
    "*",
    "arn:aws:iam::*:role/ci",
    "?*",
]


def worst_by_code(findings: list[Finding]) -> dict[str, Severity]:
    worst: dict[str, Severity] = {}
    for item in findings:
        worst[item.code] = max(worst.get(item.code, Severity.INFO), item.severity)
    return worst


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(BASES),
    condition=st.dictionaries(
        st.sampled_from(OPERATORS),
        st.dictionaries(st.sampled_from(CONDITION_KEYS), st.sampled_from(VALUES), min_size=1, max_size=2),
        min_size=1,
        max_size=2,
    ),
)
def test_ana_12_no_condition_raises_a_severity(base: dict[str, Any], condition: dict[str, Any]) -> None:
    """A condition only ever restricts a request: with it, no finding of a code gets worse and nothing is
    worse than the policy's worst finding without it (a '*' grant lowered below critical is no longer
    administrator access, so the escalation check runs and may report what '*' used to subsume)."""
    plain = worst_by_code(analyze_policy(policy(base)))
    conditioned = worst_by_code(analyze_policy(policy({**base, "Condition": condition})))
    assert all(severity <= plain[code] for code, severity in conditioned.items() if code in plain)
    assert max(conditioned.values(), default=Severity.INFO) <= max(plain.values())


@settings(max_examples=200, deadline=None)
@given(
    base=st.sampled_from(BASES),
    operator=st.sampled_from(["StringLike", "ArnLike", "ForAnyValue:StringLike", "StringLikeIfExists"]),
    key=st.sampled_from(CONDITION_KEYS),
    # matches any value of a few characters or more ('?' alone is exactly one character: it can block)
    wildcard=st.text(alphabet="*?", min_size=1, max_size=6).filter(
        lambda text: "*" in text and text.count("?") <= 3
    ),
)
def test_ana_12_a_wildcard_only_condition_never_lowers_a_severity(
    base: dict[str, Any], operator: str, key: str, wildcard: str
) -> None:
    plain = worst_by_code(analyze_policy(policy(base)))
    conditioned = worst_by_code(analyze_policy(policy({**base, "Condition": {operator: {key: wildcard}}})))
    assert conditioned == plain


TRAILS = "arn:*:cloudtrail:*:*:trail/*"


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("cloudtrail:StopLogging", TRAILS, [("IAMG002", Severity.MEDIUM)]),
        ("cloudtrail:StopLogging", "*", [("IAMG002", Severity.MEDIUM)]),
        ("ec2:ModifyVpcAttribute", "arn:aws:ec2:*:*:vpc/*", [("IAMG002", Severity.MEDIUM)]),
        ("ec2:DeleteVolume", "arn:aws:ec2::*:volume/*", [("IAMG002", Severity.MEDIUM)]),
        ("lambda:DeleteFunction", "arn:aws:lambda:*:*:function:*", [("IAMG002", Severity.MEDIUM)]),
        ("s3:PutBucketPolicy", "arn:aws:s3:::*", [("IAMG014", Severity.HIGH)]),
        (
            "iam:PutRolePolicy",
            "arn:${AWS::Partition}:iam::*:role/*",
            [("IAMG002", Severity.HIGH), ("IAMG006", Severity.HIGH)],
        ),
        # both resource types of AttachVolume are covered: every volume to every instance
        (
            ["ec2:AttachVolume"],
            ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"],
            [("IAMG002", Severity.MEDIUM)],
        ),
    ],
)
def test_ana_12_every_resource_of_a_type_counts_as_star_for_that_type(
    action: str | list[str], resource: str | list[str], expected: list[tuple[str, Severity]]
) -> None:
    assert statement_findings(action, resource) == expected


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("cloudtrail:StopLogging", "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit"),  # one trail
        ("cloudtrail:StopLogging", "arn:aws:cloudtrail:us-east-1:*:trail/*"),  # one region's trails
        ("cloudtrail:StopLogging", "arn:aws:cloudtrail:*:123456789012:trail/*"),  # one account's trails
        ("cloudtrail:StopLogging", "arn:aws:cloudtrail:*:${AWS::AccountId}:trail/*"),
        ("cloudtrail:StopLogging", "arn:aws:cloudtrail:*:*:trail/audit-*"),  # trails named audit-*
        ("lambda:DeleteFunction", "arn:aws:lambda:*:*:function:app-*"),
        ("s3:DeleteObject", "arn:aws:s3:::bucket/*"),  # a bucket named 'bucket', not S3's bucket type
        ("s3:GetObject", "arn:aws:s3:::reports/*"),
        (["cloudtrail:StopLogging", "s3:PutObject"], TRAILS),  # s3 is not on trails
        (["iam:PutRolePolicy", "iam:PutUserPolicy"], "arn:aws:iam::*:role/*"),  # users are not roles
        ("ec2:AttachVolume", "arn:aws:ec2:*:*:volume/*"),  # the instance is allowed (or not) elsewhere
        ("ec2:CreateVolume", "arn:aws:ec2:*:*:volume/*"),  # and the snapshot it may come from
    ],
)
def test_ana_12_a_named_region_account_resource_or_another_type_is_not_star(
    action: str | list[str], resource: str
) -> None:
    assert [code for code, _ in statement_findings(action, resource) if code in ("IAMG002", "IAMG014")] == []


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:ResourceTag/ebs.csi.aws.com/cluster": "true"}},
        {"StringEquals": {"ec2:ResourceTag/team": "storage"}},
        {"StringLike": {"aws:RequestTag/CSIVolumeName": "pvc-*"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}},
    ],
)
def test_ana_12_a_type_wide_resource_under_a_narrowing_condition_stays_narrowed(
    condition: dict[str, Any],
) -> None:
    """AmazonEBSCSIDriverPolicy's tag-scoped statements: every volume, but only those with the tag."""
    assert statement_findings("ec2:DeleteVolume", "arn:aws:ec2:*:*:volume/*", Condition=condition) == []
    assert statement_findings("ec2:DeleteVolume", "arn:aws:ec2:*:*:volume/*") == [
        ("IAMG002", Severity.MEDIUM)
    ]


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"ec2:ResourceTag/CSIVolumeName": "*"}},  # the tag key merely present
        {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci"}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"StringNotEquals": {"aws:ResourceTag/team": "storage"}},
    ],
)
def test_ana_12_a_type_wide_resource_under_a_condition_that_narrows_nothing_stays_star(
    condition: dict[str, Any],
) -> None:
    assert statement_findings("ec2:DeleteVolume", "arn:aws:ec2:*:*:volume/*", Condition=condition) == [
        ("IAMG002", Severity.MEDIUM)
    ]


def test_ana_12_star_action_on_one_type_is_not_administrator_access() -> None:
    findings = statement_findings("*", TRAILS)
    assert ("IAMG001", Severity.MEDIUM) in findings and ("IAMG001", Severity.CRITICAL) not in findings


def condition_names_values(statement: dict[str, Any]) -> bool:
    """True when the statement has a condition and every value names something (not only wildcards)."""
    values = [
        value
        for block in statement.get("Condition", {}).values()
        for given in block.values()
        for value in ([given] if isinstance(given, str) else given)
    ]
    return bool(values) and all(str(value).strip("*?") for value in values)


def test_ana_12_ebs_csi_driver_keeps_its_tag_scoped_statements_narrowed() -> None:
    """The copy of AmazonEBSCSIDriverPolicy: the statements whose tag condition names a value raise
    nothing; the unconditioned attach/detach on every volume and instance is a write on '*'."""
    document = (FIXTURES / "aws-managed" / "AmazonEBSCSIDriverPolicy.json").read_text(encoding="utf-8")
    statements = json.loads(document)["Statement"]
    loud = {f.statement_index for f in analyze_policy(document) if f.severity >= Severity.MEDIUM}
    valued = {index for index, statement in enumerate(statements) if condition_names_values(statement)}
    assert valued and not loud & valued
    assert 2 in loud  # ec2:AttachVolume / DetachVolume on volume/* and instance/*
