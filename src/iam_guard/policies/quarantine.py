"""Quarantine (H-3, CON-2): the deny-all policy it attaches, and the narrow grants of the PolicyAnalyzer
role that attach it, or put the inline deny when a principal's managed-policy quota is full."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    Condition,
    Deny,
    ForAllValuesStringEquals,
    Statement,
    StringEquals,
    StringNotEquals,
)

from iam_guard import arns
from iam_guard.contract import QUARANTINE_TAG_KEY
from iam_guard.policies.common import actions

QUARANTINE_ATTACH_ACTIONS: tuple[str, ...] = (
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
)
# When the principal's managed-policy quota is full, quarantine puts an inline explicit deny instead
# (contract.QUARANTINE_INLINE_POLICY_NAME).
QUARANTINE_INLINE_ACTIONS: tuple[str, ...] = (
    "iam:PutGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
)
QUARANTINE_READ_ACTIONS: tuple[str, ...] = (
    "iam:ListAttachedGroupPolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListAttachedUserPolicies",
)
QUARANTINE_TAG_ACTIONS: tuple[str, ...] = ("iam:TagRole", "iam:TagUser")
# A role may attach the quarantine policy only while it carries this tag (aws:PrincipalTag, MON-5): the
# same policy copied to another role grants nothing.
REMEDIATOR_TAG_KEY = "iam-guard-remediator"
REMEDIATOR_TAG_VALUE = "quarantine"


def quarantine_statements(quarantine_policy_arn: Any) -> list[Statement]:
    """H-3 quarantine: attach exactly the stack's deny-all policy (iam:PolicyARN), only while the role
    carries the remediator tag; when the principal's managed-policy quota is full, put the inline deny
    (IAM has no condition key on an inline policy's name or content, so only the remediator tag and the
    exempt-principal deny fence it); tag the principal; list what is attached (idempotence)."""
    return [
        Statement(
            Sid="AttachOnlyTheQuarantinePolicy",
            Effect=Allow,
            Action=actions(*QUARANTINE_ATTACH_ACTIONS),
            Resource=[arns.iam_resource("role"), arns.iam_resource("user"), arns.iam_resource("group")],
            Condition=Condition(
                [
                    ArnEquals({"iam:PolicyARN": quarantine_policy_arn}),
                    StringEquals({f"aws:PrincipalTag/{REMEDIATOR_TAG_KEY}": REMEDIATOR_TAG_VALUE}),
                ]
            ),
        ),
        Statement(
            Sid="PutTheQuarantineInlinePolicyWhenTheQuotaIsFull",
            Effect=Allow,
            Action=actions(*QUARANTINE_INLINE_ACTIONS),
            Resource=[arns.iam_resource("role"), arns.iam_resource("user"), arns.iam_resource("group")],
            Condition=Condition(
                StringEquals({f"aws:PrincipalTag/{REMEDIATOR_TAG_KEY}": REMEDIATOR_TAG_VALUE})
            ),
        ),
        Statement(
            Sid="TagQuarantinedPrincipals",
            Effect=Allow,
            Action=actions(*QUARANTINE_TAG_ACTIONS),
            Resource=[arns.iam_resource("role"), arns.iam_resource("user")],
            Condition=Condition(ForAllValuesStringEquals({"aws:TagKeys": [QUARANTINE_TAG_KEY]})),
        ),
        Statement(
            Sid="ListAttachedPoliciesOfPrincipals",
            Effect=Allow,
            Action=actions(*QUARANTINE_READ_ACTIONS),
            Resource=[arns.iam_resource("role"), arns.iam_resource("user"), arns.iam_resource("group")],
        ),
    ]


def deny_attach_other_policies_statement(quarantine_policy_arn: Any) -> Statement:
    """Belt and braces for quarantine: attaching any policy other than the quarantine policy is denied,
    whatever else is ever granted to the role."""
    return Statement(
        Sid="DenyAttachingAnyOtherPolicy",
        Effect=Deny,
        Action=actions(*QUARANTINE_ATTACH_ACTIONS),
        Resource=["*"],
        Condition=Condition(StringNotEquals({"iam:PolicyARN": quarantine_policy_arn})),
    )


def deny_quarantining_exempt_principals_statement(exempt_arns: Sequence[Any]) -> Statement:
    """Quarantine may never attach to or put a policy on the stack's own roles or the configured exempt
    principals: IAM enforces what the handler's exemption list says, even if the handler is subverted."""
    return Statement(
        Sid="DenyQuarantiningExemptPrincipals",
        Effect=Deny,
        Action=actions(*QUARANTINE_ATTACH_ACTIONS, *QUARANTINE_INLINE_ACTIONS),
        Resource=list(exempt_arns),
    )


def quarantine_deny_all_statement() -> Statement:
    """The quarantine policy: an explicit deny of every action on every resource (H-3)."""
    return Statement(Sid="QuarantineDenyEverything", Effect=Deny, Action=[Action("*")], Resource=["*"])
