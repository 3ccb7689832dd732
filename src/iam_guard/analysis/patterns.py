"""Classify Action elements once (cached): '*', 'service:*', a specific name or pattern, or one that
matches nothing in the catalogue (unknown service / unknown action)."""

from __future__ import annotations

import functools
from typing import NamedTuple

from iam_guard.analysis.index import action_info, expand, is_known_service, load_index

FULL, SERVICE, SPECIFIC, UNKNOWN_SERVICE, UNKNOWN_ACTION = (
    "full",
    "service",
    "specific",
    "service?",
    "action?",
)


_FULL_PATTERNS = frozenset({"*", "*:*"})


def is_full(pattern: str) -> bool:
    """'*' (or '*:*'): every action, known without expanding anything."""
    return pattern.strip() in _FULL_PATTERNS


def has_full(patterns: tuple[str, ...]) -> bool:
    """Some element of an Action list is '*' (or '*:*'): is_full over the list in one C-level pass."""
    return not _FULL_PATTERNS.isdisjoint(map(str.strip, patterns))


@functools.lru_cache(maxsize=16384)
def pattern_kind(pattern: str) -> str:
    """What an Action element is: '*', 'service:*', a specific pattern, or one matching nothing."""
    text = pattern.strip()
    if is_full(text):
        return FULL
    if action_info(text) is not None:
        return SPECIFIC
    prefix, colon, name = text.partition(":")
    wildcard_prefix = "*" in prefix or "?" in prefix
    if not colon or (not wildcard_prefix and not is_known_service(prefix)):
        return UNKNOWN_SERVICE
    if name == "*" and not wildcard_prefix:
        return SERVICE
    return SPECIFIC if expand(text.lower()) else UNKNOWN_ACTION


class ActionList(NamedTuple):
    """One Action / NotAction list, classified and expanded in a single pass."""

    kinds: frozenset[str]
    matched: frozenset[str]  # every action any element matches
    named: frozenset[str]  # the actions matched by elements that are neither '*' nor 'service:*'
    unknown_services: tuple[str, ...]  # the elements (as written, in order) of kind UNKNOWN_SERVICE
    unknown_actions: tuple[str, ...]  # and of kind UNKNOWN_ACTION


@functools.lru_cache(maxsize=16384)
def summarize(patterns: tuple[str, ...]) -> ActionList:
    """Classify and expand an Action list once; plain action names (most of any long list) cost one
    dictionary lookup each, wildcards go through the cached expand()."""
    known = load_index().actions
    literal: set[str] = set()
    kinds: set[str] = set()
    named_parts: list[frozenset[str]] = []
    wide_parts: list[frozenset[str]] = []
    unknown: dict[str, list[str]] = {UNKNOWN_SERVICE: [], UNKNOWN_ACTION: []}
    for pattern in patterns:
        text = pattern.strip().lower()
        if text in known:
            literal.add(text)
            continue
        kind = pattern_kind(pattern)
        kinds.add(kind)
        if kind == SPECIFIC:
            named_parts.append(expand(text))
        elif kind in (FULL, SERVICE):
            wide_parts.append(expand(text))
        else:
            unknown[kind].append(pattern)
    if literal:
        kinds.add(SPECIFIC)
    named = frozenset(literal.union(*named_parts)) if named_parts else frozenset(literal)
    matched = named.union(*wide_parts) if wide_parts else named
    return ActionList(
        frozenset(kinds), matched, named, tuple(unknown[UNKNOWN_SERVICE]), tuple(unknown[UNKNOWN_ACTION])
    )


def pattern_kinds(patterns: tuple[str, ...]) -> frozenset[str]:
    """The kinds of every element of one Action list."""
    return summarize(patterns).kinds


def is_service_wildcard(pattern: str) -> bool:
    return pattern_kind(pattern) == SERVICE


@functools.lru_cache(maxsize=1024)
def complement(patterns: tuple[str, ...]) -> frozenset[str]:
    """Every action NOT matched by the patterns: what an Allow with NotAction grants."""
    return load_index().everything - summarize(patterns).matched
