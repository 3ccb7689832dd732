"""Asking before destroy deletes anything. Only an interactive terminal can answer: without one (a pipe,
/dev/null, a CI job) destroy refuses unless --yes was given. A production deployment asks the operator to
type each stack's name, as a typo-proof "yes"."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from iam_guard.errors import UsageError

PRODUCTION_ENVIRONMENTS = ("prod", "production", "prd", "live")
PRODUCTION_CLASSIFICATIONS = ("restricted",)

# Shown the stacks about to be deleted; True to go ahead.
ApproveDeletion = Callable[[Sequence[str]], bool]


def production_reason(environment: str, data_classification: str) -> str | None:
    """Why a deployment counts as production (asks for typed stack names), or None."""
    reasons = []
    if environment in PRODUCTION_ENVIRONMENTS or environment.startswith("prod"):
        reasons.append(f"environment {environment}")
    if data_classification in PRODUCTION_CLASSIFICATIONS:
        reasons.append(f"data classification {data_classification}")
    return " and ".join(reasons) or None


@dataclass(frozen=True)
class DestroyConfirmation:
    """How destroy asks: `yes` skips asking (automation); `production` (the reason) asks for typed names."""

    yes: bool = False
    production: str | None = None
    stdin: TextIO | None = None
    stdout: TextIO | None = None

    def __call__(self, stacks: Sequence[str]) -> bool:
        if self.yes or not stacks:
            return True
        reader = self.stdin if self.stdin is not None else sys.stdin
        writer = self.stdout if self.stdout is not None else sys.stdout
        if reader is None or reader.closed or not reader.isatty():
            raise UsageError(
                f"--yes: refusing to delete {', '.join(stacks)} without confirmation: there is no terminal "
                "to ask on; pass --yes to delete from automation"
            )
        writer.write(f"About to delete {len(stacks)} stack(s): {', '.join(stacks)}\n")
        writer.write("Retained data, keys and logs stay; everything else in the stacks is deleted.\n")
        if self.production:
            return self._typed_names(stacks, reader, writer)
        writer.write("Delete them? [y/N] ")
        writer.flush()
        return reader.readline().strip().lower() in ("y", "yes")

    def _typed_names(self, stacks: Sequence[str], reader: TextIO, writer: TextIO) -> bool:
        writer.write(f"This is a production deployment ({self.production}).\n")
        for stack in stacks:
            writer.write(f"Type the stack name {stack} to delete it: ")
            writer.flush()
            if reader.readline().strip() != stack:
                writer.write(f"{stack} was not typed; nothing is deleted.\n")
                writer.flush()
                return False
        return True
