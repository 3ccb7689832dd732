"""IAM roles with a one-hour maximum session by default (MON-5, DS-4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs.aws import PolicyDocument
from troposphere import Sub, iam

ONE_HOUR_SECONDS = 3600


def inline_policy(name: str, policy: PolicyDocument) -> iam.Policy:
    return iam.Policy(PolicyName=name, PolicyDocument=policy)


def role(
    logical_id: str,
    *,
    name: str | Sub,
    description: str,
    trust: PolicyDocument,
    policies: Sequence[iam.Policy],
    max_session_seconds: int = ONE_HOUR_SECONDS,
    managed_policy_arns: Sequence[Any] = (),
) -> iam.Role:
    """A named role whose sessions last at most `max_session_seconds` (1 hour unless told otherwise)."""
    if not 900 <= max_session_seconds <= ONE_HOUR_SECONDS:
        raise ValueError(f"max_session_seconds {max_session_seconds} is outside 900..3600")
    extra: dict[str, Any] = {"ManagedPolicyArns": list(managed_policy_arns)} if managed_policy_arns else {}
    return iam.Role(
        logical_id,
        RoleName=name,
        Description=description,
        AssumeRolePolicyDocument=trust,
        Policies=list(policies),
        MaxSessionDuration=max_session_seconds,
        **extra,
    )
