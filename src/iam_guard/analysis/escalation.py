"""ANA-6: which privilege-escalation techniques a set of grants makes possible, and how well (the
IAMG006 detection in iam_guard.analysis.detections.escalation reports them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iam_guard.analysis.conditions import condition_values, narrowing
from iam_guard.analysis.grants import Grant
from iam_guard.analysis.knowledge import ESCALATION_ACTIONS, TECHNIQUES, Technique
from iam_guard.analysis.model import Severity
from iam_guard.analysis.wildcard import matches

PASSED_TO_SERVICE = "iam:PassedToService"


@dataclass(frozen=True)
class Reach:
    """How well one action is granted for a technique: on every resource or not, and the narrowing."""

    grant: Grant
    scoped: bool
    levels: int


# credentials of a user: on another user they are that user's access, on oneself they are self-service
SELF_SERVICE_ACTIONS = frozenset({"iam:createaccesskey", "iam:createloginprofile", "iam:updateloginprofile"})
CALLER_USER = "user/${aws:username}"


def only_the_caller(resources: tuple[str, ...]) -> bool:
    """True when every resource is the calling user itself ('arn:aws:iam::*:user/${aws:username}')."""
    return bool(resources) and all(
        resource.strip().startswith("arn:") and resource.strip().endswith(":" + CALLER_USER)
        for resource in resources
    )


def _passable_to(grant: Grant, service_principal: str | None) -> bool:
    if service_principal is None:
        return True
    values = condition_values(grant.statement.conditions, PASSED_TO_SERVICE)
    if values is None:
        return True
    # StringLike wildcards, matched as IAM does (H-6: no backtracking); service principals are lower-case
    return any(matches(value, service_principal) for value in values)


def _reach(action: str, grants: Iterable[Grant], technique: Technique) -> Reach | None:
    """The strongest grant of `action` usable for the technique, or None when it is not granted."""
    best: Reach | None = None
    service = action.partition(":")[0]
    for grant in grants:
        if action not in grant.actions or not grant.exploitable:
            continue
        if action in SELF_SERVICE_ACTIONS and only_the_caller(grant.resources):
            continue  # managing one's own keys or password gives the caller nothing new
        conditions = grant.statement.conditions
        if action == "iam:passrole":
            if not _passable_to(grant, technique.passes_to):
                continue
            conditions = {
                op: {k: v for k, v in block.items() if k.lower() != PASSED_TO_SERVICE.lower()}
                for op, block in conditions.items()
            }
        scoped = not grant.every_of_type
        levels = narrowing(conditions, frozenset({service})).levels
        candidate = Reach(grant, scoped, levels)
        if best is None or (candidate.scoped, candidate.levels) < (best.scoped, best.levels):
            best = candidate
    return best


def technique_reaches(technique: Technique, grants: list[Grant]) -> list[Reach] | None:
    """One Reach per required group when every group is granted, else None."""
    reaches: list[Reach] = []
    for group in technique.requires:
        options = [reach for action in group if (reach := _reach(action, grants, technique)) is not None]
        if not options:
            return None
        reaches.append(min(options, key=lambda reach: (reach.scoped, reach.levels)))
    return reaches


def technique_severity(reaches: list[Reach]) -> Severity:
    """High when every step works on every resource; one lower when a step is scoped; minus narrowing."""
    scoped = any(reach.scoped for reach in reaches)
    levels = max(reach.levels for reach in reaches)
    return Severity.HIGH.lowered(levels + (1 if scoped else 0))


def satisfied(grants: list[Grant]) -> dict[str, list[Reach]]:
    """technique name -> its reaches, for every technique the grants make possible."""
    found: dict[str, list[Reach]] = {}
    relevant = [grant for grant in grants if not ESCALATION_ACTIONS.isdisjoint(grant.actions)]
    if not relevant:
        return found
    granted = frozenset().union(*(ESCALATION_ACTIONS & grant.actions for grant in relevant))
    # only a technique that needs one of the granted actions can be possible; in TECHNIQUES order
    possible = sorted({position for action in granted for position in TECHNIQUES_NEEDING[action]})
    for technique, groups in (TECHNIQUE_GROUPS[position] for position in possible):
        if any(group.isdisjoint(granted) for group in groups):
            continue
        reaches = technique_reaches(technique, relevant)
        if reaches is not None:
            found[technique.name] = reaches
    return found


def used_actions(name: str, reaches: list[Reach]) -> list[str]:
    """The technique's own actions that the reaching statements grant."""
    technique = TECHNIQUES_BY_NAME[name]
    return [
        action
        for group in technique.requires
        for action in group
        if any(action in reach.grant.actions for reach in reaches)
    ]


TECHNIQUES_BY_NAME = {technique.name: technique for technique in TECHNIQUES}
# each technique with its groups as sets, for a quick "is every step granted at all?" test
TECHNIQUE_GROUPS = tuple(
    (technique, tuple(frozenset(group) for group in technique.requires)) for technique in TECHNIQUES
)


def _techniques_needing() -> dict[str, tuple[int, ...]]:
    needing: dict[str, list[int]] = {}
    for position, technique in enumerate(TECHNIQUES):
        for action in sorted({action for group in technique.requires for action in group}):
            needing.setdefault(action, []).append(position)
    return {action: tuple(positions) for action, positions in needing.items()}


# escalation action -> the positions in TECHNIQUE_GROUPS (and TECHNIQUES) of the techniques that require it
TECHNIQUES_NEEDING = _techniques_needing()
