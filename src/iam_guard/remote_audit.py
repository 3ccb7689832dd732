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

from iam_guard.analysis import Finding
from iam_guard.analysis.account import (
    ENTITY_FILTERS,
    LIST_KEYS,
    REFERENCE_FILTERS,
    Reference,
    Traversal,
    analyze_unit,
)
from iam_guard.analysis.account import audit_session_policy as account_audit_session_policy

ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
SESSION_NAME = "iam-guard-remote-audit"
SESSION_SECONDS = 900
AUDIT_ACTIONS = ("iam:GetAccountAuthorizationDetails", "iam:GetPolicy", "iam:GetPolicyVersion")


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
    """The session policy for AssumeRole on this audit role (iam_guard.analysis.account's)."""
    partition, account = parse_role_arn(role_arn)
    return account_audit_session_policy(partition, account)


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
    for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=list(ENTITY_FILTERS)):
        for key, items in merged.items():
            items.extend(page.get(key, []))
    return merged


def audit_details(details: dict[str, list[dict[str, Any]]], iam: Any | None = None) -> list[AccountFinding]:
    """Analyze the account the way the daily audit does (one traversal: iam_guard.analysis.account), with
    AWS managed policies fetched once each when `iam` is given."""
    reference = Reference()
    for entity_filter in REFERENCE_FILTERS:
        for entry in details.get(LIST_KEYS[entity_filter], []):
            reference.add(entity_filter, entry)
    cache: dict[str, Any] = {}
    traversal = Traversal(reference, lambda arn: _aws_managed_document(iam, arn, cache))
    results: list[AccountFinding] = []
    for entity_filter in ENTITY_FILTERS:
        for entry in details.get(LIST_KEYS[entity_filter], []):
            for unit in traversal.units(entity_filter, entry):
                for finding in analyze_unit(unit):
                    results.append(AccountFinding(unit.entity, unit.context()["policy"], finding))
    return sorted(results, key=lambda r: (r.finding.sort_key(), r.entity, r.policy))


def _aws_managed_document(iam: Any | None, policy_arn: str, cache: dict[str, Any]) -> Any:
    """An AWS managed policy's default document, fetched once; None when it no longer exists."""
    if iam is None:
        return None
    if policy_arn not in cache:
        try:
            version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
            cache[policy_arn] = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)[
                "PolicyVersion"
            ]["Document"]
        except iam.exceptions.NoSuchEntityException:
            cache[policy_arn] = None
    return cache[policy_arn]


def iter_lines(findings: list[AccountFinding]) -> Iterator[str]:
    for item in findings:
        f = item.finding
        where = f" statement {f.statement_index}" if f.statement_index is not None else ""
        yield f"{f.severity.label.upper():8} {f.code} {item.entity} ({item.policy}{where}): {f.message}"
