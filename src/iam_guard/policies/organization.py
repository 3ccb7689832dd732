"""ORG-1: trusts and permissions of an organization deployment: member roles assumable only by one role of
the security account inside the organization, the member remediation role that can only take permissions
away, and the central event bus that admits only the organization's forwarders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import (
    Allow,
    ArnEquals,
    ArnLike,
    Condition,
    Deny,
    ForAllValuesStringEquals,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

from iam_guard import arns
from iam_guard.contract import QUARANTINE_TAG_KEY
from iam_guard.policies.common import actions, document
from iam_guard.policies.quarantine import QUARANTINE_ATTACH_ACTIONS, QUARANTINE_READ_ACTIONS

PRINCIPAL_ORG_ID = "aws:PrincipalOrgID"
PRINCIPAL_ARN = "aws:PrincipalArn"
EXTERNAL_ID = "sts:ExternalId"

# What the member remediation role may do: attach the one quarantine policy, tag with the quarantine tag,
# and list what is attached (idempotence). Every other action, IAM or not, is explicitly denied.
REMEDIATION_TAG_ACTIONS: tuple[str, ...] = ("iam:TagRole", "iam:TagUser")
REMEDIATION_ACTIONS: tuple[str, ...] = (
    *QUARANTINE_ATTACH_ACTIONS,
    *REMEDIATION_TAG_ACTIONS,
    *QUARANTINE_READ_ACTIONS,
)
# Spelled out besides the NotAction deny, so a reader (and the analyzer) sees the promise directly.
REMEDIATION_FORBIDDEN_ACTIONS: tuple[str, ...] = (
    "iam:Create*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Put*",
    "iam:Remove*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Set*",
    "iam:PassRole",
)


def role_in_account(account_id: str, role_name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::{account_id}:role/{role_name}")


def org_role_trust(
    sid: str,
    *,
    security_account_id: str,
    role_name: str,
    organization_id: str,
    external_id: Any | None = None,
    also_role_names: Sequence[str] = (),
) -> PolicyDocument:
    """Only `role_name` (and `also_role_names`) of the security account, and only while that account is in
    the organization, assumes the role (the account root as principal, narrowed by aws:PrincipalArn: a
    principal ARN naming a role that does not exist yet would make the trust policy invalid). With
    `external_id`, the caller must also pass sts:ExternalId."""
    role_names = [role_name, *(name for name in also_role_names if name != role_name)]
    principal_arns: Any = [role_in_account(security_account_id, name) for name in role_names]
    equals: dict[str, Any] = {PRINCIPAL_ORG_ID: organization_id}
    if external_id is not None:
        equals[EXTERNAL_ID] = external_id
    return document(
        [
            Statement(
                Sid=sid,
                Effect=Allow,
                Principal=Principal("AWS", [arns.account_root_of(security_account_id)]),
                Action=actions("sts:AssumeRole"),
                Condition=Condition(
                    [
                        StringEquals(equals),
                        ArnEquals(
                            {PRINCIPAL_ARN: principal_arns[0] if len(principal_arns) == 1 else principal_arns}
                        ),
                    ]
                ),
            )
        ]
    )


def remediation_statements(quarantine_policy_arn: Any) -> list[Statement]:
    """Attach exactly the member's quarantine policy (iam:PolicyARN), tag principals with the quarantine
    tag only, list attached policies."""
    principals = [arns.iam_resource("role"), arns.iam_resource("user"), arns.iam_resource("group")]
    return [
        Statement(
            Sid="AttachOnlyTheMemberQuarantinePolicy",
            Effect=Allow,
            Action=actions(*QUARANTINE_ATTACH_ACTIONS),
            Resource=principals,
            Condition=Condition(ArnEquals({"iam:PolicyARN": quarantine_policy_arn})),
        ),
        Statement(
            Sid="TagQuarantinedPrincipals",
            Effect=Allow,
            Action=actions(*REMEDIATION_TAG_ACTIONS),
            Resource=[arns.iam_resource("role"), arns.iam_resource("user")],
            Condition=Condition(ForAllValuesStringEquals({"aws:TagKeys": [QUARANTINE_TAG_KEY]})),
        ),
        Statement(
            Sid="ListAttachedPoliciesOfPrincipals",
            Effect=Allow,
            Action=actions(*QUARANTINE_READ_ACTIONS),
            Resource=principals,
        ),
    ]


def deny_create_delete_detach_statement() -> Statement:
    """The remediation role creates, deletes, detaches, rewrites and passes nothing."""
    return Statement(
        Sid="DenyCreateDeleteDetachOrRewrite",
        Effect=Deny,
        Action=actions(*REMEDIATION_FORBIDDEN_ACTIONS),
        Resource=["*"],
    )


def deny_everything_but_remediation_statement() -> Statement:
    """Whatever is ever attached to the role, it can do nothing but REMEDIATION_ACTIONS."""
    return Statement(
        Sid="DenyEverythingButQuarantine",
        Effect=Deny,
        NotAction=actions(*REMEDIATION_ACTIONS),
        Resource=["*"],
    )


def deny_remediating_protected_roles_statement(protected_arns: Sequence[Any]) -> Statement:
    """The member's own iam-guard roles and the StackSet execution roles are never quarantined or tagged."""
    return Statement(
        Sid="DenyRemediatingProtectedRoles",
        Effect=Deny,
        Action=actions(*QUARANTINE_ATTACH_ACTIONS, *REMEDIATION_TAG_ACTIONS),
        Resource=list(protected_arns),
    )


def central_bus_policy_statement(
    bus_arn: Any, organization_id: str, forwarder_role_pattern: Any
) -> Statement:
    """Only the member forwarder roles of the organization put events on the central bus."""
    return Statement(
        Sid="AllowOrganizationForwardersToPutEvents",
        Effect=Allow,
        Principal=Principal("AWS", ["*"]),
        Action=actions("events:PutEvents"),
        Resource=[bus_arn],
        Condition=Condition(
            [
                StringEquals({PRINCIPAL_ORG_ID: organization_id}),
                ArnLike({PRINCIPAL_ARN: forwarder_role_pattern}),
            ]
        ),
    )
