"""The cross-account audit role's external ID (MON-10): one environment variable for every command that
needs it (deploy, audit-account), and the check of a value against the template's own AuditExternalId
parameter (MinLength, MaxLength, AllowedPattern), made before anything is deployed.

The value is a shared secret: messages give its length and the characters the pattern refuses, never the
value itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from iam_guard.errors import UsageError

EXTERNAL_ID_ENV = "IAM_GUARD_AUDIT_EXTERNAL_ID"
EXTERNAL_ID_FLAG = "--audit-external-id"
EXTERNAL_ID_PARAMETER = "AuditExternalId"


def check_against_parameter(value: str, parameter: Mapping[str, Any], source: str, stack: str) -> None:
    """Raise UsageError (one line naming `source`, the stack and the broken constraint) unless `value`
    satisfies the template parameter's MinLength, MaxLength and AllowedPattern, as CloudFormation would
    check them (the pattern must match the whole value; Java's \\w is ASCII-only, so is ours)."""
    where = (
        f"{source}: the external ID for stack {stack}'s {EXTERNAL_ID_PARAMETER} "
        f"({len(value)} characters, not shown)"
    )
    minimum = parameter.get("MinLength")
    maximum = parameter.get("MaxLength")
    if minimum is not None and len(value) < int(minimum):
        raise UsageError(f"{where} is shorter than the template's MinLength {int(minimum)}")
    if maximum is not None and len(value) > int(maximum):
        raise UsageError(f"{where} is longer than the template's MaxLength {int(maximum)}")
    pattern = parameter.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value, flags=re.ASCII):
        # Only punctuation, spaces and non-ASCII are named: letters and digits would give the secret away.
        refused = sorted(
            {
                char
                for char in value
                if not (char.isascii() and char.isalnum())
                and not re.fullmatch(str(pattern), char, flags=re.ASCII)
            }
        )
        shown = ", ".join(repr(char) for char in refused[:5]) or "its sequence of characters"
        raise UsageError(
            f"{where} does not match the template's AllowedPattern {pattern}: it refuses {shown}"
        )
