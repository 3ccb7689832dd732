"""H-6: IAM wildcard matching cannot be made to hang. The matcher agrees with independent references, its
work (counted in steps, never timed) stays polynomial and small over adversarial patterns, and every
wildcard match of the analyzer goes through it."""

from __future__ import annotations

import ast
import fnmatch
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from iam_guard.analysis.index import expand, load_index
from iam_guard.analysis.wildcard import compile_wildcard, match_steps, matches, star_free_regex
from support import REPO_ROOT

ANALYSIS = REPO_ROOT / "src" / "iam_guard" / "analysis"


def reference_match(pattern: str, name: str) -> bool:
    """Textbook dynamic programming over (pattern prefix, name prefix): independent of the matcher."""
    reachable = [True] + [False] * len(name)
    for char in pattern:
        if char == "*":
            for j in range(1, len(name) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            reachable = [False] + [
                reachable[j - 1] and (char == "?" or char == name[j - 1]) for j in range(1, len(name) + 1)
            ]
    return reachable[len(name)]


def step_bound(pattern: str, name: str) -> int:
    """The bound wildcard.py documents: linear in the pattern, quadratic in the (short) name."""
    return len(pattern) + 1 + 8 * (len(name) + 1) ** 2


small_patterns = st.text(alphabet="ab:*?[]", max_size=12)
small_names = st.text(alphabet="ab:[]", max_size=12)


@settings(max_examples=2000, deadline=None)
@given(pattern=small_patterns, name=small_names)
@example(pattern="a*ab", name="aab")
@example(pattern="*ab*ab*", name="abab")
@example(pattern="*a?b*", name="aab")
@example(pattern="?*?", name="a")
@example(pattern="[ab]", name="a")  # IAM has no character classes: '[' is a literal
@example(pattern="[ab]", name="[ab]")
def test_h_6_matcher_agrees_with_a_dynamic_programming_reference(pattern: str, name: str) -> None:
    assert matches(pattern, name, ignore_case=False) is reference_match(pattern, name)


@settings(max_examples=1000, deadline=None)
@given(pattern=st.text(alphabet="aB:*?", max_size=12), name=st.text(alphabet="Ab:", max_size=12))
def test_h_6_matcher_agrees_with_fnmatch_where_fnmatch_is_safe(pattern: str, name: str) -> None:
    """fnmatch (small inputs, no '['): the action matcher is case-insensitive as IAM is, StringLike is not."""
    assert matches(pattern, name) is fnmatch.fnmatchcase(name.lower(), pattern.lower())
    assert matches(pattern, name, ignore_case=False) is fnmatch.fnmatchcase(name, pattern)


@settings(max_examples=500, deadline=None)
@given(pattern=small_patterns, names=st.lists(small_names, max_size=12))
def test_h_6_batch_filter_agrees_with_matching_each_name(pattern: str, names: list[str]) -> None:
    """expand() runs the greedy algorithm segment by segment over the catalogue: same answers, same order."""
    wildcard = compile_wildcard(pattern, ignore_case=False)
    assert wildcard.filter(names) == [name for name in names if reference_match(pattern, name)]


def star_question_runs(count: int, tail: str) -> str:
    return "ec2:" + "*?" * count + "*" + tail


adversarial_patterns = st.one_of(
    st.builds(star_question_runs, st.integers(0, 3000), st.sampled_from(["zz", "a", "", "?zz", "aaab"])),
    st.builds(lambda n, end: "a*" * n + end, st.integers(1, 1500), st.sampled_from(["b", "a", "?b", "a?"])),
    st.builds(lambda n: "*a?" * n + "*b", st.integers(1, 1000)),
    st.builds(lambda n: "?" * n + "*", st.integers(1, 3000)),
    st.text(alphabet="a*?b", min_size=1, max_size=3000),
)
adversarial_names = st.one_of(
    st.builds(lambda n, end: "a" * n + end, st.integers(0, 200), st.sampled_from(["", "b", "zz", "ab"])),
    st.builds(lambda n: "ec2:" + "a" * n + "zz", st.integers(0, 100)),
    st.text(alphabet="ab", max_size=200),
)


@settings(max_examples=400, deadline=None)
@given(pattern=adversarial_patterns, name=adversarial_names)
@example(pattern=star_question_runs(6, "zz"), name="ec2:" + "a" * 40)  # 19.9 s with the old regex
@example(pattern="a*" * 30 + "b", name="a" * 200)
@example(pattern="*a?" * 30 + "*b", name="a" * 200)
def test_h_6_steps_stay_polynomial_over_adversarial_patterns(pattern: str, name: str) -> None:
    matched, steps = match_steps(pattern, name)
    assert steps <= step_bound(pattern, name), (len(pattern), len(name), steps)
    if len(pattern) <= 60 and len(name) <= 60:
        assert matched is reference_match(pattern.lower(), name.lower())


def test_h_6_star_question_runs_collapse_and_cost_the_same_as_one_star() -> None:
    """Each extra '*?' multiplied the old regex's time by 7; here it adds one '?' and a few steps."""
    assert compile_wildcard("ec2:*?*?*?*zz").normalized == "ec2:???*zz"
    name = "ec2:" + "a" * 60
    costs = [match_steps(star_question_runs(count, "zz"), name)[1] for count in (6, 12, 24)]
    assert costs == sorted(costs)
    assert costs[2] - costs[0] <= 2 * (24 - 6) + 40, costs  # pattern characters plus a constant
    too_long = star_question_runs(3000, "zz")  # needs 3,006 characters: no action name has them
    assert compile_wildcard(too_long).min_length == 3006
    assert expand(too_long) == frozenset()


def test_h_6_expand_matches_what_the_reference_matches_across_the_catalogue() -> None:
    everything = sorted(load_index().everything)
    sample = everything[::97]  # 210 actions of every service
    patterns = ("iam:pu?role*", "*:getobject", "s3:*object*", "ec2:describe*s", "*?3:get*", "ec?:*?*")
    many_services = ("*:*e?t*a*", "?*:*obj*t", "*:*", "*?*:?*", "*-*:*tag*")
    for pattern in patterns + many_services:
        expected = {name for name in sample if reference_match(pattern, name)}
        assert expand(pattern) & set(sample) == expected, pattern
    assert "iam:putrolepolicy" in expand("IAM:Pu?Role*")


def _runtime_regex_or_fnmatch(path_text: str) -> list[str]:
    """re.compile/re.match/... calls inside functions (a pattern built at run time) and fnmatch use."""
    tree = ast.parse(path_text)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            if "fnmatch" in names:
                problems.append("imports fnmatch")
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
            ):
                problems.append(f"re.{node.func.attr} inside {function.name}()")
    return problems


# the one place a regex is built from policy text: one star-free segment ('?' -> '.'), no quantifier
STAR_FREE = ["re.compile inside star_free_regex()", "re.escape inside star_free_regex()"]


def test_h_6_no_analyzer_module_builds_a_regex_at_run_time_or_uses_fnmatch() -> None:
    """Every wildcard of a policy goes through analysis/wildcard.py; the analyzer's other regexes are
    fixed patterns compiled at import."""
    problems = {
        path.name: found
        for path in sorted(ANALYSIS.glob("*.py"))
        if (found := _runtime_regex_or_fnmatch(path.read_text(encoding="utf-8")))
    }
    assert problems == {"wildcard.py": STAR_FREE}


@settings(max_examples=300, deadline=None)
@given(segment=st.text(alphabet=st.characters(blacklist_characters="*"), min_size=1, max_size=40))
def test_h_6_segment_regexes_are_star_free_and_match_one_segment_length(segment: str) -> None:
    """No quantifier, group or alternation can appear, whatever characters the policy holds: the regex
    matches exactly len(segment) characters, '?' any one of them, the rest literally."""
    regex = star_free_regex(segment)
    unescaped = re.sub(r"\\.", "", regex.pattern)
    assert not set(unescaped) & set("*+{}()|[]^$") or unescaped.strip(".") == ""
    text = "".join("x" if char == "?" else char for char in segment)
    assert regex.fullmatch(text) and not regex.fullmatch(text + "x")
    if "?" in segment:
        assert regex.fullmatch(segment.replace("?", "\n"))  # '?' is any character, newline included


def test_h_6_placeholder_rewrite_stays_linear_on_unclosed_placeholders() -> None:
    """'${${${...' used to rescan to the end from every '${' (0.6 s at 10 KB); the rewrite's pattern
    stops at the next '$', so it keeps the CloudFormation placeholders and nothing else."""
    from iam_guard.analysis.grants import _PLACEHOLDER, without_placeholder_colons

    assert "$" in _PLACEHOLDER.pattern.split("[^")[1].split("]")[0]
    assert without_placeholder_colons("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") == (
        "arn:${AWS..Partition}:iam::${AWS..AccountId}:root"
    )
    assert without_placeholder_colons("${" * 5000 + "a:b}") == "${" * 5000 + "a.b}"
    assert re.fullmatch(r"(\$\{)+", without_placeholder_colons("${" * 5000))
