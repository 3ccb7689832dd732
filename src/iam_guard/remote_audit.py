"""Audit another account through its cross-account audit role (MON-5, MON-10).

The role itself is read-only with explicit denies; the session this code opens is narrower still: a
session policy passed to AssumeRole admits only the three IAM reads the audit makes, so even a role that
is later widened by mistake cannot be used for more through iam-guard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from iam_guard.analysis import Finding, analyze_policy, analyze_principal
from iam_guard.analysis.account import default_version_document

ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
SESSION_NAME = "iam-guard-remote-audit"
SESSION_SECONDS = 900
AUDIT_ACTIONS = ("iam:GetAccountAuthorizationDetails", "iam:GetPolicy", "iam:GetPolicyVersion")
FILTERS = ("User", "Role", "Group", "LocalManagedPolicy")


@dataclass(frozen=True)
class AccountFinding:
    """A finding with the IAM entity and policy it was found in."""

    entity: str
    policy: str
    finding: Finding

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "policy": self.policy, **self.finding.to_dict()}


def parse_role_arn(role_arn: str) -> tuple[str, str]:
    """(partition, account ID) of an audit role ARN; ValueError naming the value otherwise."""
    match = ROLE_ARN.match(role_arn)
    if not match:
        raise ValueError(
            f"--role-arn: {role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/Name)"
        )
    return match.group(1), match.group(2)


def audit_session_policy(role_arn: str) -> dict[str, Any]:
    """The session policy for AssumeRole: only the audit's reads, only on the audited account's policies
    and AWS managed policies. GetAccountAuthorizationDetails supports no resource-level permission."""
    partition, account = parse_role_arn(role_arn)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadAuthorizationDetails",
                "Effect": "Allow",
                "Action": "iam:GetAccountAuthorizationDetails",
                "Resource": "*",
            },
            {
                "Sid": "ReadPolicyVersions",
                "Effect": "Allow",
                "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
                "Resource": [
                    f"arn:{partition}:iam::{account}:policy/*",
                    f"arn:{partition}:iam::aws:policy/*",
                ],
            },
        ],
    }


def assume_audit_role(role_arn: str, external_id: str, region: str | None = None) -> Any:
    """A boto3 Session on the audit role, narrowed by the session policy, valid for 15 minutes."""
    import boto3

    sts = boto3.client("sts", region_name=region)
    credentials = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName=SESSION_NAME,
        ExternalId=external_id,
        DurationSeconds=SESSION_SECONDS,
        Policy=json.dumps(audit_session_policy(role_arn), separators=(",", ":")),
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def authorization_details(iam: Any) -> dict[str, list[dict[str, Any]]]:
    """Every page of GetAccountAuthorizationDetails, merged by entity list."""
    merged: dict[str, list[dict[str, Any]]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=list(FILTERS)):
        for key, items in merged.items():
            items.extend(page.get(key, []))
    return merged


def audit_details(details: dict[str, list[dict[str, Any]]], iam: Any | None = None) -> list[AccountFinding]:
    """Analyze every customer-managed policy, inline policy and trust policy, and each principal's
    combined identity policies (AWS managed ones fetched once each when `iam` is given)."""
    results: list[AccountFinding] = []
    managed: dict[str, Any] = {}
    for policy in details["Policies"]:
        document = default_version_document(policy)
        managed[policy["Arn"]] = document
        for finding in analyze_policy(document):
            results.append(AccountFinding(policy["Arn"], "default version", finding))
    aws_managed_cache: dict[str, Any] = {}
    for kind, list_key, inline_key in (
        ("user", "UserDetailList", "UserPolicyList"),
        ("group", "GroupDetailList", "GroupPolicyList"),
        ("role", "RoleDetailList", "RolePolicyList"),
    ):
        for entity in details[list_key]:
            arn = entity["Arn"]
            documents = []
            for inline in entity.get(inline_key) or []:
                documents.append(inline["PolicyDocument"])
                for finding in analyze_policy(inline["PolicyDocument"]):
                    results.append(AccountFinding(arn, f"inline {inline['PolicyName']}", finding))
            for attached in entity.get("AttachedManagedPolicies") or []:
                policy_arn = attached["PolicyArn"]
                document = managed.get(policy_arn)
                if document is None and iam is not None:
                    document = _aws_managed_document(iam, policy_arn, aws_managed_cache)
                if document is not None:
                    documents.append(document)
            if kind == "role" and entity.get("AssumeRolePolicyDocument"):
                for finding in analyze_policy(entity["AssumeRolePolicyDocument"], "trust"):
                    results.append(AccountFinding(arn, "trust policy", finding))
            if len(documents) > 1:
                for finding in analyze_principal(documents):
                    results.append(AccountFinding(arn, "all attached policies", finding))
    return sorted(results, key=lambda r: (r.finding.sort_key(), r.entity))


def _aws_managed_document(iam: Any, policy_arn: str, cache: dict[str, Any]) -> Any:
    if policy_arn not in cache:
        version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        cache[policy_arn] = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"][
            "Document"
        ]
    return cache[policy_arn]


def iter_lines(findings: list[AccountFinding]) -> Iterator[str]:
    for item in findings:
        f = item.finding
        where = f" statement {f.statement_index}" if f.statement_index is not None else ""
        yield f"{f.severity.label.upper():8} {f.code} {item.entity} ({item.policy}{where}): {f.message}"
