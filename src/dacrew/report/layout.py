"""A layered (Sugiyama-style) layout of a DAG, top to bottom, whose edges never cross a node.

Each node sits in the layer of its dependency depth. An edge that spans several layers gets a narrow
placeholder in every layer between, reserved like a node: the edge passes each such layer straight down
through its placeholder, and between two layers it stays inside the gap. So no edge can cross a node
it does not touch. Orders within layers come from barycentre sweeps (fewest crossings found), and
positions from a few passes that pull each node towards its neighbours.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


@dataclass
class Box:
    """A node's place: top-left corner and size, in pixels."""

    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> float:
        return self.x + self.width / 2


@dataclass
class Route:
    """An edge's way: ``points`` alternate between the bottom of one layer and the top of the next
    (``[(x, y), …]``, source port first, target port last)."""

    source: str
    target: str
    points: list[tuple[float, float]] = field(default_factory=list[tuple[float, float]])


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float


@dataclass
class _Item:
    key: str
    width: float
    real: bool
    x: float = 0.0


def layered_layout(
    nodes: list[str],
    edges: list[tuple[str, str]],
    depth: dict[str, int],
    *,
    node_size: tuple[float, float],
    placeholder_width: float = 10.0,
    gaps: tuple[float, float] = (18.0, 44.0),
    padding: float = 12.0,
) -> Layout:
    """Lay out ``nodes`` (in their preferred order) with ``edges`` (source, target), each node in layer
    ``depth[node]`` (every edge must go to a deeper layer). ``node_size``: (width, height) of every node;
    ``gaps``: (between neighbours in a layer, between layers), all in pixels."""
    node_w, node_h = node_size
    gap_x, gap_y = gaps
    layers: list[list[_Item]] = [[] for _ in range(max((depth[n] for n in nodes), default=-1) + 1)]
    items: dict[str, _Item] = {}
    for name in nodes:
        items[name] = _Item(name, node_w, True)
        layers[depth[name]].append(items[name])
    chains: list[list[str]] = []
    for index, (source, target) in enumerate(edges):
        chain = [source]
        for layer in range(depth[source] + 1, depth[target]):
            key = f"\0{index}:{layer}"
            items[key] = _Item(key, placeholder_width, False)
            layers[layer].append(items[key])
            chain.append(key)
        chains.append([*chain, target])
    up: dict[str, list[str]] = {k: [] for k in items}
    down: dict[str, list[str]] = {k: [] for k in items}
    for chain in chains:
        for a, b in itertools.pairwise(chain):
            down[a].append(b)
            up[b].append(a)
    _order(layers, up, down)
    _place(layers, up, down, gap_x)
    left = min((i.x for layer in layers for i in layer), default=0.0)
    for layer in layers:
        for item in layer:
            item.x += padding - left
    width = max((i.x + i.width for layer in layers for i in layer), default=0.0) + padding
    tops = [padding + n * (node_h + gap_y) for n in range(len(layers))]
    boxes = {name: Box(items[name].x, tops[depth[name]], node_w, node_h) for name in nodes}
    routes = [_route(chain, items, depth[chain[0]], tops, node_h, down, up) for chain in chains]
    height = (tops[-1] + node_h + padding) if tops else 2 * padding
    return Layout(boxes, routes, width, height)


def _crossings(layers: list[list[_Item]], down: dict[str, list[str]]) -> int:
    total = 0
    for upper, lower in itertools.pairwise(layers):
        position = {item.key: n for n, item in enumerate(lower)}
        pairs = [(a, position[b]) for a, item in enumerate(upper) for b in down[item.key] if b in position]
        total += sum(1 for i, (a1, b1) in enumerate(pairs) for a2, b2 in pairs[i + 1 :] if a1 < a2 and b1 > b2)
    return total


def _order(layers: list[list[_Item]], up: dict[str, list[str]], down: dict[str, list[str]]) -> None:
    """Barycentre sweeps, down then up, keeping the orders with the fewest crossings."""
    best = [list(layer) for layer in layers]
    fewest = _crossings(layers, down)
    for sweep in range(8 if len(up) < 400 else 2):
        rows = range(1, len(layers)) if sweep % 2 == 0 else range(len(layers) - 2, -1, -1)
        neighbours = up if sweep % 2 == 0 else down
        for row in rows:
            other = layers[row - 1] if sweep % 2 == 0 else layers[row + 1]
            position = {item.key: n for n, item in enumerate(other)}

            def key(
                pair: tuple[int, _Item],
                position: dict[str, int] = position,
                linked_to: dict[str, list[str]] = neighbours,
            ) -> float:
                index, item = pair
                linked = [position[k] for k in linked_to[item.key] if k in position]
                return sum(linked) / len(linked) if linked else float(index)

            layers[row][:] = [item for _, item in sorted(enumerate(layers[row]), key=key)]
        count = _crossings(layers, down)
        if count < fewest:
            fewest, best = count, [list(layer) for layer in layers]
    layers[:] = best


def _place(layers: list[list[_Item]], up: dict[str, list[str]], down: dict[str, list[str]], gap: float) -> None:
    """Pack each layer, then pull every item towards the mean centre of its neighbours, keeping order
    and gaps."""
    for layer in layers:
        x = 0.0
        for item in layer:
            item.x = x
            x += item.width + gap
    widest = max((sum(i.width + gap for i in layer) for layer in layers), default=0.0)
    for layer in layers:
        shift = (widest - sum(i.width + gap for i in layer)) / 2
        for item in layer:
            item.x += shift
    everything = {item.key: item for layer in layers for item in layer}
    for sweep in range(6):
        rows = layers[1:] if sweep % 2 == 0 else layers[-2::-1]
        neighbours = up if sweep % 2 == 0 else down
        for layer in rows:
            wanted = [_wanted(item, [everything[k] for k in neighbours[item.key]]) for item in layer]
            # Pushing overlaps apart rightwards alone drifts a layer right, leftwards alone left: take the
            # mean of the two (both keep the order and the gaps, so their mean does too).
            right: list[float] = []
            end = float("-inf")
            for item, x in zip(layer, wanted, strict=True):
                right.append(max(x, end + gap))
                end = right[-1] + item.width
            left: list[float] = [0.0] * len(layer)
            start = float("inf")
            for n in range(len(layer) - 1, -1, -1):
                left[n] = min(wanted[n], start - gap - layer[n].width)
                start = left[n]
            for item, a, b in zip(layer, right, left, strict=True):
                item.x = (a + b) / 2


def _wanted(item: _Item, linked: list[_Item]) -> float:
    """Where ``item`` would sit centred under (or over) the items it links to."""
    if not linked:
        return item.x
    return sum(o.x + o.width / 2 for o in linked) / len(linked) - item.width / 2


def _ports(box_x: float, box_w: float, count: int, index: int) -> float:
    return box_x + box_w * (index + 1) / (count + 1)


def _route(
    chain: list[str],
    items: dict[str, _Item],
    first_layer: int,
    tops: list[float],
    node_h: float,
    down: dict[str, list[str]],
    up: dict[str, list[str]],
) -> Route:
    source, target = items[chain[0]], items[chain[-1]]
    leaving = sorted(down[source.key], key=lambda k: items[k].x)
    arriving = sorted(up[target.key], key=lambda k: items[k].x)
    points = [(_ports(source.x, source.width, len(leaving), leaving.index(chain[1])), tops[first_layer] + node_h)]
    for offset, key in enumerate(chain[1:-1], start=1):
        middle = items[key].x + items[key].width / 2
        points += [(middle, tops[first_layer + offset]), (middle, tops[first_layer + offset] + node_h)]
    last = first_layer + len(chain) - 1
    points.append((_ports(target.x, target.width, len(arriving), arriving.index(chain[-2])), tops[last]))
    return Route(source.key, target.key, points)
