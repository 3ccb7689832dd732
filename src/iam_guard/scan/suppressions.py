"""Suppressions written in a resource's Metadata:
`{"iam-guard": {"suppressions": [{"code": "IAMG010", "reason": "..."}]}}`. A suppressed finding is still
reported, with its reason; a suppression without a reason suppresses nothing and is itself a high finding
(IAMG018)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iam_guard.analysis.codes import CODES, SUPPRESSION_WITHOUT_REASON
from iam_guard.scan.model import ScanFinding


@dataclass(frozen=True)
class Suppressions:
    """The reasons of one resource, by code, and the codes suppressed without a reason."""

    reasons: dict[str, str]
    without_reason: tuple[str, ...]

    @classmethod
    def of(cls, resource: Any) -> Suppressions:
        metadata = resource.get("Metadata") if isinstance(resource, dict) else None
        guard = metadata.get("iam-guard") if isinstance(metadata, dict) else None
        entries = guard.get("suppressions") if isinstance(guard, dict) else None
        reasons: dict[str, str] = {}
        missing: list[str] = []
        for entry in entries if isinstance(entries, list) else []:
            item = entry if isinstance(entry, dict) else {"code": entry}
            code = str(item.get("code", "")).strip()
            reason = item.get("reason")
            if code and isinstance(reason, str) and reason.strip():
                reasons[code] = reason.strip()
            else:
                missing.append(code or "(no code)")
        return cls(reasons, tuple(missing))

    def apply(self, findings: Iterable[ScanFinding]) -> None:
        for item in findings:
            if item.code in self.reasons:
                item.suppressed = True
                item.suppression_reason = self.reasons[item.code]

    def problems(self, file: str, resource: str, resource_type: str, line: int | None) -> list[ScanFinding]:
        """One high finding per suppression that has no reason."""
        return [
            ScanFinding(
                file=file,
                resource=resource,
                resource_type=resource_type,
                policy="Metadata",
                policy_type="suppression",
                line=line,
                code=SUPPRESSION_WITHOUT_REASON,
                severity="high",
                message=f"suppression of {code} on {resource} has no reason",
                remediation=CODES[SUPPRESSION_WITHOUT_REASON].remediation,
                anchor=f"suppression {code}",
            )
            for code in self.without_reason
        ]
