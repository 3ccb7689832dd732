"""ORG-3: cross-account reach. Who can become admin where: paths of sts:AssumeRole hops across the accounts
of an organization, built from each principal's own policies and each role's trust (IAM's rules)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iam_guard.analysis import Finding, Severity
from iam_guard.analysis.account import PrincipalToAudit, Reference, Traversal, reach_of_unit
from iam_guard.analysis.cross_account import (
    PrincipalReach,
    ReachPath,
    load_reaches,
    reach_of_principal,
    reach_paths,
)

A, B, C, D, E = "111111111111", "222222222222", "333333333333", "444444444444", "555555555555"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def allow_assume(
    *resources: str, sid: str | None = None, condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": list(resources)}
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def deny_assume(*resources: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": list(resources)}],
    }


def trust(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def user(account: str, name: str, *documents: dict[str, Any]) -> PrincipalReach:
    return reach_of_principal(account, arn(account, "user", name), "user", list(documents), None, [])


def role(
    account: str, name: str, trust_policy: dict[str, Any] | None, *documents: dict[str, Any]
) -> PrincipalReach:
    return reach_of_principal(account, arn(account, "role", name), "role", list(documents), trust_policy, [])


def planted() -> list[PrincipalReach]:
    """user alice in A -> role Deploy in B -> admin role Admin in C, and bystanders."""
    return [
        user(A, "alice", allow_assume(arn(B, "role", "Deploy"), sid="AssumeDeploy")),
        role(B, "Deploy", trust({"AWS": arn(A, "user", "alice")}), allow_assume(arn(C, "role", "Admin"))),
        role(C, "Admin", trust({"AWS": f"arn:aws:iam::{B}:root"}), ADMIN),
        user(A, "bob", READ_ONLY),
        role(C, "Lambda", trust({"Service": "lambda.amazonaws.com"}), ADMIN),
    ]


def paths_between(paths: list[ReachPath], source: str, target: str) -> list[ReachPath]:
    return [path for path in paths if path.source == source and path.target == target]


def test_org_3_planted_path_user_a_role_b_admin_c_is_found_with_two_hops_in_order() -> None:
    paths = reach_paths(planted())
    [path] = paths_between(paths, arn(A, "user", "alice"), arn(C, "role", "Admin"))
    assert [(hop.source, hop.target) for hop in path.hops] == [
        (arn(A, "user", "alice"), arn(B, "role", "Deploy")),
        (arn(B, "role", "Deploy"), arn(C, "role", "Admin")),
    ]
    assert path.codes == ("IAMG001",) and path.severity == "critical"
    assert path.describe() == (
        "arn:aws:iam::111111111111:user/alice (111111111111) -> arn:aws:iam::222222222222:role/Deploy "
        "(222222222222) -> arn:aws:iam::333333333333:role/Admin (333333333333): IAMG001 admin"
    )
    first, second = path.hops
    assert first.trust_element == arn(A, "user", "alice")
    assert first.identity_statement == "policy 0 statement 0 (Sid AssumeDeploy)"
    assert second.trust_element == f"arn:aws:iam::{B}:root"
    assert "admits arn:aws:iam::222222222222:root" in second.why()
    data = path.to_dict()
    assert data["accounts"] == [A, B, C] and [hop["target"] for hop in data["hops"]] == [
        arn(B, "role", "Deploy"),
        arn(C, "role", "Admin"),
    ]
    # the Deploy role's own one-hop path is reported too; bob (no sts:AssumeRole) and the service role are not
    assert {(p.source, p.target) for p in paths} == {
        (arn(A, "user", "alice"), arn(C, "role", "Admin")),
        (arn(B, "role", "Deploy"), arn(C, "role", "Admin")),
    }


def test_org_3_account_root_trust_admits_a_user_allowed_assume_role_on_star() -> None:
    reaches = [user(A, "carol", allow_assume("*")), role(B, "Admin", trust({"AWS": A}), ADMIN)]
    [path] = reach_paths(reaches)
    assert path.hops[0].trust_element == A and path.hops[0].identity_statement == "policy 0 statement 0"
    assert reaches[0].assumable == ("*",)


def test_org_3_user_without_assume_role_is_not_a_source() -> None:
    reaches = [user(A, "dave", READ_ONLY), role(B, "Admin", trust({"AWS": f"arn:aws:iam::{A}:root"}), ADMIN)]
    assert reaches[0].assumable == ()
    assert reach_paths(reaches) == []
    # trusted by its own ARN from another account, it still needs its own permission (IAM's rule)
    named = [user(A, "dave", READ_ONLY), role(B, "Admin", trust({"AWS": arn(A, "user", "dave")}), ADMIN)]
    assert reach_paths(named) == []


def test_org_3_deny_on_assume_role_removes_it() -> None:
    denied_everywhere = user(A, "erin", allow_assume("*"), deny_assume("*"))
    assert denied_everywhere.assumable == ()
    admin_b = role(B, "Admin", trust({"AWS": A}), ADMIN)
    admin_c = role(C, "Admin", trust({"AWS": A}), ADMIN)
    assert reach_paths([denied_everywhere, admin_b, admin_c]) == []
    denied_one = user(A, "erin", allow_assume("*"), deny_assume(arn(B, "role", "Admin")))
    assert denied_one.denied == (arn(B, "role", "Admin"),)
    assert [path.target for path in reach_paths([denied_one, admin_b, admin_c])] == [arn(C, "role", "Admin")]
    # a conditional Deny might not apply: the path stays (conservative)
    conditional = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "sts:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ],
    }
    assert len(reach_paths([user(A, "erin", allow_assume("*"), conditional), admin_b])) == 1


def chain(length: int) -> list[PrincipalReach]:
    """user in account 0 -> role in account 1 -> ... -> admin role in account `length`."""
    accounts = [f"{index:012d}" for index in range(1, length + 2)]
    reaches = [user(accounts[0], "start", allow_assume("*"))]
    for index in range(1, length + 1):
        previous = reaches[-1].arn
        documents = [ADMIN] if index == length else [allow_assume("*")]
        reaches.append(role(accounts[index], f"Step{index}", trust({"AWS": previous}), *documents))
    return reaches


def test_org_3_four_hop_chain_is_cut_at_three() -> None:
    reaches = chain(4)
    paths = reach_paths(reaches)
    assert reaches[0].arn not in {path.source for path in paths}  # 4 hops: beyond the limit
    assert max(len(path.hops) for path in paths) == 3
    assert [(path.source, len(path.hops)) for path in paths] == [
        (reaches[3].arn, 1),
        (reaches[2].arn, 2),
        (reaches[1].arn, 3),
    ]
    assert len(paths_between(reach_paths(chain(3)), chain(3)[0].arn, chain(3)[-1].arn)) == 1
    assert [len(p.hops) for p in reach_paths(reaches, max_hops=1)] == [1]
    with pytest.raises(ValueError, match="max_hops"):
        reach_paths(reaches, max_hops=4)


def test_org_3_cycles_terminate_and_no_path_visits_a_principal_twice() -> None:
    # B's and C's roles trust each other and the admin trusts both: a cycle B <-> C
    loop_b = role(
        B, "Loop", trust({"AWS": [arn(C, "role", "Loop"), arn(A, "user", "frank")]}), allow_assume("*")
    )
    loop_c = role(C, "Loop", trust({"AWS": arn(B, "role", "Loop")}), allow_assume("*"))
    admin = role(D, "Admin", trust({"AWS": [arn(B, "role", "Loop"), arn(C, "role", "Loop")]}), ADMIN)
    paths = reach_paths([user(A, "frank", allow_assume("*")), loop_b, loop_c, admin])
    for path in paths:
        principals = [principal for principal, _ in path.principals]
        assert len(principals) == len(set(principals))
    assert {(p.source, len(p.hops)) for p in paths} == {
        (arn(A, "user", "frank"), 2),
        (arn(B, "role", "Loop"), 1),
        (arn(C, "role", "Loop"), 1),
    }


def test_org_3_role_whose_trust_admits_only_a_service_is_not_reachable() -> None:
    service_only = role(B, "Admin", trust({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}), ADMIN)
    federated = role(C, "Admin", trust({"Federated": "cognito-identity.amazonaws.com"}), ADMIN)
    assert service_only.severity == "critical"
    assert reach_paths([user(A, "gina", allow_assume("*")), service_only, federated]) == []


def test_org_3_star_trust_restricted_by_principal_org_id_admits_the_organization() -> None:
    org_trust = trust("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    reaches = [user(A, "hal", allow_assume("*")), role(B, "OrgAdmin", org_trust, ADMIN)]
    [path] = reach_paths(reaches)
    assert path.hops[0].trust_element == "*" and path.hops[0].conditions == ()
    assert len(reach_paths(reaches, organization_id="o-abc123")) == 1
    assert reach_paths(reaches, organization_id="o-other99") == []


def test_org_3_principal_arn_condition_narrows_as_iam_does() -> None:
    source = user(A, "ivan", allow_assume("*"))

    def reached(condition: dict[str, Any]) -> bool:
        return bool(reach_paths([source, role(B, "Admin", trust({"AWS": A}, condition), ADMIN)]))

    assert reached({"ArnEquals": {"aws:PrincipalArn": arn(A, "user", "ivan")}})
    assert not reached({"ArnEquals": {"aws:PrincipalArn": arn(A, "user", "someone-else")}})
    assert not reached({"StringEquals": {"aws:PrincipalAccount": C}})
    assert reached(
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/ivan"}}
    )  # a wildcard narrows nothing
    assert not reached({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}})
    assert not reached({"StringEquals": {"aws:PrincipalType": "AssumedRole"}})


def test_org_3_external_id_keeps_the_path_and_names_the_condition() -> None:
    source = user(A, "judy", allow_assume("*"))
    with_id = role(B, "Admin", trust({"AWS": A}, {"StringEquals": {"sts:ExternalId": "s3cr3t"}}), ADMIN)
    [path] = reach_paths([source, with_id])
    assert path.hops[0].conditions == ("sts:ExternalId",)
    assert "if the caller meets sts:ExternalId" in path.hops[0].why()
    star_id = role(B, "Admin", trust({"AWS": A}, {"StringLike": {"sts:ExternalId": "*"}}), ADMIN)
    assert reach_paths([source, star_id])[0].hops[0].conditions == ()


def test_org_3_paths_within_one_account_are_not_reported() -> None:
    reaches = [user(A, "kim", allow_assume("*")), role(A, "Admin", trust({"AWS": A}), ADMIN)]
    assert reach_paths(reaches) == []


def test_org_3_trust_naming_a_principal_of_its_own_account_needs_no_identity_permission() -> None:
    # lee has no sts:AssumeRole, but Hop (same account) names lee: IAM admits it; Hop then reaches B's admin
    reaches = [
        user(A, "lee", READ_ONLY),
        role(A, "Hop", trust({"AWS": arn(A, "user", "lee")}), allow_assume(arn(B, "role", "Admin"))),
        role(B, "Admin", trust({"AWS": f"arn:aws:sts::{A}:assumed-role/Hop/session"}), ADMIN),
    ]
    [path] = paths_between(reach_paths(reaches), arn(A, "user", "lee"), arn(B, "role", "Admin"))
    assert path.hops[0].identity_statement is None
    assert path.hops[1].trust_element == f"arn:aws:sts::{A}:assumed-role/Hop/session"
    # an explicit Deny still wins over the trust that names lee
    reaches[0] = user(A, "lee", READ_ONLY, deny_assume(arn(A, "role", "Hop")))
    assert paths_between(reach_paths(reaches), arn(A, "user", "lee"), arn(B, "role", "Admin")) == []


def test_org_3_a_role_that_can_only_assume_roles_is_not_an_end() -> None:
    hopper = role(B, "Hopper", trust({"AWS": A}), allow_assume("*"))
    assert hopper.codes == () and hopper.severity is None
    assert reach_paths([user(A, "mia", allow_assume("*")), hopper]) == []


def test_org_3_escalation_and_findings_from_the_audit_end_paths() -> None:
    escalating = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["iam:AttachRolePolicy"], "Resource": "*"}],
    }
    target = role(B, "Escalate", trust({"AWS": A}), escalating)
    assert target.codes == ("IAMG006",) and target.severity == "high"
    [path] = reach_paths([user(A, "ned", allow_assume("*")), target])
    assert path.describe().endswith(": IAMG006 escalation")


def finding(code: str, severity: Severity, message: str = "") -> Finding:
    return Finding(code, severity, message, None, None, (), (), "")


def test_org_3_the_audit_findings_that_make_a_principal_an_end() -> None:
    def codes_of(*findings: Finding) -> tuple[tuple[str, ...], str | None]:
        reach = reach_of_principal(B, arn(B, "role", "R"), "role", [READ_ONLY], trust({"AWS": A}), findings)
        return reach.codes, reach.severity

    assert codes_of(finding("IAMG003", Severity.HIGH)) == (("IAMG003",), "high")
    assert codes_of(finding("IAMG019", Severity.HIGH)) == (("IAMG019",), "high")  # not analyzed: never safe
    assert codes_of(finding("IAMG003", Severity.MEDIUM), finding("IAMG008", Severity.HIGH)) == ((), None)
    only_assume = finding(
        "IAMG006", Severity.HIGH, "privilege escalation in this policy: AssumeRoleOnAnyRole (statements 0)"
    )
    assert codes_of(only_assume) == ((), None)
    both = finding(
        "IAMG006",
        Severity.HIGH,
        "privilege escalation ...: AssumeRoleOnAnyRole, PutRolePolicy (statements 0)",
    )
    assert codes_of(both, finding("IAMG001", Severity.CRITICAL)) == (("IAMG001", "IAMG006"), "critical")


def test_org_3_reach_of_unit_reads_the_role_and_user_of_account_authorization_details() -> None:
    managed = "arn:aws:iam::aws:policy/AdministratorAccess"
    traversal = Traversal(Reference(), lambda policy_arn: ADMIN if policy_arn == managed else None)
    role_entry = {
        "RoleName": "Admin",
        "Arn": arn(B, "role", "Admin"),
        "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect"
        "%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22111111111111%22%7D%2C%22Action%22%3A%22sts"
        "%3AAssumeRole%22%7D%5D%7D",
        "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": managed}],
    }
    [unit] = [u for u in traversal.units("Role", role_entry) if isinstance(u, PrincipalToAudit)]
    admin = reach_of_unit(B, unit, [])
    assert admin is not None and admin.trust == trust({"AWS": A}) and admin.codes == ("IAMG001",)
    user_entry = {
        "UserName": "olga",
        "Arn": arn(A, "user", "olga"),
        "UserPolicyList": [{"PolicyName": "assume", "PolicyDocument": allow_assume("*")}],
    }
    [user_unit] = [u for u in traversal.units("User", user_entry) if isinstance(u, PrincipalToAudit)]
    olga = reach_of_unit(A, user_unit, [])
    assert olga is not None and olga.kind == "user" and olga.assumable == ("*",) and olga.trust is None
    assert [p.target for p in reach_paths([olga, admin])] == [arn(B, "role", "Admin")]
    assert reach_of_unit(C, user_unit, []) is None  # not this account's principal


def test_org_3_more_patterns_than_the_graph_bounds_are_taken_as_star() -> None:
    many = user(A, "ruth", allow_assume(*(arn(B, "role", f"r{n}") for n in range(300))))
    assert many.assumable == ("*",)
    assert many.assume_statements == ("300 sts:AssumeRole resource patterns (over 256): taken as *",)
    assert len(reach_paths([many, role(C, "Admin", trust({"AWS": A}), ADMIN)])) == 1


def test_org_3_to_dict_and_from_dict_round_trip() -> None:
    for reach in planted():
        assert PrincipalReach.from_dict(json.loads(json.dumps(reach.to_dict()))) == reach


VALID = user(A, "pat", allow_assume("*")).to_dict()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("arn", "arn:aws:s3:::bucket"),
        ("arn", 7),
        ("account", "12345"),
        ("account", B),
        ("kind", "group"),
        ("kind", "role"),
        ("assumable", "*"),
        ("assumable", [1]),
        ("assumable", ["x" * 5000]),
        ("assumable", [f"arn:aws:iam::{B}:role/r{n}" for n in range(300)]),
        ("assumeStatements", ["one", "two"]),
        ("trust", {"Statement": []}),
        ("codes", ["IAMG001; DROP"]),
        ("severity", "medium"),
        ("surprise", True),
    ],
)
def test_org_3_from_dict_rejects_malformed_input_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"field '{field}'"):
        PrincipalReach.from_dict({**VALID, field: value})


def test_org_3_from_dict_rejects_what_is_not_a_record() -> None:
    with pytest.raises(ValueError, match="must be a JSON object"):
        PrincipalReach.from_dict(["not", "a", "record"])


def test_org_3_load_reaches_keeps_each_account_to_its_own_principals() -> None:
    written = json.loads(json.dumps([reach.to_dict() for reach in planted() if reach.account == A]))
    assert [reach.arn for reach in load_reaches(A, written)] == [
        arn(A, "user", "alice"),
        arn(A, "user", "bob"),
    ]
    forged = [*written, role(C, "Admin", trust({"AWS": A}), ADMIN).to_dict()]
    with pytest.raises(ValueError, match="field 'account': '333333333333' is not the account whose results"):
        load_reaches(A, forged)
    with pytest.raises(ValueError, match="must be a list"):
        load_reaches(A, {"arn": "x"})


def test_org_3_paths_are_deterministic_whatever_the_input_order() -> None:
    reaches = (
        planted()
        + chain(3)
        + [user(C, "quinn", allow_assume("*")), role(D, "Admin", trust({"AWS": C}), ADMIN)]
    )
    expected = [path.to_dict() for path in reach_paths(reaches)]
    for seed in range(5):
        shuffled = list(reaches)
        random.Random(seed).shuffle(shuffled)
        assert [path.to_dict() for path in reach_paths(shuffled)] == expected
    severities = [path.severity for path in reach_paths(reaches)]
    assert severities == sorted(severities, key=lambda label: label != "critical")


ACCOUNTS = (A, B, C, D)
NAMES = ("r0", "r1", "r2")
trust_principals = st.sampled_from(
    ["*", *ACCOUNTS, *(arn(account, "role", name) for account in ACCOUNTS for name in NAMES)]
)
resources = st.sampled_from(
    ["*", "arn:aws:iam::*:role/r1", *(arn(a, "role", n) for a in ACCOUNTS for n in NAMES)]
)


@st.composite
def organizations(draw: st.DrawFn) -> list[tuple[str, str, list[str], list[str], bool]]:
    """(account, role name, trust principals, assumable resources, admin) per role."""
    return [
        (
            account,
            name,
            draw(st.lists(trust_principals, min_size=1, max_size=3)),
            draw(st.lists(resources, max_size=2)),
            draw(st.booleans()),
        )
        for account in ACCOUNTS
        for name in NAMES
    ]


def build(
    roles: list[tuple[str, str, list[str], list[str], bool]], denied: dict[int, str]
) -> list[PrincipalReach]:
    built = []
    for index, (account, name, principals, assumable, admin) in enumerate(roles):
        documents = [allow_assume(*assumable)] if assumable else []
        if admin:
            documents.append(ADMIN)
        if index in denied:
            documents.append(deny_assume(denied[index]))
        built.append(role(account, name, trust({"AWS": principals}), *documents))
    return built


def path_keys(reaches: list[PrincipalReach]) -> set[tuple[str, ...]]:
    return {tuple(principal for principal, _ in path.principals) for path in reach_paths(reaches)}


@settings(max_examples=60, deadline=None)
@given(
    organizations(), st.dictionaries(st.integers(0, len(ACCOUNTS) * len(NAMES) - 1), resources, max_size=3)
)
def test_org_3_adding_a_deny_never_adds_a_path(
    roles: list[tuple[str, str, list[str], list[str], bool]], denied: dict[int, str]
) -> None:
    without = build(roles, {})
    with_denies = build(roles, denied)
    before = {(p.source, p.target) for p in reach_paths(without)}
    after = {(p.source, p.target) for p in reach_paths(with_denies)}
    assert after <= before
