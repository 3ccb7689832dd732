"""ANA-6 recall against pathfinding.cloud's catalogue of AWS privilege-escalation paths
(../shared/corpus/pathfinding, one YAML per path). knowledge.PATHFINDING_PATHS, owned by this project, maps
each escalation technique to the path IDs it detects; every path ID has a test here that grants the path's
required permissions on '*' and expects IAMG006 naming that technique, at the severity the path's category
deserves. Without ../shared each test is skipped, saying so."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from iam_guard.analysis import Severity, analyze_policy
from iam_guard.analysis.knowledge import PATHFINDING_PATHS, TECHNIQUES
from support import corpus_dir

TECHNIQUE_OF_PATH = {path: name for name, paths in PATHFINDING_PATHS.items() for path in paths}
# the policy alone creates the escalation: high; abusing a role already on a resource: medium at least
DESERVED = {
    "self-escalation": Severity.HIGH,
    "principal-access": Severity.HIGH,
    "new-passrole": Severity.HIGH,
    "existing-passrole": Severity.MEDIUM,
}


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    folder = corpus_dir("pathfinding") / "data" / "paths"
    paths = {}
    for file in sorted(Path(folder).glob("*/*.yaml")):
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        paths[document["id"]] = document
    return paths


def test_ana_11_pathfinding_table_maps_each_path_once_to_a_real_technique() -> None:
    """No path in two techniques, no technique the analyzer does not have (needs no corpus)."""
    listed = [path for paths in PATHFINDING_PATHS.values() for path in paths]
    assert len(listed) == len(set(listed))
    assert set(PATHFINDING_PATHS) <= {technique.name for technique in TECHNIQUES}


def test_ana_11_pathfinding_table_covers_the_whole_catalogue() -> None:
    assert sorted(catalogue()) == sorted(TECHNIQUE_OF_PATH)
    assert len(catalogue()) == 65


@pytest.mark.parametrize("path_id", sorted(TECHNIQUE_OF_PATH))
def test_ana_11_pathfinding_path_is_detected(path_id: str) -> None:
    path = catalogue().get(path_id)
    assert path is not None, f"{path_id} is in PATHFINDING_PATHS but not in the catalogue"
    required = [item["permission"] for item in path["permissions"]["required"]]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": required, "Resource": "*"}],
    }
    escalations = [f for f in analyze_policy(document) if f.code == "IAMG006"]
    technique = TECHNIQUE_OF_PATH[path_id]
    naming = [
        f
        for f in escalations
        if technique in f.message.split(": ", 1)[1].split(" (statements")[0].split(", ")
    ]
    assert naming, (path_id, required, [f.message for f in escalations])
    assert naming[0].severity >= DESERVED[path["category"]], (path_id, naming[0].severity)
