"""Runs into one --workdir never trample each other: the run lock comes before the copy, and each run
keeps the history of the ones before it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runkit import T, complete, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app

runner = CliRunner()


def test_a_workdir_run_keeps_the_history_of_earlier_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a --workdir run records its folder in the current one
    project = tmp_path / "project"
    write_plan(project, [T("T001")])
    work = tmp_path / "work"
    first = runner.invoke(app, ["run", str(project), "--dry-run", "--workdir", str(work), "--run-id", "one"])
    assert first.exit_code == 0, first.output
    (work / "leftover.sql").write_text("select 1")
    second = runner.invoke(app, ["run", str(project), "--dry-run", "--workdir", str(work), "--run-id", "two"])
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in (work / ".dacrew" / "runs").iterdir()) == ["one", "two"]
    assert (work / ".dacrew" / "runs" / "one" / "report.json").is_file()
    assert not (work / "leftover.sql").exists()
    assert not (project / ".dacrew").exists()


def test_a_workdir_that_is_not_a_working_copy_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "project"
    write_plan(project, [T("T001")])
    work = tmp_path / "mine"
    work.mkdir()
    (work / "notes.txt").write_text("keep me")
    refused = runner.invoke(app, ["run", str(project), "--dry-run", "--workdir", str(work)])
    assert refused.exit_code == 2
    assert "previous dacrew working copy" in refused.output
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]
    inside = runner.invoke(app, ["run", str(project), "--dry-run", "--workdir", str(tmp_path)])
    assert inside.exit_code == 2
    assert "must not hold the project" in inside.output


@pytest.mark.slow
def test_two_runs_started_together_into_one_workdir_end_one_refused_one_complete(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_plan(project, [T("T001"), T("T002", ["T001"])])
    # The first task takes a few seconds, so the two runs overlap whichever starts first.
    cassette = write_cassette(tmp_path / "c.jsonl", [complete("T001", delay=4), complete("T002")])
    work = tmp_path / "work"
    argv = [sys.executable, "-m", "dacrew", "run", str(project), "--workdir", str(work)]
    argv += ["--model", f"replay:{cassette}", "--headless"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], outputs
    refused = outputs[codes.index(2)]
    assert "is in progress in this project" in refused
    assert "Traceback" not in refused
    (run,) = list((work / ".dacrew" / "runs").iterdir())
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "completed"
    assert sorted(p.name for p in (work / "findings").iterdir()) == ["T001.md", "T002.md"]
