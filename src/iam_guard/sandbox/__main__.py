"""`python -m iam_guard.sandbox [--config templates/dev.yaml]` (`make sandbox`): the guided local run."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from iam_guard.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m iam_guard.sandbox",
        description="iam-guard's whole loop on a local emulator: deploy, a risky policy, the alert.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("templates/dev.yaml"),
        help="deployment config (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if importlib.util.find_spec("moto") is None:
        print("sandbox: moto is not installed: pip install 'iam-guard[sandbox]'", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    from botocore.exceptions import BotoCoreError, ClientError

    from iam_guard.sandbox.demo import SandboxFailed, run

    try:
        return run(config)
    except (SandboxFailed, BotoCoreError, ClientError) as failure:
        print(f"sandbox: FAILED: {failure}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
