"""IAMG009 (ANA-9): a trust policy open to everyone, to a whole account, or to every workload of a
federated provider (federation.py's table of the claims that narrow each well-known provider)."""

from __future__ import annotations

from iam_guard.analysis.conditions import Narrowing, narrowing
from iam_guard.analysis.detections.unit import PRINCIPALS, TRUST, Detection, Example, policy
from iam_guard.analysis.document import Statement
from iam_guard.analysis.federation import known_provider, trust_is_narrowed
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.principals import (
    OWN_ACCOUNT_MARKERS,
    account_of,
    is_public,
    principal_entries,
    public_levels,
)


def check(statement: Statement, policy_type: str) -> list[Finding]:
    if not statement.is_allow:
        return []
    findings = []
    entries = principal_entries(statement.principal)
    narrowed = narrowing(statement.conditions)
    if any(kind == "AWS" and is_public(value) for kind, value in entries):
        findings.append(
            UNIT.finding(
                Severity.CRITICAL,
                f"statement {statement.index} lets any AWS principal ('*') assume this role",
                statement,
                statement.action_patterns,
                ("*",),
                public_levels(narrowed),
            )
        )
    for kind, value in entries:
        account = account_of(value) if kind == "AWS" and not is_public(value) else None
        if account is None:
            continue
        own = any(marker in account for marker in OWN_ACCOUNT_MARKERS)
        whose = "this account" if own else f"account {account}"
        findings.append(
            UNIT.finding(
                Severity.LOW if own else Severity.HIGH,
                f"statement {statement.index} lets every principal of {whose} assume this role"
                + ("" if own or narrowed.levels else " without sts:ExternalId or aws:PrincipalOrgID"),
                statement,
                statement.action_patterns,
                (value,),
                narrowed,
            )
        )
    federated = sorted(value for kind, value in entries if kind == "Federated")
    for principal, why in _open_federations(federated, statement.conditions, narrowed):
        findings.append(
            UNIT.finding(
                Severity.HIGH,
                f"statement {statement.index} lets any identity of {principal} assume this role ({why})",
                statement,
                statement.action_patterns,
                (principal,),
            )
        )
    return findings


def _open_federations(
    federated: list[str], conditions: dict[str, dict[str, tuple[str, ...]]], narrowed: Narrowing
) -> list[tuple[str, str]]:
    """(provider, why) for each federated principal the conditions leave open (federation.py's table for
    the well-known providers, an audience/subject claim for the others)."""
    open_to = []
    for principal in federated:
        provider = known_provider(principal)
        if provider is None:
            if not narrowed.levels:
                open_to.append((principal, "no audience/subject condition"))
        elif not trust_is_narrowed(provider, principal, conditions):
            claims = " and ".join(claim for claim, _ in provider.claims)
            open_to.append(
                (principal, f"every {provider.name} workload: no {claims} condition names your own")
            )
    return open_to


_GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def _assume(principal: object, **more: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **more}


def _github(condition: dict[str, str]) -> dict[str, object]:
    return {
        "Effect": "Allow",
        "Principal": {"Federated": _GITHUB},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": condition},
    }


_AUDIENCE = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
_REPOSITORY = {**_AUDIENCE, "token.actions.githubusercontent.com:sub": "repo:example/app:ref:refs/heads/main"}

UNIT = Detection(
    code="IAMG009",
    requirement="ANA-9",
    title="Trust policy open too wide",
    detects="trust policy open to everyone, to a whole account, or to a federated provider without "
    "conditions",
    severity=Severity.CRITICAL,
    severity_rule="critical (`*`), high (account / federation)",
    scope=PRINCIPALS,
    policy_types=frozenset({TRUST}),
    after_star_action=True,
    remediation="Trust named role ARNs and require sts:ExternalId or aws:PrincipalOrgID.",
    good=(
        Example(policy(_assume({"AWS": "arn:aws:iam::111122223333:role/deployer"})), TRUST),
        Example(policy(_github(_REPOSITORY)), TRUST),
    ),
    bad=(
        Example(policy(_assume("*")), TRUST, severity=Severity.CRITICAL),
        Example(policy(_assume({"AWS": "111122223333"})), TRUST, severity=Severity.HIGH),
        Example(policy(_github(_AUDIENCE)), TRUST, severity=Severity.HIGH),
        Example(
            policy(_assume({"AWS": "111122223333"}, Condition={"StringEquals": {"sts:ExternalId": "x7Q2"}})),
            TRUST,
            severity=Severity.LOW,
        ),
    ),
    check=check,
)
