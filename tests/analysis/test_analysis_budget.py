"""H-6: the analyzer cannot be hung or crashed into silence. An admin grant hidden beside an adversarial
wildcard is still reported as the admin grant; a document that cannot be analyzed within its time budget,
or that trips an internal error, is itself a HIGH finding with its own code, never "malformed"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iam_guard.analysis import Finding, Severity, analyze_policy, analyze_principal
from iam_guard.analysis.budget import BudgetExceeded, doing, time_budget
from iam_guard.analysis.codes import ANALYSIS_ERROR, ANALYSIS_TIMEOUT, CODES, MALFORMED, WILDCARD_ACTION
from iam_guard.analysis.index import expand, load_index
from iam_guard.analysis.wildcard import compile_wildcard

# The document of issue 10: 'Action: "*"' on '*' beside an action that took 19.9 s per extra '*?' x7
HIDDEN_ADMIN = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*",'
    '"ec2:*?*?*?*?*?*?*?*?*?*?*?*?*zz"],"Resource":"*"}]}'
)
MANAGED_POLICY_LIMIT = 6144  # characters, IAM's quota for a managed policy document
INLINE_LIMIT = 10240  # characters, IAM's quota for a role's inline policies


def hidden_admin_of_size(size: int, tail: str = "zz") -> str:
    """HIDDEN_ADMIN's shape, its '*?' run grown until the document has exactly `size` characters."""

    def document(runs: int) -> str:
        action = "ec2:" + "*?" * runs + "*" + tail
        return HIDDEN_ADMIN.replace("ec2:*?*?*?*?*?*?*?*?*?*?*?*?*zz", action)

    runs = (size - len(document(0))) // 2
    text = document(runs)
    return text + " " * (size - len(text))


def codes_and_severities(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code, f.severity.label) for f in findings]


def test_h_6_issue_document_reports_the_admin_grant_as_critical() -> None:
    findings = analyze_policy(HIDDEN_ADMIN, "identity", budget_seconds=30)
    assert findings[0].code == WILDCARD_ACTION and findings[0].severity is Severity.CRITICAL
    assert (
        findings[0].message == "statement 0 allows every action '*' on every resource (administrator access)"
    )
    # the crafted action matches nothing: a low "unknown action" note, nothing else
    assert codes_and_severities(findings) == [("IAMG001", "critical"), ("IAMG012", "low")]


@pytest.mark.parametrize("size", [400, 2000, MANAGED_POLICY_LIMIT, INLINE_LIMIT])
@pytest.mark.parametrize("tail", ["zz", "instances", "?", ""])
def test_h_6_longer_star_question_runs_up_to_iam_size_limits_keep_the_admin_grant(
    size: int, tail: str
) -> None:
    document = hidden_admin_of_size(size, tail)
    assert len(document) == size and json.loads(document)
    findings = analyze_policy(document, "identity", budget_seconds=30)
    assert findings[0].code == WILDCARD_ACTION and findings[0].severity is Severity.CRITICAL
    assert not {f.code for f in findings} & {MALFORMED, ANALYSIS_TIMEOUT, ANALYSIS_ERROR}


def test_h_6_star_question_run_that_fits_an_action_still_matches_it() -> None:
    """Collapsing '*?' runs changes no meaning: n '*?' need n characters ('describe' has 8)."""
    eight = "ec2:" + "*?" * 8 + "*instances"
    nine = "ec2:" + "*?" * 9 + "*instances"
    assert {"ec2:describeinstances", "ec2:unmonitorinstances"} <= expand(eight)
    assert "ec2:describeinstances" not in expand(nine) and "ec2:unmonitorinstances" in expand(nine)
    findings = analyze_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": eight, "Resource": "*"}]}
    )
    assert all(f.code != "IAMG012" for f in findings)


def test_h_6_exhausted_budget_is_a_high_finding_that_keeps_the_admin_grant() -> None:
    """A budget of 0 s runs out at the first check, after the document is read: the unknown-type finding
    made before it stays, and the '*' grant is still reported (it needs no expansion)."""
    findings = analyze_policy(HIDDEN_ADMIN, "bogus", budget_seconds=0)
    assert [(f.code, f.severity) for f in findings] == [
        (WILDCARD_ACTION, Severity.CRITICAL),
        (MALFORMED, Severity.HIGH),
        (ANALYSIS_TIMEOUT, Severity.HIGH),
    ]
    admin, unknown_type, timeout = findings
    assert admin.message == (
        "statement 0 allows every action '*' on every resource (administrator access) "
        "(reported after the time budget ran out; denies not weighed)"
    )
    assert unknown_type.message == "unknown policy type 'bogus'; analyzed as an identity policy"
    assert timeout.message == (
        "could not be analyzed within 0 s: stopped while expanding the actions of statement 0 "
        "(actions *, ec2:*?*?*?*?*?*?*?*?*?*?*?*?*zz); the findings before this one are incomplete"
    )
    assert timeout.remediation == CODES[ANALYSIS_TIMEOUT].remediation


@pytest.mark.parametrize(
    ("statement", "policy_type", "expected"),
    [
        ({"Effect": "Allow", "Action": ["s3:*", "*:*"], "Resource": "arn:aws:s3:::b"}, "identity", "medium"),
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "resource", "high"),
        ({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::b"}, "identity", "critical"),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, "identity", None),
        ({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, "identity", None),
        ({"Effect": "Allow", "Action": "*", "Principal": "*"}, "trust", None),
        (
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}},
            },
            "identity",
            None,
        ),
    ],
)
def test_h_6_admin_grant_reported_after_the_budget_follows_the_wildcard_rules(
    statement: dict[str, Any], policy_type: str, expected: str | None
) -> None:
    """The last look applies IAMG001's own severities: critical on '*', medium on named resources, high
    in a resource policy; nothing for a Deny, a service wildcard, a trust policy, a never-true grant."""
    findings = analyze_policy(
        {"Version": "2012-10-17", "Statement": [statement]}, policy_type, budget_seconds=0
    )
    admin = [f.severity.label for f in findings if f.code == WILDCARD_ACTION]
    assert admin == ([expected] if expected else [])
    assert [f.code for f in findings].count(ANALYSIS_TIMEOUT) == 1


def test_h_6_principal_budget_names_the_policy_it_stopped_at() -> None:
    findings = analyze_principal([HIDDEN_ADMIN, HIDDEN_ADMIN], budget_seconds=0.0)
    assert codes_and_severities(findings) == [(ANALYSIS_TIMEOUT, "high")]
    assert findings[0].message.startswith("could not be analyzed within 0 s: stopped while reading policy 0")


def test_h_6_budget_message_shows_the_budget_in_seconds() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    for seconds, shown in ((-3, "-3"), (2.5, "2.5"), (10, "10")):
        with time_budget(0):  # an outer budget already spent: the earlier deadline wins
            findings = analyze_policy(document, budget_seconds=seconds)
        assert [f.code for f in findings] == [ANALYSIS_TIMEOUT]
        assert findings[0].message.startswith(
            f"could not be analyzed within {shown} s: stopped while expanding"
        )


def test_h_6_generous_budget_changes_no_finding() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:Pu?Role*", "s3:Get*", "*:GetObject"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:Invoke*"],
                "Resource": "*",
            },
        ],
    }
    unbounded = analyze_policy(document)
    assert analyze_policy(document, budget_seconds=60) == unbounded
    assert {f.code for f in unbounded} >= {"IAMG002", "IAMG006", "IAMG007"}
    assert analyze_principal([document, HIDDEN_ADMIN], budget_seconds=60) == analyze_principal(
        [document, HIDDEN_ADMIN]
    )


def test_h_6_deadline_is_checked_inside_the_expansion_loop() -> None:
    """Expanding one wildcard against 20,000 actions stops at the deadline, not after the loop."""
    index = load_index()
    with time_budget(0), pytest.raises(BudgetExceeded) as stopped:
        doing("expanding a test pattern")
    assert stopped.value.activity == "expanding a test pattern"
    everything = sorted(index.everything)
    with time_budget(60):
        with time_budget(0), pytest.raises(BudgetExceeded):
            compile_wildcard("*a*").filter(everything)  # stops after 1,024 names, not 20,000
        found = compile_wildcard("*:getobject").filter(everything)
        assert "s3:getobject" in found
        assert found == [name for name in everything if name.endswith(":getobject")]


def test_h_6_budgets_nest_and_keep_the_earlier_deadline() -> None:
    with time_budget(0), time_budget(None), pytest.raises(BudgetExceeded):
        doing("inner")
    with time_budget(None):
        doing("no deadline: never raises")


class HostileMapping(dict):  # type: ignore[type-arg]
    """A mapping that passes for a policy and fails when read: stands for any bug inside the analyzer."""

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("simulated analyzer fault")


class HostileStatements(list):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        raise LookupError("simulated fault while reading statements")


def test_h_6_internal_error_is_its_own_high_finding_never_malformed() -> None:
    findings = analyze_policy(HostileMapping({"Version": "2012-10-17", "Statement": []}))
    assert codes_and_severities(findings) == [(ANALYSIS_ERROR, "high")]
    assert (
        findings[0].message == "could not be analyzed: internal error RuntimeError: simulated analyzer fault"
    )
    valid = {
        "Version": "2012-10-17",
        "Statement": HostileStatements([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    }
    findings = analyze_policy(valid, budget_seconds=10)
    assert codes_and_severities(findings) == [(ANALYSIS_ERROR, "high")]
    assert findings[0].message.startswith("could not be analyzed: internal error LookupError")
    findings = analyze_principal([valid])
    assert codes_and_severities(findings) == [(ANALYSIS_ERROR, "high")]


def test_h_6_codes_are_documented_for_h_6() -> None:
    for code in (ANALYSIS_TIMEOUT, ANALYSIS_ERROR):
        assert CODES[code].requirement == "H-6" and CODES[code].remediation
