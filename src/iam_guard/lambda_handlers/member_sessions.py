"""ORG-1, the analyzer across accounts: short sessions in a member account of the organization, each narrowed
by a session policy to the one call on the one resource the event is about (MON-5).

The security account's PolicyAnalyzer receives member IAM policy changes through the central event bus. For
an event of a member account it
- fetches a managed policy's document (Attach*Policy, SetDefaultPolicyVersion, a CreatePolicy[Version]
  whose document CloudTrail omitted) through the member audit role, with a session policy allowing only
  iam:GetPolicy and iam:GetPolicyVersion on that one policy ARN of that account;
- quarantines through the member remediation role (when the organization deploys it), with a session
  policy allowing only Attach<Kind>Policy with iam:PolicyARN equal to that account's quarantine policy,
  Tag<Kind> with the quarantine tag key only, and ListAttached<Kind>Policies (so a quarantine already in
  place is not applied twice), each on the one principal (named by the event, under any path).

The names come from the environment the monitoring stack sets only when the config has an organization
(ORGANIZATION_ID, MEMBER_AUDIT_ROLE, MEMBER_REMEDIATION_ROLE, MEMBER_QUARANTINE_POLICY, whose values
stacks/org_plan.py computes): without them the handler behaves exactly as in a single account (member
events are never remediated; nothing is assumed).

Account IDs in events are attacker-shaped text: only an event naming exactly one account, of 12 digits,
builds a role ARN, and only from that account, the configured role name and the partition of the
function's own ARN. That the account belongs to the organization is enforced by IAM, not by this code: the
PolicyAnalyzer role may assume the member roles only where aws:ResourceOrgID is the organization
(stacks/org_access.py), and the member roles trust the analyzer only inside it (aws:PrincipalOrgID). Every
session lasts 900 s and is named after the CloudTrail eventID (so CloudTrail in the member account ties
each call to the event). A refused session or call (AccessDenied, a role that is missing) raises
MemberUnreachable, which the handler turns into a loud record and alert naming the account, never a retry.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import ClientError

from iam_guard.contract import (
    ENV_MEMBER_AUDIT_ROLE,
    ENV_MEMBER_QUARANTINE_POLICY,
    ENV_MEMBER_REMEDIATION_ROLE,
    ENV_ORGANIZATION_ID,
    MEMBER_SESSION_SECONDS,
    QUARANTINE_TAG_KEY,
)
from lambda_support import Deadline, SettingsError, aws_client, call_within, is_retryable, log

ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
# What STS accepts as a RoleSessionName: 2-64 characters of letters, digits and =,.@-_
_SESSION_NAME_FORBIDDEN = re.compile(r"[^\w+=,.@-]", re.ASCII)
_SESSION_NAME_MAX = 64
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}", re.ASCII)
_PARTITION = re.compile(r"aws(-[a-z]+)*", re.ASCII)

# principal kind -> (attach, tag or None, list-attached) IAM actions
PRINCIPAL_ACTIONS: dict[str, tuple[str, str | None, str]] = {
    "role": ("iam:AttachRolePolicy", "iam:TagRole", "iam:ListAttachedRolePolicies"),
    "user": ("iam:AttachUserPolicy", "iam:TagUser", "iam:ListAttachedUserPolicies"),
    "group": ("iam:AttachGroupPolicy", None, "iam:ListAttachedGroupPolicies"),
}
POLICY_READ_ACTIONS: tuple[str, ...] = ("iam:GetPolicy", "iam:GetPolicyVersion")
# Same short botocore retries as lambda_support's clients: call_within retries within the deadline.
_CLIENT_CONFIG = BotocoreConfig(
    retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=3, read_timeout=10
)


class MemberUnreachable(RuntimeError):
    """A member account could not be reached (invalid account, refused session or call)."""

    def __init__(self, account: str, reason: str) -> None:
        super().__init__(f"member account {account}: {reason}")
        self.account = account
        self.reason = reason


@dataclass(frozen=True)
class OrgSettings:
    """The organization the function serves and the member roles' names (from its environment)."""

    organization_id: str
    audit_role_name: str
    remediation_role_name: str  # "" when the organization deploys no member remediation role
    quarantine_policy_name: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> OrgSettings | None:
        """None in a single-account deployment (no ORGANIZATION_ID); SettingsError naming a variable whose
        value is malformed (a deployment bug: the invocation fails loudly)."""
        env = os.environ if environ is None else environ
        organization_id = env.get(ENV_ORGANIZATION_ID, "").strip()
        if not organization_id:
            return None
        if not _ORGANIZATION_ID.fullmatch(organization_id):
            raise SettingsError(f"{ENV_ORGANIZATION_ID}: {organization_id!r} is not an organization ID")
        names = {
            variable: env.get(variable, "").strip()
            for variable in (ENV_MEMBER_AUDIT_ROLE, ENV_MEMBER_REMEDIATION_ROLE, ENV_MEMBER_QUARANTINE_POLICY)
        }
        for variable, value in names.items():
            required = variable == ENV_MEMBER_AUDIT_ROLE
            if (value or required) and not _ROLE_NAME.fullmatch(value):
                raise SettingsError(f"{variable}: {value!r} is not an IAM role or policy name")
        remediation = names[ENV_MEMBER_REMEDIATION_ROLE]
        if remediation and not names[ENV_MEMBER_QUARANTINE_POLICY]:
            raise SettingsError(
                f"{ENV_MEMBER_QUARANTINE_POLICY} is not set ({ENV_MEMBER_REMEDIATION_ROLE} is)"
            )
        return cls(
            organization_id=organization_id,
            audit_role_name=names[ENV_MEMBER_AUDIT_ROLE],
            remediation_role_name=remediation,
            quarantine_policy_name=names[ENV_MEMBER_QUARANTINE_POLICY],
        )


def member_account(accounts: frozenset[str], own_account: str) -> str | None:
    """The member account an event is about: None when it is the function's own account (or names none);
    MemberUnreachable when it names several accounts or an account ID that is not 12 digits."""
    if not accounts or accounts == frozenset({own_account}):
        return None
    if len(accounts) != 1:
        named = ", ".join(sorted(account[:32] for account in accounts))
        raise MemberUnreachable(named, "the event names several accounts: no member session is opened")
    (account,) = accounts
    if not ACCOUNT_ID.fullmatch(account):
        raise MemberUnreachable(account[:32], "not a 12-digit account ID: no member session is opened")
    return account


def partition_of(arn: str) -> str:
    """The partition of an ARN (the function's own); "aws" when it has none that is valid."""
    parts = arn.split(":")
    if len(parts) > 2 and parts[0] == "arn" and _PARTITION.fullmatch(parts[1]):
        return parts[1]
    return "aws"


def role_arn(partition: str, account: str, role_name: str) -> str:
    if not ACCOUNT_ID.fullmatch(account) or not _ROLE_NAME.fullmatch(role_name):
        raise ValueError(f"no role ARN from account {account!r} and name {role_name!r}")
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def quarantine_policy_arn(partition: str, account: str, policy_name: str) -> str:
    return f"arn:{partition}:iam::{account}:policy/{policy_name}"


def session_name(purpose: str, event_id: str) -> str:
    """iam-guard-<purpose>-<eventID>, every character STS refuses replaced by "_", at most 64."""
    name = _SESSION_NAME_FORBIDDEN.sub("_", f"iam-guard-{purpose}-{event_id}")
    return name[:_SESSION_NAME_MAX]


def principal_arns(partition: str, account: str, kind: str, name: str) -> list[str]:
    """The one principal a CloudTrail event names (without its path): at the root path or under any path.
    IAM names cannot hold "/", so both patterns end in exactly this name."""
    return [
        f"arn:{partition}:iam::{account}:{kind}/{name}",
        f"arn:{partition}:iam::{account}:{kind}/*/{name}",
    ]


def read_session_policy(policy_arn: str) -> dict[str, Any]:
    """The audit session may read one managed policy (its metadata and versions), nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheOnePolicy",
                "Effect": "Allow",
                "Action": list(POLICY_READ_ACTIONS),
                "Resource": policy_arn,
            }
        ],
    }


def quarantine_session_policy(
    kind: str, principal_resources: list[str], quarantine_arn: str
) -> dict[str, Any]:
    """The remediation session may attach the member's quarantine policy to the one principal, tag it with
    the quarantine tag and list what is attached to it: one action per statement, nothing else."""
    attach, tag, list_attached = PRINCIPAL_ACTIONS[kind]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AttachOnlyTheQuarantinePolicy",
            "Effect": "Allow",
            "Action": attach,
            "Resource": principal_resources,
            "Condition": {"ArnEquals": {"iam:PolicyARN": quarantine_arn}},
        },
        {
            "Sid": "ListWhatIsAttached",
            "Effect": "Allow",
            "Action": list_attached,
            "Resource": principal_resources,
        },
    ]
    if tag is not None:
        statements.append(
            {
                "Sid": "TagWithTheQuarantineTag",
                "Effect": "Allow",
                "Action": tag,
                "Resource": principal_resources,
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": [QUARANTINE_TAG_KEY]}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def unreachable_reason(error: ClientError) -> str:
    """AWS's code and message of a refusal, for the record and the alert."""
    detail = error.response.get("Error", {})
    return f"{detail.get('Code', 'error')}: {str(detail.get('Message', ''))[:300]}"


def refused(error: Exception) -> bool:
    """True for an error that retries cannot fix (AccessDenied, a missing role, a malformed request)."""
    return isinstance(error, ClientError) and not is_retryable(error)


class MemberSessions:
    """Opens narrowed sessions in member accounts for one CloudTrail event."""

    def __init__(self, org: OrgSettings, partition: str, event_id: str, deadline: Deadline) -> None:
        self.org = org
        self.partition = partition
        self.event_id = event_id
        self.deadline = deadline

    def policy_reader(self, account: str, policy_arn: str) -> Any:
        """An IAM client of `account` that may read `policy_arn` (a policy of that account) only."""
        return self._client(account, self.org.audit_role_name, "read", read_session_policy(policy_arn))

    def quarantiner(self, account: str, kind: str, name: str) -> Any:
        """An IAM client of `account` that may quarantine the one principal only."""
        if not self.org.remediation_role_name:
            raise MemberUnreachable(account, "the organization deploys no member remediation role")
        policy = quarantine_session_policy(
            kind, principal_arns(self.partition, account, kind, name), self.quarantine_arn(account)
        )
        return self._client(account, self.org.remediation_role_name, "quarantine", policy)

    def quarantine_arn(self, account: str) -> str:
        return quarantine_policy_arn(self.partition, account, self.org.quarantine_policy_name)

    def _client(self, account: str, role_name: str, purpose: str, policy: dict[str, Any]) -> Any:
        arn = role_arn(self.partition, account, role_name)
        name = session_name(purpose, self.event_id)
        try:
            reply = call_within(
                self.deadline,
                aws_client("sts").assume_role,
                RoleArn=arn,
                RoleSessionName=name,
                Policy=json.dumps(policy, separators=(",", ":")),
                DurationSeconds=MEMBER_SESSION_SECONDS,
            )
        except ClientError as error:
            if not refused(error):
                raise
            raise MemberUnreachable(account, f"cannot assume {arn}: {unreachable_reason(error)}") from error
        log("INFO", "member session opened", account=account, roleArn=arn, sessionName=name, policy=policy)
        credentials = reply["Credentials"]
        return boto3.client(
            "iam",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=_CLIENT_CONFIG,
        )
