"""Every detection of the analyzer as one unit (cfn-lint's rule pattern): its code, requirement, title,
base severity and how it varies, what it looks at, the policy types it applies to, whether it still runs
after a '*' action, its remediation, and good and bad example documents (tests/analysis run them all).

REGISTRY is the order the engine runs them in; the engine filters it by scope and policy type. The README's
table of finding codes (and codes.py's docstring) is generated from it:

    python -m iam_guard.analysis.detections --markdown     # print the table
    python -m iam_guard.analysis.detections --write        # rewrite README.md and codes.py
"""

from __future__ import annotations

import functools
import sys

from iam_guard.analysis.detections import (
    admission,
    data_access,
    escalation,
    incomplete,
    negations,
    passrole,
    service_wildcard,
    star_resource_writes,
    suppression,
    trust,
    unknown_actions,
    wildcard_action,
)
from iam_guard.analysis.detections.unit import GRANT, POLICY, Detection

REGISTRY: tuple[Detection, ...] = (
    # ACTIONS: every statement's action patterns
    unknown_actions.SERVICES,
    unknown_actions.ACTIONS_UNIT,
    # PRINCIPALS: trust and resource policies
    admission.NOT_PRINCIPAL,
    trust.UNIT,
    admission.PUBLIC_RESOURCE_POLICY,
    admission.SERVICE_PRINCIPAL,
    # GRANT: the '*' action first; after it, only the units with after_star_action run
    wildcard_action.UNIT,
    service_wildcard.UNIT,
    star_resource_writes.WRITES,
    star_resource_writes.RESOURCE_POLICY_CHANGES,
    negations.NOT_ACTION,
    negations.NOT_RESOURCE,
    passrole.UNIT,
    data_access.SENSITIVE_DATA,
    data_access.CREDENTIALS,
    # POLICY: the grants of the whole policy
    escalation.UNIT,
    # ENGINE and SCANNER: reported when a document cannot be analyzed, or about a template
    incomplete.MALFORMED,
    incomplete.TIMEOUT,
    incomplete.INTERNAL_ERROR,
    suppression.UNIT,
)

BY_CODE: dict[str, Detection] = {unit.code: unit for unit in REGISTRY}
STAR_ACTION = wildcard_action.UNIT


@functools.cache
def units(scope: str, policy_type: str) -> tuple[Detection, ...]:
    """The units of one scope that apply to a policy type, in registry order."""
    return tuple(unit for unit in REGISTRY if unit.scope == scope and unit.applies_to(policy_type))


TABLE_HEADER = ("| code | ID | detection | base severity |", "| --- | --- | --- | --- |")
UNITS_HEADER = (
    "| code | unit | highest severity | looks at | policy types | runs after a `*` action "
    "| examples (good / bad) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
)


def _module_of(unit: Detection) -> str:
    """The detection module (imported above) that defines the unit."""
    modules = (module for name, module in sorted(sys.modules.items()) if name.startswith(f"{__name__}."))
    module = next(module for module in modules if any(value is unit for value in vars(module).values()))
    return f"`detections/{module.__name__.rpartition('.')[2]}.py`"


def _after_star(unit: Detection) -> str:
    if unit.scope not in (GRANT, POLICY):
        return "always"
    return "yes" if unit.after_star_action else "no"


def markdown_table() -> str:
    """The table of finding codes, one row per unit by code, then what each unit looks at and when."""
    by_code = sorted(REGISTRY, key=lambda unit: unit.code)
    rows = [f"| {u.code} | {u.requirement} | {u.detects} | {u.severity_rule} |" for u in by_code]
    units_rows = [
        f"| {u.code} | {_module_of(u)} | {u.severity.label} | {u.scope} | "
        f"{', '.join(sorted(u.policy_types))} | {_after_star(u)} | {len(u.good)} / {len(u.bad)} |"
        for u in by_code
    ]
    return "\n".join([*TABLE_HEADER, *rows, "", *UNITS_HEADER, *units_rows]) + "\n"


__all__ = ["BY_CODE", "REGISTRY", "STAR_ACTION", "Detection", "markdown_table", "units"]
