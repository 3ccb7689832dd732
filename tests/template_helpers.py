"""Reading generated templates in tests: resources by type, statements by Sid, intrinsic-aware values."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from iam_guard.build import build_stacks
from iam_guard.config import Config, load_config
from support import REPO_ROOT

# org: the ORG-1 organization deployment (templates/org.yaml) adds the org-member and org-security stacks.
CONFIGS = ("dev", "prod", "org")


@cache
def config(name: str) -> Config:
    return load_config(REPO_ROOT / "templates" / f"{name}.yaml")


@cache
def _bodies(config_name: str) -> dict[str, str]:
    return {artifact.name: artifact.body for artifact in build_stacks(config(config_name))}


@cache
def _regions(config_name: str) -> dict[str, str]:
    return {artifact.name: artifact.region for artifact in build_stacks(config(config_name))}


def stack_region(config_name: str, stack: str) -> str:
    """The region the stack deploys to (org-member: the first region of its StackSet instances)."""
    return _regions(config_name)[stack]


def stack_names(config_name: str) -> list[str]:
    return list(_bodies(config_name))


def template(config_name: str, stack: str) -> dict[str, Any]:
    """A fresh copy of the generated template as JSON data (tests may not mutate a shared one)."""
    return json.loads(_bodies(config_name)[stack])


def body(config_name: str, stack: str) -> str:
    return _bodies(config_name)[stack]


def resources(tpl: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in tpl["Resources"].items() if res["Type"] == type_name}


def resource(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return tpl["Resources"][logical_id]


def props(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return tpl["Resources"][logical_id]["Properties"]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    matches = [s for s in statements(document) if s.get("Sid") == sid]
    assert len(matches) == 1, f"expected one statement {sid!r}, found {len(matches)}"
    return matches[0]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def inline_policy_documents(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [policy["PolicyDocument"] for policy in role["Properties"].get("Policies", [])]


def sub_text(value: Any) -> str:
    """The text of a Fn::Sub (string form or [string, vars] form), or a plain string."""
    if isinstance(value, str):
        return value
    sub = value["Fn::Sub"]
    return sub if isinstance(sub, str) else sub[0]
