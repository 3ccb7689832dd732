"""The `iam-guard` command. Each subcommand lives in its own module with register(subparsers); heavy
imports happen inside each command's run(), so `iam-guard analyze` never loads troposphere."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from iam_guard import __version__
from iam_guard.cli import analyze, audit_account, deploy, generate, mfa_delete
from iam_guard.errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iam-guard",
        description="Generate, analyze and deploy hardened CloudFormation for IAM security monitoring.",
    )
    parser.add_argument("--version", action="version", version=f"iam-guard {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (generate, analyze, deploy, mfa_delete, audit_account):
        module.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return _run(build_parser().parse_args(argv))


def console_main() -> NoReturn:
    """The `iam-guard` console script. For `analyze`, the collector is quieted first (quiet_collector), and
    the process ends without freeing its objects one by one (the findings and the action index: a tenth of
    a cold run), as mypy does; the output is flushed first. The other commands hold files and clients and
    exit the usual way."""
    args = build_parser().parse_args()
    if args.command != "analyze":
        sys.exit(_run(args))
    quiet_collector()
    code = _run(args)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a reader that went away (`| head`): the report could not be written whole
        code = code or 1
    os._exit(code)


def quiet_collector() -> None:
    """A scan makes next to no reference cycles (the collector found 321 objects over both corpora of
    ../shared, 1,868 files), yet its passes cost 8% of the scan's instructions, walking the action index
    again and again. The index is loaded now and frozen out of the collector's sight (forked scanners then
    share its pages too), and the youngest generation is collected every 50,000 allocations, not 700: what
    cyclic garbage there is still goes, in bounded batches. Process-wide settings: only the console script
    makes them, never a caller of main() in its own process."""
    import gc

    from iam_guard.analysis.index import load_index

    try:
        load_index()
    except Exception:  # a damaged index: the scan reports it on every policy (IAMG020), not a traceback here
        return
    gc.freeze()
    gc.set_threshold(50_000, *gc.get_threshold()[1:])


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if not is_usage_error(error):
            raise
        print(f"iam-guard {args.command}: {error}", file=sys.stderr)
        return 2


def is_usage_error(error: Exception) -> bool:
    """A bad option, path or config: one line and exit 2. iam_guard.config (YAML, the config schema) is
    imported only here, when an error needs it: `iam-guard analyze` never pays for it."""
    if isinstance(error, UsageError):
        return True
    from iam_guard.config import ConfigError

    return isinstance(error, ConfigError)


if __name__ == "__main__":
    console_main()
