"""The run report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

Sections, top to bottom: a header (status, makespan, tokens, cost), the DAG (columns by dependency
depth, a band per phase, status colours, an owner stripe), the timeline (a bar per task from its start to
its finish, earlier attempts faded, and the number of tasks running over time), the costs per task and
per agent, and the table of tasks with their checks.
"""

from __future__ import annotations

from pathlib import Path

from dacrew.plan.model import TaskPlan
from dacrew.report.format import clock, duration, esc, owner_color, status_style, usd
from dacrew.report.html_dag import dag_svg
from dacrew.report.html_timeline import costs_html, timeline_html
from dacrew.report.model import RunReport, TaskReport, parse_ts

# -- header ----------------------------------------------------------------------------------------


# A run's status drawn in the colour of the task status it resembles.
_GATE_LOOK = {"approved": "completed", "denied": "failed", "waiting": "needs_input"}
_RUN_LOOK = {"completed": "completed", "failed": "failed", "paused": "needs_input", "budget": "needs_input"}


def _header(report: RunReport) -> str:
    stroke, fill = status_style(_RUN_LOOK.get(report.status, "in_progress"))
    started = parse_ts(report.started)
    meta = [f"run <b>{esc(report.run_id or '—')}</b>"]
    if report.plan:
        meta.append(f"plan {esc(report.plan)}")
    if report.model:
        meta.append(f"model {esc(report.model)}")
    if started:
        meta.append(f"started {esc(started.strftime('%Y-%m-%d %H:%M:%S %Z'))}")
    if report.dry_run:
        meta.append("dry run")
    if report.headless:
        meta.append("headless")
    done = report.counts.get("completed", 0)
    tokens = report.tokens
    checks = report.check_counts
    verdicts = f"checks: {checks.get('passed', 0)} passed · {checks.get('failed', 0)} failed"
    verdicts += f" · {checks['unverified']} unverified" if checks.get("unverified") else ""
    cards = [
        ("Tasks", f"{done}/{len(report.tasks)}", f"completed · {verdicts}"),
        ("Makespan", duration(report.makespan_s), f"wall {duration(report.wall_s)}"),
        ("Tokens", f"{tokens.total:,}", f"{tokens.input:,} in · {tokens.output:,} out · {tokens.cache_read:,} cached"),
        ("Cost", usd(report.usd), f"{sum(a.model_calls for a in report.agents)} model calls"),
        ("Exit code", "—" if report.exit_code is None else str(report.exit_code), report.status),
    ]
    card_html = "".join(
        f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div><div class="s">{esc(s)}</div></div>'
        for k, v, s in cards
    )
    chips = "".join(
        f'<span class="chip" style="background:{status_style(status)[1]};border-color:{status_style(status)[0]}">'
        f"{esc(status.replace('_', ' '))} {count}</span>"
        for status, count in sorted(report.counts.items(), key=lambda kv: -kv[1])
    )
    gates = ""
    if report.gates:
        gates = (
            '<div class="chips gates">'
            + "".join(
                f'<span class="chip" style="border-color:{status_style(_GATE_LOOK.get(state, "pending"))[0]}">'
                f"gate after {esc(phase)}: {esc(state)}</span>"
                for phase, state in report.gates.items()
            )
            + "</div>"
        )
    pending = ""
    if report.pending:
        items = "".join(f"<li><b>{esc(p.task)}</b> {esc(p.kind)}: {esc(p.text)}</li>" for p in report.pending)
        pending = f'<div class="pending"><b>Waiting for a person</b><ul>{items}</ul></div>'
    return (
        f'<header style="border-left-color:{stroke};background:{fill}">'
        f'<div><h1>{esc(report.feature or "dacrew run")}</h1><div class="meta">{" · ".join(meta)}</div></div>'
        f'<div class="badge" style="background:{stroke}">{esc(report.status.replace("_", " ").upper())}</div>'
        f'</header><section class="cards">{card_html}</section><div class="chips">{chips}</div>{gates}{pending}'
    )


# -- table -----------------------------------------------------------------------------------------


_MARKS = {"passed": ("✓", "pass"), "failed": ("✗", "fail"), "unverified": ("?", "unverified")}


def _checks(task: TaskReport) -> str:
    items: list[str] = []
    for check in task.checks:
        mark, css = _MARKS[check.outcome]
        label = f"{mark} {esc(check.kind)}: {esc(check.argument)}"
        if check.unverified:
            label += (
                f' <span class="muted">unverified: {esc(check.output.splitlines()[0] if check.output else "")}</span>'
            )
        if check.output:
            items.append(
                f'<li class="{css}"><details><summary>{label}</summary><pre>{esc(check.output)}</pre></details></li>'
            )
        else:
            items.append(f'<li class="{css}">{label}</li>')
    items += [f'<li class="fail">⚠ {esc(problem)}</li>' for problem in task.tool_problems]
    return f'<ul class="checks">{"".join(items)}</ul>' if items else '<span class="muted">—</span>'


def _table(report: RunReport) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Task", "Title", "Phase", "Owner", "Status", "Started", "Duration", "Att.", "Tokens", "USD", "Checks")
    )
    rows: list[str] = []
    for t in report.tasks:
        stroke, fill = status_style(t.status)
        rows.append(
            f'<tr data-task="{esc(t.id)}"><td class="nid">{esc(t.id)}</td><td>{esc(t.title)}</td><td>{esc(t.phase)}</td>'
            f'<td class="owner"><i class="dot" style="background:{owner_color(t.owner)}"></i>{esc(t.owner)}</td>'
            f'<td><span class="pill" style="background:{fill};border-color:{stroke};color:{stroke}">'
            f"{esc(t.status.replace('_', ' '))}</span></td>"
            f'<td class="num">{clock(t.started)}</td><td class="num">{duration(t.duration_s)}</td>'
            f'<td class="num">{t.attempts}</td><td class="num">{t.tokens.total:,}</td><td class="num">{usd(t.usd)}</td>'
            f"<td>{_checks(t)}</td></tr>"
        )
        note = t.question if t.status == "needs_input" and t.question else t.error
        if note:
            rows.append(f'<tr class="note-row"><td></td><td colspan="10" style="color:{stroke}">{esc(note)}</td></tr>')
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
.checks .unverified{color:#b45309}
.checks pre{white-space:pre-wrap;color:#334155;background:#f8fafc;padding:6px;border-radius:6px;max-height:240px;overflow:auto}
.muted{color:#94a3b8}
@media (max-width:900px){.cards{grid-template-columns:repeat(2,1fr)}.costs{grid-template-columns:1fr}}
"""


def render_html(report: RunReport, plan: TaskPlan) -> str:
    title = f"dacrew · {report.feature or report.run_id} · {report.status}"
    body = _header(report) + dag_svg(report, plan) + timeline_html(report) + costs_html(report) + _table(report)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body><main>{body}"
        f'<footer class="note" style="margin-top:16px">report format v{report.version}</footer></main></body></html>\n'
    )


def write_html(report: RunReport, plan: TaskPlan, path: Path | str) -> Path:
    """One self-contained HTML page: header, DAG, timeline, costs and the task table."""
    from dacrew.report.html import render_html

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report, plan), encoding="utf-8")
    return target
