"""The run report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

Sections, top to bottom: a header (status, makespan, tokens, cost), the DAG (columns by dependency
depth, a band per phase, status colours, an owner stripe), the timeline (a bar per task from its start to
its finish, earlier attempts faded, and the number of tasks running over time), the costs per task and
per agent, and the table of tasks with their checks.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from html import escape

from dacrew.errors import UserError
from dacrew.findings.report import RunReport, TaskReport, parse_ts
from dacrew.graph.plan_model import TaskPlan
from dacrew.graph.plan_schedule import critical_path, topological_order

# (stroke, fill) per status; the stroke is also the bar colour on the timeline.
STATUS_COLORS: dict[str, tuple[str, str]] = {
    "completed": ("#15803d", "#dcfce7"),
    "failed": ("#dc2626", "#fee2e2"),
    "needs_input": ("#d97706", "#fef3c7"),
    "skipped": ("#6b7280", "#f3f4f6"),
    "in_progress": ("#2563eb", "#dbeafe"),
    "verifying": ("#7c3aed", "#ede9fe"),
    "interrupted": ("#9ca3af", "#f3f4f6"),
    "pending": ("#9ca3af", "#ffffff"),
}
STATUS_ICONS = {
    "completed": "✓",
    "failed": "✗",
    "needs_input": "?",
    "skipped": "↷",
    "in_progress": "…",
    "verifying": "…",
    "pending": "·",
}
# The same palette as ``dacrew plan show --format mermaid``.
OWNER_COLORS = {
    "Parent Agent": "#555555",
    "Sub-Agents": "#7e22ce",
    "dbt-expert": "#ff694a",
    "snowflake-expert": "#29b5e8",
    "tableau-expert": "#1f457e",
    "orchestra-expert": "#16a34a",
    "business-context": "#ca8a04",
}
_OTHER_OWNER = "#94a3b8"
_MAX_DRAWN = 500
_FIT_COLUMNS = 5
"""DAG columns a laptop-wide page shows without scrolling."""
"""Beyond this many tasks the DAG and timeline would be unreadable; the table still lists every task."""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _status(status: str) -> tuple[str, str]:
    return STATUS_COLORS.get(status, STATUS_COLORS["pending"])


def _owner_color(owner: str) -> str:
    lead = owner.split(" + ")[0].strip()  # "orchestra-expert + dbt-expert": the first owner leads
    return OWNER_COLORS.get(lead, _OTHER_OWNER)


def duration(seconds: float | None) -> str:
    """``850ms``, ``12.3s``, ``4m 05s``, ``1h 02m``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def usd(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _clock(ts: str | None) -> str:
    moment = parse_ts(ts)
    return moment.strftime("%H:%M:%S") if moment else "—"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- header ----------------------------------------------------------------------------------------


# A run's status drawn in the colour of the task status it resembles.
_GATE_LOOK = {"approved": "completed", "denied": "failed", "waiting": "needs_input"}
_RUN_LOOK = {"completed": "completed", "failed": "failed", "paused": "needs_input", "budget": "needs_input"}


def _header(report: RunReport) -> str:
    stroke, fill = _status(_RUN_LOOK.get(report.status, "in_progress"))
    started = parse_ts(report.started)
    meta = [f"run <b>{_e(report.run_id or '—')}</b>"]
    if report.plan:
        meta.append(f"plan {_e(report.plan)}")
    if report.model:
        meta.append(f"model {_e(report.model)}")
    if started:
        meta.append(f"started {_e(started.strftime('%Y-%m-%d %H:%M:%S %Z'))}")
    if report.dry_run:
        meta.append("dry run")
    if report.headless:
        meta.append("headless")
    done = report.counts.get("completed", 0)
    tokens = report.tokens
    cards = [
        ("Tasks", f"{done}/{len(report.tasks)}", "completed"),
        ("Makespan", duration(report.makespan_s), f"wall {duration(report.wall_s)}"),
        ("Tokens", f"{tokens.total:,}", f"{tokens.input:,} in · {tokens.output:,} out · {tokens.cache_read:,} cached"),
        ("Cost", usd(report.usd), f"{sum(a.model_calls for a in report.agents)} model calls"),
        ("Exit code", "—" if report.exit_code is None else str(report.exit_code), report.status),
    ]
    card_html = "".join(
        f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div><div class="s">{_e(s)}</div></div>'
        for k, v, s in cards
    )
    chips = "".join(
        f'<span class="chip" style="background:{_status(status)[1]};border-color:{_status(status)[0]}">'
        f"{_e(status.replace('_', ' '))} {count}</span>"
        for status, count in sorted(report.counts.items(), key=lambda kv: -kv[1])
    )
    gates = ""
    if report.gates:
        gates = (
            '<div class="chips gates">'
            + "".join(
                f'<span class="chip" style="border-color:{_status(_GATE_LOOK.get(state, "pending"))[0]}">'
                f"gate after {_e(phase)}: {_e(state)}</span>"
                for phase, state in report.gates.items()
            )
            + "</div>"
        )
    pending = ""
    if report.pending:
        items = "".join(f"<li><b>{_e(p.task)}</b> {_e(p.kind)}: {_e(p.text)}</li>" for p in report.pending)
        pending = f'<div class="pending"><b>Waiting for a person</b><ul>{items}</ul></div>'
    return (
        f'<header style="border-left-color:{stroke};background:{fill}">'
        f'<div><h1>{_e(report.feature or "dacrew run")}</h1><div class="meta">{" · ".join(meta)}</div></div>'
        f'<div class="badge" style="background:{stroke}">{_e(report.status.replace("_", " ").upper())}</div>'
        f'</header><section class="cards">{card_html}</section><div class="chips">{chips}</div>{gates}{pending}'
    )


# -- DAG -------------------------------------------------------------------------------------------

_NODE_W, _NODE_H, _COL_GAP, _ROW_GAP, _LANE_HEAD, _LANE_PAD, _PAD = 168, 52, 44, 10, 24, 10, 12


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
    stroke, fill = _status(task.status)
    tip = f"{task.id}: {task.title}\n{task.owner} · {task.status} · {duration(task.duration_s)}"
    detail = f"{task.owner} · {duration(task.duration_s)}" if task.started else task.owner
    return (
        f'<g class="node" data-task="{_e(task.id)}" data-status="{_e(task.status)}"><title>{_e(tip)}</title>'
        f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="7" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{2 if task.status in ("failed", "in_progress") else 1.2}"/>'
        f'<rect x="{x + 4}" y="{y + 7}" width="4" height="{_NODE_H - 14}" rx="2" fill="{_owner_color(task.owner)}"/>'
        f'<text x="{x + 14}" y="{y + 16}" class="nid">{_e(task.id)}</text>'
        f'<text x="{x + _NODE_W - 10}" y="{y + 16}" class="nicon" fill="{stroke}">{STATUS_ICONS.get(task.status, "")}</text>'
        f'<text x="{x + 14}" y="{y + 31}" class="ntitle">{_e(_clip(task.title, 23))}</text>'
        f'<text x="{x + 14}" y="{y + 45}" class="nmeta">{_e(_clip(detail, 30))}</text></g>'
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
    return f'<path class="{cls}" data-from="{_e(ids[0])}" data-to="{_e(ids[1])}" d="M{sx:.1f},{sy:.1f} {curve} {ex:.1f},{ey:.1f}" marker-end="url(#arrow)"/>'


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


def _dag(report: RunReport, plan: TaskPlan) -> str:
    tasks = report.tasks
    if not tasks:
        return ""
    if len(tasks) > _MAX_DRAWN:
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
            f'<text x="{_PAD}" y="{y + 16}" class="lanehead">{_e(lane or "Tasks")}</text>'
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
        f'<span class="lg"><i style="background:{_status(s)[1]};border-color:{_status(s)[0]}"></i>{_e(s.replace("_", " "))}</span>'
        for s in ("completed", "failed", "needs_input", "skipped", "in_progress", "pending")
    ) + "".join(
        f'<span class="lg"><i class="owner" style="background:{_owner_color(o)}"></i>{_e(o)}</span>' for o in owners
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


# -- timeline --------------------------------------------------------------------------------------

_LABEL_W, _CHART_W, _ROW_H, _BAR_H, _AXIS_H, _CONC_H = 230, 760, 22, 14, 26, 56
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _tick_label(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m" + (f"{whole % 60:02d}s" if whole % 60 else "")
    return f"{whole // 3600}h" + (f"{whole % 3600 // 60:02d}m" if whole % 3600 else "")


def _bounds(report: RunReport, started: list[TaskReport]) -> tuple[datetime, float]:
    moments = [parse_ts(report.started), parse_ts(report.finished)]
    for task in started:
        moments += [parse_ts(task.started), parse_ts(task.finished)]
        for span in task.spans:
            moments += [parse_ts(span.started), parse_ts(span.finished)]
    known = [m for m in moments if m is not None]
    t0 = min(known)
    return t0, max(1.0, (max(known) - t0).total_seconds())


def _concurrency(intervals: list[tuple[float, float]], total: float, top: float) -> tuple[str, int]:
    changes = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda c: (c[0], c[1]))
    peak = 0
    level = 0
    points: list[tuple[float, int]] = [(0.0, 0)]
    for moment, delta in changes:
        level += delta
        peak = max(peak, level)
        points.append((moment, level))
    scale = (_CONC_H - 8) / max(peak, 1)
    base = top + _CONC_H

    def x(t: float) -> float:
        return _LABEL_W + t / total * _CHART_W

    path = [f"M{x(0):.1f},{base:.1f}"]
    previous = 0
    for moment, lvl in points:
        path.append(f"L{x(moment):.1f},{base - previous * scale:.1f} L{x(moment):.1f},{base - lvl * scale:.1f}")
        previous = lvl
    path.append(f"L{x(total):.1f},{base - previous * scale:.1f} L{x(total):.1f},{base:.1f} Z")
    return " ".join(path), peak


def _timeline(report: RunReport) -> str:
    started = sorted((t for t in report.tasks if t.started), key=lambda t: (t.started or "", t.id))
    if not started:
        return '<section><h2>Timeline</h2><p class="note">No task started.</p></section>'
    total_started = len(started)
    started = started[:_MAX_DRAWN]
    t0, total = _bounds(report, started)

    def offset(ts: str | None) -> float:
        moment = parse_ts(ts)
        return total if moment is None else min(total, max(0.0, (moment - t0).total_seconds()))

    def x(seconds: float) -> float:
        return _LABEL_W + seconds / total * _CHART_W

    step = next((s for s in _STEPS if total / s <= 10), _STEPS[-1])
    height = _AXIS_H + len(started) * _ROW_H + 12 + _CONC_H + 18
    grid: list[str] = []
    tick = 0.0
    while tick <= total + 1e-9:
        grid.append(
            f'<line class="grid" x1="{x(tick):.1f}" y1="{_AXIS_H - 6}" x2="{x(tick):.1f}" y2="{height - 18}"/>'
            f'<text class="tick" x="{x(tick):.1f}" y="{_AXIS_H - 10}">{_tick_label(tick)}</text>'
        )
        tick += step
    rows: list[str] = []
    intervals: list[tuple[float, float]] = []
    for index, task in enumerate(started):
        top = _AXIS_H + index * _ROW_H
        mid = top + _ROW_H / 2
        stroke, _ = _status(task.status)
        begin, end = offset(task.started), offset(task.finished)
        rows.append(
            f'<text class="rowlabel" x="{_LABEL_W - 8}" y="{mid + 4:.1f}"><tspan class="nid">{_e(task.id)}</tspan> '
            f"{_e(_clip(task.title, 24))}</text>"
        )
        for span in task.spans:
            s_begin, s_end = offset(span.started), offset(span.finished)
            intervals.append((s_begin, s_end))
            if span.started == task.started:
                continue
            rows.append(
                f'<rect class="span" x="{x(s_begin):.1f}" y="{mid - _BAR_H / 2:.1f}" '
                f'width="{max(1.5, x(s_end) - x(s_begin)):.1f}" height="{_BAR_H}" rx="3" fill="{_status(span.status)[0]}">'
                f"<title>{_e(f'{task.id} attempt {span.attempt}: {span.status}')}</title></rect>"
            )
        if not task.spans:
            intervals.append((begin, end))
        open_end = task.finished is None
        tip = f"{task.id}: {task.title}\n{task.status} · {duration(task.duration_s)} · {_clock(task.started)} → {_clock(task.finished)}"
        rows.append(
            f'<rect class="bar{" open" if open_end else ""}" data-task="{_e(task.id)}" x="{x(begin):.1f}" '
            f'y="{mid - _BAR_H / 2:.1f}" width="{max(2.0, x(end) - x(begin)):.1f}" height="{_BAR_H}" rx="3" '
            f'fill="{stroke}"><title>{_e(tip)}</title></rect>'
        )
        label = duration(task.duration_s) if not open_end else task.status.replace("_", " ")
        inside = x(end) + 70 > _LABEL_W + _CHART_W
        rows.append(
            f'<text class="barlabel{" inside" if inside else ""}" x="{(x(end) - 4) if inside else (x(end) + 4):.1f}" '
            f'y="{mid + 4:.1f}">{_e(label)}</text>'
        )
    conc_top = _AXIS_H + len(started) * _ROW_H + 12
    area, peak = _concurrency(intervals, total, conc_top)
    width = _LABEL_W + _CHART_W + 20
    svg = (
        f'<svg class="timeline" role="img" aria-label="Timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(grid)}{"".join(rows)}'
        f'<path class="concurrency" d="{area}"/>'
        f'<text class="rowlabel" x="{_LABEL_W - 8}" y="{conc_top + _CONC_H / 2 + 4:.1f}">running (peak {peak})</text>'
        "</svg>"
    )
    shown = f"the first {_MAX_DRAWN} of {total_started}" if total_started > _MAX_DRAWN else str(total_started)
    note = f"{shown} tasks started · makespan {duration(report.makespan_s)} · peak parallelism {peak}"
    if report.max_parallel:
        note += f" of {report.max_parallel}"
    return f'<section><h2>Timeline</h2><p class="note">{_e(note)}</p><div class="scroll">{svg}</div></section>'


# -- costs -----------------------------------------------------------------------------------------


def _bar_rows(rows: list[tuple[str, str, float, str]]) -> str:
    top = max((value for _, _, value, _ in rows), default=0.0) or 1.0
    return "".join(
        f'<div class="brow"><span class="blabel">{label}</span><span class="track"><span class="fill" '
        f'style="width:{value / top * 100:.1f}%;background:{color}"></span></span><span class="bval">{_e(text)}</span></div>'
        for label, color, value, text in rows
    )


def _costs(report: RunReport) -> str:
    by_usd = any(t.usd for t in report.tasks) or any(a.usd for a in report.agents)

    def metric(tokens: int, cost: float) -> float:
        return cost if by_usd else float(tokens)

    tasks = sorted(
        (t for t in report.tasks if t.tokens.total or t.usd),
        key=lambda t: (-metric(t.tokens.total, t.usd), t.id),
    )
    if not tasks and not report.agents:
        return '<section><h2>Costs</h2><p class="note">No model usage recorded.</p></section>'
    task_rows = [
        (
            f"<b>{_e(t.id)}</b> {_e(_clip(t.title, 28))}",
            _owner_color(t.owner),
            metric(t.tokens.total, t.usd),
            f"{t.tokens.total:,} tok · {usd(t.usd)}",
        )
        for t in tasks[:60]
    ]
    agent_rows = [
        (
            f"<b>{_e(a.agent)}</b>",
            _owner_color(a.agent),
            metric(a.tokens.total, a.usd),
            f"{a.tokens.total:,} tok · {usd(a.usd)} · {a.model_calls} calls · {a.tool_calls} tools",
        )
        for a in report.agents
    ]
    t = report.tokens
    breakdown = (
        f"{t.input:,} input tokens ({t.cache_read:,} read from cache, {t.cache_write:,} written to it) · "
        f"{t.output:,} output tokens · {usd(report.usd)}"
    )
    scale = "bars by USD" if by_usd else "bars by tokens (no prices recorded)"
    return (
        f'<section><h2>Costs</h2><p class="note">{_e(breakdown)} — {scale}</p><div class="costs">'
        f"<div><h3>Per agent</h3>{_bar_rows(agent_rows)}</div>"
        f"<div><h3>Per task</h3>{_bar_rows(task_rows)}</div></div></section>"
    )


# -- table -----------------------------------------------------------------------------------------


def _checks(task: TaskReport) -> str:
    items: list[str] = []
    for check in task.checks:
        mark = "✓" if check.passed else "✗"
        label = f"{mark} {_e(check.kind)}: {_e(check.argument)}"
        if check.output:
            items.append(
                f'<li class="{"pass" if check.passed else "fail"}"><details><summary>{label}</summary>'
                f"<pre>{_e(check.output)}</pre></details></li>"
            )
        else:
            items.append(f'<li class="{"pass" if check.passed else "fail"}">{label}</li>')
    items += [f'<li class="fail">⚠ {_e(problem)}</li>' for problem in task.tool_problems]
    return f'<ul class="checks">{"".join(items)}</ul>' if items else '<span class="muted">—</span>'


def _table(report: RunReport) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Task", "Title", "Phase", "Owner", "Status", "Started", "Duration", "Att.", "Tokens", "USD", "Checks")
    )
    rows: list[str] = []
    for t in report.tasks:
        stroke, fill = _status(t.status)
        rows.append(
            f'<tr data-task="{_e(t.id)}"><td class="nid">{_e(t.id)}</td><td>{_e(t.title)}</td><td>{_e(t.phase)}</td>'
            f'<td class="owner"><i class="dot" style="background:{_owner_color(t.owner)}"></i>{_e(t.owner)}</td>'
            f'<td><span class="pill" style="background:{fill};border-color:{stroke};color:{stroke}">'
            f"{_e(t.status.replace('_', ' '))}</span></td>"
            f'<td class="num">{_clock(t.started)}</td><td class="num">{duration(t.duration_s)}</td>'
            f'<td class="num">{t.attempts}</td><td class="num">{t.tokens.total:,}</td><td class="num">{usd(t.usd)}</td>'
            f"<td>{_checks(t)}</td></tr>"
        )
        note = t.question if t.status == "needs_input" and t.question else t.error
        if note:
            rows.append(f'<tr class="note-row"><td></td><td colspan="10" style="color:{stroke}">{_e(note)}</td></tr>')
    return f'<section><h2>Tasks</h2><div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div></section>'


_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f8fafc}
main{max-width:1240px;margin:0 auto;padding:24px}
header{display:flex;justify-content:space-between;align-items:center;gap:16px;padding:16px 20px;
 border-left:6px solid;border-radius:10px}
h1{margin:0;font-size:24px}h2{font-size:17px;margin:0 0 10px}h3{font-size:13px;margin:0 0 8px;color:#475569}
.meta{color:#475569;font-size:13px;margin-top:4px}
.badge{color:#fff;font-weight:700;letter-spacing:.06em;padding:8px 14px;border-radius:8px;white-space:nowrap}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:16px 0 10px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:12px 14px}
.card .k{font-size:12px;color:#64748b;text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:24px;font-weight:700;font-variant-numeric:tabular-nums}
.card .s{font-size:12px;color:#64748b}
.chips{display:flex;gap:8px;flex-wrap:wrap}.gates{margin-top:8px}
.chip{border:1px solid;border-radius:999px;padding:2px 10px;font-size:12px}
.pending{margin-top:12px;background:#fffbeb;border:1px solid #f59e0b;border-radius:10px;padding:10px 14px}
.pending ul{margin:6px 0 0;padding-left:18px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:16px 18px;margin-top:18px}
.scroll{overflow:auto}
.note{color:#64748b;font-size:13px;margin:0 0 10px}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;color:#475569;margin-bottom:10px}
.lg i{display:inline-block;width:12px;height:12px;border:1px solid;border-radius:3px;margin-right:5px;vertical-align:-2px}
.lg i.owner{border:0;width:5px}
svg text{font-family:inherit}
.lane{fill:#f8fafc;stroke:#e2e8f0}
.lanehead{font-size:11px;font-weight:600;fill:#64748b;text-transform:uppercase;letter-spacing:.05em}
.edge{fill:none;stroke:#94a3b8;stroke-width:1.3}.edge.open{stroke-dasharray:4 3}
.edge.critical{stroke:#6366f1;stroke-width:2.4}
.lg i.crit{border:0;height:3px;width:16px;background:#6366f1;vertical-align:3px}
.nid{font-weight:700;font-size:12px;fill:#0f172a}
.nicon{font-size:13px;font-weight:700;text-anchor:end}
.ntitle{font-size:11.5px;fill:#1e293b}.nmeta{font-size:10.5px;fill:#64748b}
.grid{stroke:#eef2f7}.tick{font-size:10.5px;fill:#94a3b8;text-anchor:middle}
.rowlabel{font-size:11.5px;fill:#334155;text-anchor:end}
.bar.open{stroke:#0f172a;stroke-dasharray:3 2}.span{opacity:.35}
.barlabel{font-size:10.5px;fill:#475569}.barlabel.inside{text-anchor:end;fill:#fff}
.concurrency{fill:#c7d2fe;stroke:#6366f1;stroke-width:1}
.costs{display:grid;grid-template-columns:1fr 1.4fr;gap:24px}
.brow{display:grid;grid-template-columns:minmax(110px,190px) 1fr minmax(150px,auto);gap:8px;align-items:center;font-size:12.5px;margin:3px 0}
.blabel{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.track{background:#f1f5f9;border-radius:4px;height:12px;overflow:hidden}
.fill{display:block;height:100%;border-radius:4px}
.bval{color:#475569;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-size:11.5px;color:#64748b;text-transform:uppercase;letter-spacing:.04em;border-bottom:2px solid #e2e8f0;padding:6px 8px}
td{border-bottom:1px solid #f1f5f9;padding:6px 8px;vertical-align:top}
td.owner{white-space:nowrap}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.note-row td{border-bottom:1px solid #e2e8f0;font-size:12.5px;padding-top:0}
.pill{border:1px solid;border-radius:999px;padding:1px 8px;font-size:12px;white-space:nowrap}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px}
.checks{list-style:none;margin:0;padding:0}.checks .pass{color:#15803d}.checks .fail{color:#dc2626}
.checks pre{white-space:pre-wrap;color:#334155;background:#f8fafc;padding:6px;border-radius:6px;max-height:240px;overflow:auto}
.muted{color:#94a3b8}
@media (max-width:900px){.cards{grid-template-columns:repeat(2,1fr)}.costs{grid-template-columns:1fr}}
"""


def render_html(report: RunReport, plan: TaskPlan) -> str:
    title = f"dacrew · {report.feature or report.run_id} · {report.status}"
    body = _header(report) + _dag(report, plan) + _timeline(report) + _costs(report) + _table(report)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>{body}"
        f'<footer class="note" style="margin-top:16px">report format v{report.version}</footer></main></body></html>\n'
    )
