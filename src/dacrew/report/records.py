"""What a run's events become in the report: typed records (spans, tool calls, approvals, fallbacks, pending items) and event values read as times and usage."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel

from dacrew.findings.format import Usage


class Span(BaseModel):
    """One stretch of work on a task: an attempt, or the part of one before a pause or a crash."""

    attempt: int
    started: str
    finished: str | None = None
    status: str = "in_progress"
    """The status the span ended with; ``interrupted`` when the run stopped under it."""


class FallbackCall(BaseModel):
    """A model call that ``models.fallback`` answered after repeated overloads."""

    task: str = ""
    agent: str = ""
    step: int = 0
    model: str = ""


class ToolCallRecord(BaseModel):
    """One tool call of a task, as the report shows it."""

    agent: str = ""
    tool: str = ""
    args: str = ""
    """Its arguments as compact JSON, cut at 400 characters (secrets were redacted when logged)."""
    status: str = ""
    """``ok``, ``error``, ``refused``, ``denied``…; empty while the call is out."""


class ApprovalRecord(BaseModel):
    """An approval a task asked for, and how it was decided."""

    tool: str = ""
    action: str = ""
    message: str = ""
    decision: str = "waiting"
    """``approved``, ``denied`` or ``waiting``."""
    by: str = ""
    """``policy`` when the approval policy decided it, else a person."""


class PendingItem(BaseModel):
    task: str = ""
    kind: str = ""
    text: str = ""


def parse_ts(value: object) -> datetime | None:
    """An event or finding timestamp as an aware datetime, or ``None`` when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


def seconds_between(start: str | None, end: str | None) -> float | None:
    a, b = parse_ts(start), parse_ts(end)
    if a is None or b is None:
        return None
    return round(max(0.0, (b - a).total_seconds()), 3)


def usage_of(value: object) -> Usage:
    """A ``usage`` field of an event, tolerating missing or unknown keys."""
    if not isinstance(value, Mapping):
        return Usage()
    data = cast(Mapping[str, Any], value)
    numbers: dict[str, Any] = {}
    for key in Usage.model_fields:
        raw = data.get(key)
        if key == "estimated":
            numbers[key] = raw is True
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            numbers[key] = float(raw) if key.endswith("usd") else int(raw)
    return Usage(**numbers)
