"""The report's timeline (a bar per stretch of work on a task, the times the run was stopped as gaps, and
how many tasks ran at once) and its costs per task and per agent, as inline SVG and HTML."""

from __future__ import annotations

from collections.abc import Callable
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

_LABEL_W, _CHART_W, _ROW_H, _BAR_H, _AXIS_H, _CONC_H, _GAP_W = 230, 1150, 22, 14, 26, 56, 56
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


def _concurrency(
    intervals: list[tuple[float, float]], total: float, top: float, x: Callable[[float], float]
) -> tuple[str, int]:
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
    path = [f"M{x(0):.1f},{base:.1f}"]
    previous = 0
    for moment, lvl in points:
        path.append(f"L{x(moment):.1f},{base - previous * scale:.1f} L{x(moment):.1f},{base - lvl * scale:.1f}")
        previous = lvl
    path.append(f"L{x(total):.1f},{base - previous * scale:.1f} L{x(total):.1f},{base:.1f} Z")
    return " ".join(path), peak


def _gaps(report: RunReport, offset: Callable[[str | None], float]) -> list[tuple[float, float]]:
    """When the run was stopped: from the end of one session to the start of the next (seconds from
    the timeline's start)."""
    out: list[tuple[float, float]] = []
    for before, after in zip(report.sessions, report.sessions[1:], strict=False):
        start, end = offset(before.finished), offset(after.started)
        if end > start:
            out.append((start, end))
    return out


def _scale(total: float, gaps: list[tuple[float, float]]) -> Callable[[float], float]:
    """Seconds → x: working time spread over the chart, each stop a fixed-width gap whatever it lasted."""
    stopped = sum(b - a for a, b in gaps)
    per_second = (_CHART_W - _GAP_W * len(gaps)) / max(total - stopped, 1e-9)

    def x(seconds: float) -> float:
        shift, removed = 0.0, 0.0
        for a, b in gaps:
            if seconds >= b:
                shift, removed = shift + _GAP_W, removed + b - a
            elif seconds > a:
                return _LABEL_W + (a - removed) * per_second + shift + (seconds - a) / (b - a) * _GAP_W
            else:
                break
        return _LABEL_W + (seconds - removed) * per_second + shift

    return x


def _task_row(
    task: TaskReport, top: float, x: Callable[[float], float], offset: Callable[[str | None], float]
) -> tuple[list[str], list[tuple[float, float]]]:
    """A task's label and bars (one per stretch of work; earlier attempts faded), and its intervals."""
    mid = top + _ROW_H / 2
    stroke, _ = status_style(task.status)
    out = [
        f'<text class="rowlabel" x="{_LABEL_W - 8}" y="{mid + 4:.1f}"><tspan class="nid">{esc(task.id)}</tspan> '
        f"{esc(clip(task.title, 24))}</text>"
    ]
    spans = [(s.attempt, s.started, s.finished, s.status) for s in task.spans]
    if not spans:
        spans = [(task.attempts, task.started, task.finished, task.status)]
    last = max(a for a, *_ in spans)
    intervals: list[tuple[float, float]] = []
    tip = f"{task.id}: {task.title}\n{task.status} · {duration(task.duration_s)} · {clock(task.started)} → {clock(task.finished)}"
    for attempt, started, finished, status in spans:
        begin, end = offset(started), offset(finished)
        intervals.append((begin, end))
        geometry = f'x="{x(begin):.1f}" y="{mid - _BAR_H / 2:.1f}" width="{max(2.0, x(end) - x(begin)):.1f}" height="{_BAR_H}" rx="3"'
        if attempt < last:
            out.append(
                f'<rect class="span" {geometry} fill="{status_style(status)[0]}">'
                f"<title>{esc(f'{task.id} attempt {attempt}: {status}')}</title></rect>"
            )
            continue
        open_end = finished is None
        out.append(
            f'<rect class="bar{" open" if open_end else ""}" data-task="{esc(task.id)}" {geometry} '
            f'fill="{stroke}"><title>{esc(tip)}</title></rect>'
        )
    end = x(offset(task.finished)) if task.finished else x(intervals[-1][1])
    label = duration(task.duration_s) if task.finished else task.status.replace("_", " ")
    inside = end + 70 > _LABEL_W + _CHART_W
    out.append(
        f'<text class="barlabel{" inside" if inside else ""}" x="{(end - 4) if inside else (end + 4):.1f}" '
        f'y="{mid + 4:.1f}">{esc(label)}</text>'
    )
    return out, intervals


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

    gaps = _gaps(report, offset)
    x = _scale(total, gaps)
    working = total - sum(b - a for a, b in gaps)
    step = next((s for s in _STEPS if working / s <= 12), _STEPS[-1])
    height = _AXIS_H + len(started) * _ROW_H + 12 + _CONC_H + 18
    grid: list[str] = []
    tick = 0.0
    while tick <= total + 1e-9:
        if not any(a < tick < b for a, b in gaps):
            grid.append(
                f'<line class="grid" x1="{x(tick):.1f}" y1="{_AXIS_H - 6}" x2="{x(tick):.1f}" y2="{height - 18}"/>'
                f'<text class="tick" x="{x(tick):.1f}" y="{_AXIS_H - 10}">{_tick_label(tick)}</text>'
            )
        tick += step
    for a, b in gaps:
        grid.append(
            f'<rect class="gap" data-seconds="{b - a:.1f}" x="{x(a):.1f}" y="{_AXIS_H - 6}" width="{x(b) - x(a):.1f}" '
            f'height="{height - _AXIS_H - 12}"><title>{esc(f"stopped for {duration(b - a)}")}</title></rect>'
            f'<text class="gaplabel" x="{(x(a) + x(b)) / 2:.1f}" y="{_AXIS_H - 10}">stopped {esc(duration(b - a))}</text>'
        )
    rows: list[str] = []
    intervals: list[tuple[float, float]] = []
    for index, task in enumerate(started):
        drawn, spans = _task_row(task, _AXIS_H + index * _ROW_H, x, offset)
        rows += drawn
        intervals += spans
    conc_top = _AXIS_H + len(started) * _ROW_H + 12
    area, peak = _concurrency(intervals, total, conc_top, x)
    width = _LABEL_W + _CHART_W + 20
    svg = (
        f'<svg class="timeline" role="img" aria-label="Timeline" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'viewBox="0 0 {width} {height}" style="max-width:{width}px;height:auto">'
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#f8fafc"/><line x1="0" y1="0" x2="0" y2="6" stroke="#cbd5e1" stroke-width="2"/>'
        f"</pattern></defs>{''.join(grid)}{''.join(rows)}"
        f'<path class="concurrency" d="{area}"/>'
        f'<text class="rowlabel" x="{_LABEL_W - 8}" y="{conc_top + _CONC_H / 2 + 4:.1f}">running (peak {peak})</text>'
        "</svg>"
    )
    shown = f"the first {MAX_DRAWN} of {total_started}" if total_started > MAX_DRAWN else str(total_started)
    note = f"{shown} tasks started · makespan {duration(report.makespan_s)} · peak parallelism {peak}"
    if report.max_parallel:
        note += f" of {report.max_parallel}"
    if gaps:
        note += f" · stopped {len(gaps)} time{'' if len(gaps) == 1 else 's'} (hatched; each gap drawn the same width)"
    return f'<section><h2>Timeline</h2><p class="note">{esc(note)}</p>{svg}</section>'


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
