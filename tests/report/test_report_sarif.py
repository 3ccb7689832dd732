"""CLI-3: `--format sarif` is valid SARIF 2.1.0 (the official schema, tests/fixtures/sarif) and meets what
GitHub code scanning documents: security-severity on every rule, stable partialFingerprints, rule help,
a region on every result, URIs relative to the repository root, suppressions with their reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scan_cli import analyze
from support import FIXTURES

SCHEMA = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
APP = FIXTURES / "policies" / "templates" / "app.yaml"
# GitHub: "over 9.0 is critical, 7.0 to 8.9 is high, 4.0 to 6.9 is medium and 3.9 or less is low"
GITHUB_BANDS = {
    "critical": (9.0, 10.0),
    "high": (7.0, 8.9),
    "medium": (4.0, 6.9),
    "low": (0.1, 3.9),
    "info": (0.1, 3.9),
}
K8S = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n"
ONE_LINE = (
    '{"Resources": {"Admin": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": '
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}}}}'
)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A repository (it has .git) with the app.yaml fixture, a one-line template, a Kubernetes manifest
    and a standalone policy file, in sub-folders."""
    (tmp_path / ".git").mkdir()
    infra = tmp_path / "infra" / "stacks"
    infra.mkdir(parents=True)
    shutil.copy(APP, infra / "app.yaml")
    (infra / "one line.json").write_text(ONE_LINE)
    (tmp_path / "infra" / "manifest.yaml").write_text(K8S)
    shutil.copy(FIXTURES / "policies" / "open-trust.trust.json", tmp_path / "infra" / "trust.json")
    return tmp_path


def sarif_of(*argv: str) -> dict[str, Any]:
    outcome = analyze(*argv, "--format", "sarif")
    assert outcome.code == 1, outcome.stderr
    return outcome.json()


def test_cli_3_sarif_is_valid_against_the_official_schema(repository: Path) -> None:
    sarif = sarif_of(str(repository / "infra"), "--root", str(repository))
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(sarif), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []
    (run,) = sarif["runs"]
    assert len(run["results"]) >= 6 and run["tool"]["driver"]["rules"]
    # the schema also holds for an empty result list and the corpus-style skip notes
    assert run["invocations"][0]["toolExecutionNotifications"][0]["descriptor"]["id"] == "skipped-file"


def test_cli_3_github_expectations_severity_help_and_regions(repository: Path) -> None:
    (run,) = sarif_of(str(repository / "infra"), "--root", str(repository))["runs"]
    rules = run["tool"]["driver"]["rules"]
    for rule in rules:
        code, severity = rule["id"].split("/")
        low, high = GITHUB_BANDS[severity]
        assert low <= float(rule["properties"]["security-severity"]) <= high, rule["id"]
        assert "security" in rule["properties"]["tags"]
        assert rule["fullDescription"]["text"].startswith(rule["shortDescription"]["text"].split(" (")[0])
        assert rule["help"]["text"] and rule["help"]["markdown"].startswith(f"**{code}: ")
        assert rule["helpUri"].startswith("https://")
    rule_ids = [rule["id"] for rule in rules]
    assert len(rule_ids) == len(set(rule_ids))
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["ruleId"].endswith("/" + result["properties"]["severity"])
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    by_place = {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["ruleId"],
        ): r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in run["results"]
    }
    # the statement's own line: WriteAnywhere in app.yaml starts at line 50 (`- Sid: WriteAnywhere`)
    assert by_place[("infra/stacks/app.yaml", "IAMG002/medium")] == 50
    # a one-line template and a standalone policy file still get a region
    assert by_place[("infra/stacks/one%20line.json", "IAMG001/critical")] == 1
    assert by_place[("infra/trust.json", "IAMG009/critical")] >= 1


def test_cli_3_uris_are_relative_to_the_repository_root(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repository / "infra" / "stacks")  # the root is found from the .git folder above
    (run,) = sarif_of("../../infra")["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repository.resolve().as_uri() + "/"
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    locations += [n["locations"][0]["physicalLocation"]["artifactLocation"] for n in notes]
    assert {loc["uriBaseId"] for loc in locations} == {"%SRCROOT%"}
    assert {loc["uri"] for loc in locations} == {
        "infra/stacks/app.yaml",
        "infra/stacks/one%20line.json",
        "infra/trust.json",
        "infra/manifest.yaml",
    }


def fingerprints(run: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        r["partialFingerprints"]["iamGuardFinding/v1"]: (r["ruleId"], r["properties"]["policy"])
        for r in run["results"]
    }


def test_cli_3_fingerprints_are_unique_and_survive_a_line_move(repository: Path) -> None:
    (before,) = sarif_of(str(repository / "infra"), "--root", str(repository))["runs"]
    assert len(fingerprints(before)) == len(before["results"])
    app = repository / "infra" / "stacks" / "app.yaml"
    lines = app.read_text().splitlines()
    # twenty comment lines above everything, and the WorkerRole's two statements swapped
    start = lines.index("              - Sid: ReadObjects")
    end = lines.index("              - Sid: WriteAnywhere")
    block_read, block_write = lines[start:end], lines[end : end + 4]
    moved = ["# moved"] * 20 + lines[:start] + block_write + block_read + lines[end + 4 :]
    app.write_text("\n".join(moved) + "\n")
    (after,) = sarif_of(str(repository / "infra"), "--root", str(repository))["runs"]
    assert fingerprints(after) == fingerprints(before)
    old_lines = {
        r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in before["results"]
    }
    new_lines = {
        r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after["results"]
    }
    assert old_lines != new_lines  # the lines did move


def test_cli_3_suppressed_findings_are_sarif_suppressions_with_their_reason(repository: Path) -> None:
    (run,) = sarif_of(str(repository / "infra" / "stacks" / "app.yaml"), "--root", str(repository))["runs"]
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["IAMG010/low"]
    (suppression,) = suppressed[0]["suppressions"]
    assert suppression["kind"] == "inSource" and suppression["status"] == "accepted"
    assert "Lambda" in suppression["justification"]
    # a suppression without a reason suppresses nothing: the finding stays, with IAMG018 beside it
    unsuppressed = {r["ruleId"] for r in run["results"] if "suppressions" not in r}
    assert {"IAMG009/high", "IAMG018/high"} <= unsuppressed


def test_cli_3_every_code_a_report_can_carry_is_documented() -> None:
    """Rules come from the analyzer's codes and the scanner's IAMG9xx codes; the README explains each."""
    from iam_guard.report.rules import rules
    from support import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    known = rules()
    assert {"IAMG001", "IAMG018", "IAMG901", "IAMG902", "IAMG903"} <= set(known)
    assert [code for code in known if f"| {code} |" not in readme] == []
