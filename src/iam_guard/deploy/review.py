"""`--review`: show the change set and ask y/N before applying it. Only an interactive terminal can
answer; no stdin, a pipe or any answer but y/yes aborts, so nothing is applied by accident."""

from __future__ import annotations

import sys
from typing import TextIO


def ask_on_terminal(summary: str, stdin: TextIO | None = None, stdout: TextIO | None = None) -> bool:
    """Print the change-set summary and ask; True only for y/yes typed on a terminal."""
    reader = stdin if stdin is not None else sys.stdin
    writer = stdout if stdout is not None else sys.stdout
    writer.write(summary + "\n")
    if reader is None or reader.closed or not reader.isatty():
        writer.write("--review needs an interactive terminal to answer; not applying.\n")
        writer.flush()
        return False
    writer.write("Apply this change set? [y/N] ")
    writer.flush()
    answer = reader.readline().strip().lower()
    return answer in ("y", "yes")
