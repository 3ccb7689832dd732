"""ANA (issue 12): one detection, one unit. Every unit of iam_guard.analysis.detections declares its code,
severity, scope, policy types and examples; these tests run every example, keep the README's code table
equal to the one generated from the registry, and hold the engine to what the units declare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iam_guard.analysis import Severity, analyze_policy, analyze_principal, codes
from iam_guard.analysis.detections import BY_CODE, REGISTRY, STAR_ACTION, markdown_table, units
from iam_guard.analysis.detections.__main__ import generated_section, main
from iam_guard.analysis.detections.suppression import TEMPLATE
from iam_guard.analysis.detections.unit import (
    ENGINE,
    GRANT,
    PRINCIPAL,
    SCANNER,
    Detection,
    Example,
)
from iam_guard.analysis.index import load_index
from iam_guard.scan.model import ScanResult
from iam_guard.scan.scanner import template_findings
from support import corpus_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate it with: .venv/bin/python -m iam_guard.analysis.detections --write"


def findings_of(example: Example) -> list[tuple[str, Severity, str]]:
    """(code, severity, message) of every finding the example raises, from the entry point its type uses."""
    if example.policy_type == TEMPLATE:
        found = template_findings("example.json", example.document, ScanResult())
        return [(f.code, Severity.parse(f.severity), f.message) for f in found]
    if example.policy_type == PRINCIPAL:
        result = analyze_principal(example.document, budget_seconds=example.budget_seconds)
    else:
        result = analyze_policy(example.document, example.policy_type, budget_seconds=example.budget_seconds)
    return [(f.code, f.severity, f.message) for f in result]


def examples(kind: str) -> list[Any]:
    return [
        pytest.param(unit, example, id=f"{unit.code}-{kind}-{number}")
        for unit in REGISTRY
        for number, example in enumerate(unit.bad if kind == "bad" else unit.good)
    ]


@pytest.mark.parametrize(("unit", "example"), examples("bad"))
def test_ana_1_every_bad_example_raises_its_code_once_at_the_declared_severity(
    unit: Detection, example: Example
) -> None:
    found = [(code, severity) for code, severity, _ in findings_of(example) if code == unit.code]
    assert found == [(unit.code, example.severity)]
    assert example.severity is not None and example.severity <= unit.severity


@pytest.mark.parametrize(("unit", "example"), examples("good"))
def test_ana_1_no_good_example_raises_its_code(unit: Detection, example: Example) -> None:
    assert [message for code, _, message in findings_of(example) if code == unit.code] == []


def test_ana_1_every_unit_has_a_good_and_a_bad_example_and_a_unique_code() -> None:
    assert [unit.code for unit in REGISTRY if not unit.good or not unit.bad] == []
    assert len(BY_CODE) == len(REGISTRY) == 20
    assert sorted(BY_CODE) == [f"IAMG{number:03d}" for number in range(1, 21)]
    checked = [unit.code for unit in REGISTRY if unit.scope not in (ENGINE, SCANNER)]
    assert [code for code in checked if BY_CODE[code].check is None] == []


def test_ana_1_codes_facade_keeps_every_public_constant() -> None:
    """scan, report, handlers and tests use codes.CONSTANT and codes.CODES: same values as before."""
    expected = {
        "WILDCARD_ACTION": "IAMG001",
        "STAR_RESOURCE_WRITE": "IAMG002",
        "SERVICE_WILDCARD": "IAMG003",
        "ALLOW_NOT_ACTION": "IAMG004",
        "ALLOW_NOT_RESOURCE": "IAMG005",
        "PRIVILEGE_ESCALATION": "IAMG006",
        "PASSROLE_STAR": "IAMG007",
        "SENSITIVE_DATA_STAR": "IAMG008",
        "TRUST_TOO_OPEN": "IAMG009",
        "SERVICE_PRINCIPAL_UNSCOPED": "IAMG010",
        "UNKNOWN_SERVICE": "IAMG011",
        "UNKNOWN_ACTION": "IAMG012",
        "ALLOW_NOT_PRINCIPAL": "IAMG013",
        "RESOURCE_POLICY_CHANGE_STAR": "IAMG014",
        "CREDENTIALS_EXPOSURE": "IAMG015",
        "MALFORMED": "IAMG016",
        "PUBLIC_RESOURCE_POLICY": "IAMG017",
        "SUPPRESSION_WITHOUT_REASON": "IAMG018",
        "ANALYSIS_TIMEOUT": "IAMG019",
        "ANALYSIS_ERROR": "IAMG020",
    }
    assert {name: getattr(codes, name) for name in expected} == expected
    for code, info in codes.CODES.items():
        unit = BY_CODE[code]
        assert (info.requirement, info.title, info.remediation) == (
            unit.requirement,
            unit.title,
            unit.remediation,
        )


@pytest.mark.parametrize("path", ["README.md", "src/iam_guard/analysis/codes.py"])
def test_ana_1_code_table_is_generated_from_the_registry(path: str) -> None:
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    assert generated_section(text) == markdown_table(), f"{path}: the code table is out of date; {REGENERATE}"


def test_ana_1_table_generator_prints_one_row_per_unit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--markdown"]) == 0
    printed = capsys.readouterr().out
    assert printed == markdown_table()
    for unit in REGISTRY:
        assert f"| {unit.code} | {unit.requirement} | {unit.detects} | {unit.severity_rule} |" in printed


def test_ana_1_grant_units_after_the_star_action_are_exactly_not_action_and_not_resource() -> None:
    """The order-sensitive slice GRANT_CHECKS[3:5] became a declared flag: after '*', only IAMG004/5."""
    grant_units = units(GRANT, "identity")
    assert grant_units[0] is STAR_ACTION
    assert [unit.code for unit in grant_units[1:] if unit.after_star_action] == ["IAMG004", "IAMG005"]
    statement = {"Effect": "Allow", "Action": ["*", "iam:*"], "NotResource": "arn:aws:s3:::audit"}
    found = {f.code for f in analyze_policy({"Version": "2012-10-17", "Statement": [statement]})}
    assert found == {"IAMG001", "IAMG005"}  # no IAMG003 for iam:* beside '*'


def test_h_6_internal_error_is_a_unit_of_its_own_that_never_says_malformed() -> None:
    unit = BY_CODE[codes.ANALYSIS_ERROR]
    assert unit.scope == ENGINE and unit.requirement == "H-6" and unit.severity is Severity.HIGH
    for example in unit.bad:
        found = findings_of(example)
        assert [code for code, _, _ in found] == [codes.ANALYSIS_ERROR]
        assert all("malformed" not in message.lower() for _, _, message in found)
    assert "malformed" not in unit.title.lower() + unit.remediation.lower()


def test_ana_1_unknown_service_message_names_the_index_build_date() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "iamm:*", "Resource": "*"}],
    }
    (finding,) = [f for f in analyze_policy(document) if f.code == codes.UNKNOWN_SERVICE]
    built = load_index().built
    assert built and f"unknown to this index (built {built})" in finding.message
    assert finding.message.startswith("statement 0: iamm:* ") and finding.severity is Severity.MEDIUM


def test_ana_6_principal_finding_message_is_built_not_rewritten() -> None:
    """analyze_principal's IAMG006 names the policies it spans; no statement index, no Sid."""
    passrole = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
    }
    lambdas = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}
        ],
    }
    (finding,) = analyze_principal([passrole, lambdas])
    assert finding.code == "IAMG006" and finding.statement_index is None and finding.sid is None
    assert finding.message.startswith("privilege escalation when this principal's policies are combined: ")
    assert finding.message.endswith(" (across 2 policies)") and "(statements" not in finding.message


def test_ana_1_no_example_finding_exceeds_its_units_declared_severity() -> None:
    """Whatever an example raises (any code), it is at most the severity that code's unit declares."""
    louder = [
        (unit.code, code, severity.label)
        for unit in REGISTRY
        for example in unit.good + unit.bad
        for code, severity, _ in findings_of(example)
        if code in BY_CODE and severity > BY_CODE[code].severity
    ]
    assert louder == []


def test_ana_1_examples_are_json_documents() -> None:
    """Every example but the internal-error stand-ins is plain JSON (a reader can paste it into IAM)."""
    for unit in REGISTRY:
        for example in unit.good + unit.bad:
            if unit.code == codes.ANALYSIS_ERROR or type(example.document).__name__ == "FailingPolicy":
                continue
            if isinstance(example.document, str):
                continue  # text on purpose (a truncated document)
            json.dumps(example.document)


@pytest.mark.parametrize(
    ("folder", "policy_type"), [("aws-managed", "identity"), ("iam-vulnerable", "identity")]
)
def test_ana_1_no_corpus_finding_exceeds_its_units_declared_severity(folder: str, policy_type: str) -> None:
    """The declared severity is a ceiling the engine keeps on real policies, not just on the examples."""
    louder = []
    for path in sorted(corpus_dir(folder).glob("*.json")):
        for finding in analyze_policy(path.read_text(encoding="utf-8"), policy_type):
            if finding.severity > BY_CODE[finding.code].severity:
                louder.append((path.name, finding.code, finding.severity.label))
    assert louder == []
