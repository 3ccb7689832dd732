"""Scanning files for IAM policies, reusable without the CLI.

    from iam_guard.scan import scan_paths
    result = scan_paths(["templates/", "policy.json", "-"])   # ScanResult

Reads CloudFormation templates (JSON, or YAML with the short intrinsic tags) as CloudFormation does,
finds every policy of every policy-bearing resource type (iam_guard.scan.resource_types), analyzes both
branches of every Fn::If, applies Metadata suppressions, and skips files that are neither templates nor
policies with a reason. Rendering lives in iam_guard.report.
"""

from __future__ import annotations

from iam_guard.scan.model import ALL_CODES, SCAN_CODES, ScanFinding, ScanResult, SkippedFile
from iam_guard.scan.resource_types import POLICY_BEARING_TYPES, POLICY_PROPERTIES
from iam_guard.scan.scanner import scan_paths

__all__ = [
    "ALL_CODES",
    "POLICY_BEARING_TYPES",
    "POLICY_PROPERTIES",
    "SCAN_CODES",
    "ScanFinding",
    "ScanResult",
    "SkippedFile",
    "scan_paths",
]
