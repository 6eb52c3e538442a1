"""The report's DAG as inline SVG: columns by dependency depth, a band per phase, status colours, an owner stripe, the critical path drawn heavier."""

from __future__ import annotations

import itertools

from dacrew.errors import UserError
from dacrew.plan.model import TaskPlan
from dacrew.plan.schedule import critical_path, topological_order
from dacrew.report.format import MAX_DRAWN, STATUS_ICONS, clip, duration, esc, owner_color, status_style
from dacrew.report.model import RunReport, TaskReport

_NODE_W, _NODE_H, _COL_GAP, _ROW_GAP, _LANE_HEAD, _LANE_PAD, _PAD = 168, 52, 44, 10, 24, 10, 12
_FIT_COLUMNS = 5
"""DAG columns a laptop-wide page shows without scrolling."""


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


def _lanes(plan: TaskPlan, tasks: list[TaskReport]) -> list[str]:
    lanes = [p.title for p in plan.phases]
    for task in tasks:
        if task.phase not in lanes:
            lanes.append(task.phase)
    used = {t.phase for t in tasks}
    return [lane for lane in lanes if lane in used]


def _node(task: TaskReport, x: float, y: float) -> str:
    stroke, fill = status_style(task.status)
    tip = f"{task.id}: {task.title}\n{task.owner} · {task.status} · {duration(task.duration_s)}"
    detail = f"{task.owner} · {duration(task.duration_s)}" if task.started else task.owner
    return (
        f'<g class="node" data-task="{esc(task.id)}" data-status="{esc(task.status)}"><title>{esc(tip)}</title>'
        f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="7" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{2 if task.status in ("failed", "in_progress") else 1.2}"/>'
        f'<rect x="{x + 4}" y="{y + 7}" width="4" height="{_NODE_H - 14}" rx="2" fill="{owner_color(task.owner)}"/>'
        f'<text x="{x + 14}" y="{y + 16}" class="nid">{esc(task.id)}</text>'
        f'<text x="{x + _NODE_W - 10}" y="{y + 16}" class="nicon" fill="{stroke}">{STATUS_ICONS.get(task.status, "")}</text>'
        f'<text x="{x + 14}" y="{y + 31}" class="ntitle">{esc(clip(task.title, 23))}</text>'
        f'<text x="{x + 14}" y="{y + 45}" class="nmeta">{esc(clip(detail, 30))}</text></g>'
    )


def _edge(
    ids: tuple[str, str], source: tuple[float, float], target: tuple[float, float], first_row: bool, cls: str
) -> str:
    """A curve from a dependency to its dependent that stays off the nodes between them where it can:
    side to side when the dependent is to the right; into its top when it heads its column; else
    around the right of the column into its right side."""
    (x1, y1), (x2, y2) = source, target
    ey = y2 + _NODE_H / 2
    if x2 > x1:
        sx, sy, ex = x1 + _NODE_W, y1 + _NODE_H / 2, x2 - 2
        bend = max(24.0, (ex - sx) / 2)
        curve = f"C{sx + bend:.1f},{sy:.1f} {ex - bend:.1f},{ey:.1f}"
    elif first_row and y2 > y1:
        sx, sy, ex, ey = x1 + _NODE_W / 2, y1 + _NODE_H, x2 + _NODE_W / 2, y2 - 2
        bend = max(20.0, (ey - sy) / 2)
        curve = f"C{sx:.1f},{sy + bend:.1f} {ex:.1f},{ey - bend:.1f}"
    elif x1 == x2:
        sx, sy, ex = x1 + _NODE_W, y1 + _NODE_H / 2, x2 + _NODE_W + 2
        curve = f"C{sx + 30:.1f},{sy:.1f} {ex + 30:.1f},{ey:.1f}"
    else:
        sx, sy, ex = x1 + _NODE_W / 2, y1 + _NODE_H, x2 + _NODE_W + 2
        curve = f"C{sx:.1f},{sy + (ey - sy) * 0.7:.1f} {ex + 36:.1f},{ey:.1f}"
    return f'<path class="{cls}" data-from="{esc(ids[0])}" data-to="{esc(ids[1])}" d="M{sx:.1f},{sy:.1f} {curve} {ex:.1f},{ey:.1f}" marker-end="url(#arrow)"/>'


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


def _columns(plan: TaskPlan, tasks: list[TaskReport]) -> list[tuple[str, dict[int, list[TaskReport]]]]:
    """Each phase band's tasks by column. Columns are dependency depth; when that is wider than a page,
    depth counts from each band's start instead (phases mostly follow one another, so little is lost)."""
    depth = _depths(plan)
    relative = max(depth.get(t.id, 0) for t in tasks) + 1 > _FIT_COLUMNS
    out: list[tuple[str, dict[int, list[TaskReport]]]] = []
    for lane in _lanes(plan, tasks):
        members = [t for t in tasks if t.phase == lane]
        base = min(depth.get(t.id, 0) for t in members) if relative else 0
        columns: dict[int, list[TaskReport]] = {}
        for task in members:
            columns.setdefault(depth.get(task.id, 0) - base, []).append(task)
        out.append((lane, columns))
    return out


def dag_svg(report: RunReport, plan: TaskPlan) -> str:
    tasks = report.tasks
    if not tasks:
        return ""
    if len(tasks) > MAX_DRAWN:
        return (
            f'<section><h2>Plan</h2><p class="note">{len(tasks)} tasks: too many to draw; see the table.</p></section>'
        )
    lanes = _columns(plan, tasks)
    cols = max(max(c) for _, c in lanes) + 1
    width = _PAD * 2 + cols * (_NODE_W + _COL_GAP) - _COL_GAP
    pos: dict[str, tuple[float, float]] = {}
    first_rows: set[str] = set()
    bands: list[str] = []
    y = float(_PAD)
    for lane, columns in lanes:
        rows = max(len(c) for c in columns.values())
        height = _LANE_HEAD + rows * (_NODE_H + _ROW_GAP) - _ROW_GAP + _LANE_PAD
        bands.append(
            f'<rect x="2" y="{y}" width="{width - 4}" height="{height}" rx="8" class="lane"/>'
            f'<text x="{_PAD}" y="{y + 16}" class="lanehead">{esc(lane or "Tasks")}</text>'
        )
        for col, members in columns.items():
            for row, task in enumerate(members):
                pos[task.id] = (_PAD + col * (_NODE_W + _COL_GAP), y + _LANE_HEAD + row * (_NODE_H + _ROW_GAP))
                if row == 0:
                    first_rows.add(task.id)
        y += height + _ROW_GAP
    status = {t.id: t.status for t in tasks}
    critical = _critical_edges(plan, tasks)
    edges: list[str] = []
    for task in tasks:
        for dep in (d for d in task.dependencies if d in pos):
            cls = "edge" if status.get(dep) == "completed" else "edge open"
            cls += " critical" if (dep, task.id) in critical else ""
            edges.append(_edge((dep, task.id), pos[dep], pos[task.id], task.id in first_rows, cls))
    nodes = "".join(_node(t, *pos[t.id]) for t in tasks)
    owners = sorted({t.owner for t in tasks})
    legend = "".join(
        f'<span class="lg"><i style="background:{status_style(s)[1]};border-color:{status_style(s)[0]}"></i>{esc(s.replace("_", " "))}</span>'
        for s in ("completed", "failed", "needs_input", "skipped", "in_progress", "pending")
    ) + "".join(
        f'<span class="lg"><i class="owner" style="background:{owner_color(o)}"></i>{esc(o)}</span>' for o in owners
    )
    if critical:
        legend += '<span class="lg"><i class="crit"></i>longest dependency chain, by time taken</span>'
    svg = (
        f'<svg class="dag" role="img" aria-label="Task graph" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" viewBox="0 0 {width} {y}">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>'
        f"{''.join(bands)}{''.join(edges)}{nodes}</svg>"
    )
    return f'<section><h2>Plan</h2><div class="legend">{legend}</div><div class="scroll">{svg}</div></section>'
