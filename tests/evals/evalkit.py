"""Builders for eval tests: a small project with a plan, and scripted cassettes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HEADER = {"type": "header", "version": 1, "source": "scripted", "model": "scripted", "created": "2026-11-28T00:00:00Z"}


def turn(
    task: str, step: int, calls: list[tuple[str, dict[str, Any]]], *, content: str = "", attempt: int = 1
) -> dict[str, Any]:
    return {
        "type": "model",
        "task": task,
        "attempt": attempt,
        "step": step,
        "request_digest": None,
        "delay_s": 0.0,
        "response": {
            "content": content,
            "tool_calls": [{"id": f"{task}-{step}-{i}", "name": n, "args": a} for i, (n, a) in enumerate(calls)],
            "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_tokens": 0, "cache_write_tokens": 0},
        },
    }


def write_cassette(path: Path, turns: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(x) for x in [HEADER, *turns]) + "\n", encoding="utf-8")
    return path


def write_plan(project: Path, tasks: list[dict[str, Any]]) -> Path:
    """tasks: dicts with id, owner, files, checks, deps."""
    lines = ["# Data Analytics Tasks: Eval test", "", "## Data Foundation Tasks", ""]
    for t in tasks:
        lines += [
            f"### {t['id']}: Task {t['id']}",
            f"**Owner**: {t.get('owner', 'dbt-expert')}",
            f"**Dependencies**: {', '.join(t.get('deps', [])) or 'None'}",
            f"**Files**: {', '.join(f'`{f}`' for f in t.get('files', ['notes/']))}",
            "**Description**: Do the work",
            f"- Produce the output of {t['id']}",
            f"**Acceptance**: {t['id']} is done",
        ]
        if t.get("checks"):
            lines.append("**Checks**:")
            lines += [f"- {c}" for c in t["checks"]]
        lines.append("")
    project.mkdir(parents=True, exist_ok=True)
    path = project / "tasks.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def notes_project(project: Path) -> Path:
    """Two tasks that write and read notes (no warehouse): the second depends on the first."""
    write_plan(
        project,
        [
            {"id": "T001", "files": ["notes/"], "checks": ["file: notes/a.md contains alpha"]},
            {"id": "T002", "deps": ["T001"], "files": ["notes/b.md"], "checks": ["finding: Summary"]},
        ],
    )
    return project


def notes_turns(secret: str = "") -> list[dict[str, Any]]:
    extra = f" {secret}" if secret else ""
    return [
        turn(
            "T001",
            0,
            [("files_write", {"path": "notes/a.md", "content": f"alpha{extra}\n"})],
            content=f"writing{extra}",
        ),
        turn("T001", 1, [("files_read", {"path": "notes/a.md"})]),
        turn("T001", 2, [("complete_task", {"summary": f"wrote a{extra}", "artifacts": ["notes/a.md"]})]),
        turn("T002", 0, [("files_write", {"path": "notes/b.md", "content": "beta\n"})]),
        turn("T002", 1, [("complete_task", {"summary": "wrote b"})]),
    ]
