"""generate: out/ holds exactly one generation. Each run records what it wrote in out/.manifest.json and
removes the templates an earlier run wrote that this one did not (the us-east-1 forwarder after switching
from prod.yaml to dev.yaml); nothing else in out/ is touched, and bad input removes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from iam_guard.build import MANIFEST_FILE
from support import REPO_ROOT

PROD = REPO_ROOT / "templates" / "prod.yaml"
DEV = REPO_ROOT / "templates" / "dev.yaml"


def generate(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "generate.py"), "--config", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def templates_in(out: Path) -> list[str]:
    """What `out/*.json` matches in the Makefile's shell (no dotfiles, unlike Path.glob)."""
    return sorted(path.name for path in out.glob("*.json") if not path.name.startswith("."))


def test_switching_configs_removes_the_stale_forwarder_template(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert generate(PROD, out).returncode == 0
    assert templates_in(out) == ["data-store.json", "monitoring-forwarder.json", "monitoring.json"]
    (out / "flat-outputs.json").write_text("{}\n")  # deploy's output lives in out/ too

    result = generate(DEV, out)

    assert result.returncode == 0, result.stderr
    assert templates_in(out) == ["data-store.json", "flat-outputs.json", "monitoring.json"]
    assert f"removed {out / 'monitoring-forwarder.json'}: an earlier generation wrote it" in result.stdout
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert {name: entry["file"] for name, entry in manifest["templates"].items()} == {
        "data-store": "data-store.json",
        "monitoring": "monitoring.json",
    }
    assert manifest["templates"]["monitoring"]["stack_name"] == "iam-guard-monitoring-dev"


def test_a_stale_template_from_before_manifests_is_removed_and_other_files_stay(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "monitoring-forwarder.json").write_text('{"Resources": {}}\n')
    (out / "notes.json").write_text("{}\n")
    (out / "policy_change-0123456789abcdef.zip").write_bytes(b"PK")

    assert generate(DEV, out).returncode == 0

    assert not (out / "monitoring-forwarder.json").exists()
    assert (out / "notes.json").exists() and (out / "policy_change-0123456789abcdef.zip").exists()


def test_a_manifest_never_makes_generate_delete_outside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.json"
    victim.write_text("{}\n")
    listed = {"templates": {"x": {"file": "../victim.json"}, "y": {"file": str(victim)}}}
    (out / MANIFEST_FILE).write_text(json.dumps(listed))

    assert generate(DEV, out).returncode == 0

    assert victim.exists()


def test_bad_input_removes_nothing_and_keeps_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert generate(PROD, out).returncode == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    broken = tmp_path / "broken.yaml"
    broken.write_text(DEV.read_text() + "region: us-east-9\n")

    result = generate(broken, out)

    assert result.returncode == 2
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_the_manifest_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert generate(DEV, first).returncode == 0
    assert generate(DEV, second).returncode == 0
    assert (first / MANIFEST_FILE).read_bytes() == (second / MANIFEST_FILE).read_bytes()
