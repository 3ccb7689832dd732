"""H-4 as a property: no event shape makes the policy-change handler's parsing raise anything but the
UnexpectedEvent it acknowledges (so a malformed event is logged and acknowledged, never retried forever)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from handler_helpers import FIXTURES, load_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_events import UnexpectedEvent, parse_change

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIXTURE_NAMES = sorted(path.stem for path in (FIXTURES / "cloudtrail").glob("*.json"))
DETAIL_KEYS = [
    "userIdentity",
    "requestParameters",
    "responseElements",
    "eventName",
    "errorCode",
    "eventSource",
]


def _parse_and_describe(event: Any) -> None:
    try:
        change = parse_change(event)
    except UnexpectedEvent:
        return
    assert isinstance(change.event_name, str)
    assert isinstance(change.target(), dict)
    assert isinstance(change.describe_target(), str)
    assert change.policy_arn is None or isinstance(change.policy_arn, str)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(event=JSON_VALUES)
def test_h_4_arbitrary_json_is_parsed_or_refused_as_unexpected(event: Any) -> None:
    _parse_and_describe(event)


@pytest.mark.parametrize("key", DETAIL_KEYS)
@pytest.mark.parametrize("name", FIXTURE_NAMES)
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])
@given(data=st.data())
def test_h_4_recorded_events_with_one_field_mangled_are_parsed_or_refused(
    name: str, key: str, data: st.DataObject
) -> None:
    event = copy.deepcopy(load_event(name))
    detail = event["detail"]
    if not isinstance(detail, dict):
        return
    nested = detail.get(key)
    value = data.draw(JSON_VALUES, label="value")
    if isinstance(nested, dict) and nested and data.draw(st.booleans(), label="nested"):
        # e.g. requestParameters.policyArn = a list, responseElements.policy = a string
        nested[data.draw(st.sampled_from(sorted(nested)), label="field")] = value
    else:
        detail[key] = value
    _parse_and_describe(event)
