"""DEP-1 (make package): byte-for-byte reproducible handler zips that hold only the handler, its shared
modules and iam_guard.analysis, and that import in a clean interpreter without the build-time packages."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from iam_guard import packaging

# A clean interpreter (-I: no PYTHONPATH, no user site) that sees only the unpacked zip (first on sys.path)
# plus the interpreter's own site-packages for boto3 (the Lambda runtime provides boto3 the same way).
# troposphere, awacs, yaml and cfnlint are blocked outright, so an import of any of them fails loudly.
IMPORT_PROBE = """
import importlib.abc, json, sys
BLOCKED = ("troposphere", "awacs", "yaml", "cfnlint")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not available inside the Lambda zip")
        return None
sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[1])
module = __import__(sys.argv[2])
import iam_guard.analysis
finding = iam_guard.analysis.analyze_policy({"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
print(json.dumps({
    "handler": callable(module.handler),
    "module_file": module.__file__,
    "analysis_file": iam_guard.analysis.__file__,
    "codes": sorted({f.code for f in finding}),
    "loaded": sorted({name.split(".")[0] for name in sys.modules}),
}))
"""


@pytest.mark.parametrize("handler", packaging.HANDLERS)
def test_dep_1_handler_zip_is_byte_for_byte_reproducible(handler: str) -> None:
    first = packaging.build_zip(handler)
    second = packaging.build_zip(handler)

    assert first == second
    digest = hashlib.sha256(first).hexdigest()[:16]
    assert packaging.zip_key(handler) == f"lambda/{handler}-{digest}.zip"


@pytest.mark.parametrize("handler", packaging.HANDLERS)
def test_dep_1_zip_entries_are_sorted_with_fixed_timestamps_and_modes(handler: str) -> None:
    with zipfile.ZipFile(io.BytesIO(packaging.build_zip(handler))) as archive:
        infos = archive.infolist()

    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


@pytest.mark.parametrize("handler", packaging.HANDLERS)
def test_dep_1_zip_holds_the_handler_its_modules_and_the_analyzer_only(handler: str) -> None:
    with zipfile.ZipFile(io.BytesIO(packaging.build_zip(handler))) as archive:
        names = archive.namelist()

    top_level = sorted(name for name in names if "/" not in name)
    assert top_level == sorted(f"{module}.py" for module in packaging.HANDLER_MODULES[handler])
    assert f"{handler}.py" in top_level
    packaged = {name for name in names if "/" in name}
    outside_analysis = {name for name in packaged if not name.startswith("iam_guard/analysis/")}
    assert outside_analysis == {"iam_guard/__init__.py", "iam_guard/contract.py"}
    assert "iam_guard/analysis/__init__.py" in packaged
    assert any(name.startswith("iam_guard/analysis/data/") for name in packaged)  # the action index
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


@pytest.mark.parametrize("handler", packaging.HANDLERS)
def test_dep_1_handler_imports_from_the_unpacked_zip_in_a_clean_interpreter(
    handler: str, tmp_path: Path
) -> None:
    with zipfile.ZipFile(io.BytesIO(packaging.build_zip(handler))) as archive:
        archive.extractall(tmp_path)

    completed = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_PROBE, str(tmp_path), handler],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["handler"] is True
    assert Path(report["module_file"]).parent == tmp_path
    assert Path(report["analysis_file"]).is_relative_to(tmp_path)  # the zip's analyzer, not src/
    assert "IAMG001" in report["codes"]  # the action index loads from the zip
    assert not {"troposphere", "awacs", "yaml", "cfnlint"} & set(report["loaded"])


def test_dep_1_write_zips_names_files_by_content_hash(tmp_path: Path) -> None:
    written = packaging.write_zips(tmp_path)

    assert set(written) == set(packaging.HANDLERS)
    for handler, path in written.items():
        assert path.name == Path(packaging.zip_key(handler)).name
        assert path.read_bytes() == packaging.build_zip(handler)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written.values())


def test_dep_1_unknown_handler_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown handler 'audit'"):
        packaging.build_zip("audit")


def test_dep_1_packaging_command_writes_the_zips(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "iam_guard.packaging", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    for handler in packaging.HANDLERS:
        name = Path(packaging.zip_key(handler)).name
        assert (tmp_path / "out" / name).is_file()
        assert f"{handler}: {tmp_path / 'out' / name}" in completed.stdout
