"""IAMG006 (ANA-6): privilege escalation, within one policy or across the policies of one principal.
Which techniques the grants make possible is worked out in iam_guard.analysis.escalation."""

from __future__ import annotations

from iam_guard.analysis.detections.unit import IDENTITY, POLICY, PRINCIPAL, Detection, Example, allow, policy
from iam_guard.analysis.escalation import Reach, satisfied, technique_severity, used_actions
from iam_guard.analysis.grants import Grant
from iam_guard.analysis.index import action_info
from iam_guard.analysis.model import Finding, Severity


def check(grants: list[Grant], policy_type: str) -> list[Finding]:
    return escalation_findings(satisfied(grants), "in this policy")


def _canonical(action: str) -> str:
    info = action_info(action)
    return info.name if info else action


def escalation_findings(
    found: dict[str, list[Reach]], scope: str, policies: int | None = None
) -> list[Finding]:
    """One finding per severity level, naming the techniques and the actions that enable them. With
    `policies` (analyze_principal) the finding spans that many policies: no single statement."""
    by_severity: dict[Severity, list[str]] = {}
    for name, reaches in found.items():
        by_severity.setdefault(technique_severity(reaches), []).append(name)
    findings = []
    for severity, names in sorted(by_severity.items(), reverse=True):
        reaches = [reach for name in names for reach in found[name]]
        statements = sorted({reach.grant.statement.index for reach in reaches})
        actions = sorted({_canonical(a) for name in names for a in used_actions(name, found[name])})
        resources = sorted({r for reach in reaches for r in reach.grant.resources})
        if policies is None:
            where = f"statements {', '.join(map(str, statements))}"
            single = reaches[0].grant.statement if len(statements) == 1 else None
        else:
            where, single = f"across {policies} policies", None
        findings.append(
            UNIT.finding(
                severity,
                f"privilege escalation {scope}: {', '.join(sorted(names))} ({where})",
                single,
                actions,
                resources,
            )
        )
    return findings


_USER = "arn:aws:iam::123456789012:user/alice"
_PASS_ANY_ROLE = policy(allow("iam:PassRole"))
_CREATE_AND_INVOKE = policy(allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))

UNIT = Detection(
    code="IAMG006",
    requirement="ANA-6",
    title="Privilege escalation",
    detects="privilege escalation (one document, or the documents of one principal combined)",
    severity=Severity.HIGH,
    severity_rule="high on `*`, medium on named resources",
    scope=POLICY,
    policy_types=frozenset({IDENTITY, PRINCIPAL}),
    after_star_action=False,  # an administrator grant (critical IAMG001) already says everything
    remediation="Remove one action of the chain or scope it to named resources with a narrowing condition.",
    good=(
        Example(policy(allow("iam:CreatePolicyVersion", "arn:aws:iam::aws:policy/ReadOnlyAccess"))),
        Example(policy(allow("*"))),
        Example([policy(allow("iam:CreatePolicyVersion")), policy(allow("s3:GetObject"))], PRINCIPAL),
    ),
    bad=(
        Example(policy(allow("iam:CreatePolicyVersion")), severity=Severity.HIGH),
        Example(policy(allow("iam:PutUserPolicy", _USER)), severity=Severity.MEDIUM),
        Example([_PASS_ANY_ROLE, _CREATE_AND_INVOKE], PRINCIPAL, severity=Severity.HIGH),
    ),
    check=check,
)
