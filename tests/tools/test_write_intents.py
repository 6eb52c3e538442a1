"""Writes in flight on a crash: the journal records a call's intent before it runs; on resume a read or
an idempotent write (a dbt build of a selection) runs again, any other write is reported to the model as
interrupted with what to inspect. Real `dacrew run` processes are killed inside a dbt_build and inside a
warehouse_execute."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dacrew.agents.journal import Journal


def _plan(project: Path, files: str) -> None:
    (project / "tasks.md").write_text(
        "# Data Analytics Tasks: Crash test\n\n## Data Foundation Tasks\n\n"
        "### T001: Write to the warehouse\n**Owner**: dbt-expert\n**Dependencies**: None\n"
        f"**Files**: `{files}`\n**Description**: Do the work\n- Write\n**Acceptance**: written\n",
        encoding="utf-8",
    )


def _turn(step: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "model",
        "task": "T001",
        "attempt": 1,
        "step": step,
        "request_digest": None,
        "delay_s": 0.0,
        "response": {
            "content": "",
            "tool_calls": [{"id": f"c{step}", "name": name, "args": args}],
            "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_tokens": 0, "cache_write_tokens": 0},
        },
    }


def _cassette(project: Path, name: str, args: dict[str, Any]) -> Path:
    header = {"type": "header", "version": 1, "source": "scripted", "model": "scripted", "created": "2026-11-28"}
    turns = [_turn(0, name, args), _turn(1, "complete_task", {"summary": "done"})]
    path = project / "c.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in [header, *turns]) + "\n", encoding="utf-8")
    return path


def _cli(project: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "dacrew", *args], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _journal(project: Path) -> Path:
    return project / ".dacrew" / "runs" / "r1" / "journal" / "T001.1.jsonl"


def _kill_inside(project: Path, cassette: Path) -> None:
    """Start a run and kill -9 it the moment its write's intent is in the journal (the tool is running)."""
    proc = _cli(project, "run", "tasks.md", "--model", f"replay:{cassette}", "--headless", "--run-id", "r1")
    deadline = time.monotonic() + 90
    journal = _journal(project)
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and '"kind": "intent"' in journal.read_text():
            break
        time.sleep(0.005)
    assert proc.poll() is None, proc.communicate()[0].decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    text = journal.read_text()
    assert '"kind": "intent"' in text
    assert '"kind": "tool"' not in text  # killed before the result: the call was in flight


def _events(project: Path) -> list[dict[str, Any]]:
    path = project / ".dacrew" / "runs" / "r1" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def project(tmp_path: Path, shop_dir: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("target", "logs", ".dacrew"))
    return root


@pytest.mark.slow
def test_a_kill_inside_a_warehouse_write_is_reported_not_repeated(project: Path) -> None:
    _plan(project, "models/")
    sql = "create table scratch_total as select count(*) as n from range(4000000000)"
    cassette = _cassette(project, "warehouse_execute", {"sql": sql})
    _kill_inside(project, cassette)
    resumed = _cli(project, "resume", "r1", "--headless")
    out = resumed.communicate(timeout=120)[0].decode()
    assert resumed.returncode == 0, out
    evs = _events(project)
    assert [e["tool"] for e in evs if e["type"] == "tool_call"] == ["warehouse_execute"]  # never run again
    assert [e["tool"] for e in evs if e["type"] == "tool_interrupted"] == ["warehouse_execute"]
    told = Journal(_journal(project)).tool("T001/1/m0/c0")
    assert told is not None
    assert told["status"] == "interrupted"
    assert told["content"].startswith("interrupted, outcome unknown")
    assert "warehouse_query" in told["content"]
    assert sql in told["content"]


@pytest.mark.slow
def test_a_kill_inside_a_dbt_build_of_a_selection_builds_again(project: Path) -> None:
    _plan(project, "models/")
    cassette = _cassette(project, "dbt_build", {"select": "path:models/staging"})
    _kill_inside(project, cassette)
    resumed = _cli(project, "resume", "r1", "--headless")
    out = resumed.communicate(timeout=180)[0].decode()
    assert resumed.returncode == 0, out
    evs = _events(project)
    assert [e["tool"] for e in evs if e["type"] == "tool_call"] == ["dbt_build", "dbt_build"]
    assert not [e for e in evs if e["type"] == "tool_interrupted"]
    result = Journal(_journal(project)).tool("T001/1/m0/c0")
    assert result is not None
    assert result["status"] == "ok"
    assert '"success":true' in result["content"].replace(" ", "")


def test_an_intent_without_a_result_is_in_flight_and_approval_is_not(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.record_intent("T1/1/m0/a", "warehouse_execute", {"sql": "insert into t values (1)"})
    journal.record_intent("T1/1/m0/b", "warehouse_execute", {"sql": "drop table t"})
    journal.record_not_started("T1/1/m0/b")  # stopped for approval before anything ran
    journal.record_intent("T1/1/m0/c", "files_write", {"path": "a", "content": "x"})
    journal.record_tool("T1/1/m0/c", "{}", "ok")
    reread = Journal(tmp_path / "j.jsonl")
    assert reread.in_flight("T1/1/m0/a") == {
        "kind": "intent",
        "key": "T1/1/m0/a",
        "tool": "warehouse_execute",
        "args": {"sql": "insert into t values (1)"},
    }
    assert reread.in_flight("T1/1/m0/b") is None
    assert reread.in_flight("T1/1/m0/c") is None


def test_which_writes_declare_themselves_safe_to_repeat() -> None:
    from dacrew.tools.registry import get

    assert get("dbt_build").safe_to_repeat({"select": "customers"})
    assert not get("dbt_build").safe_to_repeat({})
    assert not get("dbt_build").safe_to_repeat({"select": "customers", "full_refresh": True})
    assert get("files_write").safe_to_repeat({"path": "a", "content": "x"})
    assert get("warehouse_query").safe_to_repeat({"sql": "select 1"})
    for name in ("warehouse_execute", "warehouse_apply_ddl", "orchestra_start_pipeline", "tableau_publish_datasource"):
        assert not get(name).safe_to_repeat({}), name
