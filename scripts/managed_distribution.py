"""How loud the analyzer is on what every AWS account has: the AWS managed policies (ANA-13).

Analyzes every JSON file of ../shared/corpus/aws-managed as an identity policy and prints how many policies
have each worst severity (a policy counts once, at its loudest finding), how many have at least one finding
at each severity, and, for medium and above, which codes carry them. Run it before and after a change to
the analyzer's judgement and compare (the README's "Measured" section shows the ANA-13 figures).

Run: .venv/bin/python scripts/managed_distribution.py [--corpus PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from iam_guard.analysis import Severity, analyze_policy

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "aws-managed"
NONE = "none"


def distribution(corpus: Path) -> dict[str, Any]:
    """{"policies": N, "worst": {severity label or "none": policies}, "any": {severity label: policies},
    "codes": {"SEVERITY CODE": policies}}."""
    worst: Counter[str] = Counter()
    having: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    paths = sorted(corpus.glob("*.json"))
    for path in paths:
        findings = analyze_policy(path.read_text(encoding="utf-8"))
        top = max((finding.severity for finding in findings), default=None)
        worst[top.label if top is not None else NONE] += 1
        having.update({finding.severity.label for finding in findings})
        loud = {(f.severity, f.code) for f in findings if f.severity >= Severity.MEDIUM}
        codes.update(f"{severity.label} {code}" for severity, code in loud)
    order = [level.label for level in sorted(Severity, reverse=True)] + [NONE]
    return {
        "policies": len(paths),
        "worst": {label: worst.get(label, 0) for label in order},
        "any": {label: having.get(label, 0) for label in order[:-1]},
        "codes": dict(sorted(codes.items(), key=lambda item: (-item[1], item[0]))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"--corpus: {args.corpus} is not a directory", file=sys.stderr)
        return 2
    result = distribution(args.corpus)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['policies']} policies in {args.corpus}")
    print("  severity  worst finding  any finding")
    for label, count in result["worst"].items():
        having = result["any"].get(label, "")
        print(f"  {label:<8} {count:>14} {having:>12}")
    print("policies with a finding at medium or above, by severity and code:")
    for key, count in result["codes"].items():
        print(f"  {key:<16} {count:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
