"""Postgres as the state backend: runs seen and continued from another checkout, one run at a time per
project across checkouts, and no password in anything a run writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from runkit import T, complete, turn, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.graph.shared import open_shared

runner = CliRunner()


def _checkouts(tmp_path: Path) -> tuple[Path, Path, Path]:
    first = tmp_path / "first"
    write_plan(
        first,
        [T("T001"), T("T002", ["T001"], parallel=True), T("T003", ["T001"], parallel=True), T("T004", ["T002"])],
    )
    cassette = write_cassette(
        first / "c.jsonl",
        [
            complete("T001"),
            turn("T002", [("request_input", {"question": "Which currency should LTV use?"})]),
            complete("T002", step=1, summary="LTV in EUR"),
            complete("T003"),
            complete("T004"),
        ],
    )
    second = tmp_path / "second"
    second.mkdir()
    shutil.copy(first / "tasks.md", second / "tasks.md")
    return first, second, cassette


def test_status_and_resume_from_another_checkout(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DACREW_STATE__URL", postgres_url)
    monkeypatch.setenv("DACREW_STATE__PROJECT", "shop")
    first, second, cassette = _checkouts(tmp_path)
    started = runner.invoke(
        app,
        [
            "run",
            str(first / "tasks.md"),
            "--project-dir",
            str(first),
            "--model",
            f"replay:{cassette}",
            "--headless",
            "--run-id",
            "q1",
        ],
    )
    assert started.exit_code == 3, started.output
    # The second checkout has no .dacrew/ and no findings/: it reads the run from the database.
    status = runner.invoke(app, ["status", "--project-dir", str(second), "--json"])
    assert status.exit_code == 0, status.output
    shown = json.loads(status.output)
    assert shown["run_id"] == "q1"
    assert shown["state"] == "paused"
    assert [p["task"] for p in shown["pending"]] == ["T002"]
    assert {t["task"]: t["status"] for t in shown["tasks"]}["T003"] == "completed"
    resumed = runner.invoke(app, ["resume", "q1", "--project-dir", str(second), "--answer", "T002=EUR"])
    assert resumed.exit_code == 0, resumed.output
    assert {t: f.status for t, f in FindingsStore(second).all().items()} == dict.fromkeys(
        ["T001", "T002", "T003", "T004"], "completed"
    )
    assert FindingsStore(second).read("T002").summary == "LTV in EUR"  # pyright: ignore[reportOptionalMemberAccess]
    # …and the first checkout sees it finished, with the answer in the run's events.
    back = json.loads(runner.invoke(app, ["status", "q1", "--project-dir", str(first), "--json"]).output)
    assert back["state"] == "finished"
    assert back["status"] == "completed"
    with open_shared(first) as shared:
        assert shared is not None
        answers = [e["answer"] for e in shared.events("q1") if e["type"] == "answer"]
        files = shared.run_files("q1")
    assert answers == ["EUR"]
    assert [e["answer"] for e in files["journal/T002.answers.jsonl"]] == ["EUR"]
    # T003 ran once, in the first checkout only.
    assert sum(1 for e in files["events.jsonl"] if e["type"] == "task_finished" and e["task"] == "T003") == 1


def test_one_run_at_a_time_per_project_across_checkouts(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DACREW_STATE__URL", postgres_url)
    monkeypatch.setenv("DACREW_STATE__PROJECT", "shop")
    first, second, _ = _checkouts(tmp_path)
    with open_shared(first) as holder:
        assert holder is not None
        with holder.run_lock():
            blocked = runner.invoke(app, ["run", str(second / "tasks.md"), "--project-dir", str(second), "--dry-run"])
            assert blocked.exit_code == 2, blocked.output
            assert "a run of project 'shop' is in progress" in blocked.output
            monkeypatch.setenv("DACREW_STATE__PROJECT", "other")
            elsewhere = runner.invoke(app, ["run", str(second / "tasks.md"), "--project-dir", str(second), "--dry-run"])
            assert elsewhere.exit_code == 0, elsewhere.output
    monkeypatch.setenv("DACREW_STATE__PROJECT", "shop")
    after = runner.invoke(
        app,
        ["run", str(second / "tasks.md"), "--project-dir", str(second), "--dry-run", "--workdir", str(tmp_path / "w")],
    )
    assert after.exit_code == 0, after.output


def test_the_password_reaches_nothing_a_run_writes(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "Pw-7f3k9q-not-for-logs"
    # The suite's server trusts loopback connections, so any password connects.
    with_password = postgres_url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")
    monkeypatch.setenv("DACREW_STATE__URL", with_password)
    first, _, cassette = _checkouts(tmp_path)
    result = runner.invoke(
        app,
        [
            "run",
            str(first / "tasks.md"),
            "--project-dir",
            str(first),
            "--model",
            f"replay:{cassette}",
            "--headless",
            "--run-id",
            "s1",
        ],
    )
    assert result.exit_code == 3, result.output
    assert password not in result.output
    written = [p for p in first.rglob("*") if p.is_file()]
    assert any(p.name == "events.jsonl" for p in written)
    assert not [p for p in written if password.encode() in p.read_bytes()]
    with psycopg.connect(postgres_url) as conn:
        tables = [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")]
        assert {"store", "checkpoints", "checkpoint_writes"} <= set(tables)
        for table in tables:
            rows = conn.execute(f'select t::text from "{table}" t').fetchall()  # pyright: ignore[reportArgumentType]
            assert not [r for r in rows if password in r[0]], table


def test_a_password_in_dacrew_yml_is_refused_with_its_line(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001")])
    (tmp_path / "dacrew.yml").write_text(
        "run:\n  max_parallel: 2\nstate:\n  url: postgresql://bob:hunter22@db.internal/dacrew\n"
    )
    result = runner.invoke(app, ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--dry-run"])
    assert result.exit_code == 2
    assert "dacrew.yml:4" in result.output
    assert "DACREW_STATE__URL" in result.output
    assert "hunter22" not in result.output


def test_an_unreachable_database_is_one_sentence_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plan(tmp_path, [T("T001")])
    monkeypatch.setenv("DACREW_STATE__URL", "postgresql://bob:Sekr3t-pw-99@127.0.0.1:1/dacrew")
    result = runner.invoke(app, ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--dry-run"])
    assert result.exit_code == 2
    assert "cannot reach the state database postgresql://bob@127.0.0.1:1/dacrew" in result.output
    assert "Sekr3t" not in result.output
    assert "Traceback" not in result.output


def test_hydrate_takes_the_longer_copy_of_each_run_file(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dacrew.findings.events import EventLog, read_events

    monkeypatch.setenv("DACREW_STATE__URL", postgres_url)
    monkeypatch.setenv("DACREW_STATE__PROJECT", "shop")
    first, second = tmp_path / "first", tmp_path / "second"
    folder = first / ".dacrew" / "runs" / "h1"
    with open_shared(first) as shared:
        assert shared is not None
        with shared.mirroring(first, "h1"), EventLog(folder) as log:
            log.emit("one")
            log.emit("two")
        # A process killed between its file write and its store write: the file is one line ahead.
        with EventLog(folder) as log:
            log.emit("three")
        assert [e["type"] for e in shared.events("h1")] == ["one", "two"]
        shared.hydrate(first, "h1")
        assert [e["type"] for e in shared.events("h1")] == ["one", "two", "three"]
        shared.hydrate(second, "h1")
    assert [e["type"] for e in read_events(second / ".dacrew" / "runs" / "h1")] == ["one", "two", "three"]
