"""CLI-2: every policy-bearing resource type of the one table (iam_guard.scan.resource_types) is read:
for each type, a template with a risky policy in each of its policy properties gives the finding, with
its code, severity and resource. The special shapes (SAM Policies, Lambda/EventBridge permissions, a
JSON-text policy) have tests of their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iam_guard.scan.resource_types import POLICY_PROPERTIES, PolicyProperty
from scan_cli import ADMIN, analyze, template, write_json

PUBLIC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    ],
}
OPEN_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
# the risky document for each policy type, and the finding it must give
RISKY = {
    "identity": (ADMIN, ("IAMG001", "critical")),
    "trust": (OPEN_TRUST, ("IAMG009", "critical")),
    "resource": (PUBLIC, ("IAMG017", "critical")),
}
DOCUMENT_ENTRIES = [
    (kind, entry)
    for kind, entries in sorted(POLICY_PROPERTIES.items())
    for entry in entries
    if entry.shape == "document"
]


def properties_with(entry: PolicyProperty, document: Any) -> tuple[dict[str, Any], str]:
    """Properties that put document at the entry's path, and the label the finding must carry."""
    value: Any = document
    labels = []
    for segment in reversed(entry.path.split(".")):
        if segment.endswith("[*]"):
            key = segment[:-3]
            item = value if isinstance(value, dict) and len(labels) > 0 else {labels.pop(): value}
            if entry.name:
                item[entry.name] = "risky"
            value = {key: [item]}
            labels = [f"{key}[0]", *labels]
        else:
            value = {segment: value}
            labels = [segment, *labels]
    label = ".".join(labels)
    if entry.name:  # Policies[0].PolicyDocument is shown as "Policies[0] risky"
        label = label.rsplit(".", 1)[0] + " risky"
    return value, label


def scan(tmp_path: Path, resources: dict[str, Any]) -> list[dict[str, Any]]:
    path = write_json(tmp_path, "stack.json", template(resources))
    outcome = analyze(str(path), "--format", "json", "--fail-on", "none")
    assert outcome.code == 0, outcome.stderr
    return outcome.findings()


@pytest.mark.parametrize(
    ("kind", "entry"), DOCUMENT_ENTRIES, ids=[f"{k} {e.path}" for k, e in DOCUMENT_ENTRIES]
)
def test_cli_2_every_policy_bearing_type_is_read(tmp_path: Path, kind: str, entry: PolicyProperty) -> None:
    document, (code, severity) = RISKY[entry.policy_type]
    if entry.limits_only:  # a VPC endpoint policy grants nothing: its findings are at most low
        severity = "low"
    properties, label = properties_with(entry, document)
    findings = scan(tmp_path, {"Risky": {"Type": kind, "Properties": properties}})
    found = {(f["code"], f["severity"], f["resource"], f["resource_type"], f["policy"]) for f in findings}
    assert (code, severity, "Risky", kind, label) in found


def test_cli_2_a_policy_as_json_text_is_read(tmp_path: Path) -> None:
    findings = scan(
        tmp_path,
        {
            "Logs": {
                "Type": "AWS::Logs::ResourcePolicy",
                "Properties": {"PolicyName": "p", "PolicyDocument": json.dumps(PUBLIC)},
            },
            "Destination": {
                "Type": "AWS::Logs::Destination",
                "Properties": {"DestinationName": "d", "DestinationPolicy": json.dumps(PUBLIC)},
            },
        },
    )
    assert {(f["code"], f["severity"], f["resource"]) for f in findings} == {
        ("IAMG017", "critical", "Logs"),
        ("IAMG017", "critical", "Destination"),
    }


def test_cli_2_sam_function_policies_statements_documents_templates_and_names(tmp_path: Path) -> None:
    policies = [
        "AWSLambdaBasicExecutionRole",
        {"S3ReadPolicy": {"BucketName": "b"}},
        {"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]},
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
    ]
    findings = scan(
        tmp_path,
        {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "h", "Runtime": "python3.12", "Policies": policies},
            },
            "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Policies": ADMIN}},
        },
    )
    found = {(f["resource"], f["policy"], f["code"], f["severity"]) for f in findings}
    assert ("Fn", "Policies[0]", "IAMG902", "info") in found
    assert ("Fn", "Policies[1] S3ReadPolicy", "IAMG902", "info") in found
    assert ("Fn", "Policies[2]", "IAMG007", "high") in found
    assert ("Fn", "Policies[3]", "IAMG001", "critical") in found
    assert ("Machine", "Policies", "IAMG001", "critical") in found
    names = [f["message"] for f in findings if f["code"] == "IAMG902"]
    assert any("SAM policy template S3ReadPolicy" in m for m in names)
    assert any("managed policy AWSLambdaBasicExecutionRole" in m for m in names)


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*"}, ("IAMG017", "critical")),
        (
            {
                "Action": "lambda:InvokeFunction",
                "FunctionName": "f",
                "Principal": "*",
                "SourceArn": "arn:aws:s3:::bucket",
                "SourceAccount": "123456789012",
            },
            ("IAMG017", "info"),
        ),
        (
            {"Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "s3.amazonaws.com"},
            ("IAMG010", "low"),
        ),
    ],
    ids=["public", "public-with-source", "service-without-source"],
)
def test_cli_2_lambda_permission(
    tmp_path: Path, properties: dict[str, Any], expected: tuple[str, str]
) -> None:
    findings = scan(tmp_path, {"Invoke": {"Type": "AWS::Lambda::Permission", "Properties": properties}})
    assert [(f["code"], f["severity"], f["resource"], f["policy"]) for f in findings] == [
        (*expected, "Invoke", "Permission")
    ]


def test_cli_2_lambda_layer_permission_open_to_everyone(tmp_path: Path) -> None:
    properties = {"Action": "lambda:GetLayerVersion", "LayerVersionArn": "arn", "Principal": "*"}
    findings = scan(
        tmp_path, {"Layer": {"Type": "AWS::Lambda::LayerVersionPermission", "Properties": properties}}
    )
    assert [(f["code"], f["severity"], f["resource"]) for f in findings] == [("IAMG017", "critical", "Layer")]


def test_cli_2_event_bus_policy_statement_and_principal_forms(tmp_path: Path) -> None:
    statement = {
        "Sid": "Everyone",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": "arn:aws:events:us-east-1:111122223333:event-bus/default",
    }
    org_only = {"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc123"}
    findings = scan(
        tmp_path,
        {
            "ByStatement": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {"StatementId": "s", "Statement": statement},
            },
            "ByPrincipal": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {"StatementId": "open", "Action": "events:PutEvents", "Principal": "*"},
            },
            "OrgOnly": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {
                    "StatementId": "org",
                    "Action": "events:PutEvents",
                    "Principal": "*",
                    "Condition": org_only,
                },
            },
        },
    )
    found = {(f["resource"], f["code"], f["severity"]) for f in findings}
    assert found == {
        ("ByStatement", "IAMG017", "critical"),
        ("ByPrincipal", "IAMG017", "critical"),
        ("OrgOnly", "IAMG017", "info"),  # aws:PrincipalOrgID narrows a public statement by 4 levels
    }
    assert {f["sid"] for f in findings if f["resource"] != "ByStatement"} == {"open", "org"}


def test_cli_2_table_names_real_resource_types_and_properties() -> None:
    """Every table entry exists in cfn-lint's CloudFormation resource schemas (SAM's own types aside)."""
    import cfnlint.data.schemas as schemas

    base = Path(schemas.__file__).parent
    provider = json.loads((base / "providers" / "us-east-1.json").read_text())
    missing = []
    for kind, entries in POLICY_PROPERTIES.items():
        if kind.startswith("AWS::Serverless::"):
            continue
        if kind not in provider:
            missing.append(kind)
            continue
        schema = json.loads((base / "resources" / f"{provider[kind]}.json").read_text())
        for entry in entries:
            top = entry.path.split(".")[0].removesuffix("[*]")
            if top not in schema["properties"]:
                missing.append(f"{kind}.{top}")
    assert missing == []


def test_cli_2_readme_lists_every_resource_type_read() -> None:
    from support import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        f"{kind} {entry.path}"
        for kind, entries in POLICY_PROPERTIES.items()
        for entry in entries
        if f"`{kind}` {entry.path}" not in readme
    ]
    assert missing == []
