"""Classify Action elements once (cached): '*', 'service:*', a specific name or pattern, or one that
matches nothing in the catalogue (unknown service / unknown action)."""

from __future__ import annotations

import functools

from iam_guard.analysis.index import action_info, expand, expand_all, is_known_service

FULL, SERVICE, SPECIFIC, UNKNOWN_SERVICE, UNKNOWN_ACTION = (
    "full",
    "service",
    "specific",
    "service?",
    "action?",
)


@functools.lru_cache(maxsize=16384)
def pattern_kind(pattern: str) -> str:
    """What an Action element is: '*', 'service:*', a specific pattern, or one matching nothing."""
    text = pattern.strip()
    if text in ("*", "*:*"):
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


@functools.lru_cache(maxsize=16384)
def pattern_kinds(patterns: tuple[str, ...]) -> frozenset[str]:
    """The kinds of every element of one Action list."""
    return frozenset(pattern_kind(p) for p in patterns)


def is_full_wildcard(pattern: str) -> bool:
    return pattern_kind(pattern) == FULL


def is_service_wildcard(pattern: str) -> bool:
    return pattern_kind(pattern) == SERVICE


@functools.lru_cache(maxsize=16384)
def named_pattern_actions(patterns: tuple[str, ...]) -> frozenset[str]:
    """Every action matched by the elements that are neither '*' nor 'service:*'."""
    chosen = tuple(p for p in patterns if pattern_kind(p) == SPECIFIC)
    return expand_all(chosen) if chosen else frozenset()
