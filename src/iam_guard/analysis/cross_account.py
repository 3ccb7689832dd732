"""ORG-3: cross-account reach, "who can become admin where" in an organization (standard library only;
shipped in the Lambda zips; imports only iam_guard.analysis).

    from iam_guard.analysis.cross_account import PrincipalReach, load_reaches, reach_of_principal, reach_paths

Each account's audit turns each user and role into a PrincipalReach (reach_of_principal, see
iam_guard.analysis.principal_reach for what the identity side means, iam_guard.analysis.trust_admission
for the trust side). The consolidator reads each account's reaches back with load_reaches(account, data)
(every field checked, every principal of that account) and gives them all to reach_paths.

A hop is one sts:AssumeRole from a principal to a role: the role's trust admits the caller (its ARN, its
account root, or `*` with only conditions such as aws:PrincipalOrgID) and, unless the trust names the
caller itself in the caller's own account, the caller's identity policies allow sts:AssumeRole on the
role. A reported path:
- has 1 to max_hops hops, crosses at least one account boundary (a path within one account is the
  single-account analyzer's business), visits no principal twice, and ends at a role whose own codes
  make it admin-equivalent or able to escalate (severity high or above);
- is the shortest such path from its first principal to its last role (one path per pair; among equally
  short ones the lexically first by ARNs);
- lists the conditions the hops still need that IAM data cannot decide (sts:ExternalId, MFA, tags...).
Order: worst final severity first, then fewer hops, then the ARNs lexically.

Work (V principals, E hops among them): the trust match is indexed, never all-pairs: for a role, the
candidate callers are looked up by the ARNs its trust names (dict), the accounts whose root it names
(principals of that account allowed some sts:AssumeRole) and, for a trust open to `*`, the callers whose
assumable patterns could match the role (indexed by exact ARN, by the pattern's account, and a list of
patterns open across accounts). A backward breadth-first search from the admin roles, max_hops levels
deep, computes each principal's distance to an admin role and records only the hops into principals at
most max_hops - 1 away: O(candidates examined + E') with E' those hops. Then one breadth-first search per
principal within max_hops of an admin role, over (principal, crossed-a-boundary) states with a visited set,
only stepping to principals from which an admin role is still within the hops left: O(S * E'') at worst
for S such sources, in practice the number of paths reported. Memory: O(V + E').
scripts/bench_cross_account.py times 1,000 accounts of 500 principals.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iam_guard.analysis.model import Severity
from iam_guard.analysis.principal_reach import (
    ESCALATION_CODES,
    PrincipalReach,
    load_reaches,
    reach_of_principal,
)
from iam_guard.analysis.trust_admission import TrustPolicy, source_of
from iam_guard.analysis.wildcard import matches

__all__ = [
    "ESCALATION_CODES",
    "Hop",
    "PrincipalReach",
    "ReachPath",
    "load_reaches",
    "reach_of_principal",
    "reach_paths",
]

MAX_HOPS_LIMIT = 3


@dataclass(frozen=True)
class Hop:
    """One sts:AssumeRole: `source` may assume `target`. `trust_element` is the trust policy's Principal
    entry that admits the source (its ARN, its account root, '*'...), `trust_statement` the statement;
    `identity_statement` the source's statement that allows sts:AssumeRole on the target (None when the
    trust names the source in its own account: no identity permission needed); `conditions` the
    narrowing condition keys still to be met (undecidable from IAM data)."""

    source: str
    source_account: str
    target: str
    target_account: str
    trust_element: str
    trust_statement: str
    identity_statement: str | None
    conditions: tuple[str, ...] = ()

    @property
    def crosses_account(self) -> bool:
        return self.source_account != self.target_account

    def why(self) -> str:
        """'trust statement 0 admits arn:...:root; policy 0 statement 1 allows sts:AssumeRole'."""
        text = f"trust {self.trust_statement} admits {self.trust_element}"
        if self.identity_statement:
            text += f"; {self.identity_statement} allows sts:AssumeRole"
        if self.conditions:
            text += f"; if the caller meets {', '.join(self.conditions)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sourceAccount": self.source_account,
            "target": self.target,
            "targetAccount": self.target_account,
            "trustElement": self.trust_element,
            "trustStatement": self.trust_statement,
            "identityStatement": self.identity_statement,
            "conditions": list(self.conditions),
            "why": self.why(),
        }


@dataclass(frozen=True)
class ReachPath:
    """A cross-account path: its hops in order, and the final role's codes and severity."""

    hops: tuple[Hop, ...]
    codes: tuple[str, ...]
    severity: str

    @property
    def source(self) -> str:
        return self.hops[0].source

    @property
    def target(self) -> str:
        return self.hops[-1].target

    @property
    def principals(self) -> tuple[tuple[str, str], ...]:
        """((ARN, account), ...) from the first principal to the final role."""
        first = self.hops[0]
        return (
            (first.source, first.source_account),
            *((hop.target, hop.target_account) for hop in self.hops),
        )

    @property
    def admin(self) -> bool:
        """The final role is admin-equivalent ('*' on '*'), not only able to escalate."""
        return "IAMG001" in self.codes

    def describe(self) -> str:
        """'arn:...:user/alice (111111111111) -> arn:...:role/Admin (333333333333): IAMG001 admin'."""
        chain = " -> ".join(f"{arn} ({account})" for arn, account in self.principals)
        return f"{chain}: {','.join(self.codes)} {'admin' if self.admin else 'escalation'}"

    def sort_key(self) -> tuple[int, int, tuple[str, ...]]:
        return (-int(Severity.parse(self.severity)), len(self.hops), tuple(arn for arn, _ in self.principals))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "accounts": [account for _, account in self.principals],
            "hops": [hop.to_dict() for hop in self.hops],
            "codes": list(self.codes),
            "severity": self.severity,
            "description": self.describe(),
        }


def _pattern_account(pattern: str) -> str | None:
    """The account a role-ARN pattern is bound to ('' when the pattern can match no IAM role, None when it
    may match roles of any account)."""
    if pattern.strip("*") == "":
        return None
    parts = pattern.split(":", 5)
    if len(parts) < 6:
        return None if ("*" in pattern or "?" in pattern) else ""
    prefix, _, service = parts[0], parts[1], parts[2]
    if not matches(prefix, "arn") or not matches(service, "iam"):
        return ""
    account = parts[4]
    return None if ("*" in account or "?" in account) else account


class _Graph:
    """The principals, indexed for the trust match, and the hops found by the backward search."""

    def __init__(self, reaches: Iterable[PrincipalReach], organization_id: str | None) -> None:
        self.organization_id = organization_id
        self.by_arn: dict[str, PrincipalReach] = {}
        for reach in sorted(reaches, key=lambda item: (item.arn.lower(), item.arn)):
            key = reach.arn.lower()
            if key in self.by_arn:
                self.by_arn[key] = min(self.by_arn[key], reach, key=_canonical_json)  # deterministic pick
            else:
                self.by_arn[key] = reach
        self.roles_by_name: dict[tuple[str, str], str] = {}
        self.assumers_by_account: dict[str, list[str]] = defaultdict(list)
        self.patterns_exact: dict[str, list[str]] = defaultdict(list)
        self.patterns_by_account: dict[str, list[str]] = defaultdict(list)
        self.patterns_anywhere: list[str] = []
        for key, reach in self.by_arn.items():
            if reach.kind == "role":
                self.roles_by_name[(reach.account, reach.name.lower())] = key
            if not reach.assumable:
                continue
            self.assumers_by_account[reach.account].append(key)
            indexed: set[tuple[str, str]] = set()
            for pattern in reach.assumable:
                if "*" not in pattern and "?" not in pattern:
                    slot = ("exact", pattern.lower())
                else:
                    account = _pattern_account(pattern)
                    slot = (
                        ("none", "")
                        if account == ""
                        else ("any", "")
                        if account is None
                        else ("account", account)
                    )
                if slot in indexed or slot[0] == "none":
                    continue
                indexed.add(slot)
                if slot[0] == "exact":
                    self.patterns_exact[slot[1]].append(key)
                elif slot[0] == "account":
                    self.patterns_by_account[slot[1]].append(key)
                else:
                    self.patterns_anywhere.append(key)
        self.trusts: dict[int, TrustPolicy] = {}

    def trust_of(self, key: str) -> TrustPolicy:
        """The role's trust, parsed once per document object (roles read back by load_reaches share
        equal documents; the reaches, and so the documents, live as long as the graph)."""
        document = self.by_arn[key].trust
        if id(document) not in self.trusts:
            self.trusts[id(document)] = TrustPolicy.parse(document)
        return self.trusts[id(document)]

    @staticmethod
    def denies(caller: PrincipalReach, target: PrincipalReach) -> bool:
        """An explicit Deny of the caller's covers the target (it wins over any Allow, trust included)."""
        return any(matches(pattern, target.arn) for pattern in caller.denied)

    def identity_statement(self, caller: PrincipalReach, target: PrincipalReach) -> str | None:
        """The caller's statement allowing sts:AssumeRole on the target, None when none does (or a Deny
        takes it away)."""
        if self.denies(caller, target):
            return None
        for index, pattern in enumerate(caller.assumable):
            if matches(pattern, target.arn):
                return caller.statement_for(index)
        return None

    def candidates(self, target_key: str) -> list[str]:
        """Principals the target's trust might admit (a superset, in a deterministic order)."""
        target = self.by_arn[target_key]
        trust = self.trust_of(target_key)
        found: list[str] = [arn for arn in sorted(trust.named_arns) if arn in self.by_arn]
        found += [self.roles_by_name[s] for s in sorted(trust.session_roles) if s in self.roles_by_name]
        for account in sorted(trust.root_accounts):
            found += self.assumers_by_account.get(account, [])
        if trust.everyone:
            found += self.patterns_exact.get(target_key, [])
            found += self.patterns_by_account.get(target.account, [])
            found += self.patterns_anywhere
        unique = dict.fromkeys(found)
        unique.pop(target_key, None)
        return list(unique)

    def hops_into(self, target_key: str) -> list[tuple[str, Hop]]:
        """Every (caller, hop) into the target role."""
        target = self.by_arn[target_key]
        if target.kind != "role" or target.trust is None:
            return []
        trust = self.trust_of(target_key)
        hops = []
        for caller_key in self.candidates(target_key):
            caller = self.by_arn[caller_key]
            source = source_of(caller.arn, caller.account, caller.kind)
            admission = trust.admission(source, self.organization_id)
            if admission is None:
                continue
            identity: str | None = None
            if not (admission.named and caller.account == target.account):
                identity = self.identity_statement(caller, target)
                if identity is None:
                    continue
            elif self.denies(caller, target):
                continue
            hop = Hop(
                caller.arn,
                caller.account,
                target.arn,
                target.account,
                admission.element,
                admission.statement,
                identity,
                admission.open_conditions,
            )
            hops.append((caller_key, hop))
        return hops


def _canonical_json(reach: PrincipalReach) -> str:
    return json.dumps(reach.to_dict(), sort_keys=True)


def _backward(graph: _Graph, max_hops: int) -> tuple[dict[str, int], dict[str, list[tuple[str, Hop]]]]:
    """(distance in hops from each principal to the nearest admin role, the hops leading there)."""
    ends = sorted(key for key, reach in graph.by_arn.items() if reach.is_end)
    distance = dict.fromkeys(ends, 0)
    forward: dict[str, list[tuple[str, Hop]]] = defaultdict(list)
    frontier = ends
    for level in range(1, max_hops + 1):
        next_frontier: list[str] = []
        for target_key in frontier:
            for caller_key, hop in graph.hops_into(target_key):
                forward[caller_key].append((target_key, hop))
                if caller_key not in distance:
                    distance[caller_key] = level
                    next_frontier.append(caller_key)
        frontier = next_frontier
    for hops in forward.values():
        hops.sort(key=lambda item: item[0])
    return distance, forward


def _paths_from(
    graph: _Graph,
    start: str,
    max_hops: int,
    distance: dict[str, int],
    forward: dict[str, list[tuple[str, Hop]]],
) -> list[ReachPath]:
    """Breadth-first over (principal, crossed) states: the shortest crossing path to each admin role."""
    parents: dict[tuple[str, bool], tuple[tuple[str, bool], Hop] | None] = {(start, False): None}
    frontier: list[tuple[str, bool]] = [(start, False)]
    found: list[ReachPath] = []
    for depth in range(1, max_hops + 1):
        next_frontier: list[tuple[str, bool]] = []
        for state in frontier:
            on_path = _keys_on_path(parents, state)
            for target_key, hop in forward.get(state[0], ()):
                if depth + distance[target_key] > max_hops or target_key in on_path:
                    continue
                next_state = (target_key, state[1] or hop.crosses_account)
                if next_state in parents:
                    continue
                parents[next_state] = (state, hop)
                next_frontier.append(next_state)
                target = graph.by_arn[target_key]
                if next_state[1] and target.is_end:
                    hops = _hops_to(parents, next_state)
                    found.append(ReachPath(hops, target.codes, str(target.severity)))
        frontier = next_frontier
    return found


def _keys_on_path(parents: dict[tuple[str, bool], Any], state: tuple[str, bool]) -> set[str]:
    keys = {state[0]}
    link = parents[state]
    while link is not None:
        state = link[0]
        keys.add(state[0])
        link = parents[state]
    return keys


def _hops_to(parents: dict[tuple[str, bool], Any], state: tuple[str, bool]) -> tuple[Hop, ...]:
    hops: list[Hop] = []
    link = parents[state]
    while link is not None:
        state, hop = link
        hops.append(hop)
        link = parents[state]
    return tuple(reversed(hops))


def reach_paths(
    reaches: Iterable[PrincipalReach], max_hops: int = 3, *, organization_id: str | None = None
) -> list[ReachPath]:
    """Every cross-account path of 1..max_hops hops to an admin-equivalent or escalating role (module
    doc). `organization_id` (o-...) lets aws:PrincipalOrgID conditions be evaluated; without it every
    principal given is taken to be in the organization a condition names. max_hops is 1..3."""
    if not 1 <= int(max_hops) <= MAX_HOPS_LIMIT:
        raise ValueError(f"max_hops must be 1..{MAX_HOPS_LIMIT}, not {max_hops!r}")
    graph = _Graph(reaches, organization_id)
    distance, forward = _backward(graph, max_hops)
    paths: list[ReachPath] = []
    for start in sorted(distance):
        if distance[start] <= max_hops and start in forward:
            paths += _paths_from(graph, start, max_hops, distance, forward)
    paths.sort(key=ReachPath.sort_key)
    return paths
