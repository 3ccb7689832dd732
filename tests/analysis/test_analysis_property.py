"""ANA: arbitrary JSON-like documents never make the analyzer raise (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iam_guard.analysis import Finding, analyze_policy, analyze_principal

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        ["*", "iam:*", "s3:Get*", "iam:PassRole", "Allow", "Deny", "arn:aws:s3:::b/*", "sts:AssumeRole"]
    ),
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "Sid",
    ]
)
statements = st.dictionaries(keys, json_like, max_size=6)
documents = st.one_of(
    json_like,
    st.builds(
        lambda s, v: {"Version": v, "Statement": s}, st.lists(statements, max_size=4) | statements, json_like
    ),
)


@settings(max_examples=300, deadline=None)
@given(document=documents, policy_type=st.sampled_from(["identity", "resource", "trust", "bogus"]))
def test_ana_1_arbitrary_documents_never_raise(document: Any, policy_type: str) -> None:
    findings = analyze_policy(document, policy_type)
    assert all(isinstance(f, Finding) for f in findings)
    json.dumps([f.to_dict() for f in findings])
    text = json.dumps(document)
    assert [f.code for f in analyze_policy(text, policy_type)] == [f.code for f in findings]


@settings(max_examples=100, deadline=None)
@given(docs=st.lists(documents, max_size=3))
def test_ana_6_arbitrary_principal_documents_never_raise(docs: list[Any]) -> None:
    assert all(isinstance(f, Finding) for f in analyze_principal(docs))
