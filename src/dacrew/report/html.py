"""The run report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

Sections, top to bottom: a header (status, makespan, tokens, cost), the DAG (a layered layout as wide as
the page, status colours, an owner stripe), the timeline (a bar per stretch of work on a task, earlier
attempts faded, the times the run was stopped as hatched gaps, and the number of tasks running over
time), the costs per task and per agent, and the table of tasks (links to findings and artifacts; each
expands to its tool calls, checks with output and approvals).
"""

from __future__ import annotations

import os
from pathlib import Path

from dacrew.plan.model import TaskPlan
from dacrew.report.format import cost_text, duration, esc, status_style, tokens_text
from dacrew.report.html_dag import dag_svg
from dacrew.report.html_tasks import tasks_html
from dacrew.report.html_timeline import costs_html, timeline_html
from dacrew.report.model import RunReport, parse_ts

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
        (
            "Tokens",
            tokens_text(tokens.total, report.estimated),
            f"{tokens.input:,} in · {tokens.output:,} out · {tokens.cache_read:,} cached"
            + (" · estimated" if report.estimated else ""),
        ),
        (
            "Cost",
            cost_text(report.usd, report.estimated_usd),
            f"{sum(a.model_calls for a in report.agents)} model calls",
        ),
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
    if report.fallback_calls:
        items = "".join(
            f"<li><b>{esc(c.task)}</b> {esc(c.agent)} step {c.step}: {esc(c.model)}</li>" for c in report.fallback_calls
        )
        pending += f'<div class="pending"><b>Calls answered by the fallback model</b><ul>{items}</ul></div>'
    return (
        f'<header style="border-left-color:{stroke};background:{fill}">'
        f'<div><h1>{esc(report.feature or "dacrew run")}</h1><div class="meta">{" · ".join(meta)}</div></div>'
        f'<div class="badge" style="background:{stroke}">{esc(report.status.replace("_", " ").upper())}</div>'
        f'</header><section class="cards">{card_html}</section><div class="chips">{chips}</div>{gates}{pending}'
    )


_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f8fafc}
main{max-width:1480px;margin:0 auto;padding:24px}
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
table.tasks,table.calls{table-layout:fixed}td{overflow-wrap:anywhere}
.small{font-size:11.5px}.links{font-size:12px;margin-top:2px}.links a{color:#4338ca}
.detail-row td{border-bottom:1px solid #e2e8f0;padding-top:0}
.detail-row summary{cursor:pointer;color:#4338ca;font-size:12.5px}
.detail-row h4{font-size:12px;margin:10px 0 4px;color:#475569;text-transform:uppercase;letter-spacing:.04em}
table.calls td{font-size:12px;padding:3px 6px}table.calls code{white-space:pre-wrap}
table.calls .ok{color:#15803d}table.calls .bad{color:#dc2626}
.check{font-size:12.5px;margin:4px 0}.check.pass b{color:#15803d}.check.fail b{color:#dc2626}.check.unverified b{color:#b45309}
.check pre{white-space:pre-wrap;color:#334155;background:#f8fafc;padding:6px;border-radius:6px;max-height:240px;overflow:auto;margin:4px 0}
.approvals{margin:0;padding-left:18px;font-size:12.5px}
svg.dag{display:block;height:auto;margin:0 auto}
.gap{fill:url(#hatch);stroke:#cbd5e1}.gaplabel{font-size:10.5px;fill:#64748b;text-anchor:middle}
th{text-align:left;font-size:11.5px;color:#64748b;text-transform:uppercase;letter-spacing:.04em;border-bottom:2px solid #e2e8f0;padding:6px 8px}
td{border-bottom:1px solid #f1f5f9;padding:6px 8px;vertical-align:top}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.note-row td{border-bottom:1px solid #e2e8f0;font-size:12.5px;padding-top:0}
.pill{border:1px solid;border-radius:999px;padding:1px 8px;font-size:12px;white-space:nowrap}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px}
.checks{list-style:none;margin:0;padding:0}.checks .pass{color:#15803d}.checks .fail{color:#dc2626}
.checks .unverified{color:#b45309}
.checks pre{white-space:pre-wrap;color:#334155;background:#f8fafc;padding:6px;border-radius:6px;max-height:240px;overflow:auto}
.muted{color:#94a3b8}
@media (max-width:900px){.cards{grid-template-columns:repeat(2,1fr)}.costs{grid-template-columns:1fr}}
"""


def render_html(report: RunReport, plan: TaskPlan, root: str = "", files: frozenset[str] | None = None) -> str:
    """The page; links to findings and artifacts are relative to it (``root``: the project folder as
    seen from the page, '' when the page sits in it). ``files``: the artifacts that are files or folders
    (linked; the others, such as warehouse tables, are named); None links every artifact."""
    title = f"dacrew · {report.feature or report.run_id} · {report.status}"
    body = _header(report) + dag_svg(report, plan) + timeline_html(report) + costs_html(report)
    body += tasks_html(report, root, files)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body><main>{body}"
        f'<footer class="note" style="margin-top:16px">report format v{report.version}</footer></main></body></html>\n'
    )


def write_html(report: RunReport, plan: TaskPlan, path: Path | str, project: Path | None = None) -> Path:
    """One self-contained HTML page: header, DAG, timeline, costs and the task table, linking to the
    findings and artifacts under ``project`` (relative links, so the folder can move)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    root, files = "", None
    if project is not None:
        root = os.path.relpath(project.resolve(), target.parent.resolve())
        files = frozenset(a for t in report.tasks for a in t.artifacts if (project / a).exists())
    target.write_text(render_html(report, plan, "" if root == "." else root, files), encoding="utf-8")
    return target
