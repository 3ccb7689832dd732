"""What the grant detections share: catalogue-wide action sets, canonical spelling, narrowing for a set of
actions, and whether a resource policy only hands the resource to this account."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from iam_guard.analysis.conditions import NO_NARROWING, Narrowing, narrowing
from iam_guard.analysis.document import Statement
from iam_guard.analysis.grants import without_placeholder_colons
from iam_guard.analysis.index import PERMISSIONS, WRITE, load_index
from iam_guard.analysis.knowledge import (
    AWS_DEFINED_PERMISSIONS,
    NOT_EXPOSURE,
    RESOURCE_POLICY_NAME,
    is_resource_policy_change,
    read_only_names,
)


def canonical(actions: Iterable[str]) -> list[str]:
    """Catalogue spelling ('iam:PassRole'), sorted."""
    known = load_index().actions
    return sorted(info.name if (info := known.get(action)) else action for action in actions)


def services_of(actions: Iterable[str]) -> frozenset[str]:
    return frozenset(action.partition(":")[0] for action in actions)


def narrowing_for(statement: Statement, actions: Iterable[str]) -> Narrowing:
    """ANA-10 narrowing of a statement for findings about `actions` (their services are only worked out
    when the statement has conditions at all)."""
    if not statement.conditions:
        return NO_NARROWING
    return narrowing(statement.conditions, services_of(actions))


@dataclass(frozen=True)
class ActionSets:
    """Catalogue-wide sets, built once, so the checks use C-level set operations instead of per-action
    lookups: every action at an access level, the ones that support resource-level permissions, and the
    ANA-2 categories for '*' (resource-policy changes, other permissions management, other writes)."""

    by_level: dict[str, frozenset[str]]
    scoped: frozenset[str]
    exposure: frozenset[str]
    permissions: frozenset[str]
    writes: frozenset[str]


@functools.cache
def action_sets() -> ActionSets:
    actions = load_index().actions
    by_level: dict[str, set[str]] = {}
    for action, info in actions.items():
        by_level.setdefault(info.level, set()).add(action)
    scoped = frozenset(action for action, info in actions.items() if info.resource_types)
    changing = by_level.get(PERMISSIONS, set()) | by_level.get(WRITE, set())
    reads = read_only_names(changing)
    candidates = (scoped & changing) - {"iam:passrole"} - reads  # ANA-7 reports iam:PassRole
    # is_resource_policy_change needs RESOURCE_POLICY_NAME in the name: one C-level regex pass over the
    # 9,000 candidates leaves the few hundred worth the full test
    named_like_a_policy_change = filter(RESOURCE_POLICY_NAME.search, candidates)
    exposure = frozenset(
        a for a in named_like_a_policy_change if is_resource_policy_change(a, actions[a].level)
    )
    # ANA-13: permissions-management actions that let nobody in count as writes
    as_writes = AWS_DEFINED_PERMISSIONS | NOT_EXPOSURE
    permissions = (candidates & by_level.get(PERMISSIONS, set())) - exposure - as_writes
    writes = (candidates & by_level.get(WRITE, set())) - exposure
    return ActionSets(
        by_level={level: frozenset(names) for level, names in by_level.items()},
        scoped=scoped,
        exposure=exposure,
        permissions=permissions,
        writes=writes | (candidates & as_writes),
    )


def has_level(actions: frozenset[str], level: str) -> bool:
    return not actions.isdisjoint(action_sets().by_level.get(level, frozenset()))


# This account as CloudFormation writes it: ${AWS::AccountId} alone or in its root ARN (placeholder colons
# already turned into dots by without_placeholder_colons).
_OWN_ACCOUNT = re.compile(r"(arn:[^:]+:iam::)?\$\{AWS\.\.AccountId\}(:root)?")
OWN_ACCOUNT_NOTE = " to this account only, whose own IAM policies decide who may use it"


def delegates_to_own_account(statement: Statement) -> bool:
    """ANA-13: a resource-policy statement whose only principal is this account, as in AWS's default key
    policy (the account root with kms:*). It exposes nothing: it hands the resource to the account's IAM
    policies, which are analyzed where they are. A literal account ID may be another account: not this."""
    principal = statement.principal
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    values = principal["AWS"] if isinstance(principal["AWS"], list) else [principal["AWS"]]
    return bool(values) and all(
        isinstance(value, str) and _OWN_ACCOUNT.fullmatch(without_placeholder_colons(value.strip()))
        for value in values
    )


def short_list(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
