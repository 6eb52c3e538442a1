"""Durable runs: kill -9 a real `dacrew run` and resume it; headless questions and approvals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from runkit import T, complete, events, turn, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool

runner = CliRunner()


def _plan(project: Path) -> Path:
    write_plan(
        project,
        [
            T("T001"),
            T("T002", ["T001"], parallel=True, files=["out/"]),
            T("T003", ["T001"], parallel=True),
            T("T004", ["T001"], parallel=True),
            T("T005", ["T002", "T003", "T004"]),
        ],
    )
    return write_cassette(
        project / "c.jsonl",
        [
            complete("T001", delay=0.4),
            turn("T002", [("files_write", {"path": "out/t002.txt", "content": "written once\n"})], delay=0.3),
            complete("T002", step=1, delay=0.3),
            complete("T003", delay=0.5),
            complete("T004", delay=0.7),
            complete("T005", delay=0.6),
        ],
    )


def _cli(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "dacrew", *args],
        cwd=project,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _finished_count(project: Path) -> int:
    runs = project / ".dacrew" / "runs"
    if not runs.is_dir():
        return 0
    n = 0
    for path in runs.glob("*/events.jsonl"):
        n += path.read_text().count('"task_finished"')
    return n


@pytest.fixture(params=["sqlite", "postgres"])
def state_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that puts a run's state on each backend (Postgres: a fresh database)."""
    if request.param == "sqlite":
        return {}
    url = request.getfixturevalue("postgres_url")
    return {"DACREW_STATE__URL": url, "DACREW_STATE__PROJECT": "durability"}


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0, 1, 3])
def test_kill_9_then_resume_repeats_and_loses_nothing(
    tmp_path: Path, kill_after: int, state_env: dict[str, str]
) -> None:
    first_copy = tmp_path / "first"
    cassette = _plan(first_copy)
    proc = _cli(
        first_copy, "run", "tasks.md", "--model", f"replay:{cassette}", "--headless", "--run-id", "r1", env=state_env
    )
    deadline = time.monotonic() + 60
    while _finished_count(first_copy) < kill_after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if kill_after == 0:
        while not (first_copy / "findings" / "T001.md").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()[0].decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Every finding on disk parses, even right after the kill.
    FindingsStore(first_copy).all()
    # SQLite: resume in the same folder. Postgres: in a second checkout (the plan and cassette only).
    project = first_copy
    if state_env:
        project = tmp_path / "second"
        project.mkdir()
        for name in ("tasks.md", "c.jsonl"):
            shutil.copy(first_copy / name, project / name)
    resumed = _cli(project, "resume", "r1", "--headless", env=state_env)
    out = resumed.communicate(timeout=120)[0].decode()
    assert resumed.returncode == 0, out
    found = FindingsStore(project).all()
    assert {t: f.status for t, f in found.items()} == dict.fromkeys(
        ["T001", "T002", "T003", "T004", "T005"], "completed"
    )
    evs = events(project)
    completed = Counter(e["task"] for e in evs if e["type"] == "task_finished" and e["status"] == "completed")
    assert sorted(completed) == ["T001", "T002", "T003", "T004", "T005"]
    assert all(n == 1 for n in completed.values()), completed
    writes = [e for e in evs if e["type"] == "tool_call" and e["tool"] == "files_write"]
    assert len(writes) == 1
    responses = Counter((e["task"], e["step"]) for e in evs if e["type"] == "model_response")
    assert all(n == 1 for n in responses.values()), responses
    outputs = [p / "out" / "t002.txt" for p in {first_copy, project} if (p / "out" / "t002.txt").exists()]
    assert [o.read_text() for o in outputs] == ["written once\n"]
    assert [e["type"] for e in evs].count("run_finished") == 1
    if state_env:
        # The first checkout sees the run the second one finished.
        status = _cli(first_copy, "status", "r1", "--json", env=state_env)
        shown = json.loads(status.communicate(timeout=60)[0].decode())
        assert shown["state"] == "finished"
        assert {t["task"]: t["status"] for t in shown["tasks"]} == dict.fromkeys(completed, "completed")


def test_a_question_stops_a_headless_run_and_resume_answers_it(tmp_path: Path) -> None:
    write_plan(
        tmp_path,
        [T("T001"), T("T002", ["T001"], parallel=True), T("T003", ["T001"], parallel=True), T("T004", ["T002"])],
    )
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            complete("T001"),
            turn("T002", [("request_input", {"question": "Which currency should LTV use?"})]),
            complete("T002", step=1, summary="LTV in EUR"),
            complete("T003"),
            complete("T004"),
        ],
    )
    args = ["--project-dir", str(tmp_path)]
    first = runner.invoke(
        app, ["run", str(tmp_path / "tasks.md"), *args, "--model", f"replay:{cas}", "--headless", "--run-id", "q1"]
    )
    assert first.exit_code == 3, first.output
    assert "Which currency should LTV use?" in first.output
    found = FindingsStore(tmp_path).all()
    assert found["T002"].status == "needs_input"
    assert found["T003"].status == "completed"
    assert "T004" not in found
    status = json.loads(runner.invoke(app, ["status", "q1", *args, "--json"]).output)
    assert status["state"] == "paused"
    assert status["pending"][0]["task"] == "T002"
    second = runner.invoke(app, ["resume", "q1", *args, "--answer", "T002=EUR"])
    assert second.exit_code == 0, second.output
    found = FindingsStore(tmp_path).all()
    assert found["T002"].status == "completed"
    assert found["T004"].status == "completed"
    evs = events(tmp_path)
    assert [e["answer"] for e in evs if e["type"] == "answer"] == ["EUR"]
    assert sum(1 for e in evs if e["type"] == "task_finished" and e["task"] == "T003") == 1


class DangerArgs(ToolArgs):
    target: str


class DangerResult(ToolResult):
    done: str


DONE: list[str] = []


@tool("testing", read_only=False)
def danger_zone(ctx: ToolContext, args: DangerArgs) -> DangerResult:
    """A test tool that needs a person's approval for each target."""
    ctx.require_approval("danger", f"wipe {args.target}", {"target": args.target})
    DONE.append(args.target)
    return DangerResult(done=args.target)


def test_an_approval_is_asked_for_and_a_denial_is_reported(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "dbt-expert.md").write_text(
        "---\nname: dbt-expert\ndescription: test\ntools: [danger_zone]\npermissions: [read]\n---\nTest agent.\n"
    )
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"])])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("danger_zone", {"target": "prod"})]),
            complete("T001", step=1),
            turn("T002", [("danger_zone", {"target": "dev"})]),
            complete("T002", step=1),
        ],
    )
    args = ["--project-dir", str(tmp_path)]
    DONE.clear()
    first = runner.invoke(
        app, ["run", str(tmp_path / "tasks.md"), *args, "--model", f"replay:{cas}", "--headless", "--run-id", "a1"]
    )
    assert first.exit_code == 3, first.output
    assert "wipe prod" in first.output
    assert DONE == []
    second = runner.invoke(app, ["resume", "a1", *args, "--deny", "T001"])
    assert second.exit_code == 3, second.output
    assert "wipe dev" in second.output
    third = runner.invoke(app, ["resume", "a1", *args, "--approve", "T002"])
    assert third.exit_code == 0, third.output
    assert DONE == ["dev"]
    journal = (tmp_path / ".dacrew" / "runs" / "a1" / "journal" / "T001.1.jsonl").read_text()
    assert "a person denied this request: wipe prod" in journal


def test_phase_gates_stop_a_headless_run_until_approved(tmp_path: Path) -> None:
    plan = (
        "# Data Analytics Tasks: Gates\n\n## Setup & Configuration Tasks\n\n"
        "### T001: Setup\n**Owner**: Parent Agent\n**Dependencies**: None\n**Files**: `config/`\n"
        "**Description**: Set up\n- things\n**Acceptance**: ready\n\n"
        "## Data Foundation Tasks\n\n"
        "### T002: Staging [P]\n**Owner**: dbt-expert\n**Dependencies**: None\n**Files**: `models/`\n"
        "**Description**: Stage\n- models\n**Acceptance**: staged\n"
    )
    (tmp_path / "tasks.md").write_text(plan)
    args = ["--project-dir", str(tmp_path)]
    first = runner.invoke(
        app, ["run", str(tmp_path / "tasks.md"), *args, "--dry-run", "--headless", "--gate", "phases", "--run-id", "g1"]
    )
    assert first.exit_code == 3, first.output
    found = FindingsStore(tmp_path).all()
    assert found["T001"].status == "completed"
    assert "T002" not in found, "a later phase must wait for the gate"
    second = runner.invoke(app, ["resume", "g1", *args, "--approve"])
    assert second.exit_code == 0, second.output
    assert FindingsStore(tmp_path).all()["T002"].status == "completed"


def test_a_headless_policy_decides_approvals_and_gates_without_stopping(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "dbt-expert.md").write_text(
        "---\nname: dbt-expert\ndescription: test\ntools: [danger_zone]\npermissions: [read]\n---\nTest agent.\n"
    )
    (tmp_path / "dacrew.yml").write_text(
        "approvals:\n  - {action: danger, decision: deny}\n  - {action: 'gate:*', decision: approve}\n"
    )
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"])])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [turn("T001", [("danger_zone", {"target": "prod"})]), complete("T001", step=1), complete("T002")],
    )
    DONE.clear()
    args = [
        "--project-dir",
        str(tmp_path),
        "--model",
        f"replay:{cas}",
        "--headless",
        "--gate",
        "phases",
        "--run-id",
        "p1",
    ]
    result = runner.invoke(app, ["run", str(tmp_path / "tasks.md"), *args])
    assert result.exit_code == 0, result.output
    assert DONE == []
    journal = (tmp_path / ".dacrew" / "runs" / "p1" / "journal" / "T001.1.jsonl").read_text()
    assert "the approval policy denies this request: wipe prod" in journal
    decided = [e for e in events(tmp_path) if e["type"] == "approval"]
    assert [(e["by"], e["approved"]) for e in decided] == [("policy", False)]


@pytest.mark.slow
def test_one_run_at_a_time_per_project_and_ctrl_c_leaves_a_record(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"])])
    cas = write_cassette(tmp_path / "c.jsonl", [complete("T001", delay=30), complete("T002")])
    proc = _cli(tmp_path, "run", "tasks.md", "--model", f"replay:{cas}", "--headless", "--run-id", "busy")
    deadline = time.monotonic() + 60
    while not (tmp_path / "findings" / "T001.md").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = runner.invoke(app, ["resume", "busy", "--project-dir", str(tmp_path), "--headless"])
    assert second.exit_code == 2, second.output
    assert "in progress in this project" in second.output
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, out
    assert "dacrew resume busy" in out
    status = json.loads(runner.invoke(app, ["status", "busy", "--project-dir", str(tmp_path), "--json"]).output)
    assert status["state"] == "stopped"


def test_small_mistakes_are_exit_2(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001")])
    cas = write_cassette(
        tmp_path / "c.jsonl", [turn("T001", [("request_input", {"question": "currency?"})]), complete("T001", step=1)]
    )
    args = ["--project-dir", str(tmp_path)]
    assert (
        runner.invoke(
            app, ["run", str(tmp_path / "tasks.md"), *args, "--model", f"replay:{cas}", "--headless", "--run-id", "e1"]
        ).exit_code
        == 3
    )
    empty = runner.invoke(app, ["resume", "e1", *args, "--answer", ""])
    assert empty.exit_code == 2
    assert "empty answer" in empty.output
    assert runner.invoke(app, ["resume", "e1", *args, "--answer", "EUR"]).exit_code == 0
    # A finished run resumed again reports its result and writes nothing new.
    before = (tmp_path / ".dacrew" / "runs" / "e1" / "events.jsonl").read_text()
    again = runner.invoke(app, ["resume", "e1", *args])
    assert again.exit_code == 0
    assert (tmp_path / ".dacrew" / "runs" / "e1" / "events.jsonl").read_text() == before
    # A dry run would replace the real run's findings: it asks for a working copy instead.
    dry = runner.invoke(app, ["run", str(tmp_path / "tasks.md"), *args, "--dry-run"])
    assert dry.exit_code == 2
    assert "--workdir" in dry.output
    bad_id = runner.invoke(
        app, ["run", str(tmp_path / "tasks.md"), *args, "--model", f"replay:{cas}", "--run-id", "../x"]
    )
    assert bad_id.exit_code == 2
    assert "invalid run id" in bad_id.output


def test_a_workdir_is_a_fresh_copy_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a --workdir run records its folder in the current one
    project = tmp_path / "project"
    write_plan(project, [T("T001")])
    work = tmp_path / "work"
    first = runner.invoke(app, ["run", str(project), "--dry-run", "--workdir", str(work)])
    assert first.exit_code == 0, first.output
    (work / "leftover.sql").write_text("select 1")
    second = runner.invoke(app, ["run", str(project), "--dry-run", "--workdir", str(work)])
    assert second.exit_code == 0, second.output
    assert not (work / "leftover.sql").exists()
    assert not (project / "findings").exists()
