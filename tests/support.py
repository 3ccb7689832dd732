"""Paths and skips every test module may import (`from support import ...`); fixtures live in conftest.py.

A separate module, because pytest loads several conftest.py files and only one can be imported by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def corpus_dir(name: str) -> Path:
    """A folder of ../shared/corpus; the calling test is skipped, visibly, when it is absent."""
    path = CORPUS / name
    if not path.is_dir():
        pytest.skip(f"../shared/corpus/{name} is not beside this checkout (only CI and developers have it)")
    return path
