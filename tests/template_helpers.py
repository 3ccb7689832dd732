"""Reading generated templates in tests: resources by type, statements by Sid, intrinsic-aware values."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any

from iam_guard.build import build_stacks
from iam_guard.config import Config, load_config
from support import REPO_ROOT

# org: the ORG-1 organization deployment (templates/org.yaml) adds the org-member and org-security stacks.
CONFIGS = ("dev", "prod", "org")
STACK = "monitoring"


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


@cache
def _variant_bodies(name: str) -> dict[str, str]:
    return {artifact.name: artifact.body for artifact in build_stacks(variant_config(name))}


def variant_config(name: str) -> Config:
    """dev with one setting changed: 'existing-trail', 'off' (remediation off, no audit accounts),
    'quarantine' (dev in quarantine mode), 'deploy-roles' (a deploy role named, MON-12)."""
    base = config("dev")
    monitoring = base.monitoring
    if name == "existing-trail":
        monitoring = dataclasses.replace(
            monitoring, existing_trail_arn="arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
        )
    elif name == "off":
        monitoring = dataclasses.replace(monitoring, remediation_mode="off", trusted_audit_account_ids=())
    elif name == "quarantine":
        monitoring = dataclasses.replace(monitoring, remediation_mode="quarantine")
    elif name == "deploy-roles":
        monitoring = dataclasses.replace(
            monitoring, deploy_role_arns=("arn:aws:iam::123456789012:role/IamGuardDeployer",)
        )
    else:
        raise ValueError(name)
    return dataclasses.replace(base, monitoring=monitoring)


def variant(name: str, stack: str = STACK) -> dict[str, Any]:
    return json.loads(_variant_bodies(name)[stack])


def variant_body(name: str, stack: str = STACK) -> str:
    return _variant_bodies(name)[stack]


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
