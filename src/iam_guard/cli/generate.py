"""`iam-guard generate`: write every stack's template to out/ (what generate.py does)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CONFIG = Path("templates/dev.yaml")
DEFAULT_OUT = Path("out")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="deployment config (YAML)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default out/)")
    parser.add_argument("--stack", default=None, help="only this stack (data-store, monitoring, ...)")


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("generate", help="write the CloudFormation templates to out/")
    add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from iam_guard.build import generate_templates
    from iam_guard.config import load_config

    for line in generate_templates(load_config(args.config), args.out, args.stack).report():
        print(line)
    return 0
