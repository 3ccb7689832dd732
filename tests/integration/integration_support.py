"""Shared helpers of the integration tests: fixture paths, a stack artifact made from a fixture
template, a transcript of what deploy says, and a stand-in for an interactive terminal."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "deploy"
CLOUDTRAIL_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "cloudtrail"


@dataclass(frozen=True)
class FixtureArtifact:
    """A stack to deploy, shaped like iam_guard.build.StackArtifact (what deploy_all reads)."""

    name: str
    stack_name: str
    region: str
    body: str


class Transcript:
    """Collects what deploy says, one message per call."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class TerminalInput(io.StringIO):
    """Typed answers on an interactive terminal (deploy refuses to read answers from anything else)."""

    def isatty(self) -> bool:
        return True
