"""Throughput of iam-guard's analyzer against Parliament and Cloudsplaining on the same policies
(what `make bench` runs for the analyzer).

Reads every JSON file of ../shared/corpus/aws-managed (the AWS managed policies) and prints, in one run,
policies per second and the ratios to Parliament (parliament.analyze_policy_string, default auditors) and
Cloudsplaining (cloudsplaining.command.scan_policy_file.scan_policy):
- iam-guard cold, CLI: `iam-guard analyze CORPUS --format json` as a fresh process (interpreter start,
  imports, reading and parsing every file, the action index, analysis and the JSON report: the heavier
  output), best of --repeat processes (load from other work on the machine only slows runs down), with
  the package's bytecode compiled, as an installed package has it;
- iam-guard cold, library: a fresh process imports the analyzer and runs analyze_policy on every text;
- iam-guard warm: the same scan and JSON report, and analyze_policy, a second time in one process
  (caches primed).
Parliament and Cloudsplaining run in this process over the same texts (their imports excluded).

H-6: then the adversarial-pattern benchmark. Documents crafted to slow wildcard matching down (runs of
'*?', chains of stars, '?' segments, wildcard service prefixes, StringLike wildcards, unclosed '${'
placeholders), each grown to IAM's size limits (6,144 characters for a managed policy, 10,240 for a role's
inline policies), are analyzed one by one with every analyzer cache emptied first (the worst case: nothing
primed). It prints each document's seconds (wall clock and CPU) and the worst case per document, and checks
that the '*' grant each one hides is still reported critical. Needs no corpus.

Run: .venv/bin/python scripts/bench_analyzer.py [--corpus PATH] [--repeat N] [--skip-parliament]
     [--adversarial-only | --skip-adversarial]
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


CLI = "from iam_guard.cli import console_main; console_main()"  # what the `iam-guard` console script runs


def compile_bytecode() -> None:
    """Write iam-guard's bytecode as an installed package has it (pip compiles it; this checkout's editable
    install writes it on first import, unless PYTHONDONTWRITEBYTECODE is set, as it is on the CI machine):
    a cold run must not be charged for compiling the analyzer's source."""
    import compileall

    compileall.compile_dir(str(REPO_ROOT / "src" / "iam_guard"), quiet=1)


def cold_cli_seconds(corpus: Path) -> tuple[float, int]:
    """(wall seconds, bytes of JSON) for `iam-guard analyze CORPUS --format json` as a fresh process."""
    command = [sys.executable, "-c", CLI, "analyze", str(corpus), "--format", "json", "--fail-on", "none"]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"iam-guard analyze failed ({result.returncode}): {result.stderr[-400:]!r}")
    return elapsed, len(result.stdout)


def warm_cli_seconds(corpus: Path) -> float:
    """Seconds for the CLI's work (scan every file, analyze, render JSON) in this process, caches primed."""
    from iam_guard.report import render
    from iam_guard.scan import scan_paths

    render(scan_paths([str(corpus)]), "json", "none", REPO_ROOT)
    start = time.perf_counter()
    render(scan_paths([str(corpus)]), "json", "none", REPO_ROOT)
    return time.perf_counter() - start


def iam_guard_analyze(text: str) -> object:
    from iam_guard.analysis import analyze_policy

    return analyze_policy(text)


def parliament_analyze(text: str) -> object:
    import parliament

    return parliament.analyze_policy_string(text).findings


def cloudsplaining_analyze(text: str) -> object:
    from cloudsplaining.command.scan_policy_file import scan_policy

    return scan_policy(json.loads(text))


MANAGED_POLICY_LIMIT = 6144  # characters of one managed policy document (IAM quota)
INLINE_POLICY_LIMIT = 10240  # characters of a role's inline policies together (IAM quota)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _document(statements: list[dict[str, object]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def _admin_beside(actions: list[str]) -> str:
    return _document([{"Effect": "Allow", "Action": ["*", *actions], "Resource": "*"}])


def _grown(limit: int, build: Callable[[list[str]], str], item: Callable[[int], str]) -> str:
    """build(items) with as many items item(0), item(1)... as fit in `limit` characters."""
    items: list[str] = []
    while len(build([*items, item(len(items))])) <= limit:
        items.append(item(len(items)))
    return build(items)


def _pair(k: int) -> tuple[str, str]:
    return LETTERS[k % 26], LETTERS[(k // 26) % 26]


def _passrole_with(values: list[str]) -> str:
    condition = {"StringLike": {"iam:PassedToService": values}}
    return _document(
        [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole", "ec2:RunInstances"],
                "Resource": "*",
                "Condition": condition,
            },
        ]
    )


def _placeholders(resources: list[str]) -> str:
    return _document([{"Effect": "Allow", "Action": "*", "Resource": ["*", *resources]}])


def adversarial_documents(limit: int) -> dict[str, str]:
    """Each crafted document at most `limit` characters long, beside an Allow of '*' on '*'."""
    issue_run = (limit - len(_admin_beside(["ec2:*zz"]))) // 2
    return {
        "issue 10: one 'ec2:*?*?...*zz' action": _admin_beside(["ec2:" + "*?" * issue_run + "*zz"]),
        "one 'ec2:a*a*a*...b' action": _admin_beside(["ec2:" + "a*" * (issue_run - 1) + "b"]),
        "distinct '*?' runs, one service": _grown(
            limit, _admin_beside, lambda k: "ec2:" + "*?" * (1 + k % 40) + "*" + LETTERS[k % 26]
        ),
        "two-letter chains, every service ('*:*x*y*')": _grown(
            limit, _admin_beside, lambda k: "*:*{}*{}*".format(*_pair(k))
        ),
        "'?' segments, every service ('*:*x?y*')": _grown(
            limit, _admin_beside, lambda k: "*:*{}?{}*".format(*_pair(k))
        ),
        "wildcard service and chain ('?*:*e*x*y')": _grown(
            limit, _admin_beside, lambda k: "?*:*e*{}*{}".format(*_pair(k))
        ),
        "StringLike iam:PassedToService wildcards": _grown(
            limit, _passrole_with, lambda k: "*?" * (1 + k % 30) + "*" + LETTERS[k % 26]
        ),
        "unclosed '${' placeholders in Resource": _grown(limit, _placeholders, lambda k: "${" * 50),
    }


def _empty_analyzer_caches() -> None:
    """Every functools cache of the analyzer but the action index itself: nothing primed."""
    import iam_guard.analysis as analysis

    for name in analysis.__dict__.get("__all__", []) + sorted(sys.modules):
        module = sys.modules.get(name)
        if module is None or not name.startswith("iam_guard.analysis."):
            continue
        for value in vars(module).values():
            if hasattr(value, "cache_clear") and getattr(value, "__name__", "") not in (
                "load_index",
                "action_sets",
            ):
                value.cache_clear()


def bench_adversarial() -> float:
    """Seconds of the slowest crafted document; prints every document's figures."""
    from iam_guard.analysis import Severity, analyze_policy
    from iam_guard.analysis.index import load_index

    load_index()
    worst = (0.0, "")
    print("adversarial documents (H-6), every analyzer cache emptied before each:")
    for limit in (MANAGED_POLICY_LIMIT, INLINE_POLICY_LIMIT):
        for name, text in adversarial_documents(limit).items():
            _empty_analyzer_caches()
            wall, cpu = time.perf_counter(), time.process_time()
            findings = analyze_policy(text)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            admin = any(f.code == "IAMG001" and f.severity is Severity.CRITICAL for f in findings)
            print(
                f"  {len(text):6,d} chars {wall:6.2f} s wall {cpu:6.2f} s cpu  admin critical: {admin} {name}"
            )
            if not admin:
                print(f"  FAILED: the '*' grant of {name!r} was not reported critical")
            worst = max(worst, (wall, f"{name}, {len(text):,} chars"))
    print(f"worst case per document: {worst[0]:.2f} s ({worst[1]})")
    return worst[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="fresh iam-guard processes (the best counts)")
    parser.add_argument("--skip-parliament", action="store_true", help="Parliament takes ~7 s on 2 cores")
    parser.add_argument("--adversarial-only", action="store_true", help="only the H-6 benchmark")
    parser.add_argument("--skip-adversarial", action="store_true", help="only the throughput benchmark")
    args = parser.parse_args()
    if not args.adversarial_only:
        bench_throughput(args)
    if not args.skip_adversarial:
        bench_adversarial()
    return 0


def bench_throughput(args: argparse.Namespace) -> None:
    """Policies per second on the AWS managed policies, against Parliament and Cloudsplaining."""
    if not args.corpus.is_dir():
        print(f"SKIP bench_analyzer: {args.corpus} is missing (../shared/corpus is not beside this checkout)")
        return
    logging.disable(logging.CRITICAL)  # Parliament and Cloudsplaining log every finding
    paths = sorted(args.corpus.glob("*.json"))
    texts = [path.read_text(encoding="utf-8") for path in paths]
    print(f"corpus: {args.corpus} ({len(texts)} policies, {sum(map(len, texts)) / 1e6:.1f} MB)")

    runs = max(args.repeat, 1)
    compile_bytecode()
    cli_runs = [cold_cli_seconds(args.corpus) for _ in range(runs)]
    cold_cli, report_bytes = min(cli_runs)
    best_cold = min(cold_seconds(paths) for _ in range(runs))
    warm_cli = warm_cli_seconds(args.corpus)
    rate(texts, iam_guard_analyze)
    warm_seconds, warm_rate = rate(texts, iam_guard_analyze)
    figures = {
        "cold, CLI --format json": len(texts) / cold_cli,
        "cold, library": len(texts) / best_cold,
        "warm, CLI work in-process": len(texts) / warm_cli,
        "warm, library": warm_rate,
    }
    print(
        f"iam-guard      {cold_cli:7.2f} s  {figures['cold, CLI --format json']:8.0f} policies/s (cold: "
        f"`iam-guard analyze CORPUS --format json` as a fresh process, {report_bytes / 1e6:.1f} MB of JSON, "
        f"best of {runs})"
    )
    print(
        f"iam-guard      {best_cold:7.2f} s  {figures['cold, library']:8.0f} policies/s "
        f"(cold: fresh process, import + index load + analyze_policy, best of {runs})"
    )
    print(
        f"iam-guard      {warm_cli:7.2f} s  {figures['warm, CLI work in-process']:8.0f} policies/s "
        "(warm: scan + analysis + JSON report, second pass in one process)"
    )
    print(
        f"iam-guard      {warm_seconds:7.2f} s  {warm_rate:8.0f} policies/s "
        "(warm: analyze_policy, second pass)"
    )

    competitors: dict[str, float] = {}
    if not args.skip_parliament:
        seconds, per_second = rate(texts, parliament_analyze)
        competitors["Parliament"] = per_second
        print(f"Parliament     {seconds:7.2f} s  {per_second:8.0f} policies/s (default auditors)")
    seconds, per_second = rate(texts, cloudsplaining_analyze)
    competitors["Cloudsplaining"] = per_second
    print(f"Cloudsplaining {seconds:7.2f} s  {per_second:8.0f} policies/s (scan_policy per document)")

    for name, per_second in competitors.items():
        shown = ", ".join(f"{figure / per_second:.1f}x {label}" for label, figure in figures.items())
        print(f"ratio iam-guard / {name}: {shown}")
    if "Parliament" in competitors:
        for label in ("cold, CLI --format json", "cold, library", "warm, library"):
            ratio = figures[label] / competitors["Parliament"]
            verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
            print(f"goal >= {GOAL_RATIO:.0f}x Parliament ({label}): {verdict} ({ratio:.1f}x)")


if __name__ == "__main__":
    raise SystemExit(main())
