"""The report's DAG as inline SVG, as wide as the page: a layered layout top to bottom
(:mod:`dacrew.report.layout`, no edge crosses a node it does not touch), whole titles, status colours,
an owner stripe, the critical path drawn heavier; each node links to its row in the task table."""

from __future__ import annotations

import itertools
import textwrap

from dacrew.errors import UserError
from dacrew.plan.model import TaskPlan
from dacrew.plan.schedule import critical_path, topological_order
from dacrew.report.format import MAX_DRAWN, STATUS_ICONS, clip, duration, esc, owner_color, status_style
from dacrew.report.layout import Box, Route, layered_layout
from dacrew.report.model import RunReport, TaskReport

_NODE_W, _LINE_H, _TITLE_CHARS = 220, 15, 30
"""Node width, title line height (px), and title characters per line (12 px type)."""


def _depths(plan: TaskPlan) -> dict[str, int]:
    try:
        order = topological_order(plan)
    except UserError:  # a cyclic plan never runs, but its report should still draw
        order = [t.id for t in plan.tasks]
    known = plan.by_id
    depth: dict[str, int] = {}
    for task_id in order:
        upstream = [depth[d] for d in known[task_id].dependencies if d in depth]
        depth[task_id] = 1 + max(upstream) if upstream else 0
    return depth


def _node(task: TaskReport, box: Box, lines: list[str]) -> str:
    stroke, fill = status_style(task.status)
    x, y = box.x, box.y
    tip = f"{task.id}: {task.title}\n{task.phase}\n{task.owner} · {task.status} · {duration(task.duration_s)}"
    detail = f"{task.owner} · {duration(task.duration_s)}" if task.started else task.owner
    title = "".join(
        f'<text x="{x + 14}" y="{y + 34 + n * _LINE_H}" class="ntitle">{esc(line)}</text>'
        for n, line in enumerate(lines)
    )
    return (
        f'<a href="#task-{esc(task.id)}"><g class="node" data-task="{esc(task.id)}" data-status="{esc(task.status)}">'
        f"<title>{esc(tip)}</title>"
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" rx="7" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{2 if task.status in ("failed", "in_progress") else 1.2}"/>'
        f'<rect x="{x + 4:.1f}" y="{y + 7:.1f}" width="4" height="{box.height - 14:.1f}" rx="2" fill="{owner_color(task.owner)}"/>'
        f'<text x="{x + 14:.1f}" y="{y + 17:.1f}" class="nid">{esc(task.id)}</text>'
        f'<text x="{x + box.width - 10:.1f}" y="{y + 17:.1f}" class="nicon" fill="{stroke}">{STATUS_ICONS.get(task.status, "")}</text>'
        f"{title}"
        f'<text x="{x + 14:.1f}" y="{y + box.height - 9:.1f}" class="nmeta">{esc(clip(detail, 34))}</text></g></a>'
    )


def _edge(route: Route, cls: str) -> str:
    """Straight down through each layer an edge passes; a curve that stays inside the gap between two."""
    (x0, y0), rest = route.points[0], route.points[1:]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for n, (x, y) in enumerate(rest):
        if n % 2 == 0:  # bottom of a layer → top of the next
            middle = (y0 + y) / 2
            end = y - 2 if n == len(rest) - 1 else y
            parts.append(f"C{x0:.1f},{middle:.1f} {x:.1f},{middle:.1f} {x:.1f},{end:.1f}")
        else:  # through a placeholder
            parts.append(f"L{x:.1f},{y:.1f}")
        x0, y0 = x, y
    return (
        f'<path class="{cls}" data-from="{esc(route.source)}" data-to="{esc(route.target)}" d="{" ".join(parts)}" '
        'marker-end="url(#arrow)"/>'
    )


def _critical_edges(plan: TaskPlan, tasks: list[TaskReport]) -> set[tuple[str, str]]:
    """The dependency chain that took longest in this run: no schedule could have beaten its length."""
    durations = {t.id: t.duration_s or 0.0 for t in tasks}
    if not any(durations.values()):
        return set()
    try:
        path, _ = critical_path(plan, durations)
    except UserError:
        return set()
    return set(itertools.pairwise(path))


def dag_svg(report: RunReport, plan: TaskPlan) -> str:
    tasks = report.tasks
    if not tasks:
        return ""
    if len(tasks) > MAX_DRAWN:
        return (
            f'<section><h2>Plan</h2><p class="note">{len(tasks)} tasks: too many to draw; see the table.</p></section>'
        )
    depth = _depths(plan)
    known = {t.id for t in tasks}
    wrapped = {t.id: textwrap.wrap(t.title, _TITLE_CHARS, break_long_words=True) or [""] for t in tasks}
    lines = max(len(w) for w in wrapped.values())
    links = [(dep, t.id) for t in tasks for dep in t.dependencies if dep in known and depth[dep] < depth[t.id]]
    layout = layered_layout(
        [t.id for t in tasks],
        links,
        {t.id: depth.get(t.id, 0) for t in tasks},
        node_size=(_NODE_W, 44 + lines * _LINE_H),
    )
    status = {t.id: t.status for t in tasks}
    critical = _critical_edges(plan, tasks)
    edges: list[str] = []
    for route in layout.routes:
        cls = "edge" if status.get(route.source) == "completed" else "edge open"
        cls += " critical" if (route.source, route.target) in critical else ""
        edges.append(_edge(route, cls))
    nodes = "".join(_node(t, layout.boxes[t.id], wrapped[t.id]) for t in tasks)
    owners = sorted({t.owner for t in tasks})
    legend = "".join(
        f'<span class="lg"><i style="background:{status_style(s)[1]};border-color:{status_style(s)[0]}"></i>{esc(s.replace("_", " "))}</span>'
        for s in ("completed", "failed", "needs_input", "skipped", "in_progress", "pending")
    ) + "".join(
        f'<span class="lg"><i class="owner" style="background:{owner_color(o)}"></i>{esc(o)}</span>' for o in owners
    )
    if critical:
        legend += '<span class="lg"><i class="crit"></i>longest dependency chain, by time taken</span>'
    width, height = layout.width, layout.height
    svg = (
        f'<svg class="dag" role="img" aria-label="Task graph" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:{width * 1.5:.0f}px">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>'
        f"{''.join(edges)}{nodes}</svg>"
    )
    return f'<section><h2>Plan</h2><div class="legend">{legend}</div>{svg}</section>'
