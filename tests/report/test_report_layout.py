"""The DAG's layered layout: no edge passes through a node it does not touch, whatever the graph."""

from __future__ import annotations

import random

import pytest

from dacrew.report.layout import Box, Route, layered_layout

NODE = (220.0, 60.0)


def _curve(a: tuple[float, float], b: tuple[float, float], steps: int = 24) -> list[tuple[float, float]]:
    """Points of the cubic the report draws between two layers (vertical tangents)."""
    (x0, y0), (x1, y1) = a, b
    middle = (y0 + y1) / 2
    out: list[tuple[float, float]] = []
    for n in range(steps + 1):
        t = n / steps
        u = 1 - t
        x = u**3 * x0 + 3 * u * u * t * x0 + 3 * u * t * t * x1 + t**3 * x1
        y = u**3 * y0 + 3 * u * u * t * middle + 3 * u * t * t * middle + t**3 * y1
        out.append((x, y))
    return out


def _samples(route: Route) -> list[tuple[float, float]]:
    points = route.points
    out: list[tuple[float, float]] = []
    for n in range(len(points) - 1):
        a, b = points[n], points[n + 1]
        if n % 2 == 0:
            out += _curve(a, b)
        else:  # straight down through a placeholder
            out += [(a[0], a[1] + (b[1] - a[1]) * k / 10) for k in range(11)]
    return out


def _inside(point: tuple[float, float], box: Box) -> bool:
    x, y = point
    return box.x + 1 < x < box.x + box.width - 1 and box.y + 1 < y < box.y + box.height - 1


def _random_dag(seed: int, size: int) -> tuple[list[str], list[tuple[str, str]], dict[str, int]]:
    rng = random.Random(seed)
    nodes = [f"T{n:03d}" for n in range(size)]
    edges = [(nodes[a], nodes[b]) for b in range(1, size) for a in rng.sample(range(b), k=min(b, rng.randint(1, 3)))]
    depth: dict[str, int] = {}
    for node in nodes:
        upstream = [depth[a] for a, b in edges if b == node]
        depth[node] = 1 + max(upstream) if upstream else 0
    return nodes, edges, depth


@pytest.mark.parametrize("seed", range(12))
def test_no_edge_crosses_a_node_it_does_not_touch(seed: int) -> None:
    nodes, edges, depth = _random_dag(seed, 8 + seed * 3)
    layout = layered_layout(nodes, edges, depth, node_size=NODE)
    assert len(layout.routes) == len(edges)
    # Nodes do not overlap each other.
    boxes = list(layout.boxes.items())
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            apart = box_a.x + box_a.width <= box_b.x or box_b.x + box_b.width <= box_a.x or box_a.y != box_b.y
            assert apart, (a, b)
    for route in layout.routes:
        assert route.points[0][1] == layout.boxes[route.source].y + NODE[1]
        assert route.points[-1][1] == layout.boxes[route.target].y
        for point in _samples(route):
            for name, box in layout.boxes.items():
                if name not in (route.source, route.target):
                    assert not _inside(point, box), (route.source, route.target, name, point)
    assert layout.width >= max(b.x + b.width for b in layout.boxes.values())


def test_layers_follow_dependency_depth_and_fit_the_nodes() -> None:
    layout = layered_layout(
        ["a", "b", "c"], [("a", "b"), ("a", "c"), ("b", "c")], {"a": 0, "b": 1, "c": 2}, node_size=NODE
    )
    ys = [layout.boxes[n].y for n in "abc"]
    assert ys == sorted(ys)
    assert len(set(ys)) == 3
    long_edge = next(r for r in layout.routes if (r.source, r.target) == ("a", "c"))
    assert len(long_edge.points) == 4  # through one placeholder in b's layer
    assert not (layout.boxes["b"].x <= long_edge.points[1][0] <= layout.boxes["b"].x + NODE[0])
