"""The policies of one resource, read from its (resolved) Properties through the POLICY_PROPERTIES table.

Every value comes out as a `Found` item: a policy document to analyze, or a policy attached by name
(a SAM policy template, a managed policy) that cannot be analyzed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from iam_guard.scan.intrinsics import Located, line_of
from iam_guard.scan.resource_types import Permission, PolicyProperty

VERSION = "2012-10-17"


@dataclass(frozen=True)
class Found:
    """One policy of a resource under one condition choice: `document` to analyze, or `by_name` (what is
    attached by name). `label` names it within the resource ("Policies[0] ReadData", "KeyPolicy")."""

    label: str
    policy_type: str
    document: Any = None
    by_name: str | None = None
    line: int | None = None


def policies_of(properties: Any, entry: PolicyProperty) -> Iterator[Found]:
    """Every policy one table entry finds in one resolved Properties mapping."""
    if not isinstance(properties, dict):
        return
    if entry.shape == "sam":
        if entry.path in properties:
            yield from _sam_policies(properties[entry.path], entry.policy_type)
    elif entry.shape == "permission" and entry.permission is not None:
        statement = _permission_statement(properties, entry.permission)
        if statement is not None:
            yield Found(
                "Permission", entry.policy_type, _document([statement], statement), line=statement.line
            )
    elif entry.shape == "statement":
        value = properties.get(entry.path)
        if value is not None:
            yield Found(entry.path, entry.policy_type, _document([value], value), line=line_of(value))
    else:
        for label, value in _walk(properties, entry.path.split("."), "", entry.name):
            yield Found(label, entry.policy_type, value, line=line_of(value))


def _walk(value: Any, segments: list[str], label: str, name_key: str | None) -> Iterator[tuple[str, Any]]:
    if not segments:
        yield label, value
        return
    segment, rest = segments[0], segments[1:]
    many = segment.endswith("[*]")
    key = segment[:-3] if many else segment
    if not isinstance(value, dict) or key not in value:
        return
    child = value[key]
    prefix = f"{label}." if label else ""
    if not many:
        yield from _walk(child, rest, prefix + key, name_key)
        return
    if not isinstance(child, list):
        return
    for index, item in enumerate(child):
        name = item.get(name_key) if name_key and isinstance(item, dict) else None
        if name_key and len(rest) == 1:  # Policies[*].PolicyDocument named by PolicyName
            shown = f"{prefix}{key}[{index}]" + (f" {name}" if isinstance(name, str) else "")
            if isinstance(item, dict) and rest[0] in item:
                yield shown, item[rest[0]]
        else:
            yield from _walk(item, rest, f"{prefix}{key}[{index}]", name_key)


def _document(statements: list[Any], located: Any) -> Located:
    return Located({"Version": VERSION, "Statement": statements}, line_of(located))


def _sam_policies(value: Any, policy_type: str) -> Iterator[Found]:
    """AWS::Serverless::* Policies: a managed policy name, an inline document, a statement, a SAM policy
    template ({S3ReadPolicy: {BucketName: ...}}), or a list of these."""
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        label = f"Policies[{index}]" if isinstance(value, list) else "Policies"
        if isinstance(item, str):
            yield Found(label, policy_type, by_name=f"managed policy {item}", line=line_of(value))
        elif isinstance(item, dict) and "Statement" in item:
            yield Found(label, policy_type, item, line=line_of(item))
        elif isinstance(item, dict) and "Effect" in item:
            yield Found(label, policy_type, _document([item], item), line=line_of(item))
        elif isinstance(item, dict) and len(item) == 1:
            (template,) = item
            yield Found(
                f"{label} {template}",
                policy_type,
                by_name=f"SAM policy template {template}",
                line=line_of(item),
            )
        else:
            yield Found(label, policy_type, item, line=line_of(item))


def _principal(value: Any) -> Any:
    """Lambda/EventBridge Principal property as a policy Principal: '*', a service, or an account/ARN."""
    if value == "*" or isinstance(value, dict):
        return value
    text = str(value)
    if text.endswith((".amazonaws.com", ".amazonaws.com.cn", ".amazon.com")):
        return {"Service": text}
    return {"AWS": text}


def _permission_statement(properties: dict[str, Any], spec: Permission) -> Located | None:
    if spec.principal not in properties:
        return None
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": _principal(properties[spec.principal])}
    if spec.sid and isinstance(properties.get(spec.sid), str):
        statement["Sid"] = properties[spec.sid]
    action = properties.get(spec.action) if spec.action else spec.fixed_action
    if action is not None:
        statement["Action"] = action
    statement["Resource"] = properties.get(spec.resource, f"${{{spec.resource}}}")
    conditions: dict[str, dict[str, Any]] = {}
    for operator, key, name in spec.conditions:
        if name in properties:
            conditions.setdefault(operator, {})[key] = properties[name]
    block = properties.get(spec.condition_object) if spec.condition_object else None
    if isinstance(block, dict) and {"Type", "Key", "Value"} <= block.keys():
        conditions.setdefault(str(block["Type"]), {})[str(block["Key"])] = block["Value"]
    if conditions:
        statement["Condition"] = conditions
    return Located(statement, line_of(properties))
