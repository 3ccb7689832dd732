"""The findings the engine reports itself when a document cannot be (fully) analyzed: IAMG016 (the
document is malformed), IAMG019 (the time budget ran out, H-6) and IAMG020 (an internal error of the
analyzer, H-6: never blamed on the policy as "malformed")."""

from __future__ import annotations

from typing import Any

from iam_guard.analysis.detections.unit import (
    ENGINE,
    EVERY_POLICY_TYPE,
    PRINCIPAL,
    Detection,
    Example,
    allow,
    policy,
)
from iam_guard.analysis.model import Finding, Severity

_ANY_TYPE = EVERY_POLICY_TYPE | {PRINCIPAL}
_TRUNCATED_AT = 120


def malformed(message: str, statement_index: int | None = None) -> Finding:
    return Finding(
        code=MALFORMED.code,
        severity=Severity.HIGH,
        message=message,
        statement_index=statement_index,
        sid=None,
        actions=(),
        resources=(),
        remediation=MALFORMED.remediation,
    )


def unfinished(seconds: float, activity: str) -> Finding:
    """The budget ran out while doing `activity`; what could not be analyzed is itself a finding."""
    return TIMEOUT.finding(
        Severity.HIGH,
        f"could not be analyzed within {seconds:g} s: stopped while {activity}; the findings before this one "
        f"are incomplete",
        None,
    )


def internal_error(error: Exception) -> Finding:
    """An analyzer bug must not pass for a clean (or a merely malformed) policy."""
    detail = str(error)
    detail = detail if len(detail) <= _TRUNCATED_AT else detail[:_TRUNCATED_AT] + "... (truncated)"
    return INTERNAL_ERROR.finding(
        Severity.HIGH,
        f"could not be analyzed: internal error {type(error).__name__}" + (f": {detail}" if detail else ""),
        None,
    )


class FailingPolicy(dict[str, Any]):
    """A mapping that passes for a policy and fails when read: stands for any bug inside the analyzer."""

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("an example fault inside the analyzer")


_VALID = policy(allow("s3:GetObject", "arn:aws:s3:::reports/*"))

MALFORMED = Detection(
    code="IAMG016",
    requirement="ANA-1",
    title="Malformed policy",
    detects="malformed policy document or statement",
    severity=Severity.HIGH,
    severity_rule="high",
    scope=ENGINE,
    policy_types=_ANY_TYPE,
    after_star_action=True,
    remediation="Fix the policy document so that IAM accepts it.",
    good=(Example(_VALID), Example(FailingPolicy(_VALID))),  # an internal error is not "malformed"
    bad=(
        Example({"Version": "2012-10-17", "Statement": []}, severity=Severity.HIGH),
        Example('{"Version": "2012-10-17", "Statement": [', severity=Severity.HIGH),
        Example(
            policy({"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"}), severity=Severity.HIGH
        ),
    ),
)

TIMEOUT = Detection(
    code="IAMG019",
    requirement="H-6",
    title="Policy not analyzed within the time budget",
    detects='policy that could not be analyzed within its time budget ("could not be analyzed within N s: '
    '..."; the findings before it are incomplete)',
    severity=Severity.HIGH,
    severity_rule="high",
    scope=ENGINE,
    policy_types=_ANY_TYPE,
    after_star_action=True,
    remediation="Review the policy by hand: no finding can be trusted as complete. Look for wildcards "
    "built to slow analysis.",
    good=(Example(policy(allow("*")), budget_seconds=30),),
    bad=(Example(policy(allow("*")), budget_seconds=0, severity=Severity.HIGH),),
)

INTERNAL_ERROR = Detection(
    code="IAMG020",
    requirement="H-6",
    title="Policy not analyzed: internal error",
    detects="policy that could not be analyzed because of an internal error of the analyzer (never reported "
    "as malformed)",
    severity=Severity.HIGH,
    severity_rule="high",
    scope=ENGINE,
    policy_types=_ANY_TYPE,
    after_star_action=True,
    remediation="Review the policy by hand and report the error to the iam-guard maintainers.",
    good=(Example(_VALID), Example({"Version": "2012-10-17", "Statement": "nonsense"})),
    bad=(
        Example(FailingPolicy(_VALID), severity=Severity.HIGH),
        Example([FailingPolicy(_VALID)], PRINCIPAL, severity=Severity.HIGH),
    ),
)
