"""Every generated template, for every example config: cfn-lint clean (errors and warnings), checkov clean
with written reasons for every suppression, compliance tags everywhere, deterministic, golden."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from support import REPO_ROOT
from template_helpers import CONFIGS, body, config, stack_names, stack_region, template

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("IAM_GUARD_UPDATE_GOLDEN") == "1"
COMPLIANCE_TAGS = ("DataClassification", "Environment", "Owner")

ALL_STACKS = [(cfg, stack) for cfg in CONFIGS for stack in stack_names(cfg)]
STACK_IDS = [f"{cfg}-{stack}" for cfg, stack in ALL_STACKS]


@pytest.mark.parametrize(("cfg", "stack"), ALL_STACKS, ids=STACK_IDS)
def test_ci_1_cfn_lint_reports_nothing(cfg: str, stack: str) -> None:
    """No error, no warning, no informational match: cfn-lint's full rule set, in the stack's region."""
    matches = lint(
        body(cfg, stack),
        regions=[stack_region(cfg, stack)],
        config=ManualArgs(regions=[stack_region(cfg, stack)], include_checks=["I"]),
    )
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("checkov")
    for cfg, stack in ALL_STACKS:
        (folder / f"{cfg}-{stack}.json").write_text(body(cfg, stack))
    checkov = Path(sys.executable).parent / "checkov"
    result = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(folder),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    data = json.loads(result.stdout) if result.stdout.strip() else {}
    reports = data if isinstance(data, list) else [data]
    return {
        "failed": [c for r in reports for c in r.get("results", {}).get("failed_checks", [])],
        "skipped": [c for r in reports for c in r.get("results", {}).get("skipped_checks", [])],
        "passed": [c for r in reports for c in r.get("results", {}).get("passed_checks", [])],
        "returncode": result.returncode,
        "stderr": result.stderr,
    }


def test_ci_1_checkov_reports_no_failed_check(checkov_results: dict[str, Any]) -> None:
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in checkov_results["failed"]]
    assert failed == []
    assert checkov_results["passed"], f"checkov scanned nothing: {checkov_results['stderr'][-500:]}"


def test_ci_1_every_checkov_suppression_has_a_written_reason() -> None:
    for cfg, stack in ALL_STACKS:
        for logical_id, res in template(cfg, stack)["Resources"].items():
            for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["id"].startswith("CKV"), (stack, logical_id)
                assert len(skip.get("comment", "").split()) >= 8, f"{stack}/{logical_id}: {skip}"


def test_ci_1_no_cfn_lint_suppressions() -> None:
    for cfg, stack in ALL_STACKS:
        tpl = template(cfg, stack)
        assert "cfn-lint" not in tpl.get("Metadata", {})
        for res in tpl["Resources"].values():
            assert "cfn-lint" not in res.get("Metadata", {})


def taggable(type_name: str) -> bool:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_name).schema
    return "Tags" in schema.get("properties", {})


@pytest.mark.parametrize(("cfg", "stack"), ALL_STACKS, ids=STACK_IDS)
def test_mon_9_every_taggable_resource_carries_compliance_tags(cfg: str, stack: str) -> None:
    expected = config(cfg).tags
    checked = 0
    for logical_id, res in template(cfg, stack)["Resources"].items():
        if not taggable(res["Type"]):
            continue
        tags = res["Properties"].get("Tags")
        assert tags is not None, f"{logical_id} ({res['Type']}) has no Tags"
        found = dict(tags) if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}
        assert {k: found.get(k) for k in COMPLIANCE_TAGS} == expected, logical_id
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("cfg", CONFIGS)
def test_edge_3_export_names_unique(cfg: str) -> None:
    names = [
        output["Export"]["Name"]
        for stack in stack_names(cfg)
        for output in template(cfg, stack).get("Outputs", {}).values()
    ]
    assert names and len(names) == len(set(names))
    assert all(config(cfg).environment in name for name in names)


def test_edge_3_exports_differ_between_environments() -> None:
    def exports(cfg: str) -> set[str]:
        return {
            o["Export"]["Name"]
            for s in stack_names(cfg)
            for o in template(cfg, s).get("Outputs", {}).values()
        }

    assert not exports("dev") & exports("prod")


NAME_PROPERTIES = (
    "BucketName",
    "RoleName",
    "LogGroupName",
    "FunctionName",
    "TopicName",
    "QueueName",
    "Name",
    "AlarmName",
    "TrailName",
    "ManagedPolicyName",
    "AliasName",
)


@pytest.mark.parametrize(("cfg", "stack"), ALL_STACKS, ids=STACK_IDS)
def test_edge_1_physical_names_carry_environment_and_region(cfg: str, stack: str) -> None:
    settings = config(cfg)
    seen = 0
    for logical_id, res in template(cfg, stack)["Resources"].items():
        for prop in NAME_PROPERTIES:
            value = res.get("Properties", {}).get(prop)
            if value is None or (isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value)):
                continue  # absent, or a reference to another resource's own (checked) name
            text = json.dumps(value)
            assert settings.environment in text and settings.region in text, f"{logical_id}.{prop} = {text}"
            seen += 1
    assert seen > 0


@pytest.mark.parametrize(("cfg", "stack"), ALL_STACKS, ids=STACK_IDS)
def test_templates_are_deterministic_across_processes(cfg: str, stack: str, tmp_path: Path) -> None:
    """Same input, same bytes, even with a different hash seed in a fresh interpreter."""
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "generate.py"),
                "--config",
                f"templates/{cfg}.yaml",
                "--out",
                str(out),
                "--stack",
                stack,
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            capture_output=True,
            timeout=120,
        )
        outputs.append((out / f"{stack}.json").read_bytes())
    assert outputs[0] == outputs[1] == body(cfg, stack).encode()


CODE_KEY_PLACEHOLDER = "lambda/<handler>-<sha256 of the zip>.zip"


def golden_text(cfg: str, stack: str) -> str:
    """The template with the code keys' content-hash defaults masked: those change with every edit of the
    handlers or the analyzer, which test_dep_1/test_mon tests cover; the golden file guards the rest."""
    data = json.loads(body(cfg, stack))
    for name, parameter in data.get("Parameters", {}).items():
        if name.endswith("CodeKey"):
            assert re.fullmatch(r"lambda/[a-z_]+-[0-9a-f]{16}\.zip", parameter["Default"]), parameter
            parameter["Default"] = CODE_KEY_PLACEHOLDER
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


@pytest.mark.parametrize(("cfg", "stack"), ALL_STACKS, ids=STACK_IDS)
def test_golden_template(cfg: str, stack: str) -> None:
    """Regenerate on purpose with IAM_GUARD_UPDATE_GOLDEN=1 and review the diff before committing."""
    golden = GOLDEN / f"{cfg}-{stack}.json"
    current = golden_text(cfg, stack)
    if UPDATE_GOLDEN:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(current)
    assert golden.exists(), f"{golden.name} missing: run IAM_GUARD_UPDATE_GOLDEN=1 pytest {__file__}"
    expected = golden.read_text()
    if current != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), current.splitlines(True), f"golden/{golden.name}", "generated", n=2
            )
        )
        pytest.fail(f"generated template differs from golden file:\n{diff[:6000]}")
