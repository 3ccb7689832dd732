"""`iam-guard analyze PATH...`: scan IAM policy JSON files and CloudFormation templates (JSON or YAML with
short intrinsic tags), or folders of them, with iam_guard.analysis; print text, JSON or SARIF 2.1.0.

Exit codes: 0 no unsuppressed finding at or above --fail-on; 1 there is one; 2 usage error or an
unreadable / unparseable file (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iam_guard.errors import UsageError

FORMATS = ("text", "json", "sarif")
POLICY_SUFFIXES = (".json", ".yaml", ".yml", ".template")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/iam-guard/iam-guard"

# CloudFormation resource type -> [(property path, policy type)]; "Policies" lists are expanded below
RESOURCE_POLICIES: dict[str, tuple[tuple[str, str], ...]] = {
    "AWS::IAM::Role": (("AssumeRolePolicyDocument", "trust"),),
    "AWS::IAM::Policy": (("PolicyDocument", "identity"),),
    "AWS::IAM::ManagedPolicy": (("PolicyDocument", "identity"),),
    "AWS::S3::BucketPolicy": (("PolicyDocument", "resource"),),
    "AWS::KMS::Key": (("KeyPolicy", "resource"),),
    "AWS::SNS::TopicPolicy": (("PolicyDocument", "resource"),),
    "AWS::SQS::QueuePolicy": (("PolicyDocument", "resource"),),
}
INLINE_POLICY_OWNERS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")


@dataclass(frozen=True)
class PolicySource:
    """One policy found in one file: where it is, what kind, and the document with intrinsics resolved."""

    file: str
    resource: str | None
    resource_type: str | None
    policy: str
    policy_type: str
    document: Any
    suppressions: tuple[dict[str, Any], ...] = ()
    line: int | None = None


@dataclass
class Report:
    """Every result record, plus the sources scanned."""

    records: list[dict[str, Any]] = field(default_factory=list)
    policies: int = 0
    files: int = 0


def register(subparsers: Any) -> None:
    """Add the `analyze` subcommand."""
    parser = subparsers.add_parser(
        "analyze",
        help="analyze IAM policies in policy JSON files and CloudFormation templates",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="policy JSON, template (JSON/YAML) or folder"
    )
    parser.add_argument("--format", default="text", help="text (default), json or sarif")
    parser.add_argument(
        "--fail-on", default="high", help="exit 1 at or above this severity: info|low|medium|high|critical"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyze every path; print the report in the chosen format; return the exit code."""
    from iam_guard.analysis import Severity

    output_format = str(args.format).lower()
    if output_format not in FORMATS:
        raise UsageError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}")
    try:
        threshold = Severity.parse(args.fail_on)
    except ValueError as error:
        raise UsageError(f"--fail-on: {error}") from None
    report = analyze_paths([Path(path) for path in args.paths])
    render = {"text": render_text, "json": render_json, "sarif": render_sarif}[output_format]
    sys.stdout.write(render(report, threshold))
    failing = [
        r for r in report.records if not r["suppressed"] and Severity.parse(r["severity"]) >= threshold
    ]
    return 1 if failing else 0


# ---------------------------------------------------------------- reading files


def expand_paths(paths: list[Path]) -> list[tuple[Path, bool]]:
    """(file, named explicitly) for every path; folders contribute their policy/template files."""
    files: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in POLICY_SUFFIXES)
            files += [(p, False) for p in found]
        elif path.is_file():
            files.append((path, True))
        else:
            raise UsageError(f"{path}: no such file or folder")
    return files


def _cfn_loader() -> type:
    """A yaml SafeLoader that reads CloudFormation's short tags (!Ref, !Sub, !GetAtt...) as Fn:: maps."""
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        pass

    def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if suffix == "Ref" else "Condition" if suffix == "Condition" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    CloudFormationLoader.add_multi_constructor("!", construct)
    return CloudFormationLoader


def load_file(path: Path) -> Any:
    """Parsed JSON or YAML; UsageError naming the file when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read: {error}") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError as error:
            raise UsageError(f"{path}: not valid JSON: {error}") from None
    import yaml

    try:
        return yaml.load(text, Loader=_cfn_loader())
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None


def resolve_intrinsics(value: Any) -> Any:
    """Replace CloudFormation intrinsics with literal text the analyzer can read: Ref/GetAtt/Sub/Join
    become specific placeholders ("${Bucket}"), so they never count as '*' -- except a Sub whose text is
    literally '*'. AWS::NoValue disappears; Fn::If takes its first branch that has a value."""
    if isinstance(value, list):
        items = [resolve_intrinsics(item) for item in value]
        return [item for item in items if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return _NO_VALUE if argument == "AWS::NoValue" else f"${{{argument}}}"
        if key == "Fn::Sub":
            return argument[0] if isinstance(argument, list) and argument else str(argument)
        if key == "Fn::GetAtt":
            parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return "${" + ".".join(str(part) for part in parts) + "}"
        if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            resolved = resolve_intrinsics(parts) if isinstance(parts, list) else [resolve_intrinsics(parts)]
            return str(separator).join(_as_text(part) for part in resolved)
        if key == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            for branch in argument[1:]:
                resolved = resolve_intrinsics(branch)
                if resolved is not _NO_VALUE:
                    return resolved
            return _NO_VALUE
        if key.startswith("Fn::"):
            return f"${{{key}}}"
    resolved_map = {k: resolve_intrinsics(v) for k, v in value.items()}
    return {k: v for k, v in resolved_map.items() if v is not _NO_VALUE}


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else "${...}"


def is_template(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("Resources"), dict)


def is_policy(data: Any) -> bool:
    return isinstance(data, dict) and "Statement" in data


def guess_policy_type(document: dict[str, Any]) -> str:
    """A standalone policy file: trust when statements name principals and sts:Assume* actions,
    resource when they name principals otherwise, identity when none names a principal."""
    statements = document.get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    with_principal = [
        s for s in statements if isinstance(s, dict) and ("Principal" in s or "NotPrincipal" in s)
    ]
    if not with_principal:
        return "identity"
    actions = []
    for statement in with_principal:
        raw = statement.get("Action", [])
        actions += raw if isinstance(raw, list) else [raw]
    trust = all(isinstance(a, str) and a.lower().startswith("sts:") for a in actions) and actions
    return "trust" if trust else "resource"


def _line_of(text_lines: list[str], logical_id: str) -> int | None:
    needles = (f'"{logical_id}":', f"{logical_id}:")
    for number, line in enumerate(text_lines, start=1):
        stripped = line.strip()
        if stripped.startswith(needles):
            return number
    return None


def template_policies(path: Path, template: dict[str, Any]) -> Iterator[PolicySource]:
    """Every policy of a template: role trust and inline policies, user/group inline policies, managed and
    standalone policies, bucket, key, topic and queue policies."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for logical_id, resource in sorted(template["Resources"].items()):
        if not isinstance(resource, dict):
            continue
        kind = str(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        if not isinstance(properties, dict):
            continue
        metadata = resource.get("Metadata") or {}
        guard = metadata.get("iam-guard", {}) if isinstance(metadata, dict) else {}
        suppressions = guard.get("suppressions", []) if isinstance(guard, dict) else []
        common = {
            "file": str(path),
            "resource": str(logical_id),
            "resource_type": kind,
            "suppressions": tuple(s if isinstance(s, dict) else {"code": s} for s in suppressions or []),
            "line": _line_of(lines, str(logical_id)),
        }
        for key, policy_type in RESOURCE_POLICIES.get(kind, ()):
            if key in properties:
                yield PolicySource(
                    policy=key,
                    policy_type=policy_type,
                    document=resolve_intrinsics(properties[key]),
                    **common,
                )
        if kind in INLINE_POLICY_OWNERS:
            for number, inline in enumerate(properties.get("Policies") or []):
                if isinstance(inline, dict):
                    name = inline.get("PolicyName")
                    label = f"Policies[{number}]" + (f" {name}" if isinstance(name, str) else "")
                    yield PolicySource(
                        policy=label,
                        policy_type="identity",
                        document=resolve_intrinsics(inline.get("PolicyDocument")),
                        **common,
                    )


def unwrap_cli_output(data: Any) -> tuple[Any, str | None]:
    """The policy inside AWS CLI output: get-policy-version ({"PolicyVersion": {"Document": ...}}),
    get-role-policy / get-user-policy ({"PolicyDocument": ...}), get-role ({"Role": {...}}: its trust
    policy). Returns (document, policy type) or (data, None) when it is none of these."""
    if not isinstance(data, dict):
        return data, None
    version = data.get("PolicyVersion")
    if isinstance(version, dict) and "Document" in version:
        return version["Document"], "identity"
    if "PolicyDocument" in data and "Statement" not in data:
        return data["PolicyDocument"], "identity"
    role = data.get("Role")
    if isinstance(role, dict) and "AssumeRolePolicyDocument" in role:
        return role["AssumeRolePolicyDocument"], "trust"
    return data, None


def sources_of(path: Path, explicit: bool) -> list[PolicySource]:
    """The policies in one file; a folder's files that are neither policy nor template are skipped."""
    data = load_file(path)
    if is_template(data):
        return list(template_policies(path, data))
    document, policy_type = unwrap_cli_output(data)
    if policy_type is not None:
        return [PolicySource(str(path), None, None, "policy", policy_type, document)]
    if is_policy(data):
        return [PolicySource(str(path), None, None, "policy", guess_policy_type(data), data)]
    if explicit:
        raise UsageError(f"{path}: neither an IAM policy (no Statement) nor a CloudFormation template")
    return []


# ---------------------------------------------------------------- analysis and suppressions


def principal_groups(template: dict[str, Any]) -> dict[str, list[Any]]:
    """Role logical id -> every identity document attached to it in the template (inline policies,
    AWS::IAM::Policy / ManagedPolicy naming it in Roles, ManagedPolicies it names in ManagedPolicyArns),
    for analyze_principal; only roles with more than one document."""
    resources = template["Resources"]
    documents_of: dict[str, Any] = {
        logical_id: resolve_intrinsics((resource.get("Properties") or {}).get("PolicyDocument"))
        for logical_id, resource in resources.items()
        if isinstance(resource, dict)
        and resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
    }
    groups: dict[str, list[Any]] = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::IAM::Role":
            continue
        properties = resource.get("Properties") or {}
        inline = [
            resolve_intrinsics(p.get("PolicyDocument"))
            for p in properties.get("Policies") or []
            if isinstance(p, dict)
        ]
        managed = [
            documents_of[arn["Ref"]]
            for arn in properties.get("ManagedPolicyArns") or []
            if isinstance(arn, dict) and arn.get("Ref") in documents_of
        ]
        groups[logical_id] = inline + managed
    for policy_id, document in documents_of.items():
        properties = resources[policy_id].get("Properties") or {}
        for role in properties.get("Roles") or []:
            if isinstance(role, dict) and role.get("Ref") in groups:
                groups[role["Ref"]].append(document)
    return {role: documents for role, documents in groups.items() if len(documents) > 1}


def _record(source: PolicySource, finding: Any) -> dict[str, Any]:
    record = {"file": source.file, "resource": source.resource, "resource_type": source.resource_type}
    record |= {"policy": source.policy, "policy_type": source.policy_type, "line": source.line}
    record |= finding.to_dict()
    record |= {"suppressed": False, "suppression_reason": None}
    return record


def apply_suppressions(source: PolicySource, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark findings the resource's Metadata explains; a suppression without a reason is an error finding."""
    from iam_guard.analysis import Finding, Severity
    from iam_guard.analysis.codes import CODES, SUPPRESSION_WITHOUT_REASON

    reasons: dict[str, str] = {}
    extra = []
    for suppression in source.suppressions:
        code = str(suppression.get("code", "")).strip()
        reason = suppression.get("reason")
        if isinstance(reason, str) and reason.strip() and code:
            reasons[code] = reason.strip()
            continue
        extra.append(
            Finding(
                code=SUPPRESSION_WITHOUT_REASON,
                severity=Severity.HIGH,
                message=f"suppression of {code or '(no code)'} on {source.resource} has no reason",
                statement_index=None,
                sid=None,
                actions=(),
                resources=(),
                remediation=CODES[SUPPRESSION_WITHOUT_REASON].remediation,
            )
        )
    for record in records:
        if record["code"] in reasons:
            record["suppressed"] = True
            record["suppression_reason"] = reasons[record["code"]]
    return records + [_record(source, item) for item in extra]


def analyze_paths(paths: list[Path]) -> Report:
    """Analyze every policy of every file; suppressions applied; records in file order."""
    from iam_guard.analysis import analyze_policy

    report = Report()
    for path, explicit in expand_paths(paths):
        sources = sources_of(path, explicit)
        report.files += 1
        seen_suppressions: set[str | None] = set()
        for source in sources:
            report.policies += 1
            records = [_record(source, f) for f in analyze_policy(source.document, source.policy_type)]
            if source.resource in seen_suppressions:
                records = [r | _suppressed_by(source, r) for r in records]
            else:
                seen_suppressions.add(source.resource)
                records = apply_suppressions(source, records)
            report.records += records
        report.records += _principal_records(path, sources)
    return report


def _suppressed_by(source: PolicySource, record: dict[str, Any]) -> dict[str, Any]:
    for suppression in source.suppressions:
        reason = suppression.get("reason")
        if suppression.get("code") == record["code"] and isinstance(reason, str) and reason.strip():
            return {"suppressed": True, "suppression_reason": reason.strip()}
    return {}


def _principal_records(path: Path, sources: list[PolicySource]) -> list[dict[str, Any]]:
    """Escalation that only shows when a role's documents in the template are combined."""
    from iam_guard.analysis import analyze_principal

    if not sources or sources[0].resource is None:
        return []
    template = load_file(path)
    by_resource = {s.resource: s for s in sources}
    records = []
    for role, documents in principal_groups(template).items():
        source = by_resource.get(role)
        if source is None:
            continue
        combined = PolicySource(
            source.file,
            role,
            source.resource_type,
            "all identity policies",
            "principal",
            None,
            source.suppressions,
            source.line,
        )
        records += [
            _record(combined, f) | _suppressed_by(combined, _record(combined, f))
            for f in analyze_principal(documents)
        ]
    return records


# ---------------------------------------------------------------- output


def _where(record: dict[str, Any]) -> str:
    parts = [record["file"]]
    if record["line"]:
        parts[0] += f":{record['line']}"
    if record["resource"]:
        parts.append(f"{record['resource']} {record['policy']}")
    if record["statement_index"] is not None:
        parts.append(
            f"statement {record['statement_index']}" + (f" ({record['sid']})" if record["sid"] else "")
        )
    return " ".join(parts)


def render_text(report: Report, threshold: Any) -> str:
    """One line per finding, then a summary line."""
    lines = []
    for record in report.records:
        suppressed = f" [suppressed: {record['suppression_reason']}]" if record["suppressed"] else ""
        lines.append(
            f"{_where(record)}: {record['severity'].upper()} {record['code']} {record['message']}{suppressed}"
        )
    active = [r for r in report.records if not r["suppressed"]]
    lines.append(
        f"{report.files} file(s), {report.policies} polic(ies): {len(active)} finding(s), "
        f"{len(report.records) - len(active)} suppressed; failing at {threshold.label} and above"
    )
    return "\n".join(lines) + "\n"


def render_json(report: Report, threshold: Any) -> str:
    """{"findings": [...], "summary": {...}}; each finding has file, code, severity, message, resource,
    policy, statement_index and the rest of Finding.to_dict()."""
    from iam_guard import __version__

    summary = {
        "files": report.files,
        "policies": report.policies,
        "findings": sum(not r["suppressed"] for r in report.records),
        "suppressed": sum(bool(r["suppressed"]) for r in report.records),
        "fail_on": threshold.label,
    }
    body = {"tool": "iam-guard", "version": __version__, "findings": report.records, "summary": summary}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


SARIF_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _sarif_rules() -> list[dict[str, Any]]:
    from iam_guard.analysis.codes import CODES

    return [
        {
            "id": code,
            "name": info.title.title().replace(" ", "").replace("-", ""),
            "shortDescription": {"text": info.title},
            "help": {"text": info.remediation},
            "properties": {"requirement": info.requirement, "tags": ["security", "iam"]},
        }
        for code, info in sorted(CODES.items())
    ]


def _sarif_result(record: dict[str, Any], rule_index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": Path(record["file"]).as_posix()}}
    }
    if record["line"]:
        location["physicalLocation"]["region"] = {"startLine": record["line"]}
    if record["resource"]:
        location["logicalLocations"] = [
            {
                "name": record["resource"],
                "fullyQualifiedName": f"{record['resource']}/{record['policy']}",
                "kind": "resource",
            }
        ]
    result: dict[str, Any] = {
        "ruleId": record["code"],
        "ruleIndex": rule_index[record["code"]],
        "level": SARIF_LEVELS[record["severity"]],
        "message": {"text": f"{record['message']}. Fix: {record['remediation']}"},
        "locations": [location],
        "properties": {
            "severity": record["severity"],
            "statementIndex": record["statement_index"],
            "policy": record["policy"],
            "policyType": record["policy_type"],
        },
    }
    if record["suppressed"]:
        result["suppressions"] = [{"kind": "inSource", "justification": record["suppression_reason"]}]
    return result


def render_sarif(report: Report, threshold: Any) -> str:
    """SARIF 2.1.0: one run, every code as a rule, one result per finding (suppressed ones carry
    an inSource suppression with the reason)."""
    from iam_guard import __version__

    rules = _sarif_rules()
    rule_index = {rule["id"]: number for number, rule in enumerate(rules)}
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "iam-guard",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": [_sarif_result(record, rule_index) for record in report.records],
            }
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
