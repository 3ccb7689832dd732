"""Turn a policy document (dict, JSON text, or URL-encoded JSON as the IAM API returns it) into checked
Statement values. Problems become (statement index, message) pairs, never exceptions."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, NamedTuple

EFFECTS = ("Allow", "Deny")
KNOWN_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)


class Statement(NamedTuple):
    """One well-formed statement. Action/Resource are tuples of the strings as written; exactly one of
    actions/not_actions is set; resources and not_resources may both be None (trust policies).
    A NamedTuple, as thousands are built per audit and a tuple is cheap to build."""

    # The statement's position in the policy; the name shadows tuple.index, which nothing here calls.
    index: int  # type: ignore[assignment]
    sid: str | None
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Any
    not_principal: Any
    conditions: dict[str, dict[str, tuple[str, ...]]]

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    @property
    def action_patterns(self) -> tuple[str, ...]:
        return self.actions if self.actions is not None else (self.not_actions or ())

    @property
    def shown_resources(self) -> tuple[str, ...]:
        return self.resources if self.resources is not None else (self.not_resources or ())


@dataclass
class ParsedDocument:
    """The statements that could be read, and the problems met on the way."""

    statements: list[Statement] = field(default_factory=list)
    problems: list[tuple[int | None, str]] = field(default_factory=list)


# IAM returns documents URL-encoded once, and a document passed through another encoder may arrive encoded
# twice or more. Bounded: each decoding reads the whole text, and '%252525...' shrinks by 2 characters a turn.
MAX_URL_DECODINGS = 8
BYTE_ORDER_MARK = "\ufeff"


def _trimmed(text: str) -> str:
    """Without the whitespace and byte-order marks around it."""
    return text.strip().lstrip(BYTE_ORDER_MARK).strip()


def json_text(text: str) -> str:
    """H-7: the JSON text of a document as IAM and CloudTrail produce it: URL-encoded ('+' for a space,
    '%7B' for '{'), possibly more than once, with whitespace or a byte-order mark before the '{'. Text that
    starts with '{' is JSON already and is never decoded (a '+' or '%' in it is literal)."""
    text = _trimmed(text)
    for _ in range(MAX_URL_DECODINGS):
        if text.startswith("{"):
            break
        decoded = _trimmed(urllib.parse.unquote_plus(text))
        if decoded == text:
            break
        text = decoded
    return text


def load_document(document: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The policy as a dict, or (None, why not). Accepts a dict, JSON text or URL-encoded JSON (H-7)."""
    if isinstance(document, dict):
        return document, None
    if isinstance(document, bytes | bytearray):
        try:
            document = bytes(document).decode("utf-8")
        except UnicodeDecodeError:
            return None, "policy document is not UTF-8 text"
    if not isinstance(document, str):
        return None, f"policy document must be a JSON object, not {type(document).__name__}"
    text = json_text(document)
    try:
        loaded = json.loads(text)
    except (ValueError, RecursionError) as error:
        if not text.startswith("{") and "%" in text:
            return None, f"policy document is still URL-encoded after {MAX_URL_DECODINGS} decodings"
        return None, f"policy document is not valid JSON ({error})"
    if not isinstance(loaded, dict):
        return None, f"policy document must be a JSON object, not {type(loaded).__name__}"
    return loaded, None


_ONLY_STR = frozenset({str})


def _string_tuple(value: Any) -> tuple[str, ...] | None:
    """A string or a non-empty list of strings as a tuple; None when the shape is wrong."""
    if type(value) is str:
        return (value,)
    if type(value) is list and value:
        result = tuple(value)
        # one C-level pass: every item is exactly a str
        return result if set(map(type, result)) == _ONLY_STR else None
    return None


_SCALARS = (str, bool, int, float)


def _condition_values(raw: Any) -> tuple[str, ...] | None:
    """One condition key's value(s) as strings (booleans as 'true'/'false'); None when one is not a scalar.
    Strings, by far the most common, are taken as they are."""
    if type(raw) is str:
        return (raw,)
    if type(raw) is list and set(map(type, raw)) == _ONLY_STR:
        return tuple(raw)
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, _SCALARS) for item in items):
        return None
    return tuple(str(item).lower() if isinstance(item, bool) else str(item) for item in items)


def _conditions(value: Any) -> dict[str, dict[str, tuple[str, ...]]] | None:
    """Condition block as {operator: {key: (values...)}} with values stringified; None when malformed."""
    if not isinstance(value, dict):
        return None
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, block in value.items():
        if not isinstance(operator, str) or not isinstance(block, dict):
            return None
        keys: dict[str, tuple[str, ...]] = {}
        for key, raw in block.items():
            values = _condition_values(raw)
            if values is None or not isinstance(key, str):
                return None
            keys[key] = values
        result[operator] = keys
    return result


def _principal_ok(value: Any) -> bool:
    if value == "*":
        return True
    if not isinstance(value, dict) or not value:
        return False
    return all(isinstance(key, str) and _string_tuple(raw) is not None for key, raw in value.items())


def parse_statement(index: int, raw: Any, problems: list[tuple[int | None, str]]) -> Statement | None:
    """One statement, or None after recording why it cannot be read."""
    if not isinstance(raw, dict):
        problems.append((index, f"statement {index} is not a JSON object"))
        return None
    effect = raw.get("Effect")
    sid = raw.get("Sid")
    errors: list[str] = []
    if not KNOWN_KEYS.issuperset(raw):
        unknown = raw.keys() - KNOWN_KEYS
        errors.append(f"unknown element(s) {', '.join(sorted(map(str, unknown)))}")
    if effect not in EFFECTS:
        errors.append(f"Effect must be Allow or Deny, not {effect!r}")
    if sid is not None and not isinstance(sid, str):
        errors.append(f"Sid must be a string, not {sid!r}")
    if ("Action" in raw) == ("NotAction" in raw):
        errors.append("needs exactly one of Action or NotAction")
    if "Resource" in raw and "NotResource" in raw:
        errors.append("has both Resource and NotResource")
    values: dict[str, tuple[str, ...] | None] = {}
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in raw:
            values[key] = _string_tuple(raw[key])
            if values[key] is None:
                errors.append(f"{key} must be a string or a non-empty list of strings")
    for key in ("Principal", "NotPrincipal"):
        if key in raw and not _principal_ok(raw[key]):
            errors.append(f"{key} must be '*' or a map of principal type to strings")
    conditions = _conditions(raw["Condition"]) if "Condition" in raw else {}
    if conditions is None:
        errors.append("Condition must map operators to {key: value(s)}")
    if errors:
        problems.append((index, f"statement {index}: " + "; ".join(errors)))
        return None
    get = values.get
    return Statement(  # positional: index, sid, effect, actions, not_actions, resources, not_resources, ...
        index,
        sid or None,
        str(effect),
        get("Action"),
        get("NotAction"),
        get("Resource"),
        get("NotResource"),
        raw.get("Principal"),
        raw.get("NotPrincipal"),
        conditions or {},
    )


def parse_document(document: Any) -> ParsedDocument:
    """Every statement that can be read; one problem per unreadable part."""
    parsed = ParsedDocument()
    policy, error = load_document(document)
    if policy is None:
        parsed.problems.append((None, error or "unreadable policy document"))
        return parsed
    raw_statements = policy.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        parsed.problems.append((None, "policy document has no Statement (a statement or a non-empty list)"))
        return parsed
    version = policy.get("Version")
    if version not in (None, "2012-10-17", "2008-10-17"):
        parsed.problems.append((None, f"Version must be 2012-10-17, not {version!r}"))
    for index, raw in enumerate(raw_statements):
        statement = parse_statement(index, raw, parsed.problems)
        if statement is not None:
            parsed.statements.append(statement)
    return parsed
