#!/usr/bin/env python3
"""Write every stack's CloudFormation template.

    python generate.py [--config templates/dev.yaml] [--out out/] [--stack data-store]

Bad input (config file, field, value) is one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from iam_guard.build import generate_templates
from iam_guard.config import ConfigError, load_config
from iam_guard.errors import UsageError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="generate.py", description="Write every stack's template.")
    parser.add_argument("--config", type=Path, default=Path("templates/dev.yaml"), help="deployment config")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default out/)")
    parser.add_argument("--stack", default=None, help="only this stack (data-store, monitoring, ...)")
    args = parser.parse_args(argv)
    try:
        generation = generate_templates(load_config(args.config), args.out, args.stack)
    except (ConfigError, UsageError) as error:
        print(f"generate.py: {error}", file=sys.stderr)
        return 2
    for line in generation.report():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
