"""The package layout is the architecture: dependencies point one way (STYLE.md). Checked on the imports
of every module, so a shortcut cannot creep in unnoticed."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "iam_guard"
HANDLERS = PACKAGE / "lambda_handlers"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def offending(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    return sorted(found)


def test_nothing_imports_the_cli() -> None:
    outside_cli = [p for p in modules_under(PACKAGE) if "cli" not in p.relative_to(PACKAGE).parts]
    outside_cli += [*modules_under(HANDLERS), REPO_ROOT / "generate.py"]
    assert offending(outside_cli, ("iam_guard.cli",)) == []


def test_h_1_handlers_import_only_stdlib_boto3_the_analyzer_and_the_contract() -> None:
    handler_files = modules_under(HANDLERS)
    local = {path.stem for path in handler_files}
    problems = []
    for path in handler_files:
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in local or top in ("boto3", "botocore") or name.startswith("iam_guard.analysis"):
                continue
            if name == "iam_guard.contract" or name.startswith("iam_guard.contract."):
                continue
            if top in sys.stdlib_module_names:
                continue
            problems.append(f"{path.name} imports {name}")
    assert problems == []


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        (
            "analysis",
            (
                "iam_guard.blocks",
                "iam_guard.stacks",
                "iam_guard.policies",
                "iam_guard.deploy",
                "iam_guard.build",
                "iam_guard.config",
                "troposphere",
                "awacs",
                "boto3",
                "botocore",
                "yaml",
            ),
        ),
        ("blocks", ("iam_guard.stacks", "iam_guard.deploy", "iam_guard.build", "boto3")),
        (
            "policies",
            ("iam_guard.blocks", "iam_guard.stacks", "iam_guard.deploy", "iam_guard.build", "boto3"),
        ),
        ("stacks", ("iam_guard.deploy", "iam_guard.build", "boto3")),
        # the scanner and its reports sit below the CLI: they may use the analyzer, never the stacks
        (
            "scan",
            (
                "iam_guard.cli",
                "iam_guard.report",
                "iam_guard.blocks",
                "iam_guard.stacks",
                "iam_guard.policies",
                "iam_guard.deploy",
                "iam_guard.build",
                "troposphere",
                "awacs",
                "boto3",
            ),
        ),
        (
            "report",
            (
                "iam_guard.cli",
                "iam_guard.blocks",
                "iam_guard.stacks",
                "iam_guard.policies",
                "iam_guard.deploy",
                "iam_guard.build",
                "troposphere",
                "awacs",
                "boto3",
            ),
        ),
    ],
)
def test_layers_depend_downwards_only(layer: str, forbidden: tuple[str, ...]) -> None:
    assert offending(modules_under(PACKAGE / layer), forbidden) == []


def test_ops_3_only_the_sandbox_knows_the_emulator() -> None:
    """moto and its bridges stay in iam_guard.sandbox: no product module imports either, so nothing a
    deploy runs can behave differently on the emulator."""
    sandbox = PACKAGE / "sandbox"
    product = [path for path in modules_under(PACKAGE) if sandbox not in path.parents]
    assert len(product) > 50  # the walk found the package
    assert offending(product, ("moto", "iam_guard.sandbox")) == []
    assert offending(modules_under(sandbox), ("iam_guard.cli",)) == []
    assert any(name.startswith("moto") for name in imported_modules(sandbox / "emulator.py"))


def test_h_1_the_contract_is_standard_library_only() -> None:
    """contract.py is shipped in every handler zip and imported by the stacks: it may import nothing else."""
    names = imported_modules(PACKAGE / "contract.py")
    outside = [name for name in names if name.split(".")[0] not in sys.stdlib_module_names]
    assert outside == []


def stdlib_or(paths: list[Path], allowed: tuple[str, ...]) -> list[str]:
    """Imports of the files that are neither the standard library nor under one of `allowed`."""
    found = []
    for path in paths:
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or any(name == a or name.startswith(a + ".") for a in allowed):
                continue
            found.append(f"{path.name} imports {name}")
    return sorted(found)


def test_org_3_cross_account_reach_imports_only_the_standard_library_and_the_analyzer() -> None:
    """Shipped in the Lambda zips with iam_guard/analysis: nothing else may be needed."""
    analysis = PACKAGE / "analysis"
    modules = [analysis / name for name in ("cross_account.py", "principal_reach.py", "trust_admission.py")]
    assert stdlib_or(modules, ("iam_guard.analysis",)) == []


def test_org_4_the_report_needs_no_aws_sdk() -> None:
    """The consolidated report (org_report and the two modules it renders with) is pure: standard library,
    the analyzer's codes and severities, and its own modules; the consolidator handler does the AWS calls."""
    modules = sorted(HANDLERS.glob("org_report*.py"))
    assert [path.name for path in modules] == ["org_report.py", "org_report_graph.py", "org_report_html.py"]
    own = tuple(path.stem for path in modules)
    assert stdlib_or(modules, ("iam_guard.analysis", *own)) == []
