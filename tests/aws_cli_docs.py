"""The README's "Deploying with the AWS CLI" section, read as commands: its marked bash blocks
(`<!-- aws-cli:bucket -->`, `<!-- aws-cli:deploy dev -->`, ...) and the `aws` commands in them, split the
way a POSIX shell splits words (quotes removed, `$VARIABLES` left as written)."""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from support import REPO_ROOT

README = REPO_ROOT / "README.md"
SECTION_HEADING = "### Deploying with the AWS CLI"
_BLOCK = re.compile(
    r"<!-- aws-cli:(?P<label>[^>]+?) -->\s*\n(?P<indent>[ \t]*)```bash\n(?P<body>.*?)\n[ \t]*```", re.S
)


def section(readme: Path = README) -> str:
    """The section's text, up to the next heading of level 2 or 3."""
    text = readme.read_text(encoding="utf-8")
    start = text.index(SECTION_HEADING)
    end = re.search(r"\n#{2,3} ", text[start + len(SECTION_HEADING) :])
    return text[start : start + len(SECTION_HEADING) + end.start()] if end else text[start:]


def blocks(readme: Path = README) -> dict[str, str]:
    """label -> the bash block's text (dedented), for every marked block of the section."""
    found: dict[str, str] = {}
    for match in _BLOCK.finditer(section(readme)):
        label = match["label"].strip()
        if label in found:
            raise ValueError(f"README: two bash blocks are marked aws-cli:{label}")
        found[label] = textwrap.dedent(match["indent"] + match["body"]) + "\n"
    return found


def commands(script: str) -> list[list[str]]:
    """Every shell command of a block as words, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", script)
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def assignments(script: str) -> dict[str, str]:
    """NAME -> the text after `NAME=` of every line that assigns a shell variable, as written."""
    return {match[1]: match[2] for match in re.finditer(r"^([A-Z_]+)=(.*)$", script, re.M)}


def aws_calls(script: str, service: str, operation: str) -> list[list[str]]:
    """The words after `aws SERVICE OPERATION` of every such call in the block (inside if/for too)."""
    calls = []
    for words in commands(script):
        for index in range(len(words) - 2):
            if words[index : index + 3] == ["aws", service, operation]:
                calls.append(words[index + 3 :])
    return calls


def options(words: list[str]) -> dict[str, list[str]]:
    """--option -> the words that follow it up to the next --option (a flag maps to [])."""
    parsed: dict[str, list[str]] = {}
    current: str | None = None
    for word in words:
        if word.startswith("--"):
            current = word
            if current in parsed:
                raise ValueError(f"option {current} is given twice")
            parsed[current] = []
        elif current is None:
            raise ValueError(f"{word!r} before any option")
        else:
            parsed[current].append(word)
    return parsed


def pairs(words: list[str]) -> dict[str, str]:
    """KEY=VALUE words as a dict (--parameter-overrides, --tags)."""
    found: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key in found:
            raise ValueError(f"{word!r} is not a new KEY=VALUE pair")
        found[key] = value
    return found


@dataclass(frozen=True)
class DocumentedDeploy:
    """One documented `aws cloudformation deploy`."""

    stack_name: str
    region: str
    template_file: str
    s3_bucket: str | None
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()


def _one(parsed: dict[str, list[str]], option: str) -> str:
    values = parsed.get(option, [])
    if len(values) != 1:
        raise ValueError(f"{option} needs exactly one value, got {values}")
    return values[0]


def deploys(script: str) -> list[DocumentedDeploy]:
    """The block's `aws cloudformation deploy` commands, in order."""
    found = []
    for words in aws_calls(script, "cloudformation", "deploy"):
        parsed = options(words)
        found.append(
            DocumentedDeploy(
                stack_name=_one(parsed, "--stack-name"),
                region=_one(parsed, "--region"),
                template_file=_one(parsed, "--template-file"),
                s3_bucket=_one(parsed, "--s3-bucket") if "--s3-bucket" in parsed else None,
                parameter_overrides=pairs(parsed.get("--parameter-overrides", [])),
                capabilities=tuple(parsed.get("--capabilities", [])),
                tags=pairs(parsed.get("--tags", [])),
                flags=frozenset(name for name, values in parsed.items() if not values),
            )
        )
    return found


def termination_protection(script: str) -> list[tuple[str, str]]:
    """(stack name, region) of every update-termination-protection call that turns protection on."""
    found = []
    for words in aws_calls(script, "cloudformation", "update-termination-protection"):
        parsed = options(words)
        if "--enable-termination-protection" in parsed:
            found.append((_one(parsed, "--stack-name"), _one(parsed, "--region")))
    return found
