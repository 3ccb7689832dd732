"""ORG-4: the cross-account paths drawn as an inline SVG graph (no script, no external reference): one
column per account, a box per principal, an arrow per hop. Standard library only.

Layout, deterministic: an account's column is the earliest position it holds on any drawn path (the
paths' first principals on the left), ties by account ID; principals stack in their column in the same
order. An arrow goes from a box's right edge to the next column's left edge, loops back around the
boxes when it points left, and bends out to the right within one account. The worst paths are drawn
first, as many as fit in MAX_COLUMNS accounts and MAX_NODES boxes; the caller says how many were left out.
Every text is HTML-escaped (ARNs and account IDs come from member accounts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Any

MAX_COLUMNS = 8
MAX_NODES = 48
COLUMN_WIDTH = 250
COLUMN_GAP = 90
NODE_HEIGHT = 46
NODE_GAP = 18
HEADER = 44
MARGIN = 16
LABEL_CHARACTERS = 28
SEVERITY_COLORS = {"critical": "#b42318", "high": "#c4320a"}
EDGE_COLOR = "#475467"


@dataclass(frozen=True)
class Graph:
    """What was drawn: the SVG, and how many of the given paths it holds."""

    svg: str
    drawn: int
    total: int


def _principals(path: Mapping[str, Any]) -> list[tuple[str, str]]:
    hops = path["hops"]
    first = hops[0]
    return [(str(first["source"]), str(first["sourceAccount"]))] + [
        (str(hop["target"]), str(hop["targetAccount"])) for hop in hops
    ]


def _short(arn: str) -> tuple[str, str]:
    """('role', 'Admin') for a role ARN, cut to fit the box."""
    resource = arn.split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1] or resource
    if len(name) > LABEL_CHARACTERS:
        name = name[: LABEL_CHARACTERS - 1] + "\u2026"
    return (kind if kind in ("role", "user") else "principal"), name


def _select(paths: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The leading paths that fit in MAX_COLUMNS accounts and MAX_NODES principals."""
    accounts: set[str] = set()
    nodes: set[str] = set()
    chosen = []
    for path in paths:
        principals = _principals(path)
        more_accounts = accounts | {account for _, account in principals}
        more_nodes = nodes | {arn for arn, _ in principals}
        if len(more_accounts) > MAX_COLUMNS or len(more_nodes) > MAX_NODES:
            continue
        accounts, nodes = more_accounts, more_nodes
        chosen.append(path)
    return chosen


def render_graph(paths: Sequence[Mapping[str, Any]]) -> Graph:
    """The SVG of the paths (worst first, as given)."""
    chosen = _select(paths)
    position: dict[str, int] = {}
    node_position: dict[tuple[str, str], int] = {}
    ends: dict[str, str] = {}
    edges: dict[tuple[str, str], bool] = {}
    for path in chosen:
        principals = _principals(path)
        for index, (arn, account) in enumerate(principals):
            position[account] = min(position.get(account, index), index)
            node_position[(arn, account)] = min(node_position.get((arn, account), index), index)
        ends.setdefault(principals[-1][0], str(path["severity"]))
        for (source, _), (target, _) in pairwise(principals):
            edges[(source, target)] = edges.get((source, target), False) or target == principals[-1][0]
    columns = sorted(position, key=lambda account: (position[account], account))
    column_of = {account: index for index, account in enumerate(columns)}
    stacks: dict[str, list[str]] = {account: [] for account in columns}
    for arn, account in sorted(node_position, key=lambda node: (node_position[node], node[0])):
        if arn not in stacks[account]:
            stacks[account].append(arn)
    box: dict[str, tuple[int, int]] = {}
    for account, arns in stacks.items():
        x = MARGIN + column_of[account] * (COLUMN_WIDTH + COLUMN_GAP)
        for row, arn in enumerate(arns):
            box.setdefault(arn, (x + 12, MARGIN + HEADER + row * (NODE_HEIGHT + NODE_GAP)))
    tallest = max((len(arns) for arns in stacks.values()), default=0)
    width = MARGIN * 2 + max(len(columns), 1) * (COLUMN_WIDTH + COLUMN_GAP) - COLUMN_GAP
    height = MARGIN * 2 + HEADER + max(tallest, 1) * (NODE_HEIGHT + NODE_GAP) + 8
    parts = [
        f'<svg class="graph" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="cross-account paths: {len(chosen)} drawn">',
        "<defs>",
        *(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
            for name, color in (("hop", EDGE_COLOR), ("end", SEVERITY_COLORS["critical"]))
        ),
        "</defs>",
    ]
    for account in columns:
        x = MARGIN + column_of[account] * (COLUMN_WIDTH + COLUMN_GAP)
        parts.append(
            f'<g class="account" data-account="{escape(account)}"><rect x="{x}" y="{MARGIN}" '
            f'width="{COLUMN_WIDTH}" height="{height - 2 * MARGIN}" rx="10" class="account-box"/>'
            f'<text x="{x + COLUMN_WIDTH / 2}" y="{MARGIN + 26}" text-anchor="middle" class="account-label">'
            f"account {escape(account)}</text></g>"
        )
    node_width = COLUMN_WIDTH - 24
    for (source, target), to_end in sorted(edges.items()):
        parts.append(_edge(box[source], box[target], node_width, to_end))
    for account in columns:
        for arn in stacks[account]:
            x, y = box[arn]
            kind, name = _short(arn)
            severity = ends.get(arn)
            color = SEVERITY_COLORS.get(severity or "", "")
            fill = f' style="stroke:{color};stroke-width:2.5"' if color else ""
            badge = (
                f'<text x="{x + node_width - 10}" y="{y + 19}" text-anchor="end" class="node-badge" '
                f'fill="{color}">{escape(severity or "")}</text>'
                if severity
                else ""
            )
            parts.append(
                f'<g class="node" data-arn="{escape(arn)}"><title>{escape(arn)}</title>'
                f'<rect x="{x}" y="{y}" width="{node_width}" height="{NODE_HEIGHT}" rx="8" '
                f'class="node-box"{fill}/>'
                f'<text x="{x + 10}" y="{y + 19}" class="node-kind">{escape(kind)}</text>{badge}'
                f'<text x="{x + 10}" y="{y + 37}" class="node-name">{escape(name)}</text></g>'
            )
    parts.append("</svg>")
    return Graph("".join(parts), len(chosen), len(paths))


def _edge(source: tuple[float, float], target: tuple[float, float], node_width: float, to_end: bool) -> str:
    (sx, sy), (tx, ty) = source, target
    sy, ty = sy + NODE_HEIGHT / 2, ty + NODE_HEIGHT / 2
    if tx > sx:  # to a column on the right
        start, end = (sx + node_width, sy), (tx, ty)
        bend = (end[0] - start[0]) / 2
        curve = f"C{start[0] + bend},{start[1]} {end[0] - bend},{end[1]} {end[0]},{end[1]}"
    elif tx < sx:  # back to a column on the left: out right, around, in on the left edge
        start, end = (sx + node_width, sy), (tx, ty)
        curve = f"C{start[0] + 60},{start[1] + 80} {end[0] - 60},{end[1] + 80} {end[0]},{end[1]}"
    else:  # within one account
        start, end = (sx + node_width, sy), (tx + node_width, ty)
        curve = f"C{start[0] + 40},{start[1]} {end[0] + 40},{end[1]} {end[0]},{end[1]}"
    color = SEVERITY_COLORS["critical"] if to_end else EDGE_COLOR
    marker = "end" if to_end else "hop"
    return (
        f'<path class="hop" d="M{start[0]},{start[1]} {curve}" fill="none" stroke="{color}" '
        f'stroke-width="1.8" marker-end="url(#arrow-{marker})"/>'
    )
