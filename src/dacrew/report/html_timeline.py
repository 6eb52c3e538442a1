"""The report's timeline (a bar per task attempt, and how many tasks ran at once) and its costs per task and per agent, as inline SVG and HTML."""

from __future__ import annotations

from datetime import datetime

from dacrew.report.format import (
    MAX_DRAWN,
    clip,
    clock,
    cost_text,
    duration,
    esc,
    owner_color,
    status_style,
    tokens_text,
    usd,
)
from dacrew.report.model import RunReport, TaskReport, parse_ts

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


def timeline_html(report: RunReport) -> str:
    started = sorted((t for t in report.tasks if t.started), key=lambda t: (t.started or "", t.id))
    if not started:
        return '<section><h2>Timeline</h2><p class="note">No task started.</p></section>'
    total_started = len(started)
    started = started[:MAX_DRAWN]
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
        stroke, _ = status_style(task.status)
        begin, end = offset(task.started), offset(task.finished)
        rows.append(
            f'<text class="rowlabel" x="{_LABEL_W - 8}" y="{mid + 4:.1f}"><tspan class="nid">{esc(task.id)}</tspan> '
            f"{esc(clip(task.title, 24))}</text>"
        )
        for span in task.spans:
            s_begin, s_end = offset(span.started), offset(span.finished)
            intervals.append((s_begin, s_end))
            if span.started == task.started:
                continue
            rows.append(
                f'<rect class="span" x="{x(s_begin):.1f}" y="{mid - _BAR_H / 2:.1f}" '
                f'width="{max(1.5, x(s_end) - x(s_begin)):.1f}" height="{_BAR_H}" rx="3" fill="{status_style(span.status)[0]}">'
                f"<title>{esc(f'{task.id} attempt {span.attempt}: {span.status}')}</title></rect>"
            )
        if not task.spans:
            intervals.append((begin, end))
        open_end = task.finished is None
        tip = f"{task.id}: {task.title}\n{task.status} · {duration(task.duration_s)} · {clock(task.started)} → {clock(task.finished)}"
        rows.append(
            f'<rect class="bar{" open" if open_end else ""}" data-task="{esc(task.id)}" x="{x(begin):.1f}" '
            f'y="{mid - _BAR_H / 2:.1f}" width="{max(2.0, x(end) - x(begin)):.1f}" height="{_BAR_H}" rx="3" '
            f'fill="{stroke}"><title>{esc(tip)}</title></rect>'
        )
        label = duration(task.duration_s) if not open_end else task.status.replace("_", " ")
        inside = x(end) + 70 > _LABEL_W + _CHART_W
        rows.append(
            f'<text class="barlabel{" inside" if inside else ""}" x="{(x(end) - 4) if inside else (x(end) + 4):.1f}" '
            f'y="{mid + 4:.1f}">{esc(label)}</text>'
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
    shown = f"the first {MAX_DRAWN} of {total_started}" if total_started > MAX_DRAWN else str(total_started)
    note = f"{shown} tasks started · makespan {duration(report.makespan_s)} · peak parallelism {peak}"
    if report.max_parallel:
        note += f" of {report.max_parallel}"
    return f'<section><h2>Timeline</h2><p class="note">{esc(note)}</p><div class="scroll">{svg}</div></section>'


def _bar_rows(rows: list[tuple[str, str, float, str]]) -> str:
    top = max((value for _, _, value, _ in rows), default=0.0) or 1.0
    return "".join(
        f'<div class="brow"><span class="blabel">{label}</span><span class="track"><span class="fill" '
        f'style="width:{value / top * 100:.1f}%;background:{color}"></span></span><span class="bval">{esc(text)}</span></div>'
        for label, color, value, text in rows
    )


def costs_html(report: RunReport) -> str:
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
            f"<b>{esc(t.id)}</b> {esc(clip(t.title, 28))}",
            owner_color(t.owner),
            metric(t.tokens.total, t.usd),
            f"{tokens_text(t.tokens.total, t.estimated)} tok · {cost_text(t.usd, t.estimated_usd)}",
        )
        for t in tasks[:60]
    ]
    agent_rows = [
        (
            f"<b>{esc(a.agent)}</b>",
            owner_color(a.agent),
            metric(a.tokens.total, a.usd),
            f"{tokens_text(a.tokens.total, a.estimated)} tok · {cost_text(a.usd, a.estimated_usd)}"
            f" · {a.model_calls} calls · {a.tool_calls} tools",
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
        f'<section><h2>Costs</h2><p class="note">{esc(breakdown)} — {scale}</p><div class="costs">'
        f"<div><h3>Per agent</h3>{_bar_rows(agent_rows)}</div>"
        f"<div><h3>Per task</h3>{_bar_rows(task_rows)}</div></div></section>"
    )
