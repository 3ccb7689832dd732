"""ANA-9 for trust and resource policies: IAMG013 (Allow with NotPrincipal), IAMG017 (a resource policy
open to everyone) and IAMG010 (a service principal without source conditions: confused deputy)."""

from __future__ import annotations

from iam_guard.analysis.conditions import has_condition_key, narrowing
from iam_guard.analysis.detections.unit import PRINCIPALS, RESOURCE, TRUST, Detection, Example, policy
from iam_guard.analysis.document import Statement
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.principals import SOURCE_KEYS, is_public, principal_entries, public_levels


def check_not_principal(statement: Statement, policy_type: str) -> list[Finding]:
    if not statement.is_allow or statement.not_principal is None:
        return []
    return [
        NOT_PRINCIPAL.finding(
            Severity.HIGH,
            f"statement {statement.index} allows every principal except the NotPrincipal list",
            statement,
            statement.action_patterns,
            statement.shown_resources,
            narrowing(statement.conditions),
        )
    ]


def check_public(statement: Statement, policy_type: str) -> list[Finding]:
    if not statement.is_allow:
        return []
    if not any(kind == "AWS" and is_public(value) for kind, value in principal_entries(statement.principal)):
        return []
    return [
        PUBLIC_RESOURCE_POLICY.finding(
            Severity.CRITICAL,
            f"statement {statement.index} admits everyone (Principal '*')",
            statement,
            statement.action_patterns,
            statement.shown_resources,
            public_levels(narrowing(statement.conditions)),
        )
    ]


def check_service_principals(statement: Statement, policy_type: str) -> list[Finding]:
    if not statement.is_allow:
        return []
    entries = principal_entries(statement.principal)
    services = sorted(value for kind, value in entries if kind == "Service")
    if not services or any(has_condition_key(statement.conditions, key) for key in SOURCE_KEYS):
        return []
    return [
        SERVICE_PRINCIPAL.finding(
            Severity.LOW,
            f"statement {statement.index} admits {', '.join(services)} without aws:SourceAccount or "
            f"aws:SourceArn, so the service may act for any account",
            statement,
            statement.action_patterns,
            services,
        )
    ]


_BUCKET = "arn:aws:s3:::reports/*"
_ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
_ACCOUNT_ROOT = {"AWS": "arn:aws:iam::111122223333:root"}


def _read(principal: object, **more: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": _BUCKET, **more}


def _assume(principal: object, **more: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **more}


def _except_account(action: str, **more: object) -> dict[str, object]:
    return {"Effect": "Allow", "NotPrincipal": _ACCOUNT_ROOT, "Action": action, **more}


NOT_PRINCIPAL = Detection(
    code="IAMG013",
    requirement="ANA-9",
    title="Allow with NotPrincipal",
    detects="Allow with NotPrincipal",
    severity=Severity.HIGH,
    severity_rule="high",
    scope=PRINCIPALS,
    policy_types=frozenset({TRUST, RESOURCE}),
    after_star_action=True,
    remediation="Use Principal with the named principals; Allow+NotPrincipal admits everyone else.",
    good=(Example(policy(_read(_ACCOUNT_ROOT)), RESOURCE),),
    bad=(
        Example(policy(_except_account("s3:GetObject", Resource=_BUCKET)), RESOURCE, severity=Severity.HIGH),
        Example(policy(_except_account("sts:AssumeRole")), TRUST, severity=Severity.HIGH),
    ),
    check=check_not_principal,
)

PUBLIC_RESOURCE_POLICY = Detection(
    code="IAMG017",
    requirement="ANA-9",
    title="Resource policy open to everyone",
    detects="resource policy that admits `*` (public) without a narrowing condition",
    severity=Severity.CRITICAL,
    severity_rule="critical",
    scope=PRINCIPALS,
    policy_types=frozenset({RESOURCE}),
    after_star_action=True,
    remediation="Name the principals, or add aws:PrincipalOrgID / aws:SourceAccount / aws:SourceVpce "
    "conditions.",
    good=(Example(policy(_read(_ACCOUNT_ROOT)), RESOURCE),),
    bad=(
        Example(policy(_read("*")), RESOURCE, severity=Severity.CRITICAL),
        Example(policy(_read({"AWS": "*"}, Condition=_ORG)), RESOURCE, severity=Severity.INFO),
    ),
    check=check_public,
)

SERVICE_PRINCIPAL = Detection(
    code="IAMG010",
    requirement="ANA-9",
    title="Service principal without source conditions",
    detects="service principal without aws:SourceAccount / aws:SourceArn (confused deputy)",
    severity=Severity.LOW,
    severity_rule="low",
    scope=PRINCIPALS,
    policy_types=frozenset({TRUST, RESOURCE}),
    after_star_action=True,
    remediation="Add aws:SourceAccount and aws:SourceArn conditions (confused-deputy protection).",
    good=(
        Example(
            policy(
                _read(
                    {"Service": "cloudtrail.amazonaws.com"},
                    Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}},
                )
            ),
            RESOURCE,
        ),
    ),
    bad=(
        Example(policy(_read({"Service": "cloudtrail.amazonaws.com"})), RESOURCE, severity=Severity.LOW),
        Example(policy(_assume({"Service": "lambda.amazonaws.com"})), TRUST, severity=Severity.LOW),
    ),
    check=check_service_principals,
)
