"""CLI-2: folder scans behave like checkov and cfn-lint. A file that is not a template or a policy is
skipped with a note in every format; exit 2 only for a named path that cannot be read or a scan with
nothing to analyze; no input produces a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scan_cli import ADMIN, analyze, template, write_json

K8S_MANIFEST = """apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
"""


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """A template with an admin RolePolicy beside a Kubernetes manifest and a JSON list."""
    write_json(
        tmp_path,
        "stack.json",
        template(
            {
                "Admin": {
                    "Type": "AWS::IAM::RolePolicy",
                    "Properties": {"RoleName": "r", "PolicyName": "p", "PolicyDocument": ADMIN},
                }
            }
        ),
    )
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "manifest.yml").write_text(K8S_MANIFEST)
    write_json(tmp_path, "params.json", [{"ParameterKey": "A", "ParameterValue": "b"}])
    return tmp_path


def test_cli_2_folder_scan_skips_non_templates_with_a_note_in_every_format(mixed_folder: Path) -> None:
    text = analyze(str(mixed_folder))
    assert text.code == 1, text.stderr
    assert "Admin PolicyDocument" in text.stdout and "CRITICAL IAMG001" in text.stdout
    assert "manifest.yml: skipped: not valid JSON or YAML: several YAML documents" in text.stdout
    assert "params.json: skipped: not a CloudFormation template or IAM policy (a list" in text.stdout
    assert text.stdout.splitlines()[-1].startswith(
        "3 file(s), 1 polic(ies): 1 finding(s), 0 suppressed, 2 skipped"
    )

    body = analyze(str(mixed_folder), "--format", "json").json()
    assert {Path(s["file"]).name for s in body["skipped"]} == {"manifest.yml", "params.json"}
    assert body["summary"]["skipped"] == 2 and body["summary"]["templates"] == 1

    sarif = analyze(str(mixed_folder), "--format", "sarif").json()
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert sorted(
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].split("/")[-1] for n in notes
    ) == [
        "manifest.yml",
        "params.json",
    ]
    assert all(n["level"] == "note" and "skipped" in n["message"]["text"] for n in notes)


def test_cli_2_exit_2_for_a_named_path_that_cannot_be_read(tmp_path: Path) -> None:
    missing = analyze(str(tmp_path / "nope.yaml"))
    assert missing.code == 2 and missing.stdout == ""
    assert missing.stderr == f"iam-guard analyze: {tmp_path / 'nope.yaml'}: no such file or folder\n"
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    special = analyze(str(fifo))
    assert special.code == 2 and "pipe.json: not a regular file or folder" in special.stderr
    binary = tmp_path / "blob.json"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    named_binary = analyze(str(binary))
    assert named_binary.code == 2 and "blob.json: binary file" in named_binary.stderr
    assert named_binary.stdout == ""


def test_cli_2_a_file_over_5_mb_is_never_read_as_a_template(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as file:
        file.truncate(5 * 1024 * 1024 + 1)  # sparse: one byte over the limit, nothing written
    named = analyze(str(huge))
    assert named.code == 2 and named.stdout == ""
    assert named.stderr == f"iam-guard analyze: {huge}: larger than 5 MB: not a CloudFormation template\n"
    write_json(tmp_path, "admin.json", ADMIN)
    folder = analyze(str(tmp_path))
    assert folder.code == 1, folder.stderr
    assert "huge.json: skipped: larger than 5 MB: not a CloudFormation template" in folder.stdout
    assert folder.stdout.splitlines()[-1].startswith(
        "2 file(s), 1 polic(ies): 1 finding(s), 0 suppressed, 1 skipped"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder: permission denied cannot happen")
def test_cli_2_exit_2_for_a_named_folder_that_cannot_be_read(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        outcome = analyze(str(locked))
    finally:
        locked.chmod(0o700)
    assert outcome.code == 2 and "cannot read folder" in outcome.stderr


def test_cli_2_exit_2_when_a_scan_finds_nothing_to_analyze(tmp_path: Path) -> None:
    empty = analyze(str(tmp_path))
    assert empty.code == 2 and empty.stdout == ""
    assert "nothing to analyze: 0 file(s) read" in empty.stderr
    (tmp_path / "manifest.yml").write_text(K8S_MANIFEST)
    only_k8s = analyze(str(tmp_path), "--format", "sarif")
    assert only_k8s.code == 2 and only_k8s.stdout == ""
    assert "1 file(s) read, none is a CloudFormation template" in only_k8s.stderr
    assert "several YAML documents" in only_k8s.stderr


def test_cli_2_binary_utf16_deep_nesting_and_string_properties_never_abort(tmp_path: Path) -> None:
    stack = template({"Admin": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": ADMIN}}})
    (tmp_path / "utf16.json").write_bytes(json.dumps(stack).encode("utf-16"))  # with a byte-order mark
    (tmp_path / "binary.json").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (tmp_path / "deep.yaml").write_text("- " * 3000 + "x\n")
    deep_template = {"Resources": {"R": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {}}}}}
    node: dict = deep_template["Resources"]["R"]["Properties"]["PolicyDocument"]
    for _ in range(250):
        node["x"] = {}
        node = node["x"]
    write_json(tmp_path, "deep-template.json", deep_template)
    write_json(
        tmp_path,
        "string-properties.json",
        template({"Broken": {"Type": "AWS::IAM::Policy", "Properties": "PolicyDocument: *"}}),
    )
    outcome = analyze(str(tmp_path), "--format", "json")
    assert outcome.code == 1 and "Traceback" not in outcome.stderr + outcome.stdout
    body = outcome.json()
    by_file = {}
    for finding in body["findings"]:
        by_file.setdefault(Path(finding["file"]).name, []).append((finding["code"], finding["severity"]))
    assert ("IAMG001", "critical") in by_file["utf16.json"]
    assert by_file["string-properties.json"] == [("IAMG901", "medium")]
    assert by_file["deep-template.json"] == [("IAMG903", "high")]
    skipped = {Path(s["file"]).name: s["reason"] for s in body["skipped"]}
    assert skipped["binary.json"].startswith("binary file")
    assert skipped["deep.json"] == "not valid JSON or YAML: nested too deeply to parse"
    assert "nested too deeply" in skipped["deep.yaml"]


def test_cli_2_standard_input_and_fail_on_none(tmp_path: Path) -> None:
    stack = json.dumps(
        template({"Admin": {"Type": "AWS::IAM::UserPolicy", "Properties": {"PolicyDocument": ADMIN}}})
    )
    piped = analyze("-", "--format", "json", stdin=stack.encode())
    assert piped.code == 1
    (finding,) = piped.findings()
    assert (finding["file"], finding["resource"], finding["code"]) == ("<stdin>", "Admin", "IAMG001")
    never = analyze("-", "--fail-on", "none", stdin=stack.encode())
    assert never.code == 0 and "CRITICAL IAMG001" in never.stdout
    assert "never failing (--fail-on none)" in never.stdout
    assert analyze("-", stdin=b"").code == 2  # an empty standard input is nothing to analyze


def test_cli_2_help_lists_exit_codes_and_defaults() -> None:
    outcome = analyze("--help")
    assert outcome.code == 0
    for fragment in (
        "exit codes:",
        "0  no unsuppressed finding",
        "1  at least one",
        "2  usage error",
        "(default: text)",
        "(default: high)",
        "none to",
        '"-" for standard input',
    ):
        assert fragment in outcome.stdout, fragment


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_cli_2_random_bytes_never_give_a_traceback(tmp_path: Path, data: bytes) -> None:
    folder = tmp_path / "random"
    folder.mkdir(exist_ok=True)
    (folder / "input.yaml").write_bytes(data)
    write_json(folder, "anchor.json", ADMIN)  # so the folder always has something to analyze
    outcome = analyze(str(folder), "--format", "sarif")
    assert outcome.code in (0, 1), outcome.stderr
    assert outcome.stderr == ""
    json.loads(outcome.stdout)
    named = analyze(str(folder / "input.yaml"))
    assert named.code in (0, 1, 2) and "Traceback" not in named.stderr
    assert named.code != 2 or (named.stdout == "" and named.stderr.count("\n") == 1)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.sampled_from(["*", "Allow", "s3:*", "2012-10-17"]),
)
_intrinsic_keys = st.sampled_from(
    [
        "Ref",
        "Fn::If",
        "Fn::Sub",
        "Fn::Join",
        "Fn::GetAtt",
        "Fn::Select",
        "Fn::ImportValue",
        "Fn::FindInMap",
        "Fn::ToJsonString",
        "Statement",
        "Effect",
        "Action",
        "Resource",
        "Principal",
        "Condition",
        "Policies",
        "PolicyDocument",
        "AssumeRolePolicyDocument",
        "iam-guard",
        "suppressions",
        "code",
        "reason",
    ]
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_intrinsic_keys, children, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    properties=_values,
    metadata=_values,
    kind=st.sampled_from(
        [
            "AWS::IAM::Role",
            "AWS::Serverless::Function",
            "AWS::Lambda::Permission",
            "AWS::S3::BucketPolicy",
            "AWS::Events::EventBusPolicy",
            "AWS::Logs::ResourcePolicy",
        ]
    ),
)
def test_cli_2_random_nesting_and_intrinsics_never_give_a_traceback(
    tmp_path: Path, properties: object, metadata: object, kind: str
) -> None:
    stack = template({"R": {"Type": kind, "Properties": properties, "Metadata": metadata}})
    for name, text in (("t.json", json.dumps(stack)), ("t.yaml", _as_yaml(stack))):
        outcome = analyze("-", "--format", "json", stdin=text.encode())
        assert outcome.code in (0, 1), (name, outcome.stderr)
        assert outcome.json()["summary"]["templates"] == 1


def _as_yaml(value: object) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=False)
