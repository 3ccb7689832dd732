"""Finding the files to scan, reading them as text and parsing them as CloudFormation does.

Named paths must be readable (UsageError otherwise: the CLI exits 2). Inside a folder, like checkov and
cfn-lint, a file that cannot be read or is neither a template nor a policy is skipped with a reason,
never a reason to stop. Parsing uses cfn-lint's decoder: YAML with the short intrinsic tags (!If, !Sub,
!GetAtt...) or JSON, with the line every mapping starts on.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iam_guard.errors import UsageError
from iam_guard.scan.intrinsics import MAX_DEPTH, Located, Resolved

CANDIDATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
EXCLUDED_FOLDERS = ("node_modules", "__pycache__")  # and every folder whose name starts with "."
MAX_BYTES = 5 * 1024 * 1024  # CloudFormation's own limit is 1 MB; bigger files are data, not templates
TOO_LARGE = f"larger than {MAX_BYTES // (1024 * 1024)} MB: not a CloudFormation template"
STDIN = "-"
_TEMPLATE_MARKERS = re.compile(rb"AWSTemplateFormatVersion|AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


@dataclass(frozen=True)
class Candidate:
    """One file to read: its path (None for standard input), the name shown in reports, and whether the
    user named it (then an unreadable file is a usage error, not a skip)."""

    path: Path | None
    shown: str
    explicit: bool


class Unreadable(Exception):
    """A file that cannot be turned into a template or a policy; the message says why (one line)."""

    def __init__(self, reason: str, looks_like_template: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.looks_like_template = looks_like_template


def discover(paths: list[str]) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Candidates for every path (folders walked, symlinked folders not followed) and the folders that
    were skipped with their reason. UsageError for a named path that does not exist or cannot be read."""
    candidates: list[Candidate] = []
    skipped: list[tuple[str, str]] = []
    for raw in paths:
        if raw == STDIN:
            candidates.append(Candidate(None, "<stdin>", True))
            continue
        path = Path(raw)
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise UsageError(f"{raw}: cannot read folder (permission denied)")
            candidates += _walk(path, skipped)
        elif path.is_file():
            candidates.append(Candidate(path, str(path), True))
        elif path.exists():
            raise UsageError(f"{raw}: not a regular file or folder")
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return candidates, skipped


def _walk(folder: Path, skipped: list[tuple[str, str]]) -> Iterator[Candidate]:
    def on_error(error: OSError) -> None:
        skipped.append((str(error.filename), f"cannot read folder: {error.strerror or error}"))

    for root, folders, files in os.walk(folder, onerror=on_error):
        for name in sorted(folders):
            if name.startswith(".") or name in EXCLUDED_FOLDERS:
                folders.remove(name)
        folders.sort()
        here = Path(root)
        for name in sorted(files):
            if name.lower().endswith(CANDIDATE_SUFFIXES):
                path = here / name
                yield Candidate(path, str(path), False)


def read_bytes(candidate: Candidate) -> bytes:
    """The file's bytes; Unreadable when it cannot be read or is too large."""
    try:
        if candidate.path is None:
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with open(candidate.path, "rb") as file:  # one open for the size and the bytes
                if os.fstat(file.fileno()).st_size > MAX_BYTES:
                    raise Unreadable(TOO_LARGE)
                data = file.read()
    except OSError as error:
        raise Unreadable(f"cannot read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise Unreadable(TOO_LARGE)
    return data


def decode_text(data: bytes) -> str:
    """Text from bytes: UTF-8, or UTF-16/32 with a byte-order mark; Unreadable for binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise Unreadable(f"not valid {encoding} text") from None
    if b"\x00" in data[:8192]:
        raise Unreadable("binary file (or UTF-16 without a byte-order mark)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        looks_like_template = bool(_TEMPLATE_MARKERS.search(data))
        raise Unreadable(f"not UTF-8 text (byte {error.start})", looks_like_template) from None


def parse(text: str) -> Any:
    """The parsed JSON/YAML (cfn-lint's decoder: short tags, line marks); Unreadable naming the parser's
    first complaint otherwise."""
    policy = _standalone_json_policy(text)
    if policy is not None:
        return policy
    from cfnlint.decode import decode_str

    looks_like_template = bool(_TEMPLATE_MARKERS.search(text.encode("utf-8", "replace")))
    if not text.strip():
        raise Unreadable("empty file")
    try:
        data, problems = decode_str(text)
        if (problems or data is None) and text.lstrip().startswith(("{", "[")):
            data, problems = _json_instead(text, data, problems)
    except RecursionError:
        raise Unreadable("not valid JSON or YAML: nested too deeply to parse", looks_like_template) from None
    if problems or data is None:
        message = " ".join(str(problems[0].message).split()) if problems else "could not be parsed"
        if "expected a single document" in message:
            message = "several YAML documents in one file (a Kubernetes manifest?)"
        if "recursion" in message or "nesting depth" in message:
            message = "nested too deeply to parse"
        line = getattr(problems[0], "linenumber", None) if problems else None
        where = f" (line {line})" if isinstance(line, int) and line > 1 else ""
        raise Unreadable(f"not valid JSON or YAML: {message[:200]}{where}", looks_like_template)
    return data


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise _DuplicateKey
    return mapping


def _standalone_json_policy(text: str) -> Located | None:
    """A policy file in plain JSON (a folder of exported policies), read by the standard library's parser,
    with the line of the document and of each statement: cfn-lint's YAML decoder (its import alone takes
    longer than parsing a thousand policies) is for the rest. None for anything else, which the decoder then
    reads, so its answer and its complaint stand: a template, AWS CLI output, invalid JSON, and a mapping
    with a key given twice (a second "Statement" must never hide the first)."""
    try:
        located = _LineKeepingReader(text).policy()
    except (ValueError, RecursionError, IndexError):
        return None
    if located is None or not is_policy(located) or is_template(located):
        return None
    if unwrap_cli_output(located)[1] is not None:
        return None
    if _free_of_intrinsics(text):
        return Resolved(located, located.line)
    return located


def _free_of_intrinsics(text: str) -> bool:
    """No "Ref" or "Fn::" key can hide in the text (none written plainly, no \\u escape to spell one) and
    it has too few brackets to nest deeper than resolve() walks."""
    return (
        '"Ref"' not in text
        and '"Fn::' not in text
        and "\\u" not in text
        and text.count("{") + text.count("[") <= MAX_DEPTH
    )


_NOT_JSON_SPACE = re.compile(r"[^ \t\n\r]")
# what follows a key, a member of an object and an item of a list, white space on both sides included
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")
_AFTER_MEMBER = re.compile(r"[ \t\n\r]*([,}])[ \t\n\r]*")
_AFTER_ITEM = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


class _LineKeepingReader:
    """Reads a top-level JSON object key by key with the C scanner (json.JSONDecoder.scan_once, what
    raw_decode calls), noting the line each statement starts on; every value below the top level is parsed
    whole. ValueError when the text is not one JSON object."""

    def __init__(self, text: str) -> None:
        self.text = text
        decoder = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)
        # the scanner the decoder made for itself (typeshed does not list the attribute)
        self.scan: Callable[[str, int], tuple[Any, int]] = decoder.scan_once  # type: ignore[attr-defined]
        self.position = 0
        self.counted_to = 0
        self.line = 1

    def policy(self) -> Located | None:
        if self._next() != "{":
            return None
        document_line = self._line()
        self.position += 1
        items: dict[str, Any] = {}
        closed = self._next() == "}"
        if closed:
            self.position += 1
        while not closed:
            key = self._value()
            colon = _COLON.match(self.text, self.position)
            if not isinstance(key, str) or key in items or colon is None:
                return None
            self.position = colon.end()
            items[key] = self._statements() if key == "Statement" else self._value()
            after = _AFTER_MEMBER.match(self.text, self.position)
            if after is None:
                return None
            self.position = after.end()
            closed = after.group(1) == "}"
        if self._next() != "":
            return None
        return Located(items, document_line)

    def _statements(self) -> Any:
        if self.text.startswith("{", self.position):
            return self._located_value()
        if not self.text.startswith("[", self.position):
            return self._value()
        self.position += 1
        statements: list[Any] = []
        if self._next() == "]":
            self.position += 1
            return statements
        while True:
            statements.append(self._located_value())
            after = _AFTER_ITEM.match(self.text, self.position)
            if after is None:
                raise ValueError("expected ',' or ']' after a statement")
            self.position = after.end()
            if after.group(1) == "]":
                return statements

    def _located_value(self) -> Any:
        line = self._line()
        value = self._value()
        return Located(value, line) if isinstance(value, dict) else value

    def _value(self) -> Any:
        try:
            value, self.position = self.scan(self.text, self.position)
        except StopIteration:  # how scan_once says "no JSON value here"; raw_decode's error for it
            raise json.JSONDecodeError("Expecting value", self.text, self.position) from None
        return value

    def _next(self) -> str:
        """The next character that is not white space ("" at the end), the position moved onto it."""
        found = _NOT_JSON_SPACE.search(self.text, self.position)
        self.position = found.start() if found else len(self.text)
        return self.text[self.position : self.position + 1]

    def _line(self) -> int:
        self.line += self.text.count("\n", self.counted_to, self.position)
        self.counted_to = self.position
        return self.line


def _json_instead(text: str, data: Any, problems: list[Any]) -> tuple[Any, list[Any]]:
    """JSON that YAML cannot read (a surrogate-pair escape "\\ud83d\\ude00"): cfn-lint's JSON decoder,
    which keeps line marks; the YAML problems stand when it fails too."""
    from cfnlint.decode import cfn_json

    try:
        return cfn_json.loads(text), []
    except RecursionError:
        raise
    except Exception:  # its decode errors are many classes; the YAML complaint is the one to show
        return data, problems


def is_template(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("Resources"), dict)


def is_policy(data: Any) -> bool:
    return isinstance(data, dict) and "Statement" in data


def guess_policy_type(document: Any) -> str:
    """A standalone policy file: trust when statements name principals and sts:Assume* actions,
    resource when they name principals otherwise, identity when none names a principal."""
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = statements if isinstance(statements, list) else [statements]
    with_principal = [
        s for s in statements if isinstance(s, dict) and ("Principal" in s or "NotPrincipal" in s)
    ]
    if not with_principal:
        return "identity"
    actions: list[Any] = []
    for statement in with_principal:
        raw = statement.get("Action", [])
        actions += raw if isinstance(raw, list) else [raw]
    trust = bool(actions) and all(isinstance(a, str) and a.lower().startswith("sts:") for a in actions)
    return "trust" if trust else "resource"


def unwrap_cli_output(data: Any) -> tuple[Any, str | None]:
    """The policy inside AWS CLI output: get-policy-version ({"PolicyVersion": {"Document": ...}}),
    get-role-policy / get-user-policy ({"PolicyDocument": ...}), get-role ({"Role": {...}}: its trust
    policy). Returns (document, policy type) or (data, None) when it is none of these."""
    if not isinstance(data, dict):
        return data, None
    version = data.get("PolicyVersion")
    if isinstance(version, dict) and "Document" in version:
        return version["Document"], "identity"
    if "PolicyDocument" in data and "Statement" not in data and "Resources" not in data:
        return data["PolicyDocument"], "identity"
    role = data.get("Role")
    if isinstance(role, dict) and "AssumeRolePolicyDocument" in role:
        return role["AssumeRolePolicyDocument"], "trust"
    return data, None


def not_a_template_reason(data: Any) -> str:
    """Why a parsed file is neither a template nor a policy, in a few words."""
    if isinstance(data, dict):
        if "apiVersion" in data and "kind" in data:
            return "not a CloudFormation template or IAM policy (a Kubernetes manifest)"
        if "Resources" in data:
            return "not a CloudFormation template: Resources is not a mapping"
        return "not a CloudFormation template or IAM policy (no Resources, no Statement)"
    shape = "a list" if isinstance(data, list) else "a string" if isinstance(data, str) else "a scalar"
    return f"not a CloudFormation template or IAM policy ({shape}, not a mapping)"
