"""CloudFormation intrinsics turned into values the analyzer can read, one condition assignment at a time.

`Fn::If` is evaluated for a given {condition: true/false} choice, so both branches of every Fn::If are
analyzed (see `assignments`). Ref/GetAtt/Sub/Join/ImportValue/FindInMap become `${...}` placeholders
that the analyzer treats as a named resource, never as `*` (a Sub whose text is literally `*` stays `*`).
`Ref: AWS::NoValue` removes the value, as CloudFormation does. YAML dates (`Version: 2012-10-17`) become
the string CloudFormation sends to IAM. Mappings read from the file keep the line they start on.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

EXHAUSTIVE_CONDITIONS = 4  # up to 2**4 assignments; beyond, each condition is flipped on its own
MAX_DEPTH = 200  # deeper values are not CloudFormation (its own limit is far lower); reported, not walked
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class NestingTooDeep(ValueError):
    """A value nested deeper than MAX_DEPTH."""


class Located(dict[str, Any]):
    """A mapping read from a file, with the 1-based line it starts on (None when unknown)."""

    __slots__ = ("line",)

    def __init__(self, items: Mapping[str, Any], line: int | None) -> None:
        super().__init__(items)
        self.line = line


class Resolved(Located):
    """A mapping known to hold no intrinsic function, nothing nested deeper than MAX_DEPTH and only the
    plain types JSON decodes to: resolve() returns it as it is."""

    __slots__ = ()


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def line_of(node: Any) -> int | None:
    """The 1-based line a decoded node starts on (cfn-lint's decoder keeps start marks), or None."""
    mark = getattr(node, "start_mark", None)
    line = getattr(mark, "line", None)
    if isinstance(line, int):
        return line + 1
    return getattr(node, "line", None) if isinstance(node, Located) else None


def is_placeholder(value: Any) -> bool:
    """A whole value that stands for something only known at deploy time ("${Param}")."""
    return (
        isinstance(value, str) and value.startswith("${") and value.endswith("}") and value.count("${") == 1
    )


def conditions_used(value: Any) -> list[str]:
    """The condition names of every Fn::If inside value, in first-use order (iterative: no recursion)."""
    names: list[str] = []
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise NestingTooDeep(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            branch = item.get("Fn::If") if len(item) == 1 else None
            if isinstance(branch, list) and branch and isinstance(branch[0], str) and branch[0] not in names:
                names.append(branch[0])
            stack.extend((child, depth + 1) for child in reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in reversed(item))
    return names


def assignments(names: list[str]) -> list[dict[str, bool]]:
    """The condition choices to analyze: every combination for up to EXHAUSTIVE_CONDITIONS conditions;
    beyond that all-true, then each condition false on its own (both branches of every Fn::If still
    analyzed, combinations of several false conditions not)."""
    if len(names) <= EXHAUSTIVE_CONDITIONS:
        return [
            dict(zip(names, values, strict=True))
            for values in itertools.product((True, False), repeat=len(names))
        ]
    everything_true = dict.fromkeys(names, True)
    return [everything_true] + [everything_true | {name: False} for name in names]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return "${...}"


def _sub(argument: Any, choices: Mapping[str, bool], depth: int) -> Any:
    if isinstance(argument, list) and argument:
        text = _text(resolve(argument[0], choices, depth + 1))
        variables = argument[1] if len(argument) > 1 and isinstance(argument[1], dict) else {}
        resolved = {str(k): resolve(v, choices, depth + 1) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            return _text(resolved[name]) if name in resolved else match.group(0)

        return _SUB_VARIABLE.sub(substitute, text)
    return _text(resolve(argument, choices, depth + 1))


def _join(argument: Any, choices: Mapping[str, bool], depth: int) -> Any:
    if not (isinstance(argument, list) and len(argument) == 2):
        return "${Fn::Join}"
    separator, parts = argument
    resolved = resolve(parts, choices, depth + 1)
    if not isinstance(resolved, list):
        return "${Fn::Join}"
    return _text(separator).join(_text(part) for part in resolved)


def _select(argument: Any, choices: Mapping[str, bool], depth: int) -> Any:
    if isinstance(argument, list) and len(argument) == 2:
        index = resolve(argument[0], choices, depth + 1)
        items = resolve(argument[1], choices, depth + 1)
        if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
            return items[int(index)]
    return "${Fn::Select}"


def _intrinsic(key: str, argument: Any, choices: Mapping[str, bool], depth: int) -> Any:
    if key == "Ref":
        return NO_VALUE if argument == "AWS::NoValue" else f"${{{_text(argument)}}}"
    if key == "Fn::If":
        if isinstance(argument, list) and len(argument) == 3:
            chosen = argument[1] if choices.get(str(argument[0]), True) else argument[2]
            return resolve(chosen, choices, depth + 1)
        return "${Fn::If}"
    if key == "Fn::Sub":
        return _sub(argument, choices, depth)
    if key == "Fn::GetAtt":
        parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return "${" + ".".join(_text(resolve(part, choices, depth + 1)) for part in parts) + "}"
    if key == "Fn::Join":
        return _join(argument, choices, depth)
    if key == "Fn::Select":
        return _select(argument, choices, depth)
    if key == "Fn::ImportValue":
        return "${ImportValue:" + _text(resolve(argument, choices, depth + 1)) + "}"
    if key == "Fn::FindInMap" and isinstance(argument, list):
        return "${FindInMap:" + ".".join(_text(resolve(a, choices, depth + 1)) for a in argument[:3]) + "}"
    if key == "Fn::ToJsonString":
        return json.dumps(resolve(argument, choices, depth + 1), default=str)
    return f"${{{key}}}"


def resolve(value: Any, choices: Mapping[str, bool], depth: int = 0) -> Any:
    """value with every intrinsic replaced (see the module docstring); plain str/list/Located/scalars
    out, never the decoder's node classes (the analyzer checks `type(x) is str`)."""
    if depth > MAX_DEPTH:
        raise NestingTooDeep(f"nested deeper than {MAX_DEPTH} levels")
    if type(value) is Resolved:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, datetime.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, list):
        items = [resolve(item, choices, depth + 1) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                return _intrinsic(str(key), argument, choices, depth)
        resolved = {_text(k): resolve(v, choices, depth + 1) for k, v in value.items()}
        return Located({k: v for k, v in resolved.items() if v is not NO_VALUE}, line_of(value))
    return _text(value)


def variants(value: Any) -> Iterator[tuple[dict[str, bool], Any]]:
    """(condition choices, resolved value) for every assignment of the Fn::If conditions in value."""
    for choices in assignments(conditions_used(value)):
        yield choices, resolve(value, choices)
