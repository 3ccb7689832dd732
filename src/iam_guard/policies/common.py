"""Statements every kind of policy uses: documents, network guards and the explicit denies of CON-2."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from awacs.aws import (
    Action,
    Bool,
    BoolIfExists,
    Condition,
    Deny,
    IpAddress,
    NotIpAddress,
    PolicyDocument,
    Principal,
    RequestedRegion,
    SecureTransport,
    SourceIp,
    Statement,
    StringNotEquals,
)

VERSION = "2012-10-17"
VIA_AWS_SERVICE = "aws:ViaAWSService"

# Actions no role of this project ever needs, denied explicitly in every identity policy (CON-2): they
# create credentials, rewrite permissions, or blind the monitoring itself.
SENSITIVE_ACTIONS: tuple[str, ...] = (
    "cloudtrail:DeleteTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreatePolicyVersion",
    "iam:CreateUser",
    "iam:DeleteRolePermissionsBoundary",
    "iam:PassRole",
    "iam:PutGroupPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateLoginProfile",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "logs:DeleteLogGroup",
    "logs:DeleteRetentionPolicy",
    "logs:DisassociateKmsKey",
    "organizations:LeaveOrganization",
)


def document(statements: Iterable[Statement]) -> PolicyDocument:
    return PolicyDocument(Version=VERSION, Statement=list(statements))


def actions(*names: str) -> list[Action]:
    """`actions("s3:GetObject", ...)` -> awacs Actions, keeping the IAM spelling readable at the call site."""
    result = []
    for name in names:
        prefix, action = name.split(":", 1)
        result.append(Action(prefix, action))
    return result


def source_ip_condition(cidrs: Sequence[str]) -> Condition:
    """The request must come from one of the configured networks (DS-6, MON-5)."""
    return Condition(IpAddress({SourceIp: list(cidrs)}))


def deny_sensitive_actions_statement(exempt: Sequence[str] = ()) -> Statement:
    """Explicit deny of SENSITIVE_ACTIONS (CON-2). `exempt` removes actions a role really needs (the
    quarantine role attaches one policy), which its own statements then scope tightly."""
    denied = [name for name in SENSITIVE_ACTIONS if name not in set(exempt)]
    return Statement(Sid="DenySensitiveActions", Effect=Deny, Action=actions(*denied), Resource=["*"])


def deny_outside_networks_statement(cidrs: Sequence[str]) -> Statement:
    """Deny every request from outside the configured networks that the principal makes itself.

    aws:ViaAWSService false keeps this off the calls an AWS service makes on the principal's behalf
    (S3 calling KMS for an SSE-KMS object): those come from the service's address, not the caller's.
    """
    return Statement(
        Sid="DenyRequestsFromOutsideAllowedNetworks",
        Effect=Deny,
        Action=[Action("*")],
        Resource=["*"],
        Condition=Condition([NotIpAddress({SourceIp: list(cidrs)}), Bool({VIA_AWS_SERVICE: "false"})]),
    )


def deny_outside_regions_statement(regions: Sequence[Any]) -> Statement:
    """Deny requests the principal makes to any other region (aws:RequestedRegion), so leaked session
    credentials cannot be used to stand up or read resources elsewhere. Calls an AWS service makes on the
    principal's behalf are spared, as in deny_outside_networks_statement."""
    return Statement(
        Sid="DenyRequestsToOtherRegions",
        Effect=Deny,
        Action=[Action("*")],
        Resource=["*"],
        Condition=Condition(
            [StringNotEquals({RequestedRegion: list(regions)}), Bool({VIA_AWS_SERVICE: "false"})]
        ),
    )


def deny_insecure_transport_statement(resources: Sequence[Any], service: str) -> Statement:
    """Resource policies: deny any request that does not use TLS (aws:SecureTransport false)."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[Action(service, "*")],
        Resource=list(resources),
        Condition=Condition(Bool({SecureTransport: "false"})),
    )


def require_mfa_condition() -> Condition:
    """Trust-policy condition: the caller authenticated with MFA."""
    return Condition(Bool({"aws:MultiFactorAuthPresent": "true"}))


def deny_without_mfa_condition() -> Condition:
    """Deny-side condition: MFA absent or false. BoolIfExists matters: a session without the key at all
    (long-term access keys) must be denied too."""
    return Condition(BoolIfExists({"aws:MultiFactorAuthPresent": "false"}))
