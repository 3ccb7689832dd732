"""scan_paths: every file found, read and parsed; every policy in it analyzed; one ScanResult.

No file can stop a scan: a file that is not a template or a policy is skipped with its reason; a file
that looks like a template but cannot be read, or that breaks the scanner, is a high IAMG903 finding.
A path the user named that cannot be read raises UsageError (exit 2 in the CLI).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iam_guard.analysis import analyze_principal
from iam_guard.errors import UsageError
from iam_guard.scan import parallel
from iam_guard.scan.documents import (
    Variants,
    Where,
    findings_of_document,
    findings_of_variants,
    scanner_finding,
)
from iam_guard.scan.extract import policies_of
from iam_guard.scan.intrinsics import NestingTooDeep, assignments, conditions_used, line_of, resolve
from iam_guard.scan.model import NOT_ANALYZED, UNREADABLE_TEMPLATE, ScanFinding, ScanResult, SkippedFile
from iam_guard.scan.resource_types import POLICY_PROPERTIES
from iam_guard.scan.sources import (
    Candidate,
    Unreadable,
    decode_text,
    discover,
    guess_policy_type,
    is_policy,
    is_template,
    not_a_template_reason,
    parse,
    read_bytes,
    unwrap_cli_output,
)
from iam_guard.scan.suppressions import Suppressions

_ROLE = "AWS::IAM::Role"
_ATTACHABLE = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")


def scan_paths(paths: list[str], jobs: int = 1) -> ScanResult:
    """Scan files and folders ("-" is standard input). `jobs`: processes to scan a large set of files with
    (0: one per usable core; see iam_guard.scan.parallel); the result is the same whatever the number."""
    candidates, unreadable_folders = discover(paths)
    result = ScanResult(skipped=[SkippedFile(folder, reason) for folder, reason in unreadable_folders])
    workers = parallel.worker_count(jobs, candidates)
    if workers == 1:
        for candidate in candidates:
            result.files += 1
            scan_file(candidate, result)
        return result
    for part in parallel.scan_in_processes(candidates, workers, scan_chunk):
        result.add(part)
    return result


def scan_chunk(candidates: Sequence[Candidate]) -> ScanResult:
    """One worker's share of a parallel scan."""
    result = ScanResult()
    for candidate in candidates:
        result.files += 1
        scan_file(candidate, result)
    return result


def scan_file(candidate: Candidate, result: ScanResult) -> None:
    """Add one file's findings (or its skip note) to result."""
    shown = candidate.shown
    try:
        data = parse(decode_text(read_bytes(candidate)))
        findings = _findings_of_data(shown, data, result)
    except Unreadable as problem:
        if candidate.explicit:
            raise UsageError(f"{shown}: {problem.reason}") from None
        if problem.looks_like_template:
            result.findings.append(_unreadable(shown, f"template could not be read: {problem.reason}"))
        else:
            result.skipped.append(SkippedFile(shown, problem.reason))
        return
    except (NestingTooDeep, RecursionError):
        result.findings.append(_unreadable(shown, "nested too deeply to analyze"))
        return
    except Exception as error:  # the contract: one file never aborts a scan, and never passes silently
        result.findings.append(_unreadable(shown, f"could not be scanned: {type(error).__name__}: {error}"))
        return
    if findings is None:
        reason = not_a_template_reason(data)
        result.skipped.append(SkippedFile(shown, reason))
        return
    result.findings += findings


def _unreadable(file: str, message: str) -> ScanFinding:
    where = Where(file, None, None, "file", "file", 1)
    return scanner_finding(where, UNREADABLE_TEMPLATE, "high", message[:500])


def _findings_of_data(file: str, data: Any, result: ScanResult) -> list[ScanFinding] | None:
    """Findings of a parsed file, or None when it is neither a template nor a policy."""
    if is_template(data):
        findings = template_findings(file, data, result)
        result.templates += 1
        return findings
    document, policy_type = unwrap_cli_output(data)
    if policy_type is None and is_policy(data):
        document, policy_type = data, guess_policy_type(data)
    if policy_type is None:
        return None
    result.policy_files += 1
    result.documents += 1
    result.analyzed.append((file, None, "policy"))
    where = Where(file, None, None, "policy", policy_type, line_of(document) or 1)
    return findings_of_document(where, resolve(document, {}))


def template_findings(file: str, template: dict[str, Any], result: ScanResult) -> list[ScanFinding]:
    """Every policy of every policy-bearing resource (POLICY_PROPERTIES), under every Fn::If choice,
    suppressions applied; then each role's identity policies combined (analyze_principal)."""
    findings: list[ScanFinding] = []
    defaults: dict[str, tuple[str, Any, list[Any]]] = {}
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict):
            continue
        kind = str(resource.get("Type", ""))
        entries = POLICY_PROPERTIES.get(kind)
        if not entries or resource.get("Properties") is None:
            continue
        name = str(logical_id)
        line = line_of(resource)
        suppressions = Suppressions.of(resource)
        properties = resource["Properties"]
        if not isinstance(properties, dict):
            where = Where(file, name, kind, "Properties", "resource", line)
            found = [
                scanner_finding(where, NOT_ANALYZED, "medium", "Properties is not a mapping: not analyzed")
            ]
        else:
            found, identity_documents = _resource_findings(file, name, kind, line, properties, result)
            defaults[name] = (kind, resolve(properties, {}), identity_documents)
        suppressions.apply(found)
        findings += found + suppressions.problems(file, name, kind, line)
    findings += _principal_findings(file, template, defaults)
    return findings


def _resource_findings(
    file: str, name: str, kind: str, line: int | None, properties: dict[str, Any], result: ScanResult
) -> tuple[list[ScanFinding], list[Any]]:
    """Findings of one resource's policies, and its identity documents under the default choice."""
    choices = assignments(conditions_used(properties))
    policies: dict[str, Variants] = {}
    for index, choice in enumerate(choices):
        resolved = resolve(properties, choice)
        for entry in POLICY_PROPERTIES[kind]:
            for found in policies_of(resolved, entry):
                where = Where(
                    file, name, kind, found.label, found.policy_type, found.line or line, entry.limits_only
                )
                variants = policies.setdefault(found.label, Variants(where))
                if found.by_name is not None:
                    variants.names[index] = found.by_name
                else:
                    variants.documents[index] = found.document
    findings: list[ScanFinding] = []
    identity_documents = []
    for label, variants in policies.items():
        if variants.documents:
            result.documents += 1
            result.analyzed.append((file, name, label))
        findings += findings_of_variants(variants, choices)
        if variants.where.policy_type == "identity" and 0 in variants.documents:
            identity_documents.append(variants.documents[0])
    return findings, identity_documents


def _principal_findings(
    file: str, template: dict[str, Any], defaults: dict[str, tuple[str, Any, list[Any]]]
) -> list[ScanFinding]:
    """Escalation that only shows when a role's identity documents in the template are combined: its
    inline policies, AWS::IAM::Policy / ManagedPolicy naming it in Roles, RolePolicy naming it in RoleName,
    and managed policies of the template it lists in ManagedPolicyArns."""
    groups = {name: list(docs) for name, (kind, _, docs) in defaults.items() if kind == _ROLE}
    for kind, properties, docs in defaults.values():
        if kind not in _ATTACHABLE or not isinstance(properties, dict):
            continue
        roles = properties.get("Roles") if kind != "AWS::IAM::RolePolicy" else [properties.get("RoleName")]
        for role in roles if isinstance(roles, list) else []:
            target = _reference(role)
            if target in groups:
                groups[target] += docs
    for name in list(groups):
        properties = defaults[name][1]
        arns = properties.get("ManagedPolicyArns") if isinstance(properties, dict) else None
        for arn in arns if isinstance(arns, list) else []:
            target = _reference(arn)
            if target in defaults and defaults[target][0] == "AWS::IAM::ManagedPolicy":
                groups[name] += defaults[target][2]
    findings = []
    for name, documents in groups.items():
        if len(documents) < 2:
            continue
        resource = template["Resources"][name]
        where = Where(file, name, _ROLE, "all identity policies", "principal", line_of(resource))
        combined = [
            ScanFinding(
                file=file,
                resource=name,
                resource_type=_ROLE,
                policy=where.policy,
                policy_type="principal",
                line=where.line,
                code=item.code,
                severity=item.severity.label,
                message=item.message,
                actions=list(item.actions),
                resources=list(item.resources),
                remediation=item.remediation,
                anchor="principal",
            )
            for item in analyze_principal(documents)
        ]
        Suppressions.of(resource).apply(combined)
        findings += combined
    return findings


def _reference(value: Any) -> str | None:
    """The logical id a resolved Ref names ("${BuilderRole}" -> "BuilderRole")."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}") and "." not in value:
        return value[2:-1]
    return None
