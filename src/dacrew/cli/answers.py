"""What dacrew resume --answer/--approve/--deny mean for the questions, approvals and gates a run waits for."""

from __future__ import annotations

import re
from typing import Any

from dacrew.errors import UserError


def resolve_answers(
    pending: list[dict[str, Any]], answers: list[str], approve: list[str], deny: list[str]
) -> dict[str, Any]:
    """Map ``--answer [TASK=]TEXT``, ``--approve [TASK]`` and ``--deny [TASK]`` onto what the run waits
    for; anything ambiguous, unknown or contradictory is a :class:`UserError` (exit 2)."""
    questions = [p for p in pending if p.get("kind") in ("question", "replay")]
    approvals = [p for p in pending if p.get("kind") in ("approval", "gate")]

    def key_of(p: dict[str, Any]) -> str:
        return str(p.get("task") or p.get("phase") or "")

    def waiting(items: list[dict[str, Any]]) -> str:
        return ", ".join(key_of(p) for p in items) or "nothing"

    if not pending:
        raise UserError("the run waits for no answer or approval (see `dacrew status`)")
    out: dict[str, Any] = {}
    for raw in answers:
        task, sep, text = raw.partition("=")
        named = [q for q in questions if key_of(q) == task.strip()] if sep else []
        if named:
            target, value = named[0], text.strip()
            if not value:
                raise UserError(f"--answer {task.strip()}= has no text: an empty answer is not an answer")
        elif len(questions) == 1 and not (sep and _looks_like_task(task)):
            target, value = questions[0], raw.strip()
            if not value:
                raise UserError("--answer has no text: an empty answer is not an answer")
        elif sep and _looks_like_task(task):
            raise UserError(f"--answer {task.strip()}=…: {task.strip()} asks nothing (waiting: {waiting(questions)})")
        else:
            raise UserError(f"--answer needs TASK=TEXT when several questions wait (waiting: {waiting(questions)})")
        if target["id"] in out:
            raise UserError(f"{key_of(target)} was answered twice")
        out[target["id"]] = value
    for values, verdict, flag in ((approve, True, "--approve"), (deny, False, "--deny")):
        for raw in values:
            targets = [p for p in approvals if key_of(p) == raw] if raw else approvals if len(approvals) == 1 else []
            if not targets:
                raise UserError(
                    f"{flag} {raw or ''}: no such request waits (waiting: {waiting(approvals)})".replace("  ", " ")
                )
            for p in targets:
                if p["id"] in out and out[p["id"]] != {"approved": verdict}:
                    raise UserError(f"{key_of(p)} is both approved and denied")
                out[p["id"]] = {"approved": verdict}
    return out


def _looks_like_task(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]+\d+[A-Za-z0-9_.-]*", text.strip()))
