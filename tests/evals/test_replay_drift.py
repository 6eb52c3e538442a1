"""Strict replay fails on drift with a diff naming what changed; lenient replay warns and goes on."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from evalkit import notes_project, notes_turns, write_cassette

from dacrew.findings.store import FindingsStore
from dacrew.graph.runner import execute_run
from dacrew.graph.state import RunSettings


def _run(project: Path, cassette: Path, run_id: str, **extra: Any) -> int:
    settings = RunSettings(
        run_id=run_id, plan="tasks.md", project_dir=str(project), model=f"replay:{cassette}", headless=True, **extra
    )
    return execute_run(settings).exit_code


def _drifts(project: Path, run_id: str) -> list[dict[str, Any]]:
    lines = (project / ".dacrew" / "runs" / run_id / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == "replay_drift"]


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, Path]:
    """A pristine project and the cassette a run of it recorded."""
    source = notes_project(tmp_path / "source")
    first = tmp_path / "first"
    shutil.copytree(source, first)
    assert _run(first, write_cassette(tmp_path / "scripted.jsonl", notes_turns()), "rec") == 0
    return source, first / ".dacrew" / "runs" / "rec" / "cassette.jsonl"


def _changed_prompt(project: Path) -> str:
    text = resources.files("dacrew.prompts").joinpath("dbt-expert.md").read_text(encoding="utf-8")
    body = text.split("---", 2)[2]
    line = next(x for x in body.splitlines() if len(x.split()) > 4)
    (project / "prompts").mkdir()
    (project / "prompts" / "dbt-expert.md").write_text(text.replace(line, line + " Prefer views."), encoding="utf-8")
    return line


def test_one_changed_prompt_line_fails_strict_replay_with_a_diff_naming_it(
    tmp_path: Path, recorded: tuple[Path, Path]
) -> None:
    source, cassette = recorded
    project = tmp_path / "strict"
    shutil.copytree(source, project)
    line = _changed_prompt(project)
    assert _run(project, cassette, "strict", strict_replay=True) == 1
    finding = FindingsStore(project).read("T001")
    assert finding is not None
    assert finding.status == "failed"
    assert "no longer matches" in finding.summary
    (drift,) = _drifts(project, "strict")[:1]
    assert (drift["task"], drift["step"], drift["what"], drift["strict"]) == ("T001", 0, "request", True)
    assert f"-system: {line.strip()}" in drift["diff"]
    assert f"+system: {line.strip()} Prefer views." in drift["diff"]


def test_lenient_replay_warns_and_goes_on(tmp_path: Path, recorded: tuple[Path, Path]) -> None:
    source, cassette = recorded
    project = tmp_path / "lenient"
    shutil.copytree(source, project)
    _changed_prompt(project)
    assert _run(project, cassette, "lenient") == 0
    drifts = _drifts(project, "lenient")
    assert {d["task"] for d in drifts} == {"T001", "T002"}
    assert all(not d["strict"] for d in drifts)


def test_a_changed_tool_result_is_drift_naming_the_tool(tmp_path: Path, recorded: tuple[Path, Path]) -> None:
    source, cassette = recorded
    records = [json.loads(line) for line in cassette.read_text().splitlines()]
    for record in records:
        if record.get("name") == "files_read":
            record["result"]["content"] = "alpha, as it was\n"
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    project = tmp_path / "tools"
    shutil.copytree(source, project)
    assert _run(project, edited, "tools", strict_replay=True) == 1
    (drift,) = _drifts(project, "tools")
    assert (drift["task"], drift["step"], drift["what"]) == ("T001", 1, "tool result")
    assert "files_read" in drift["message"]
    assert '- "content": "alpha, as it was\\n",' in drift["diff"]
    assert '+ "content": "alpha\\n",' in drift["diff"]


def test_full_replay_without_a_recorded_result_is_drift(tmp_path: Path) -> None:
    project = notes_project(tmp_path / "project")
    scripted = write_cassette(tmp_path / "scripted.jsonl", notes_turns())
    assert _run(project, scripted, "full", full_replay=True, strict_replay=True) == 1
    (drift,) = _drifts(project, "full")
    assert drift["what"] == "missing"
    assert "no recorded result for files_write" in drift["message"]
