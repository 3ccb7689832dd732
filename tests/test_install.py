"""OPS-1: a wheel installed outside the checkout generates, packages and deploys. The wheel is built from a
copy of the project (as `pip install .` sees it), installed with `--no-deps --no-index` into a fresh
virtual environment whose only other path is this environment's site-packages (for troposphere, boto3,
moto...; the .pth files there, among them the checkout's editable install, are not read), and run from a
folder outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from iam_guard import packaging
from iam_guard.build import generate_templates
from iam_guard.config import load_config
from support import REPO_ROOT

pytestmark = pytest.mark.integration

PROJECT_FILES = ("src", "setup.cfg", "pyproject.toml", "README.md")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    cli: Path
    operator_dir: Path  # outside the checkout
    config: Path  # the example config, copied beside the operator

    def run(self, *command: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTHON"))}
        env["PYTHONNOUSERSITE"] = "1"
        result = subprocess.run(
            [str(part) for part in command],
            cwd=self.operator_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result


def _copy_project(target: Path) -> None:
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    source = tmp_path_factory.mktemp("project")
    _copy_project(source)
    wheels = tmp_path_factory.mktemp("wheels")
    # Build isolation fetches setuptools and wheel as pyproject.toml pins them (from the configured index).
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("iam_guard-*.whl")
    environment = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    install = ["install", "--quiet", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *install],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site_packages) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    operator_dir = tmp_path_factory.mktemp("operator")
    config = operator_dir / "dev.yaml"
    shutil.copy2(REPO_ROOT / "templates" / "dev.yaml", config)
    return Installed(wheel, python, environment / "bin" / "iam-guard", operator_dir, config)


def test_ops_1_wheel_ships_every_handler_module_and_the_action_index(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    modules = {module for modules in packaging.HANDLER_MODULES.values() for module in modules}
    shipped = {name for name in names if name.startswith("iam_guard/lambda_handlers/")}
    assert shipped == {f"iam_guard/lambda_handlers/{module}.py" for module in modules} | {
        "iam_guard/lambda_handlers/README.md"
    }
    assert "iam_guard/analysis/data/actions.json.gz" in names
    assert "iam_guard/contract.py" in names


def test_ops_1_installed_package_reads_its_own_files(installed: Installed) -> None:
    probe = (
        "import iam_guard, iam_guard.packaging as p; "
        "print(iam_guard.__file__); print(p.handler_source('policy_change'))"
    )
    package_file, handler_file = installed.run(installed.python, "-c", probe).stdout.splitlines()
    site = installed.python.parents[1]
    for path in (Path(package_file), Path(handler_file)):
        assert site in path.parents, path
        assert REPO_ROOT not in path.parents, path
    assert handler_file.endswith("iam_guard/lambda_handlers/policy_change.py")


def test_ops_1_installed_wheel_generates_the_checkouts_templates(
    installed: Installed, tmp_path: Path
) -> None:
    result = installed.run(installed.cli, "generate", "--config", installed.config, "--out", "out")
    from_checkout = tmp_path / "checkout-out"
    generate_templates(load_config(REPO_ROOT / "templates" / "dev.yaml"), from_checkout, None)

    written = sorted(path.name for path in (installed.operator_dir / "out").glob("[!.]*.json"))
    assert written == ["data-store.json", "monitoring.json"]
    for name in written:
        # byte-equal, so the S3Key defaults (the zips' content hashes) are equal too
        assert (installed.operator_dir / "out" / name).read_bytes() == (from_checkout / name).read_bytes()
    assert "wrote out/monitoring.json (monitoring)" in result.stdout


def test_ops_1_installed_wheel_packages_byte_identical_zips(installed: Installed) -> None:
    result = installed.run(installed.python, "-m", "iam_guard.packaging", "--out", "zips")

    for handler in packaging.HANDLERS:
        name = Path(packaging.zip_key(handler)).name
        path = installed.operator_dir / "zips" / name
        assert path.read_bytes() == packaging.build_zip(handler), handler
        assert f"{handler}: zips/{name} (" in result.stdout
    assert len(list((installed.operator_dir / "zips").iterdir())) == len(packaging.HANDLERS)


def test_ops_1_installed_wheel_deploys(installed: Installed) -> None:
    """Deploy from the installed package: the sandbox (moto's server with the emulator bridges) deploys both
    stacks with the installed deploy code and its zips, and the deployed analyzer alerts."""
    result = installed.run(installed.python, "-m", "iam_guard.sandbox", "--config", installed.config)

    assert "stack iam-guard-monitoring-dev: " in result.stdout
    assert f"/{packaging.zip_key('policy_change')} (CodeSha256 " in result.stdout
    assert "Subject: [iam-guard dev] CRITICAL: AttachRolePolicy role sandbox-app-runner" in result.stdout
