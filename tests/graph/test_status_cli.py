"""Resume and status work as printed: the stop message names the command that resumes, `status` and
`runs` find a --workdir run from the folder it was started in, and `--json` always answers JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runkit import T, complete, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.cli.where import dacrew_command, resume_command

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _workdir_run(tmp_path: Path, run_id: str) -> Path:
    project = tmp_path / "project"
    write_plan(project, [T("T001"), T("T002", ["T001"])])
    result = runner.invoke(app, ["run", str(project), "--dry-run", "--workdir", "build/work", "--run-id", run_id])
    assert result.exit_code == 0, result.output
    return tmp_path / "build" / "work"


def test_status_and_runs_find_the_last_workdir_run_from_where_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    work = _workdir_run(tmp_path, "first")
    assert (tmp_path / ".dacrew" / "last-workdir").read_text().strip() == str(work)
    _workdir_run(tmp_path, "second")
    shown = runner.invoke(app, ["status", "--json"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(shown.stdout)
    assert (info["run_id"], info["status"], info["project_dir"]) == ("second", "completed", str(work))
    assert [t["status"] for t in info["tasks"]] == ["completed", "completed"]
    text = runner.invoke(app, ["status"])
    assert f"run second: completed · plan tasks.md · in {work}" in text.stdout
    listed = json.loads(runner.invoke(app, ["runs", "--json"]).stdout)
    assert [(r["run_id"], r["status"], r["tasks"], r["completed"]) for r in listed["runs"]] == [
        ("first", "completed", 2, 2),
        ("second", "completed", 2, 2),
    ]
    table = runner.invoke(app, ["runs"]).stdout.splitlines()
    assert table[1].split() == ["run", "started", "status", "tasks", "cost"]
    assert table[2].split()[0::2] == ["first", "completed", "$0.0000"]


def test_json_answers_are_json_even_when_there_is_nothing_to_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = runner.invoke(app, ["status", "--json"])
    assert missing.exit_code == 2
    error = json.loads(missing.stdout)["error"]
    assert f"no runs in {tmp_path} yet" in error
    assert "--workdir DIR lives in DIR" in error
    unknown = runner.invoke(app, ["status", "nope", "--json"])
    assert unknown.exit_code == 2
    assert "no run 'nope'" in json.loads(unknown.stdout)["error"]
    assert json.loads(runner.invoke(app, ["runs", "--json"]).stdout)["runs"] == []
    plain = runner.invoke(app, ["status"])
    assert plain.exit_code == 2
    assert "no runs in" in plain.output


def test_the_resume_command_names_uv_and_the_folder_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    scripts = tmp_path / "venv" / "bin"
    scripts.mkdir(parents=True)
    (scripts / "dacrew").write_text("#!/bin/sh\n")
    (scripts / "dacrew").chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(scripts / "python"))
    # Under `uv run` with dacrew only in the environment uv put first on the PATH.
    monkeypatch.setenv("UV", "/usr/bin/uv")
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}/nonexistent")
    assert dacrew_command() == "uv run dacrew"
    assert resume_command("r1", tmp_path / "build" / "w") == "uv run dacrew resume r1 --project-dir build/w"
    assert resume_command("r1", tmp_path) == "uv run dacrew resume r1"
    assert (
        resume_command("r1", Path("/elsewhere/my work")) == "uv run dacrew resume r1 --project-dir '/elsewhere/my work'"
    )
    # The user's own PATH has it too (an activated environment), or uv is not involved at all.
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}{scripts}")
    assert dacrew_command() == "dacrew"
    monkeypatch.delenv("UV")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert dacrew_command() == f"{scripts / 'python'} -m dacrew"


@pytest.mark.slow
def test_the_command_printed_at_ctrl_c_resumes_the_run_as_printed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_plan(project, [T("T001"), T("T002", ["T001"])])
    cassette = write_cassette(tmp_path / "c.jsonl", [complete("T001", delay=5), complete("T002")])
    # As a user in the repository would: `uv run dacrew …` from a folder that uv knows as the project.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "UV_PROJECT": str(ROOT)}
    argv = [sys.executable, "-m", "dacrew", "run", str(project), "--workdir", "build/work"]
    argv += ["--model", f"replay:{cassette}", "--headless"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started = tmp_path / "build" / "work" / "findings" / "T001.md"
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, out
    printed = out.split("stopped: `", 1)[1].split("`", 1)[0]
    assert printed.endswith(" --project-dir build/work")
    assert " resume " in printed
    resumed = subprocess.run(printed, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    status = runner.invoke(app, ["status", "--json", "--project-dir", str(tmp_path / "build" / "work")])
    assert json.loads(status.stdout)["status"] == "completed"
