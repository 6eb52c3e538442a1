"""Every run records its cassette; secrets never reach it (nor findings, events, reports); a recorded run
replays to the same findings with real tools (model replay) and with recorded ones (full replay)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from evalkit import notes_project, notes_turns, write_cassette

from dacrew.findings.store import FindingsStore
from dacrew.graph.runner import execute_run
from dacrew.graph.state import RunSettings
from dacrew.models.cassette import load_cassette

CANARY = "canary-" + "Zq8v1Lw0Kx"


def _run(project: Path, cassette: Path, run_id: str, **extra: object) -> int:
    settings = RunSettings(
        run_id=run_id,
        plan="tasks.md",
        project_dir=str(project),
        model=f"replay:{cassette}",
        headless=True,
        **extra,  # pyright: ignore[reportArgumentType]
    )
    return execute_run(settings).exit_code


def _findings(project: Path) -> dict[str, tuple[str, str, list[tuple[str, bool, str]]]]:
    return {
        task: (f.status, f.summary, [(c.kind, c.passed, c.output) for c in f.checks])
        for task, f in FindingsStore(project).all().items()
    }


def test_a_run_records_model_turns_tool_calls_and_checks(tmp_path: Path) -> None:
    project = notes_project(tmp_path / "project")
    scripted = write_cassette(tmp_path / "scripted.jsonl", notes_turns())
    assert _run(project, scripted, "rec-1") == 0
    recorded = load_cassette(project / ".dacrew" / "runs" / "rec-1" / "cassette.jsonl")
    assert recorded.header.source == "recorded"
    assert sorted(recorded.turns) == [("T001", 1, 0), ("T001", 1, 1), ("T001", 1, 2), ("T002", 1, 0), ("T002", 1, 1)]
    first = recorded.turns[("T001", 1, 0)]
    assert first.request_digest is not None
    assert first.request_digest.startswith("sha256:")
    assert first.request is not None
    assert any(line.startswith("system: You are dbt-expert") for line in first.request)
    assert first.response.usage.input_tokens == 100
    tools = {(r.task, r.call_id): r for r in recorded.tools}
    read = tools[("T001", "T001-1-0")]
    assert (read.name, read.args, read.result["content"]) == ("files_read", {"path": "notes/a.md"}, "alpha\n")
    check = tools[("T001", "check:1")]
    assert check.args == {"kind": "file", "argument": "notes/a.md contains alpha"}
    assert check.result["passed"] is True


def test_no_secret_survives_in_cassettes_findings_events_or_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DACREW_ORCHESTRA__API_KEY", CANARY)
    project = notes_project(tmp_path / "project")
    scripted = write_cassette(tmp_path / "scripted.jsonl", notes_turns(secret=CANARY))
    assert _run(project, scripted, "canary-run") == 0
    # The agent wrote the secret into its own file (the project's business); the run read it back.
    assert CANARY in (project / "notes" / "a.md").read_text()
    written = [p for p in [*(project / ".dacrew").rglob("*"), *(project / "findings").rglob("*")] if p.is_file()]
    names = {p.name for p in written}
    assert {"cassette.jsonl", "events.jsonl", "report.json", "report.html", "junit.xml", "T001.md"} <= names
    leaks = [str(p.relative_to(project)) for p in written if CANARY.encode() in p.read_bytes()]
    assert leaks == []
    recorded = (project / ".dacrew" / "runs" / "canary-run" / "cassette.jsonl").read_text()
    assert '"content": "alpha ***\\n"' in recorded  # the tool result is there, masked


def test_a_recorded_run_replays_to_the_same_findings_in_both_modes(tmp_path: Path) -> None:
    source = notes_project(tmp_path / "source")
    original = tmp_path / "original"
    shutil.copytree(source, original)
    scripted = write_cassette(tmp_path / "scripted.jsonl", notes_turns())
    assert _run(original, scripted, "first") == 0
    recording = original / ".dacrew" / "runs" / "first" / "cassette.jsonl"
    expected = _findings(original)
    assert expected["T001"][0] == "completed"
    for mode, full in (("model", False), ("full", True)):
        again = tmp_path / mode
        shutil.copytree(source, again)
        assert _run(again, recording, f"replay-{mode}", full_replay=full, strict_replay=True) == 0
        assert _findings(again) == expected
        events = (again / ".dacrew" / "runs" / f"replay-{mode}" / "events.jsonl").read_text()
        assert "replay_drift" not in events
    # Full replay ran no tool: the file the task wrote in the recording was not written again.
    assert not (tmp_path / "full" / "notes" / "a.md").exists()
    assert (tmp_path / "model" / "notes" / "a.md").read_text() == "alpha\n"
