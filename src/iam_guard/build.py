"""From a config to rendered templates: the one path generate.py, the CLI and deploy all take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from troposphere import Template

from iam_guard import naming
from iam_guard.config import Config
from iam_guard.errors import UsageError
from iam_guard.files import write_all_atomic
from iam_guard.render import render
from iam_guard.stacks import data_store, forwarder, monitoring
from iam_guard.tags import apply_compliance_tags

StackBuilder = Callable[[Config], Template]


@dataclass(frozen=True)
class StackArtifact:
    """One generated stack: its short name, CloudFormation stack name, target region and template."""

    name: str
    stack_name: str
    region: str
    template: Template
    body: str


def _stack_plan(config: Config) -> list[tuple[str, str, StackBuilder]]:
    """(name, region, builder) of every stack this config deploys, in deployment order. The forwarder
    comes after the monitoring stack: it targets the event bus the monitoring stack's rule listens on."""
    plan: list[tuple[str, str, StackBuilder]] = [
        ("data-store", config.region, data_store.build),
        ("monitoring", config.region, monitoring.build),
    ]
    forwarder_region = forwarder.region_of(config)
    if forwarder_region is not None:
        plan.append(("monitoring-forwarder", forwarder_region, forwarder.build))
    return plan


def stack_names(config: Config) -> list[str]:
    return [name for name, _, _ in _stack_plan(config)]


def build_stacks(config: Config, only: str | None = None) -> list[StackArtifact]:
    plan = _stack_plan(config)
    known = [name for name, _, _ in plan]
    if only is not None and only not in known:
        raise UsageError(f"--stack: unknown stack {only!r} for this config (stacks: {', '.join(known)})")
    artifacts = []
    for name, region, builder in plan:
        if only is not None and name != only:
            continue
        template = builder(config)
        apply_compliance_tags(template, config.tags)
        artifacts.append(
            StackArtifact(
                name=name,
                stack_name=f"{naming.PROJECT}-{name}-{config.environment}",
                region=region,
                template=template,
                body=render(template),
            )
        )
    return artifacts


def write_templates(config: Config, out_dir: Path, only: str | None = None) -> dict[str, Path]:
    """Render every stack first, then write each out/<name>.json atomically: bad input writes nothing."""
    artifacts = build_stacks(config, only)
    files = {out_dir / f"{artifact.name}.json": artifact.body for artifact in artifacts}
    write_all_atomic(files)
    return {artifact.name: out_dir / f"{artifact.name}.json" for artifact in artifacts}
