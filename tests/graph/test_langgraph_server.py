"""The parent graph served by ``langgraph dev`` (langgraph.json): a run started through the LangGraph
SDK streams its events, stops at a phase gate, and goes on when the gate is approved through the API."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dacrew.cli.answers import resolve_answers
from dacrew.findings.events import read_events
from dacrew.findings.store import FindingsStore

ROOT = Path(__file__).resolve().parents[2]
PLAN = """# Data Analytics Tasks: Served

## Setup & Configuration Tasks

### T001: Setup
**Owner**: Parent Agent
**Dependencies**: None
**Files**: `config/`
**Description**: Set up
- things
**Acceptance**: ready

## Data Foundation Tasks

### T002: Staging [P]
**Owner**: dbt-expert
**Dependencies**: None
**Files**: `models/`
**Description**: Stage
- models
**Acceptance**: staged
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Any:
    """``langgraph dev`` on a free port, serving the project in ``tmp_path/project``."""
    langgraph = Path(sys.executable).parent / "langgraph"
    if not langgraph.is_file():
        pytest.skip("the langgraph CLI (langgraph-cli[inmem]) is not installed")
    project = tmp_path / "project"
    project.mkdir()
    (project / "tasks.md").write_text(PLAN)
    (project / "dacrew.yml").write_text("gates: phases\n")
    port = _free_port()
    env = {
        **os.environ,
        "DACREW_PROJECT": str(project),
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    env.pop("DACREW_MODEL", None)
    log = (tmp_path / "server.log").open("wb")
    argv = [str(langgraph), "dev", "--config", str(ROOT / "langgraph.json"), "--no-browser", "--no-reload"]
    argv += ["--port", str(port), "--allow-blocking"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (tmp_path / "server.log").read_text(errors="replace")[-1500:]
                pytest.skip(f"langgraph dev did not start: {tail}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        yield url, project
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


async def _stream(client: Any, thread: str, **kwargs: Any) -> list[tuple[str, Any]]:
    parts: list[tuple[str, Any]] = []
    async for part in client.runs.stream(thread, "dacrew", stream_mode=["custom", "updates"], **kwargs):
        parts.append((part.event, part.data))
    return parts


async def _drive(url: str) -> tuple[str, list[tuple[str, Any]], list[dict[str, Any]], list[tuple[str, Any]], Any]:
    from langgraph_sdk import get_client

    client = get_client(url=url)
    thread = (await client.threads.create())["thread_id"]
    first = await _stream(client, thread, input={"plan": "tasks.md"})
    paused = await client.threads.get_state(thread)
    pending = [{"id": i["id"], **i["value"]} for i in paused["interrupts"]]
    # The answers `dacrew resume --approve "Setup & Configuration Tasks"` would give.
    answers = resolve_answers(pending, [], ["Setup & Configuration Tasks"], [])
    second = await _stream(client, thread, command={"resume": answers})
    final = await client.threads.get_state(thread)
    return thread, first, pending, second, final["values"]


@pytest.mark.slow
def test_a_run_through_the_sdk_streams_events_and_takes_an_approval(served: tuple[str, Path]) -> None:
    url, project = served
    thread, first, pending, second, values = asyncio.run(_drive(url))
    streamed = [data for kind, data in first if kind == "custom"]
    assert [e["type"] for e in streamed][:2] == ["plan_loaded", "task_started"]
    assert ("T001", "completed") in [(e.get("task"), e.get("status")) for e in streamed if e["type"] == "task_finished"]
    assert [(p["kind"], p["phase"]) for p in pending] == [("gate", "Setup & Configuration Tasks")]
    assert "T002" not in [e.get("task") for e in streamed], "the next phase waits for its gate"
    later = [data for kind, data in second if kind == "custom"]
    assert ("T002", "completed") in [(e.get("task"), e.get("status")) for e in later if e["type"] == "task_finished"]
    assert values["status"] == "completed"
    assert values["exit_code"] == 0
    assert values["run_id"] == thread
    found = FindingsStore(project).all()
    assert {t: (f.status, f.run_id) for t, f in found.items()} == {
        "T001": ("completed", thread),
        "T002": ("completed", thread),
    }
    gates = [e for e in read_events(project / ".dacrew" / "runs" / thread) if e["type"] == "gate"]
    assert [e["status"] for e in gates] == ["waiting", "approved"]
