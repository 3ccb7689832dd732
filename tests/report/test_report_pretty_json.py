"""The reports' JSON writer (report/pretty_json.py) writes exactly what json.dumps(indent=2, sort_keys=True)
writes: the JSON and SARIF reports must not change by a byte for being written faster."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iam_guard.report import pretty_json


class Tag(str):
    """A str subclass (as an enum of strings would be): json writes it as a string."""


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),  # every code point: control characters, quotes, backslashes, astral planes
    st.text(max_size=5).map(Tag),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=8), children, max_size=5),
        st.dictionaries(st.integers(min_value=-5, max_value=5), children, max_size=3),
    ),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(values)
def test_cli_1_pretty_json_is_byte_identical_to_json_dumps(value: Any) -> None:
    assert pretty_json.dumps(value) == json.dumps(value, indent=2, sort_keys=True)


def test_cli_1_pretty_json_report_shape_is_json_dumps_text() -> None:
    finding = {
        "actions": ["iam:PassRole", "ec2:RunInstances"],
        "resources": [],
        "branch": None,
        "line": 12,
        "suppressed": False,
        "message": "statement 0 allows \"iam:PassRole\" on \u2028 every resource '*'",
        "nested": {"empty": {}, "list": [[], [1, True, None]], "ratio": 0.5},
    }
    body = {"findings": [finding, {}], "summary": {"by_severity": {"high": 1, "low": 0}}, "skipped": []}
    expected = json.dumps(body, indent=2, sort_keys=True)
    assert pretty_json.dumps(body) == expected
    assert '"message": "statement 0 allows \\"iam:PassRole\\" on \\u2028 every' in expected
