"""The report's task table: one row per task, as wide as the page (no sideways scrolling), linking to
the task's finding and artifacts, and a row below that expands to its tool calls, its checks with their
output, and its approvals."""

from __future__ import annotations

from urllib.parse import quote

from dacrew.report.format import clock, cost_text, duration, esc, owner_color, status_style, tokens_text
from dacrew.report.model import RunReport, TaskReport

_COLUMNS = (
    ("Task", "7%"),
    ("Title", "25%"),
    ("Owner", "13%"),
    ("Status", "9%"),
    ("Time", "9%"),
    ("Cost", "9%"),
    ("Checks", "28%"),
)


def href(root: str, path: str) -> str:
    """A link from the report to ``path`` (relative to the project folder); ``root`` is the project
    folder relative to the report ('' when the report sits in it)."""
    target = quote(path.lstrip("/"))
    return esc(f"{root.rstrip('/')}/{target}" if root else target)


_MARKS = {"passed": ("✓", "pass"), "failed": ("✗", "fail"), "unverified": ("?", "unverified")}


def _checks(task: TaskReport) -> str:
    items: list[str] = []
    for c in task.checks:
        mark, css = _MARKS[c.outcome]
        why = ""
        if c.unverified:
            first = c.output.splitlines()[0] if c.output else ""
            why = f' <span class="muted">unverified: {esc(first)}</span>'
        items.append(f'<li class="{css}">{mark} {esc(c.kind)}: {esc(c.argument)}{why}</li>')
    items += [f'<li class="fail">⚠ {esc(problem)}</li>' for problem in task.tool_problems]
    return f'<ul class="checks">{"".join(items)}</ul>' if items else '<span class="muted">—</span>'


def _links(task: TaskReport, root: str, files: frozenset[str] | None) -> str:
    links: list[str] = []
    if task.finding:
        links.append(f'<a class="finding" href="{href(root, task.finding)}">finding</a>')
    links += [
        f'<a class="artifact" href="{href(root, a)}">{esc(a)}</a>'
        if files is None or a in files
        else f"<code>{esc(a)}</code>"
        for a in task.artifacts
    ]
    return f'<div class="links">{" · ".join(links)}</div>' if links else ""


def _details(task: TaskReport) -> str:
    """What expands below a task: tool calls, checks with output, approvals."""
    parts: list[str] = []
    if task.tool_calls:
        rows = "".join(
            f"<tr><td>{n}</td><td>{esc(c.agent)}</td><td><code>{esc(c.tool)}</code></td>"
            f'<td class="{"ok" if c.status == "ok" else "bad"}">{esc(c.status or "—")}</td><td><code>{esc(c.args)}</code></td></tr>'
            for n, c in enumerate(task.tool_calls, start=1)
        )
        parts.append(
            '<h4>Tool calls</h4><table class="calls"><thead><tr><th style="width:4%">#</th>'
            '<th style="width:14%">Agent</th><th style="width:20%">Tool</th><th style="width:9%">Result</th>'
            f"<th>Arguments</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if task.checks:
        checks = "".join(
            f'<div class="check {_MARKS[c.outcome][1]}"><b>{_MARKS[c.outcome][0]} {esc(c.kind)}:</b> '
            f"{esc(c.argument)}{f'<pre>{esc(c.output)}</pre>' if c.output else ''}</div>"
            for c in task.checks
        )
        parts.append(f"<h4>Checks</h4>{checks}")
    if task.approvals:
        approvals = "".join(
            f"<li><b>{esc(a.decision)}</b>{f' by {esc(a.by)}' if a.by else ''}: <code>{esc(a.tool)}</code> "
            f"{esc(a.action)} {esc(a.message)}</li>"
            for a in task.approvals
        )
        parts.append(f'<h4>Approvals</h4><ul class="approvals">{approvals}</ul>')
    return "".join(parts)


def _summary(task: TaskReport) -> str:
    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return " · ".join(
        (
            count(len(task.tool_calls), "tool call"),
            count(len(task.checks), "check"),
            count(len(task.approvals), "approval"),
        )
    )


def tasks_html(report: RunReport, root: str = "", files: frozenset[str] | None = None) -> str:
    """The task table; links are relative to the report (``root``: the project folder from there);
    ``files``: the artifacts to link (None: all)."""
    head = "".join(f'<th style="width:{w}">{h}</th>' for h, w in _COLUMNS)
    rows: list[str] = []
    for t in report.tasks:
        stroke, fill = status_style(t.status)
        attempts = f" · attempt {t.attempts}" if t.attempts > 1 else ""
        rows.append(
            f'<tr id="task-{esc(t.id)}" data-task="{esc(t.id)}"><td class="nid">{esc(t.id)}</td>'
            f'<td>{esc(t.title)}<div class="muted small">{esc(t.phase)}</div>{_links(t, root, files)}</td>'
            f'<td class="owner"><i class="dot" style="background:{owner_color(t.owner)}"></i>{esc(t.owner)}</td>'
            f'<td><span class="pill" style="background:{fill};border-color:{stroke};color:{stroke}">'
            f"{esc(t.status.replace('_', ' '))}</span></td>"
            f'<td class="num">{clock(t.started)}<div class="muted small">{duration(t.duration_s)}{attempts}</div></td>'
            f'<td class="num">{cost_text(t.usd, t.estimated_usd)}'
            f'<div class="muted small">{tokens_text(t.tokens.total, t.estimated)} tok</div></td>'
            f"<td>{_checks(t)}</td></tr>"
        )
        note = t.question if t.status == "needs_input" and t.question else t.error
        if t.done_in_plan:
            note = "done in plan, not run"
        if note:
            rows.append(f'<tr class="note-row"><td></td><td colspan="6" style="color:{stroke}">{esc(note)}</td></tr>')
        details = _details(t)
        if details:
            rows.append(
                f'<tr class="detail-row"><td></td><td colspan="6"><details><summary>{_summary(t)}</summary>'
                f"{details}</details></td></tr>"
            )
    return (
        f'<section><h2>Tasks</h2><table class="tasks"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )
