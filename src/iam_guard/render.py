"""The one place templates become bytes."""

from __future__ import annotations

import json
from typing import Any

from troposphere import Template


def template_dict(template: Template) -> dict[str, Any]:
    """The template as plain JSON data (what CloudFormation receives)."""
    return json.loads(render(template))


def render(template: Template) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline. Same input, same bytes."""
    return json.dumps(template.to_dict(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"
