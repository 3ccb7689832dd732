"""Compliance tags (MON-9): applied to every taggable resource of a template in one place, so no
building block can forget them."""

from __future__ import annotations

from troposphere import Tags, Template


def apply_compliance_tags(template: Template, tags: dict[str, str]) -> None:
    """Give every resource whose type has a Tags property the compliance tags; existing tags are kept,
    compliance tags win on a clash."""
    for resource in template.resources.values():
        spec = resource.props.get("Tags")
        if spec is None:
            continue
        expected = spec[0]
        current = resource.properties.get("Tags")
        if expected is dict or (isinstance(expected, tuple) and dict in expected and Tags not in expected):
            merged = dict(current or {})
            merged.update(tags)
            resource.Tags = dict(sorted(merged.items()))
        else:
            existing = {t["Key"]: t["Value"] for t in current.to_dict()} if isinstance(current, Tags) else {}
            existing.update(tags)
            resource.Tags = Tags(**dict(sorted(existing.items())))
