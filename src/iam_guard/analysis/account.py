"""Reading IAM's account data shapes (GetAccountAuthorizationDetails) without any AWS call."""

from __future__ import annotations

from typing import Any


def default_version_document(policy: dict[str, Any]) -> Any:
    """The document of a GetAccountAuthorizationDetails policy entry's default version (None if absent)."""
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            return version.get("Document")
    return None
