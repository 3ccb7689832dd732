"""Reading the monitoring templates in tests: the example configs' stacks and variants of them."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

from support import HANDLERS_DIR
from template_helpers import (  # noqa: F401  (the variants live beside the example configs; re-exported)
    STACK,
    config,
    inline_policy_documents,
    resources,
    statements,
    variant,
    variant_body,
    variant_config,
)

FORWARDER = "monitoring-forwarder"


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
