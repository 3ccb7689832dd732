"""Throughput of iam-guard's analyzer against Parliament and Cloudsplaining on the same policies
(what `make bench` runs for the analyzer).

Reads every JSON file of ../shared/corpus/aws-managed (the AWS managed policies) and prints, in one run,
policies per second of each tool, cold and warm, and the ratios:
- cold, whole process, JSON output (the issue's measure): a fresh process reads every file, analyzes it and
  writes a JSON report; best of --repeat processes (load from other work on the machine only slows runs
  down).
  - iam-guard: `iam-guard analyze CORPUS --format json` (the console script), with the package's bytecode
    compiled, as an installed package has it;
  - Parliament 1.6: its own command, `parliament --directory CORPUS --json` (default auditors);
  - Cloudsplaining: its command scans one file per process, so a fresh interpreter imports it, runs
    scan_policy (what `cloudsplaining scan-policy-file` runs) on every file and writes the results as JSON.
- cold, library: a fresh process imports iam-guard's analyzer and runs analyze_policy on every text.
- warm: each tool a second time in this process (imports done, caches primed): iam-guard's scan and JSON
  report, iam-guard's analyze_policy, parliament.analyze_policy_string, Cloudsplaining's scan_policy.

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

CLOUDSPLAINING_COLD_RUN = """
import json, logging, sys
logging.disable(logging.CRITICAL)
from cloudsplaining.command.scan_policy_file import scan_policy
results = {}
for path in json.loads(sys.argv[1]):
    with open(path, encoding="utf-8") as policy:
        results[path] = scan_policy(json.load(policy))
json.dump(results, sys.stdout, default=str)
"""


def timed_process(command: list[str], ok_codes: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """(wall seconds, bytes written to stdout) of one fresh process."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok_codes:
        raise SystemExit(f"{command[0]} failed ({result.returncode}): {result.stderr[-400:]!r}")
    return elapsed, len(result.stdout)


def parliament_cold_seconds(corpus: Path) -> tuple[float, int]:
    """Parliament's own command over the folder, JSON output (it exits 1 when it finds something)."""
    parliament = Path(sys.executable).with_name("parliament")
    return timed_process([str(parliament), "--directory", str(corpus), "--json"], ok_codes=(0, 1))


def cloudsplaining_cold_seconds(paths: list[Path]) -> tuple[float, int]:
    argument = json.dumps([str(path) for path in paths])
    return timed_process([sys.executable, "-c", CLOUDSPLAINING_COLD_RUN, argument])


def compile_bytecode() -> None:
    """Write iam-guard's bytecode as an installed package has it (pip compiles it; this checkout's editable
    install writes it on first import, unless PYTHONDONTWRITEBYTECODE is set, as it is on the CI machine):
    a cold run must not be charged for compiling the analyzer's source."""
    import compileall

    compileall.compile_dir(str(REPO_ROOT / "src" / "iam_guard"), quiet=1)


def cold_cli_seconds(corpus: Path) -> tuple[float, int]:
    """(wall seconds, bytes of JSON) for `iam-guard analyze CORPUS --format json` as a fresh process."""
    command = [sys.executable, "-c", CLI, "analyze", str(corpus), "--format", "json", "--fail-on", "none"]
    return timed_process(command)


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
    count = len(texts)
    print(f"corpus: {args.corpus} ({count} policies, {sum(map(len, texts)) / 1e6:.1f} MB)")
    runs = max(args.repeat, 1)

    def line(tool: str, seconds: float, how: str) -> float:
        per_second = count / seconds if seconds else float("inf")
        print(f"{tool:<15}{seconds:7.2f} s  {per_second:8.0f} policies/s ({how})")
        return per_second

    print(f"cold: a fresh process per run, best of {runs}")
    compile_bytecode()
    seconds, report_bytes = min(cold_cli_seconds(args.corpus) for _ in range(runs))
    cold = {
        "iam-guard": line(
            "iam-guard",
            seconds,
            f"`iam-guard analyze CORPUS --format json`, {report_bytes / 1e6:.1f} MB of JSON",
        )
    }
    library = line(
        "iam-guard",
        min(cold_seconds(paths) for _ in range(runs)),
        "library: import, index load, analyze_policy on every text",
    )
    if not args.skip_parliament:
        seconds, report_bytes = min(parliament_cold_seconds(args.corpus) for _ in range(runs))
        cold["Parliament"] = line(
            "Parliament",
            seconds,
            f"`parliament --directory CORPUS --json`, {report_bytes / 1e6:.1f} MB of JSON",
        )
    seconds, report_bytes = min(cloudsplaining_cold_seconds(paths) for _ in range(runs))
    cold["Cloudsplaining"] = line(
        "Cloudsplaining", seconds, f"import, scan_policy on every file, {report_bytes / 1e6:.1f} MB of JSON"
    )

    print("warm: a second pass in this process (imports done, caches primed)")
    warm = {"iam-guard": line("iam-guard", warm_cli_seconds(args.corpus), "scan, analysis and JSON report")}
    rate(texts, iam_guard_analyze)
    warm_library = line("iam-guard", rate(texts, iam_guard_analyze)[0], "analyze_policy")
    if not args.skip_parliament:
        rate(texts[:50], parliament_analyze)
        warm["Parliament"] = line("Parliament", rate(texts, parliament_analyze)[0], "analyze_policy_string")
    rate(texts[:50], cloudsplaining_analyze)
    warm["Cloudsplaining"] = line("Cloudsplaining", rate(texts, cloudsplaining_analyze)[0], "scan_policy")

    for name in ("Parliament", "Cloudsplaining"):
        if name not in cold:
            continue
        print(
            f"ratio iam-guard / {name}: {cold['iam-guard'] / cold[name]:.1f}x cold whole process, "
            f"{warm['iam-guard'] / warm[name]:.1f}x warm (scan and report), {warm_library / warm[name]:.1f}x "
            f"warm (library); iam-guard cold against {name} warm: {cold['iam-guard'] / warm[name]:.1f}x CLI, "
            f"{library / warm[name]:.1f}x library"
        )
    if "Parliament" in cold:
        ratio = cold["iam-guard"] / cold["Parliament"]
        verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
        print(
            f"goal >= {GOAL_RATIO:.0f}x Parliament, whole process with JSON output: {verdict} ({ratio:.1f}x)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
