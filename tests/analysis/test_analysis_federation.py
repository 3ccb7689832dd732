"""ANA-9/ANA-10 (issue 12): trusts of well-known OIDC providers are narrowed only by the claims that name
the account's own workloads (analysis/federation.py's table), positive and negative for each provider."""

from __future__ import annotations

from typing import Any

import pytest

from iam_guard.analysis import Severity, analyze_policy
from support import REPO_ROOT

GITHUB = "token.actions.githubusercontent.com"
EKS = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
COGNITO = "cognito-identity.amazonaws.com"


def web_identity_trust(host: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    federated = host if host == COGNITO else f"arn:aws:iam::123456789012:oidc-provider/{host}"
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": federated},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def open_trust_findings(host: str, condition: dict[str, Any] | None) -> list[str]:
    findings = analyze_policy(web_identity_trust(host, condition), "trust")
    assert all(f.severity is Severity.HIGH for f in findings if f.code == "IAMG009")
    return [f.message for f in findings if f.code == "IAMG009"]


AUD = {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}}


@pytest.mark.parametrize(
    ("host", "condition", "narrowed"),
    [
        (GITHUB, AUD, False),  # the default audience: every repository on GitHub
        (GITHUB, {"StringLike": {f"{GITHUB}:sub": "repo:*"}}, False),
        (GITHUB, {"StringLike": {f"{GITHUB}:sub": "repo:*/app:*"}}, False),
        (GITHUB, {"StringLike": {f"{GITHUB}:sub": "*"}}, False),
        (GITHUB, {"StringNotLike": {f"{GITHUB}:sub": "repo:evil/*"}}, False),
        (GITHUB, {**AUD, "StringLike": {f"{GITHUB}:sub": "repo:my-org/*"}}, True),
        (GITHUB, {"StringEquals": {f"{GITHUB}:sub": "repo:my-org/app:ref:refs/heads/main"}}, True),
        ("gitlab.com", {"StringEquals": {"gitlab.com:aud": "https://gitlab.com"}}, False),
        ("gitlab.com", {"StringLike": {"gitlab.com:sub": "project_path:*"}}, False),
        (
            "gitlab.com",
            {"StringLike": {"gitlab.com:sub": "project_path:my-group/app:ref_type:branch:ref:main"}},
            True,
        ),
        ("app.terraform.io", {"StringEquals": {"app.terraform.io:aud": "aws.workload.identity"}}, False),
        ("app.terraform.io", {"StringLike": {"app.terraform.io:sub": "organization:*:project:*"}}, False),
        ("app.terraform.io", {"StringLike": {"app.terraform.io:sub": "organization:my-org:project:*"}}, True),
        (EKS, {"StringEquals": {f"{EKS}:aud": "sts.amazonaws.com"}}, False),
        (EKS, {"StringLike": {f"{EKS}:sub": "system:serviceaccount:*:*"}}, False),
        (EKS, {"StringEquals": {f"{EKS}:sub": "system:serviceaccount:payments:api"}}, True),
        (COGNITO, {"StringEquals": {f"{COGNITO}:aud": "eu-west-1:1111-2222"}}, False),  # guests too
        (
            COGNITO,
            {
                "StringEquals": {f"{COGNITO}:aud": "eu-west-1:1111-2222"},
                "ForAnyValue:StringLike": {f"{COGNITO}:amr": "unauthenticated"},
            },
            False,
        ),
        (
            COGNITO,
            {
                "StringLike": {f"{COGNITO}:aud": "*"},
                "ForAnyValue:StringLike": {f"{COGNITO}:amr": "authenticated"},
            },
            False,
        ),
        (
            COGNITO,
            {
                "StringEquals": {f"{COGNITO}:aud": "eu-west-1:1111-2222"},
                "ForAnyValue:StringLike": {f"{COGNITO}:amr": "authenticated"},
            },
            True,
        ),
    ],
)
def test_ana_12_oidc_trust_is_narrowed_only_by_claims_naming_your_workloads(
    host: str, condition: dict[str, Any], narrowed: bool
) -> None:
    messages = open_trust_findings(host, condition)
    if narrowed:
        assert messages == []
    else:
        assert len(messages) == 1 and "no " in messages[0] and "condition names your own" in messages[0]


def test_ana_12_oidc_trust_without_any_condition_is_high_for_every_provider() -> None:
    for host in (GITHUB, "gitlab.com", "app.terraform.io", EKS, COGNITO, "auth.example.com"):
        assert len(open_trust_findings(host, None)) == 1, host


def test_ana_12_unknown_provider_keeps_the_audience_rule() -> None:
    host = "auth.example.com"
    assert open_trust_findings(host, {"StringEquals": {f"{host}:aud": "my-app"}}) == []
    assert len(open_trust_findings(host, {"StringLike": {f"{host}:aud": "*"}})) == 1


def test_ana_12_provider_table_is_in_the_readme() -> None:
    docstring = (REPO_ROOT / "src/iam_guard/analysis/federation.py").read_text().split('"""')[1]
    rows = [line for line in docstring.splitlines() if line.startswith("|")]
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(rows) == 7
    assert [row for row in rows if row not in readme] == []
