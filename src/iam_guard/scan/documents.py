"""Analyze one policy under every Fn::If choice and merge the findings: a finding that appears under
every choice is reported once; one that appears only under some names the condition branch
("IsProd=false"). Unresolvable intrinsics become "not analyzed" (IAMG901), never a typo or a malformed
policy."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from iam_guard.analysis import Finding, Severity, analyze_policy
from iam_guard.analysis.codes import MALFORMED, UNKNOWN_ACTION, UNKNOWN_SERVICE
from iam_guard.scan.intrinsics import Located, is_placeholder
from iam_guard.scan.model import ATTACHED_BY_NAME, NOT_ANALYZED, SCAN_CODES, ScanFinding

_TYPO_CODES = (UNKNOWN_ACTION, UNKNOWN_SERVICE)


@dataclass
class Where:
    """Where a policy is: the fields every finding of it carries."""

    file: str
    resource: str | None
    resource_type: str | None
    policy: str
    policy_type: str
    line: int | None
    limits_only: bool = False


@dataclass
class Variants:
    """One policy's value under each condition choice (choice index -> Found document or name)."""

    where: Where
    documents: dict[int, Any] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:16]


def prepared(document: Any) -> tuple[Any, str | None]:
    """(document to analyze, None) or (None, why it cannot be analyzed). A JSON string is parsed (Logs
    resource policies are strings); a string that is not JSON but holds placeholders is only known at
    deploy time; anything else goes to the analyzer, which reports what IAM would reject."""
    if is_placeholder(document):
        return None, f"the policy is {document}, only known at deploy time"
    if isinstance(document, str):
        try:
            loaded = json.loads(document)
        except (ValueError, RecursionError):
            if "${" in document:
                return None, "the policy is text built at deploy time that is not JSON until then"
            return document, None
        return (Located(loaded, None) if isinstance(loaded, dict) else loaded), None
    return document, None


def _statements(document: Any) -> list[Any]:
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        return [statements]
    return statements if isinstance(statements, list) else []


def _caused_by_placeholder(document: Any, item: Finding) -> bool:
    """A malformed finding whose statement (or document) holds a whole-value placeholder: an intrinsic
    that only deploy time resolves, not an error of the author."""
    if item.code != MALFORMED:
        return False
    statements = _statements(document)
    if item.statement_index is None or item.statement_index >= len(statements):
        scope: Any = document
    else:
        scope = statements[item.statement_index]
    if is_placeholder(scope):
        return True
    if isinstance(scope, dict):
        for value in scope.values():
            if is_placeholder(value) or (isinstance(value, list) and any(map(is_placeholder, value))):
                return True
            if isinstance(value, dict) and any(
                is_placeholder(v) or is_placeholder(k) for k, v in value.items()
            ):
                return True
    return False


def _is_unresolved_typo(item: Finding) -> bool:
    return item.code in _TYPO_CODES and bool(item.actions) and all("${" in a for a in item.actions)


LIMITS_ONLY_NOTE = (
    " (lowered to low at most: this policy only limits what passes through the endpoint, it grants nothing)"
)


def _capped(where: Where, item: Finding) -> tuple[str, str]:
    """Severity label and message; a limits-only policy (a VPC endpoint's) is at most low."""
    if where.limits_only and item.severity > Severity.LOW:
        return Severity.LOW.label, item.message + LIMITS_ONLY_NOTE
    return item.severity.label, item.message


def _scan_finding(where: Where, document: Any, item: Finding) -> ScanFinding:
    statements = _statements(document)
    statement = None
    if item.statement_index is not None and item.statement_index < len(statements):
        statement = statements[item.statement_index]
    line = getattr(statement, "line", None) or getattr(document, "line", None) or where.line
    anchor = item.sid or (digest(statement) if statement is not None else None)
    severity, message = _capped(where, item)
    return ScanFinding(
        file=where.file,
        resource=where.resource,
        resource_type=where.resource_type,
        policy=where.policy,
        policy_type=where.policy_type,
        line=line,
        code=item.code,
        severity=severity,
        message=message,
        statement_index=item.statement_index,
        sid=item.sid,
        actions=list(item.actions),
        resources=list(item.resources),
        remediation=item.remediation,
        anchor=anchor,
    )


def scanner_finding(where: Where, code: str, severity: str, message: str) -> ScanFinding:
    return ScanFinding(
        file=where.file,
        resource=where.resource,
        resource_type=where.resource_type,
        policy=where.policy,
        policy_type=where.policy_type,
        line=where.line,
        code=code,
        severity=severity,
        message=message,
        remediation=SCAN_CODES[code].remediation,
        anchor=digest(message),
    )


def findings_of_document(where: Where, document: Any) -> list[ScanFinding]:
    """Every finding of one resolved document (no Fn::If left in it)."""
    ready, why_not = prepared(document)
    if why_not is not None:
        return [scanner_finding(where, NOT_ANALYZED, "medium", f"{where.policy} not analyzed: {why_not}")]
    found = []
    for item in analyze_policy(ready, where.policy_type):
        if _is_unresolved_typo(item):
            continue
        if _caused_by_placeholder(ready, item):
            message = f"{where.policy} not fully analyzed: {item.message} (a value only known at deploy time)"
            found.append(scanner_finding(where, NOT_ANALYZED, "medium", message))
            continue
        found.append(_scan_finding(where, ready, item))
    return found


def _identity(item: ScanFinding) -> tuple[Any, ...]:
    position = item.line if item.line is not None else item.statement_index
    message = item.message if item.statement_index is None else None
    return (item.code, item.severity, item.sid, tuple(item.actions), tuple(item.resources), position, message)


def branch_label(choices: list[dict[str, bool]], found: set[int], present: set[int]) -> str | None:
    """The condition choice a finding depends on: the conditions constant where it appears but varying
    across `present`. None when it appears under every choice."""
    if found >= present:
        return None
    names = list(choices[min(present)])
    fixed = [
        name
        for name in names
        if len({choices[i][name] for i in found}) == 1 and len({choices[i][name] for i in present}) > 1
    ]
    first = choices[min(found)]
    shown = fixed or [name for name in names if len({choices[i][name] for i in present}) > 1]
    return ", ".join(f"{name}={'true' if first[name] else 'false'}" for name in shown) or None


def findings_of_variants(variants: Variants, choices: list[dict[str, bool]]) -> list[ScanFinding]:
    """Findings of one policy across every condition choice, merged and labelled by branch."""
    where = variants.where
    every_choice = set(range(len(choices)))  # a policy that exists under one branch only names it too
    merged: dict[tuple[Any, ...], tuple[ScanFinding, set[int]]] = {}
    by_content: dict[str, list[ScanFinding]] = {}
    for index, document in sorted(variants.documents.items()):
        key = canonical_json(document)
        if key not in by_content:
            by_content[key] = findings_of_document(where, document)
        for item in by_content[key]:
            merged.setdefault(_identity(item), (item, set()))[1].add(index)
    for index, name in sorted(variants.names.items()):
        message = f"{where.policy}: {name} is attached by name and not analyzed"
        item = scanner_finding(where, ATTACHED_BY_NAME, "info", message)
        merged.setdefault(_identity(item), (item, set()))[1].add(index)
    results = []
    for item, found in merged.values():
        label = branch_label(choices, found, every_choice)
        if label:
            item.branch = label
            item.message += f" (under Fn::If {label})"
        results.append(item)
    return results
