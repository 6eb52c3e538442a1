"""How the report and the live board write values people read: durations, dollars, clock times, colours per status and owner."""

from __future__ import annotations

from html import escape

from dacrew.report.model import parse_ts

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
MAX_DRAWN = 500
"""Beyond this many tasks the DAG and timeline would be unreadable; the table still lists every task."""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def status_style(status: str) -> tuple[str, str]:
    return STATUS_COLORS.get(status, STATUS_COLORS["pending"])


def owner_color(owner: str) -> str:
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


def tokens_text(total: int, estimated: bool = False) -> str:
    """``12,345`` tokens, or ``~12,345`` when they are estimated."""
    return f"~{total:,}" if estimated and total else f"{total:,}"


def cost_text(paid: float, estimated_usd: float = 0.0) -> str:
    """What was paid (``$0.0123``); with nothing paid but an estimate, ``~$0.0123 est.``."""
    if estimated_usd and not paid:
        return f"~{usd(estimated_usd)} est."
    return usd(paid)


def clock(ts: str | None) -> str:
    moment = parse_ts(ts)
    return moment.strftime("%H:%M:%S") if moment else "—"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
