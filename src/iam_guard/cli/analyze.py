"""`iam-guard analyze PATH...`: scan CloudFormation templates, IAM policy files and folders of them for
risky IAM policies (iam_guard.scan), and print a text, JSON or SARIF 2.1.0 report (iam_guard.report)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from iam_guard.errors import UsageError

FORMATS = ("text", "json", "sarif")
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")

EPILOG = """\
what is read:
  CloudFormation templates (JSON, or YAML with the short tags !Ref, !Sub, !If...), IAM policy JSON files
  and AWS CLI output holding a policy. Folders are walked for *.json, *.yaml, *.yml and *.template
  (hidden folders and node_modules excluded). Every policy-bearing resource type is read, both branches
  of every Fn::If are analyzed. A file in a folder that is neither a template nor a policy is skipped,
  with a note in every format. "-" reads standard input.

suppressing a finding (the reason is required and reported):
  Metadata: {"iam-guard": {"suppressions": [{"code": "IAMG010", "reason": "..."}]}}

exit codes:
  0  no unsuppressed finding at or above --fail-on
  1  at least one unsuppressed finding at or above --fail-on
  2  usage error: a named path that does not exist or cannot be read, a bad option value, or a scan
     that found nothing to analyze (one line on stderr, nothing on stdout)
"""


def register(subparsers: Any) -> None:
    """Add the `analyze` subcommand."""
    parser = subparsers.add_parser(
        "analyze",
        help="analyze IAM policies in CloudFormation templates and policy files",
        description="Scan CloudFormation templates, IAM policy files and folders of them for risky IAM "
        "policies; print a text, JSON or SARIF 2.1.0 report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help='template, policy JSON, folder, or "-" for standard input'
    )
    parser.add_argument(
        "--format", default="text", metavar="FORMAT", help="text, json or sarif (default: text)"
    )
    parser.add_argument(
        "--fail-on",
        default="high",
        metavar="SEVERITY",
        help="exit 1 when an unsuppressed finding is at or above this severity: "
        "critical, high, medium, low, info, or none to never fail (default: high)",
    )
    parser.add_argument(
        "--root",
        default=None,
        metavar="DIR",
        help="folder that SARIF file URIs are relative to (%%SRCROOT%%) "
        "(default: the enclosing git repository's top folder, else the current folder)",
    )
    parser.add_argument(
        "--jobs",
        default="0",
        metavar="N",
        help="processes to scan with when there are hundreds of files: 0 for one per usable core, 1 for "
        "none (default: 0; the report is the same whatever N)",
    )
    parser.set_defaults(run=run)


def _jobs(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) > 64:
        raise UsageError(f"--jobs: {value!r} is not a whole number from 0 to 64")
    return int(text)


def repository_root(start: Path) -> Path:
    """The nearest folder at or above start holding .git; start itself when there is none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def run(args: argparse.Namespace) -> int:
    """Scan every path; print the report in the chosen format; return the exit code."""
    from iam_guard.analysis import Severity
    from iam_guard.report import render
    from iam_guard.scan import scan_paths

    output_format = str(args.format).strip().lower()
    if output_format not in FORMATS:
        raise UsageError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}")
    fail_on = str(args.fail_on).strip().lower()
    if fail_on not in FAIL_ON_CHOICES:
        raise UsageError(f"--fail-on: {args.fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    root = Path(args.root) if args.root else repository_root(Path(os.getcwd()))
    if not root.is_dir():
        raise UsageError(f"--root: {args.root!r} is not a folder")
    jobs = _jobs(args.jobs)
    result = scan_paths(list(args.paths), jobs)
    if result.analyzed_files == 0 and not result.findings:
        reasons = "; ".join(f"{s.file}: {s.reason}" for s in result.skipped[:3])
        raise UsageError(
            f"nothing to analyze: {result.files} file(s) read, none is a CloudFormation template or an IAM "
            f"policy" + (f" ({reasons})" if reasons else "")
        )
    sys.stdout.write(render(result, output_format, fail_on, root))
    if fail_on == "none":
        return 0
    threshold = Severity.parse(fail_on)
    failing = [f for f in result.findings if not f.suppressed and Severity.parse(f.severity) >= threshold]
    return 1 if failing else 0
