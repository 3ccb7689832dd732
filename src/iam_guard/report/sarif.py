"""SARIF 2.1.0 for GitHub code scanning.

- One rule per (code, severity) that occurs ("IAMG009/high"), so each rule carries the
  `security-severity` GitHub shows (a finding lowered by a condition is a different alert).
- Every result has a region (the statement's line when known, else the policy's or the resource's,
  else line 1) and a `partialFingerprints` value built from what the finding is (file, resource, policy,
  code, statement Sid or content, actions, resources, Fn::If branch), never from its line: moving a
  statement keeps its alert.
- URIs are relative to the repository root (`%SRCROOT%` in `originalUriBaseIds`); files outside it get
  an absolute file URI.
- Suppressed findings carry an inSource suppression with the written reason; skipped files are
  toolExecutionNotifications.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from pathlib import Path
from typing import Any

from iam_guard.report import pretty_json
from iam_guard.report.rules import HELP_URI, INFORMATION_URI, SARIF_LEVELS, SECURITY_SEVERITY, Rule, rules
from iam_guard.scan.model import ScanFinding, ScanResult

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "iamGuardFinding/v1"


def artifact_location(file: str, root: Path) -> dict[str, str]:
    """{"uri", "uriBaseId"} relative to root, or an absolute file URI for a file outside it."""
    if file == "<stdin>":
        return {"uri": "stdin"}
    path = Path(file).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        return {"uri": path.as_uri()}
    return {"uri": urllib.parse.quote(relative.as_posix()), "uriBaseId": SRCROOT}


def fingerprint(finding: ScanFinding, uri: str) -> str:
    parts = [
        uri,
        finding.resource or "",
        finding.policy,
        finding.code,
        finding.anchor or "",
        finding.branch or "",
        ",".join(sorted(finding.actions)),
        ",".join(sorted(finding.resources)),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _rule(rule: Rule, severity: str) -> dict[str, Any]:
    name = "".join(word[:1].upper() + word[1:] for word in rule.title.replace("-", " ").split())
    return {
        "id": f"{rule.code}/{severity}",
        "name": f"{name}{severity.title()}",
        "shortDescription": {"text": f"{rule.title} ({severity})"},
        "fullDescription": {"text": f"{rule.title}: {rule.detection}."},
        "help": {
            "text": f"{rule.remediation} ({rule.code}, requirement {rule.requirement})",
            "markdown": f"**{rule.code}: {rule.title}**\n\nDetects {rule.detection}.\n\n"
            f"**Fix:** {rule.remediation}",
        },
        "helpUri": HELP_URI,
        "defaultConfiguration": {"level": SARIF_LEVELS[severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": "high",
            "tags": ["security", "iam", rule.requirement],
        },
    }


def _region(finding: ScanFinding) -> dict[str, int]:
    return {"startLine": finding.line if finding.line and finding.line > 0 else 1}


def _result(finding: ScanFinding, rule_index: dict[str, int], root: Path) -> dict[str, Any]:
    location_uri = artifact_location(finding.file, root)
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": location_uri, "region": _region(finding)}
    }
    if finding.resource:
        location["logicalLocations"] = [
            {
                "name": finding.resource,
                "fullyQualifiedName": f"{finding.resource}/{finding.policy}",
                "kind": "resource",
            }
        ]
    rule_id = f"{finding.code}/{finding.severity}"
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": rule_index[rule_id],
        "level": SARIF_LEVELS[finding.severity],
        "message": {"text": f"{finding.message}. Fix: {finding.remediation}"},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding, location_uri["uri"])},
        "properties": {
            "severity": finding.severity,
            "statementIndex": finding.statement_index,
            "policy": finding.policy,
            "policyType": finding.policy_type,
            "branch": finding.branch,
        },
    }
    if finding.suppressed:
        result["suppressions"] = [
            {"kind": "inSource", "status": "accepted", "justification": finding.suppression_reason or ""}
        ]
    return result


def _notification(file: str, reason: str, root: Path) -> dict[str, Any]:
    return {
        "level": "note",
        "message": {"text": f"skipped {file}: {reason}"},
        "descriptor": {"id": "skipped-file"},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(file, root)}}],
    }


def render_sarif(result: ScanResult, fail_on: str, root: Path) -> str:
    from iam_guard import __version__

    root = root.resolve()
    known = rules()
    used = sorted({(f.code, f.severity) for f in result.findings})
    sarif_rules = [_rule(known[code], severity) for code, severity in used]
    rule_index = {rule["id"]: number for number, rule in enumerate(sarif_rules)}
    run = {
        "tool": {
            "driver": {
                "name": "iam-guard",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": sarif_rules,
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [_notification(s.file, s.reason, root) for s in result.skipped],
                "properties": {"failOn": fail_on, "files": result.files, "policies": result.documents},
            }
        ],
        "results": [_result(finding, rule_index, root) for finding in result.findings],
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return pretty_json.dumps(document) + "\n"
