"""Run `iam-guard analyze` in this process the way the console script does (iam_guard.cli.main), with
standard input, output and error captured; and write small templates for tests."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iam_guard.cli import main


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def findings(self) -> list[dict[str, Any]]:
        return list(self.json()["findings"])


def analyze(*argv: str, stdin: bytes = b"") -> Outcome:
    """Exit code, stdout and stderr of `iam-guard analyze ARGV...`."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(["analyze", *argv])
            except SystemExit as exit_:  # argparse on a bad option
                code = int(exit_.code or 0)
    finally:
        sys.stdin = saved
    return Outcome(code, out.getvalue(), err.getvalue())


def template(resources: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", **sections, "Resources": resources}


def write_json(folder: Path, name: str, body: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    return path


ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    ],
}
