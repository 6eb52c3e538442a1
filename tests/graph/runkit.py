"""Builders for parent-graph tests: small plans in the template format and scripted cassettes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass
class T:
    id: str
    deps: list[str] = field(default_factory=list[str])
    parallel: bool = False
    files: list[str] = field(default_factory=list[str])
    owner: str = "dbt-expert"
    checks: list[str] = field(default_factory=list[str])


def write_plan(project: Path, tasks: Iterable[T], feature: str = "Scheduling test") -> Path:
    lines = [f"# Data Analytics Tasks: {feature}", "", "## Data Foundation Tasks", ""]
    for t in tasks:
        files = ", ".join(f"`{f}`" for f in (t.files or [f"work/{t.id.lower()}/"]))
        lines += [
            f"### {t.id}: Task {t.id}{' [P]' if t.parallel else ''}",
            f"**Owner**: {t.owner}",
            f"**Dependencies**: {', '.join(t.deps) if t.deps else 'None'}",
            f"**Files**: {files}",
            "**Description**: Do the work",
            f"- Produce the output of {t.id}",
            f"**Acceptance**: {t.id} is done",
        ]
        if t.checks:
            lines.append("**Checks**:")
            lines += [f"- {c}" for c in t.checks]
        lines.append("")
    project.mkdir(parents=True, exist_ok=True)
    path = project / "tasks.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def complete(
    task: str, *, delay: float = 0.0, attempt: int = 1, step: int = 0, summary: str | None = None
) -> dict[str, Any]:
    return turn(
        task, [("complete_task", {"summary": summary or f"{task} delivered"})], delay=delay, attempt=attempt, step=step
    )


def turn(
    task: str,
    calls: list[tuple[str, dict[str, Any]]],
    *,
    delay: float = 0.0,
    attempt: int = 1,
    step: int = 0,
    content: str = "",
) -> dict[str, Any]:
    return {
        "type": "model",
        "task": task,
        "attempt": attempt,
        "step": step,
        "request_digest": None,
        "delay_s": delay,
        "response": {
            "content": content,
            "tool_calls": [
                {"id": f"c{task}{attempt}{step}{i}", "name": n, "args": a} for i, (n, a) in enumerate(calls)
            ],
            "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_tokens": 0, "cache_write_tokens": 0},
        },
    }


def write_cassette(path: Path, turns: Iterable[dict[str, Any]]) -> Path:
    header = {
        "type": "header",
        "version": 1,
        "source": "scripted",
        "model": "scripted",
        "created": "2026-11-28T00:00:00Z",
    }
    path.write_text("\n".join(json.dumps(x) for x in [header, *turns]) + "\n", encoding="utf-8")
    return path


def events(project: Path) -> list[dict[str, Any]]:
    (run,) = sorted((project / ".dacrew" / "runs").iterdir())[-1:]
    out = []
    for line in (run / "events.jsonl").read_text().splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def intervals(evs: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """task → (first start, last finish), in seconds."""
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    for e in evs:
        ts = datetime.fromisoformat(e["ts"]).timestamp()
        if e["type"] == "task_started":
            start.setdefault(e["task"], ts)
        elif e["type"] == "task_finished":
            end[e["task"]] = ts
    return {t: (start[t], end[t]) for t in start if t in end}


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
