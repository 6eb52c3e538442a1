"""Tasks a spec-kit plan marks done (``- [x]``) are not run again unless ``--rerun-done``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from runkit import complete, write_cassette
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.events import read_events
from dacrew.plan.parse import parse_plan_file
from dacrew.report.board import Board

runner = CliRunner()

PLAN = """\
# Tasks: Usage

## Phase 1: Setup
- [X] T001 Set up the project in work/setup/

## Phase 2: Build
- [ ] T002 Build the usage model in work/usage/
"""


def _run(project: Path, cassette: Path, *extra: str) -> tuple[int, str, dict[str, object]]:
    result = runner.invoke(
        app,
        [
            "run",
            str(project / "tasks.md"),
            "--project-dir",
            str(project),
            "--model",
            f"replay:{cassette}",
            "--headless",
            "--report-json",
            str(project / "report.json"),
            *extra,
        ],
    )
    return result.exit_code, result.output, json.loads((project / "report.json").read_text())


def test_done_tasks_are_not_run(tmp_path: Path) -> None:
    (tmp_path / "tasks.md").write_text(PLAN, encoding="utf-8")
    # Only T002 has a scripted answer: a run of T001 would find none and fail.
    cassette = write_cassette(tmp_path / "c.jsonl", [complete("T002")])
    code, out, report = _run(tmp_path, cassette, "--run-id", "r1")
    assert code == 0, out
    tasks = report["tasks"]
    assert isinstance(tasks, list)
    assert [(t["id"], t["status"], t["attempts"], t["done_in_plan"]) for t in tasks] == [
        ("T001", "completed", 0, True),
        ("T002", "completed", 1, False),
    ]
    finding = (tmp_path / "findings" / "T001.md").read_text(encoding="utf-8")
    assert "Marked done in the plan" in finding
    plan = parse_plan_file(tmp_path / "tasks.md")
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    board = Board(plan, console=console, live=False)
    for event in read_events(tmp_path / ".dacrew" / "runs" / "r1"):
        board.handle(event)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [line[9:] for line in lines if "T001" in line] == ["T001 done in plan, not run (--rerun-done runs it)"]
    table = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    table.print(board.renderable())
    assert "done in plan, not run" in table.file.getvalue()  # type: ignore[attr-defined]


def test_rerun_done_runs_them(tmp_path: Path) -> None:
    (tmp_path / "tasks.md").write_text(PLAN, encoding="utf-8")
    cassette = write_cassette(tmp_path / "c.jsonl", [complete("T001"), complete("T002")])
    code, out, report = _run(tmp_path, cassette, "--rerun-done")
    assert code == 0, out
    tasks = report["tasks"]
    assert isinstance(tasks, list)
    assert [(t["id"], t["attempts"], t["done_in_plan"]) for t in tasks] == [("T001", 1, False), ("T002", 1, False)]
