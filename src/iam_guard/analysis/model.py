"""The analyzer's public value types: Severity and Finding (standard library only)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Severity(enum.IntEnum):
    """How bad a finding is; ordered, so `finding.severity >= Severity.HIGH` works."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """ "high" or "HIGH" -> Severity.HIGH; anything else raises ValueError naming the bad value."""
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            choices = "|".join(level.label for level in cls)
            raise ValueError(f"unknown severity {text!r} (expected {choices})") from None

    @property
    def label(self) -> str:
        """The lower-case name used in JSON, SARIF and the CLI ("high")."""
        return self.name.lower()

    def lowered(self, levels: int) -> Severity:
        """This severity lowered by `levels` steps, never below INFO."""
        if levels <= 0:  # most findings: no narrowing condition, and no enum lookup by value
            return self
        return Severity(max(Severity.INFO, int(self) - levels))


@dataclass(frozen=True)
class Finding:
    """One problem in one policy document. `code` is stable (see iam_guard.analysis.codes)."""

    code: str
    severity: Severity
    message: str
    statement_index: int | None
    sid: str | None
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    remediation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; severity as its label."""
        return {
            "code": self.code,
            "severity": self.severity.label,
            "message": self.message,
            "statement_index": self.statement_index,
            "sid": self.sid,
            "actions": list(self.actions),
            "resources": list(self.resources),
            "remediation": self.remediation,
        }

    def sort_key(self) -> tuple[int, int, str]:
        """Severity descending, then statement index (document-level findings last), then code."""
        index = self.statement_index if self.statement_index is not None else 1_000_000
        return (-int(self.severity), index, self.code)
