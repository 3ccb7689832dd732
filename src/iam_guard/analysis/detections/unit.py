"""What a detection declares about itself (cfn-lint's rule pattern): one Detection per finding code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from iam_guard.analysis.conditions import Narrowing
from iam_guard.analysis.document import Statement
from iam_guard.analysis.model import Finding, Severity

# What a detection looks at, in the order the engine visits them:
ACTIONS = "actions"  # each statement's action patterns, for every policy type (and effect)
PRINCIPALS = "principals"  # each Allow statement's Principal / NotPrincipal (trust and resource policies)
GRANT = "grant"  # what each Allow statement grants after the denies (identity and resource policies)
POLICY = "policy"  # the grants of a whole policy, or of every policy of one principal
ENGINE = "engine"  # reported by the engine itself: the document could not be (fully) analyzed
SCANNER = "scanner"  # reported by `iam-guard analyze` about a template, not by the analyzer

# The policy types a detection applies to: analyze_policy's three, and analyze_principal's combination.
IDENTITY, RESOURCE, TRUST, PRINCIPAL = "identity", "resource", "trust", "principal"
EVERY_POLICY_TYPE = frozenset({IDENTITY, RESOURCE, TRUST})


@dataclass(frozen=True)
class Example:
    """A document a detection is judged on. A bad example raises the detection's code at `severity`
    (exactly once); a good one does not raise it. `policy_type` "principal" means `document` is the list
    of one principal's policies (analyze_principal)."""

    document: Any
    policy_type: str = IDENTITY
    severity: Severity | None = None
    budget_seconds: float | None = None


@dataclass(frozen=True)
class Detection:
    """One finding code and everything about it. `severity` is the most it reports before a narrowing
    condition lowers it; `severity_rule` says how it varies. `after_star_action`: whether it still runs on
    a statement whose '*' action was already reported (IAMG001 subsumes the narrower checks), or, for a
    policy-wide detection, on a policy that grants administrator access. `check` is None for the codes the
    engine or the scanner report themselves."""

    code: str
    requirement: str
    title: str
    detects: str
    severity: Severity
    severity_rule: str
    scope: str
    policy_types: frozenset[str]
    after_star_action: bool
    remediation: str
    good: tuple[Example, ...]
    bad: tuple[Example, ...]
    check: Callable[..., list[Finding]] | None = None

    def applies_to(self, policy_type: str) -> bool:
        return policy_type in self.policy_types

    def finding(
        self,
        severity: Severity,
        message: str,
        statement: Statement | None,
        actions: Iterable[str] = (),
        resources: Iterable[str] = (),
        narrowed: Narrowing | None = None,
    ) -> Finding:
        """A Finding of this detection, lowered by `narrowed` (ANA-10) and saying so."""
        levels = narrowed.levels if narrowed else 0
        note = narrowed.note() if narrowed else ""
        return Finding(
            code=self.code,
            severity=severity.lowered(levels),
            message=message + note,
            statement_index=statement.index if statement else None,
            sid=statement.sid if statement else None,
            actions=tuple(actions),
            resources=tuple(resources),
            remediation=self.remediation,
        )


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """An example document: the statements under Version 2012-10-17."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    """An example Allow statement."""
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}
