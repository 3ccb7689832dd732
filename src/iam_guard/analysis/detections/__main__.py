"""Print or write the table of finding codes generated from the registry.

python -m iam_guard.analysis.detections --markdown   # print it
python -m iam_guard.analysis.detections --write      # replace it in README.md and analysis/codes.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from iam_guard.analysis.detections import markdown_table

BEGIN = "<!-- detections table: begin -->\n"
END = "<!-- detections table: end -->"
CODES_PY = Path(__file__).resolve().parents[1] / "codes.py"
README = Path(__file__).resolve().parents[4] / "README.md"


def generated_section(text: str) -> str:
    """The text between the markers (ValueError naming the missing marker when there is none)."""
    for marker in (BEGIN, END):
        if marker not in text:
            raise ValueError(f"no {marker.strip()!r} marker")
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def with_table(text: str) -> str:
    generated_section(text)
    head, rest = text.split(BEGIN, 1)
    return head + BEGIN + markdown_table() + END + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iam_guard.analysis.detections", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the table of finding codes")
    group.add_argument("--write", action="store_true", help="rewrite the table in README.md and codes.py")
    arguments = parser.parse_args(argv)
    if arguments.markdown:
        sys.stdout.write(markdown_table())
        return 0
    for path in (README, CODES_PY):
        try:
            path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
        except (OSError, ValueError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        print(f"wrote the table of finding codes into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
