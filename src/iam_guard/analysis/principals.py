"""ANA-9: what a Principal element names (every principal, a whole account, a federated provider), for
the trust and resource-policy detections in iam_guard.analysis.detections."""

from __future__ import annotations

import re
from typing import Any

from iam_guard.analysis.conditions import Narrowing
from iam_guard.analysis.grants import without_placeholder_colons

_ACCOUNT_ID = re.compile(r"\d{12}")
_ROOT_ARN = re.compile(r"arn:[^:]+:iam::([^:]+):root")
OWN_ACCOUNT_MARKERS = ("${AWS..AccountId}",)
SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths")


def principal_entries(value: Any) -> list[tuple[str, str]]:
    """[(type, value)] of a Principal element: '*' is ('AWS', '*')."""
    if value == "*":
        return [("AWS", "*")]
    if not isinstance(value, dict):
        return []
    entries = []
    for kind, raw in value.items():
        for item in raw if isinstance(raw, list) else [raw]:
            if isinstance(item, str):
                entries.append((str(kind), item.strip()))
    return entries


def is_public(principal: str) -> bool:
    """'*', or an ARN whose account is a wildcard ('arn:aws:iam::*:root'): anyone with an AWS account."""
    if principal == "*":
        return True
    parts = without_placeholder_colons(principal).split(":")
    return len(parts) >= 5 and "*" in parts[4]


def account_of(principal: str) -> str | None:
    """The account a whole-account principal names ('123456789012' or its :root ARN), else None."""
    text = without_placeholder_colons(principal)
    if _ACCOUNT_ID.fullmatch(text) or text in OWN_ACCOUNT_MARKERS:
        return text
    match = _ROOT_ARN.fullmatch(text)
    return match.group(1) if match else None


def public_levels(narrowed: Narrowing) -> Narrowing:
    """For a principal of '*', a narrowing condition is the only boundary: it counts double."""
    return Narrowing(min(narrowed.levels * 2, 4), narrowed.keys) if narrowed.levels else narrowed
