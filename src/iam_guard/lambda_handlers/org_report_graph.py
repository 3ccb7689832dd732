"""ORG-4: the cross-account paths drawn as an inline SVG graph (no script, no external reference): each
account a cluster, each principal a box in its account's cluster, each hop an arrow. Standard library only.

Layout, deterministic and bounded: an account's layer is the furthest position it holds on any drawn path
(the paths' first principals on the left; at most 4 layers, as a path has at most 3 hops); clusters of
one layer stack from the top, ordered by their earliest position, then account ID; boxes in a cluster
likewise. An arrow runs from a box's right edge to the left edge of the box it can assume, loops round
when it points back to an earlier layer, and bends out to the right within one account. The worst paths
are drawn first, as many as fit in MAX_ACCOUNTS clusters and MAX_NODES boxes; the caller states how many
were drawn. Every text is HTML-escaped (ARNs and account IDs come from member accounts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Any

MAX_ACCOUNTS = 16
MAX_NODES = 40
COLUMN_WIDTH = 224
COLUMN_GAP = 74
NODE_WIDTH = COLUMN_WIDTH - 24
NODE_HEIGHT = 44
NODE_GAP = 12
CLUSTER_HEADER = 34
CLUSTER_GAP = 16
MARGIN = 12
LABEL_CHARACTERS = 24
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
    """The leading paths that fit in MAX_ACCOUNTS clusters and MAX_NODES boxes."""
    accounts: set[str] = set()
    nodes: set[str] = set()
    chosen = []
    for path in paths:
        principals = _principals(path)
        more_accounts = accounts | {account for _, account in principals}
        more_nodes = nodes | {arn for arn, _ in principals}
        if len(more_accounts) > MAX_ACCOUNTS or len(more_nodes) > MAX_NODES:
            continue
        accounts, nodes = more_accounts, more_nodes
        chosen.append(path)
    return chosen


@dataclass
class _Layout:
    """Where each account's cluster and each principal's box go."""

    clusters: dict[str, tuple[int, int, int]]  # account -> (x, y, height)
    boxes: dict[str, tuple[int, int]]  # ARN -> (x, y)
    members: dict[str, list[str]]  # account -> ARNs, top to bottom
    width: int
    height: int


def _layout(chosen: Sequence[Mapping[str, Any]]) -> _Layout:
    layer: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    node_seen: dict[str, tuple[int, str]] = {}
    for path in chosen:
        for index, (arn, account) in enumerate(_principals(path)):
            layer[account] = max(layer.get(account, index), index)
            first_seen[account] = min(first_seen.get(account, index), index)
            if arn not in node_seen or index < node_seen[arn][0]:
                node_seen[arn] = (index, account)
    members: dict[str, list[str]] = {account: [] for account in layer}
    for arn, (_, account) in sorted(node_seen.items(), key=lambda item: (item[1][0], item[0])):
        members[account].append(arn)
    layers = sorted(set(layer.values()))
    column = {value: rank for rank, value in enumerate(layers)}
    clusters: dict[str, tuple[int, int, int]] = {}
    boxes: dict[str, tuple[int, int]] = {}
    bottom = 0
    for value in layers:
        y = MARGIN
        x = MARGIN + column[value] * (COLUMN_WIDTH + COLUMN_GAP)
        accounts = sorted((a for a in layer if layer[a] == value), key=lambda a: (first_seen[a], a))
        for account in accounts:
            height = CLUSTER_HEADER + len(members[account]) * (NODE_HEIGHT + NODE_GAP) + 2
            clusters[account] = (x, y, height)
            for row, arn in enumerate(members[account]):
                boxes[arn] = (x + 12, y + CLUSTER_HEADER + row * (NODE_HEIGHT + NODE_GAP))
            y += height + CLUSTER_GAP
        bottom = max(bottom, y - CLUSTER_GAP)
    width = MARGIN * 2 + max(len(layers), 1) * (COLUMN_WIDTH + COLUMN_GAP) - COLUMN_GAP
    return _Layout(clusters, boxes, members, width, max(bottom, MARGIN) + MARGIN)


def render_graph(paths: Sequence[Mapping[str, Any]]) -> Graph:
    """The SVG of the paths (worst first, as given)."""
    chosen = _select(paths)
    layout = _layout(chosen)
    ends: dict[str, str] = {}
    edges: dict[tuple[str, str], bool] = {}
    for path in chosen:
        principals = _principals(path)
        ends.setdefault(principals[-1][0], str(path["severity"]))
        for (source, _), (target, _) in pairwise(principals):
            edges[(source, target)] = edges.get((source, target), False) or target == principals[-1][0]
    width, height = layout.width, layout.height
    parts = [
        f'<svg class="graph" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="cross-account paths: {len(chosen)} drawn">',
        "<defs>",
        *(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
            for name, color in (("hop", EDGE_COLOR), ("end", SEVERITY_COLORS["critical"]))
        ),
        "</defs>",
    ]
    for account, (x, y, cluster_height) in sorted(layout.clusters.items()):
        parts.append(
            f'<g class="account" data-account="{escape(account)}"><rect x="{x}" y="{y}" '
            f'width="{COLUMN_WIDTH}" height="{cluster_height}" rx="10" class="account-box"/>'
            f'<text x="{x + 12}" y="{y + 22}" class="account-label">account {escape(account)}</text></g>'
        )
    ports = _ports(edges, layout.boxes)
    for (source, target), to_end in sorted(edges.items()):
        start, end = ports[(source, target)]
        parts.append(_edge(layout.boxes[source], layout.boxes[target], start, end, to_end))
    for account in sorted(layout.members):
        for arn in layout.members[account]:
            parts.append(_node(arn, layout.boxes[arn], ends.get(arn)))
    parts.append("</svg>")
    return Graph("".join(parts), len(chosen), len(paths))


def _node(arn: str, where: tuple[int, int], severity: str | None) -> str:
    x, y = where
    kind, name = _short(arn)
    color = SEVERITY_COLORS.get(severity or "", "")
    outline = f' style="stroke:{color};stroke-width:2.5"' if color else ""
    badge = (
        f'<text x="{x + NODE_WIDTH - 10}" y="{y + 17}" text-anchor="end" class="node-badge" '
        f'fill="{color}">{escape(severity or "")}</text>'
        if severity
        else ""
    )
    return (
        f'<g class="node" data-arn="{escape(arn)}"><title>{escape(arn)}</title>'
        f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8" '
        f'class="node-box"{outline}/>'
        f'<text x="{x + 10}" y="{y + 17}" class="node-kind">{escape(kind)}</text>{badge}'
        f'<text x="{x + 10}" y="{y + 35}" class="node-name">{escape(name)}</text></g>'
    )


def _ports(
    edges: Mapping[tuple[str, str], bool], boxes: Mapping[str, tuple[int, int]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """Where each arrow leaves its source box and enters its target box (y offsets within the boxes):
    the arrows of one box are spread over its edge in the order of the boxes at their other end, so that
    they neither overlap nor cross on the way in or out."""
    outgoing: dict[str, list[tuple[str, str]]] = {}
    incoming: dict[str, list[tuple[str, str]]] = {}
    for source, target in edges:
        outgoing.setdefault(source, []).append((source, target))
        incoming.setdefault(target, []).append((source, target))
    offsets: dict[tuple[str, str], list[int]] = {edge: [NODE_HEIGHT // 2, NODE_HEIGHT // 2] for edge in edges}
    for side, groups in ((0, outgoing), (1, incoming)):
        for group in groups.values():
            group.sort(key=lambda edge: (boxes[edge[1 - side]][1], boxes[edge[1 - side]][0], edge))
            for rank, edge in enumerate(group):
                offsets[edge][side] = round((rank + 1) * NODE_HEIGHT / (len(group) + 1))
    return {edge: (start, end) for edge, (start, end) in offsets.items()}


def _edge(
    source: tuple[int, int], target: tuple[int, int], start_offset: int, end_offset: int, to_end: bool
) -> str:
    (sx, sy), (tx, ty) = source, target
    sy, ty = sy + start_offset, ty + end_offset
    start = (sx + NODE_WIDTH, sy)
    if tx > sx:  # to a later layer
        end = (tx, ty)
        bend = (end[0] - start[0]) / 2
        curve = f"C{start[0] + bend},{start[1]} {end[0] - bend},{end[1]} {end[0]},{end[1]}"
    elif tx < sx:  # back to an earlier layer: out on the right, round, in on the left edge
        end = (tx, ty)
        curve = f"C{start[0] + 70},{start[1] + 90} {end[0] - 70},{end[1] + 90} {end[0]},{end[1]}"
    else:  # within one layer: out and back in on the right
        end = (tx + NODE_WIDTH, ty)
        curve = f"C{start[0] + 44},{start[1]} {end[0] + 44},{end[1]} {end[0]},{end[1]}"
    color = SEVERITY_COLORS["critical"] if to_end else EDGE_COLOR
    marker = "end" if to_end else "hop"
    return (
        f'<path class="hop" d="M{start[0]},{start[1]} {curve}" fill="none" stroke="{color}" '
        f'stroke-width="1.8" marker-end="url(#arrow-{marker})"/>'
    )
