"""CLI-2 on real repositories (../shared/corpus/real-templates: aws-cloudformation-templates and the AWS
Security Reference Architecture): the whole folder scan completes with exit 0 or 1, no traceback, no
"malformed" on a document IAM accepts (these templates are deployed as published), and at least 95% of
the policy documents the templates carry are analyzed, counted here independently of the scanner's
table: every value under a resource's Properties that is a policy document (a mapping with Statement,
or JSON text holding one), read with cfn-lint's decoder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from iam_guard.scan import scan_paths
from scan_cli import analyze
from support import corpus_dir

pytestmark = pytest.mark.corpus

# Types whose "Statement" is not an IAM policy (IoT, SCP and OpenSearch Serverless grammars, WAF rule
# statements, function code that mentions "Statement"): not counted.
NOT_IAM = (
    "AWS::IoT::Policy",
    "AWS::Organizations::Policy",
    "AWS::OpenSearchServerless::AccessPolicy",
    "AWS::WAFv2::WebACL",
    "AWS::Lambda::Function",
)


def _policy_paths(value: Any, path: str) -> list[str]:
    """Paths of policy documents inside value; Fn::If branches of one place count once."""
    if isinstance(value, dict):
        if "Statement" in value:
            return [path]
        if len(value) == 1 and "Fn::If" in value and isinstance(value["Fn::If"], list):
            branches = [_policy_paths(b, path) for b in value["Fn::If"][1:]]
            return max(branches, key=len, default=[])
        if len(value) == 1 and "Fn::Sub" in value:
            text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
            return [path] if isinstance(text, str) and '"Statement"' in text else []
        return [p for key, child in value.items() for p in _policy_paths(child, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for index, child in enumerate(value) for p in _policy_paths(child, f"{path}[{index}]")]
    if isinstance(value, str) and '"Statement"' in value:
        return [path]
    return []


def independent_count(folder: Path) -> Counter[tuple[str, str]]:
    """(file, logical id) -> policy documents, for every template cfn-lint's decoder reads."""
    from cfnlint.decode import decode

    counts: Counter[tuple[str, str]] = Counter()
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in (".json", ".yaml", ".yml", ".template") or not path.is_file():
            continue
        data, problems = decode(str(path))
        if problems or not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
            continue
        for logical_id, resource in data["Resources"].items():
            if not isinstance(resource, dict) or resource.get("Type") in NOT_IAM:
                continue
            found = _policy_paths(resource.get("Properties"), "Properties")
            if found:
                counts[(str(path), str(logical_id))] += len(found)
    return counts


def test_cli_2_real_templates_scan_completes_without_traceback_or_false_malformed() -> None:
    folder = corpus_dir("real-templates")
    outcome = analyze(str(folder), "--format", "json")
    assert outcome.code in (0, 1) and outcome.stderr == ""
    body = outcome.json()
    assert body["summary"]["templates"] >= 400
    malformed = [f for f in body["findings"] if f["code"] in ("IAMG016", "IAMG903")]
    assert [f"{f['file']} {f['resource']} {f['message']}" for f in malformed] == []
    # every skipped file is there for a reason that is not "could not be scanned"
    assert all("could not be scanned" not in s["reason"] for s in body["skipped"])
    json.dumps(analyze(str(folder), "--format", "sarif").json())  # SARIF renders too


def test_cli_2_real_templates_at_least_95_percent_of_policy_documents_analyzed() -> None:
    folder = corpus_dir("real-templates")
    expected = independent_count(folder)
    result = scan_paths([str(folder)])
    analyzed = Counter((file, resource) for file, resource, _ in result.analyzed if resource is not None)
    covered = sum(min(count, analyzed[key]) for key, count in expected.items())
    total = sum(expected.values())
    missed = sorted(
        f"{Path(f).name} {r}: {expected[(f, r)] - analyzed[(f, r)]}"
        for f, r in expected
        if analyzed[(f, r)] < expected[(f, r)]
    )
    assert total >= 800
    assert covered / total >= 0.95, missed[:20]
