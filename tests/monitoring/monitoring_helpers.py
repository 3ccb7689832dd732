"""Reading the monitoring templates in tests: the example configs' stacks and variants of them."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from functools import cache
from types import ModuleType
from typing import Any

from iam_guard.build import build_stacks
from iam_guard.config import Config
from support import HANDLERS_DIR
from template_helpers import config, inline_policy_documents, resources, statements

STACK = "monitoring"
FORWARDER = "monitoring-forwarder"


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


def getatt(logical_id: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def key_statement(tpl: dict[str, Any], key_id: str, sid: str) -> dict[str, Any]:
    found = [
        s for s in statements(tpl["Resources"][key_id]["Properties"]["KeyPolicy"]) if s.get("Sid") == sid
    ]
    assert len(found) == 1, f"{key_id}: expected one key-policy statement {sid!r}, found {len(found)}"
    return found[0]


def role_statements(tpl: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    documents = inline_policy_documents(tpl["Resources"][role_id])
    return [s for document in documents for s in statements(document)]


def role_statement(tpl: dict[str, Any], role_id: str, sid: str) -> dict[str, Any]:
    found = [s for s in role_statements(tpl, role_id) if s.get("Sid") == sid]
    assert len(found) == 1, f"{role_id}: expected one statement {sid!r}, found {len(found)}"
    return found[0]


def alarms(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: res["Properties"] for name, res in resources(tpl, "AWS::CloudWatch::Alarm").items()}


def dimension(alarm: dict[str, Any], name: str) -> Any:
    values = [d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == name]
    assert len(values) == 1, f"{alarm.get('AlarmName')}: dimension {name} appears {len(values)} times"
    return values[0]


def handler_module(name: str) -> ModuleType:
    """A handler module (src/iam_guard/lambda_handlers/), imported as Lambda would: from the zip's root."""
    folder = str(HANDLERS_DIR)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)
