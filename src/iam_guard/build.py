"""From a config to rendered templates: the one path generate.py, the CLI and deploy all take.

Generating writes every template of the config to out/, records what it wrote in out/.manifest.json (a
dotfile, so `out/*.json` globs of the linters see templates only), and removes the templates an earlier
generation wrote that this one did not (e.g. monitoring-forwarder.json after switching from a config
outside us-east-1 to one in it), so out/ always holds exactly one generation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from troposphere import Template

from iam_guard import naming
from iam_guard.config import Config
from iam_guard.errors import UsageError
from iam_guard.files import write_all_atomic, write_atomic
from iam_guard.policies import monitoring as mon
from iam_guard.render import render
from iam_guard.stacks import data_store, forwarder, monitoring, org_member, org_security
from iam_guard.tags import apply_compliance_tags

StackBuilder = Callable[[Config], Template]

MANIFEST_FILE = ".manifest.json"
# Every stack any config can produce, in deployment order. The forwarder comes after the monitoring stack:
# it targets the event bus the monitoring stack's rule listens on.
STACK_BUILDERS: dict[str, StackBuilder] = {
    "data-store": data_store.build,
    "monitoring": monitoring.build,
    "monitoring-forwarder": forwarder.build,
    "org-member": org_member.build,
    "org-security": org_security.build,
}
# Written for review and linting only: org-security's StackSet deploys it into the member accounts, so
# `iam-guard deploy` never creates it as a stack of its own (ORG-1).
STACKSET_ONLY = frozenset({"org-member"})


@dataclass(frozen=True)
class StackArtifact:
    """One generated stack: its short name, CloudFormation stack name, target region and template."""

    name: str
    stack_name: str
    region: str
    template: Template
    body: str
    deployable: bool = True


def _stack_plan(config: Config) -> list[tuple[str, str, StackBuilder]]:
    """(name, region, builder) of every stack this config deploys, in deployment order."""
    regions = {"data-store": config.region, "monitoring": config.region}
    forwarder_region = forwarder.region_of(config)
    if forwarder_region is not None:
        regions["monitoring-forwarder"] = forwarder_region
    if config.organization is not None:
        regions["org-member"] = mon.global_services_region(config.region)
        regions["org-security"] = config.region
    return [(name, regions[name], builder) for name, builder in STACK_BUILDERS.items() if name in regions]


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
                deployable=name not in STACKSET_ONLY,
            )
        )
    return artifacts


@dataclass(frozen=True)
class Generation:
    """What one generate run did: the templates it wrote (name -> path) and the stale ones it removed."""

    written: dict[str, Path]
    removed: list[Path] = field(default_factory=list)
    manifest: Path | None = None

    def report(self) -> list[str]:
        lines = [f"wrote {path} ({name})" for name, path in self.written.items()]
        lines += [
            f"removed {path}: an earlier generation wrote it, this one did not" for path in self.removed
        ]
        if self.manifest is not None:
            lines.append(f"recorded them in {self.manifest}")
        return lines


def write_templates(config: Config, out_dir: Path, only: str | None = None) -> dict[str, Path]:
    """generate_templates(), returning the templates written (name -> path)."""
    return generate_templates(config, out_dir, only).written


def generate_templates(config: Config, out_dir: Path, only: str | None = None) -> Generation:
    """Render every stack first (bad input writes nothing), write each out/<name>.json atomically, then
    the manifest, then remove the templates of an earlier generation that this one did not write."""
    out_dir = Path(out_dir)
    artifacts = build_stacks(config, only)
    files = {out_dir / f"{artifact.name}.json": artifact.body for artifact in artifacts}
    previous = _manifest_files(out_dir / MANIFEST_FILE)
    write_all_atomic(files)
    manifest = out_dir / MANIFEST_FILE
    write_atomic(manifest, _manifest(artifacts))
    written_names = {path.name for path in files}
    candidates = previous | {f"{name}.json" for name in STACK_BUILDERS}
    removed = []
    for name in sorted(candidates - written_names):
        stale = out_dir / name
        if stale.is_file():
            stale.unlink()
            removed.append(stale)
    written = {artifact.name: out_dir / f"{artifact.name}.json" for artifact in artifacts}
    return Generation(written, removed, manifest)


def _manifest(artifacts: list[StackArtifact]) -> str:
    """Deterministic: the same generation writes the same bytes (no timestamps)."""
    entries = {
        artifact.name: {
            "file": f"{artifact.name}.json",
            "stack_name": artifact.stack_name,
            "region": artifact.region,
            "sha256": hashlib.sha256(artifact.body.encode("utf-8")).hexdigest(),
        }
        for artifact in artifacts
    }
    return json.dumps({"templates": entries}, indent=2, sort_keys=True) + "\n"


def _manifest_files(path: Path) -> set[str]:
    """The template file names an earlier manifest lists; plain *.json names only (never a path that
    leaves out/), and nothing from a manifest that cannot be read."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("templates", {})
        names = {str(entry.get("file", "")) for entry in entries.values()}
    except (OSError, ValueError, AttributeError):
        return set()
    return {name for name in names if name.endswith(".json") and Path(name).name == name and name[0] != "."}
