"""The README stays true: every requirement ID has a feature-table row and a test named after it; the
config reference lists every field with its real default."""

from __future__ import annotations

import re

import pytest

from iam_guard.config import describe_fields
from support import REPO_ROOT, SHARED

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
ID_PATTERN = re.compile(r"\b(MON|CON|EDGE|DS|ANA|H|CLI|DEP|CI|OPS|ORG)-(\d+)\b")
KNOWN_IDS = (
    [f"MON-{n}" for n in range(1, 14)]
    + [f"CON-{n}" for n in range(1, 6)]
    + [f"EDGE-{n}" for n in range(1, 6)]
    + [f"DS-{n}" for n in range(1, 12)]
    + [f"ANA-{n}" for n in range(1, 14)]
    + [f"H-{n}" for n in range(1, 8)]
    + ["CLI-1", "CLI-2", "CLI-3", "DEP-1", "DEP-2", "CI-1"]
    + ["OPS-1", "OPS-2", "OPS-3"]
    + [f"ORG-{n}" for n in range(1, 5)]
)


def requirement_ids() -> list[str]:
    spec = SHARED / "SPEC.md"
    if spec.exists():
        found = sorted({f"{m.group(1)}-{m.group(2)}" for m in ID_PATTERN.finditer(spec.read_text())})
        assert set(found) >= set(KNOWN_IDS)
        return found
    return KNOWN_IDS


def feature_rows() -> dict[str, str]:
    rows = {}
    for line in README.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and ID_PATTERN.fullmatch(cells[0]):
            rows[cells[0]] = line
    return rows


@pytest.mark.parametrize("requirement", requirement_ids())
def test_ci_1_every_requirement_has_a_feature_row(requirement: str) -> None:
    row = feature_rows().get(requirement)
    assert row is not None, f"README feature table has no row for {requirement}"
    assert "test" in row.split("|")[3], row


def test_ci_1_every_requirement_has_a_test_named_after_it() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "tests").rglob("test_*.py"))
    names = set(re.findall(r"def (test_\w+)", sources))
    missing = []
    for requirement in requirement_ids():
        token = requirement.lower().replace("-", "_") + "_"
        if not any(token in name + "_" and re.search(rf"(^|_){token}", name + "_") for name in names):
            missing.append(requirement)
    assert missing == []


def test_config_reference_lists_every_field_and_default() -> None:
    for name, default, _ in describe_fields():
        assert f"| `{name}` | {default} |" in README, name


@pytest.mark.parametrize("module", ["codes", "conditions"])
def test_ana_10_readme_tables_match_the_analyzer_docstrings(module: str) -> None:
    """The README shows the finding codes and the ANA-10 condition table exactly as the code documents
    them (conditions.py's own test keeps that table true to the code)."""
    docstring = (REPO_ROOT / "src/iam_guard/analysis" / f"{module}.py").read_text().split('"""')[1]
    rows = [line for line in docstring.splitlines() if line.startswith("|")]
    assert len(rows) > 5
    missing = [row for row in rows if row not in README]
    assert missing == []
