"""Trust policies (who may assume a role), each narrowed by conditions (MON-5, MON-10, DS-4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import (
    Allow,
    ArnLike,
    Bool,
    Condition,
    IpAddress,
    NumericLessThan,
    PolicyDocument,
    Principal,
    SourceIp,
    Statement,
    StringEquals,
)
from troposphere import Ref

from iam_guard.policies.common import actions, document

MFA_MAX_AGE_SECONDS = 3600


def assume_with_mfa_trust(principal_arns: Sequence[Any], cidrs: Sequence[str]) -> PolicyDocument:
    """People (or their roles) assume the role only with MFA not older than an hour, from the allowed
    networks."""
    return document(
        [
            Statement(
                Sid="AssumeWithMfaFromAllowedNetworks",
                Effect=Allow,
                Principal=Principal("AWS", list(principal_arns)),
                Action=actions("sts:AssumeRole"),
                Condition=Condition(
                    [
                        Bool({"aws:MultiFactorAuthPresent": "true"}),
                        NumericLessThan({"aws:MultiFactorAuthAge": str(MFA_MAX_AGE_SECONDS)}),
                        IpAddress({SourceIp: list(cidrs)}),
                    ]
                ),
            )
        ]
    )


def service_trust(service_principal: str, source_arns: Sequence[Any] = ()) -> PolicyDocument:
    """An AWS service assumes the role only for this account (aws:SourceAccount) and, where given, only for
    the named resources (aws:SourceArn): the confused-deputy guard."""
    conditions: list[Any] = [StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})]
    if source_arns:
        conditions.append(ArnLike({"aws:SourceArn": list(source_arns)}))
    return document(
        [
            Statement(
                Sid="ServiceAssumesForThisAccountOnly",
                Effect=Allow,
                Principal=Principal("Service", [service_principal]),
                Action=actions("sts:AssumeRole"),
                Condition=Condition(conditions),
            )
        ]
    )


def cross_account_external_id_trust(account_root_arns: Sequence[Any], external_id: Any) -> PolicyDocument:
    """MON-10: the trusted audit accounts assume the role only with the shared external ID."""
    return document(
        [
            Statement(
                Sid="TrustedAuditAccountsWithExternalId",
                Effect=Allow,
                Principal=Principal("AWS", list(account_root_arns)),
                Action=actions("sts:AssumeRole"),
                Condition=Condition(StringEquals({"sts:ExternalId": external_id})),
            )
        ]
    )
