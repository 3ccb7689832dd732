"""What a scan produces: findings located in files, skipped files with their reason, and counts. Also the
scanner's own finding codes (IAMG9xx), kept apart from the analyzer's IAMG0xx codes."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from iam_guard.analysis.codes import CODES, CodeInfo

NOT_ANALYZED = "IAMG901"
ATTACHED_BY_NAME = "IAMG902"
UNREADABLE_TEMPLATE = "IAMG903"

SCAN_CODES: dict[str, CodeInfo] = {
    NOT_ANALYZED: CodeInfo(
        "CLI-2",
        "Policy not analyzed",
        "The policy is only known at deploy time (a parameter, an import, a macro): analyze the deployed "
        "policy (iam-guard's daily audit does) or write the document in the template.",
    ),
    ATTACHED_BY_NAME: CodeInfo(
        "CLI-2",
        "Policy attached by name",
        "A SAM policy template or a managed policy attached by name is defined outside the template; "
        "review what it grants.",
    ),
    UNREADABLE_TEMPLATE: CodeInfo(
        "CLI-2",
        "Template could not be read",
        "Fix the file so that CloudFormation can parse it; nothing in it was analyzed.",
    ),
}

ALL_CODES: dict[str, CodeInfo] = CODES | SCAN_CODES


@dataclass
class ScanFinding:
    """One finding in one file. `branch` names the Fn::If condition choice it appears under ("IsProd=false")
    when it does not appear under every choice; `anchor` identifies the statement (its Sid, or a digest of
    its content) for fingerprints that survive line moves."""

    file: str
    resource: str | None
    resource_type: str | None
    policy: str
    policy_type: str
    line: int | None
    code: str
    severity: str
    message: str
    statement_index: int | None = None
    sid: str | None = None
    actions: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    remediation: str = ""
    branch: str | None = None
    anchor: str | None = None
    suppressed: bool = False
    suppression_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy was a tenth of a whole scan's time.
        return {**vars(self), "actions": list(self.actions), "resources": list(self.resources)}

    def __reduce__(self) -> tuple[type[ScanFinding], tuple[Any, ...]]:
        """Pickled as its fields in order, as a forked scanner sends its findings: a third of the time of
        pickling the object's attribute dictionary (2,000 findings: 11 -> 3 ms, at the end of a scan)."""
        return ScanFinding, _SCAN_FINDING_FIELDS(self)


_SCAN_FINDING_FIELDS = attrgetter(*(each.name for each in fields(ScanFinding)))


@dataclass(frozen=True)
class SkippedFile:
    """A file the scan did not analyze, and why (not a template, binary, too large...)."""

    file: str
    reason: str


@dataclass
class ScanResult:
    """Everything one scan found. `documents` counts the policies analyzed (a document with Fn::If
    branches counts once); `templates` and `policy_files` the files recognised."""

    findings: list[ScanFinding] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    files: int = 0
    templates: int = 0
    policy_files: int = 0
    documents: int = 0
    analyzed: list[tuple[str, str | None, str]] = field(default_factory=list)

    def add(self, other: ScanResult) -> None:
        """Append what another scan (a later chunk of the same files) found."""
        self.findings += other.findings
        self.skipped += other.skipped
        self.files += other.files
        self.templates += other.templates
        self.policy_files += other.policy_files
        self.documents += other.documents
        self.analyzed += other.analyzed

    @property
    def analyzed_files(self) -> int:
        return self.templates + self.policy_files
