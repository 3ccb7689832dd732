"""Throughput of iam-guard's analyzer against Parliament and Cloudsplaining on the same policies
(what `make bench` runs for the analyzer).

Reads every JSON file of ../shared/corpus/aws-managed (the AWS managed policies), analyzes all of them with
iam_guard.analysis.analyze_policy, with parliament.analyze_policy_string (default auditors) and with
Cloudsplaining's single-policy scan (cloudsplaining.command.scan_policy_file.scan_policy), and prints
policies per second for each and the ratios. iam-guard's headline figure is a cold start: each of
--repeat fresh Python processes imports the analyzer, loads the action index and analyzes the corpus once
(no cache primed); the best process counts, as load from other work on the machine only slows runs down.
A warm figure (a second pass in one process, expansion caches primed) is shown for information.

Run: .venv/bin/python scripts/bench_analyzer.py [--corpus PATH] [--repeat N] [--skip-parliament]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "aws-managed"
GOAL_RATIO = 20.0


def rate(texts: list[str], analyze: Callable[[str], object]) -> tuple[float, float]:
    """(seconds, policies per second) to analyze every text once."""
    start = time.perf_counter()
    for text in texts:
        analyze(text)
    elapsed = time.perf_counter() - start
    return elapsed, len(texts) / elapsed if elapsed else float("inf")


COLD_RUN = """
import json, sys, time
paths = json.loads(sys.argv[1])
texts = [open(path, encoding="utf-8").read() for path in paths]
start = time.perf_counter()
from iam_guard.analysis import analyze_policy
for text in texts:
    analyze_policy(text)
print(time.perf_counter() - start)
"""


def cold_seconds(paths: list[Path]) -> float:
    """Seconds for a fresh interpreter to import the analyzer, load its index and analyze every file."""
    argument = json.dumps([str(path) for path in paths])
    result = subprocess.run(
        [sys.executable, "-c", COLD_RUN, argument], check=True, capture_output=True, text=True
    )
    return float(result.stdout.strip())


def iam_guard_analyze(text: str) -> object:
    from iam_guard.analysis import analyze_policy

    return analyze_policy(text)


def parliament_analyze(text: str) -> object:
    import parliament

    return parliament.analyze_policy_string(text).findings


def cloudsplaining_analyze(text: str) -> object:
    from cloudsplaining.command.scan_policy_file import scan_policy

    return scan_policy(json.loads(text))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="fresh iam-guard processes (the best counts)")
    parser.add_argument("--skip-parliament", action="store_true", help="Parliament takes ~7 s on 2 cores")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"SKIP bench_analyzer: {args.corpus} is missing (../shared/corpus is not beside this checkout)")
        return 0
    logging.disable(logging.CRITICAL)  # Parliament and Cloudsplaining log every finding
    paths = sorted(args.corpus.glob("*.json"))
    texts = [path.read_text(encoding="utf-8") for path in paths]
    print(f"corpus: {args.corpus} ({len(texts)} policies, {sum(map(len, texts)) / 1e6:.1f} MB)")

    runs = max(args.repeat, 1)
    best_cold = min(cold_seconds(paths) for _ in range(runs))
    cold_rate = len(texts) / best_cold
    rate(texts, iam_guard_analyze)
    warm_seconds, best_rate = rate(texts, iam_guard_analyze)
    print(
        f"iam-guard      {best_cold:7.2f} s  {cold_rate:8.0f} policies/s "
        f"(cold: fresh process, import + index load included, best of {runs})"
    )
    print(f"iam-guard      {warm_seconds:7.2f} s  {best_rate:8.0f} policies/s (warm: second pass)")

    competitors: dict[str, float] = {}
    if not args.skip_parliament:
        seconds, per_second = rate(texts, parliament_analyze)
        competitors["Parliament"] = per_second
        print(f"Parliament     {seconds:7.2f} s  {per_second:8.0f} policies/s (default auditors)")
    seconds, per_second = rate(texts, cloudsplaining_analyze)
    competitors["Cloudsplaining"] = per_second
    print(f"Cloudsplaining {seconds:7.2f} s  {per_second:8.0f} policies/s (scan_policy per document)")

    for name, per_second in competitors.items():
        print(
            f"ratio iam-guard / {name}: {cold_rate / per_second:6.1f}x cold, "
            f"{best_rate / per_second:6.1f}x warm"
        )
    if "Parliament" in competitors:
        ratio = cold_rate / competitors["Parliament"]
        verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
        print(f"goal >= {GOAL_RATIO:.0f}x Parliament (cold): {verdict} ({ratio:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
