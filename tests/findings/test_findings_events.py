from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from dacrew.findings.events import EventLog, read_events


def test_events_are_lines_with_ts_type_and_task(tmp_path: Path) -> None:
    with EventLog(tmp_path / "run") as log:
        log.emit("task_started", task="T1", attempt=1)
        log.emit("run_finished", status="ok")
    events = read_events(tmp_path / "run")
    assert [(e["type"], e.get("task")) for e in events] == [("task_started", "T1"), ("run_finished", None)]
    assert events[0]["attempt"] == 1
    assert events[0]["ts"].endswith("+00:00")
    lines = (tmp_path / "run" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["task_started", "run_finished"]


def test_threads_never_interleave_lines(tmp_path: Path) -> None:
    log = EventLog(tmp_path)

    def work(n: int) -> None:
        for i in range(50):
            log.emit("tool_call", task=f"T{n}", i=i, payload="x" * 5000)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    events = read_events(tmp_path)
    assert len(events) == 400
    for n in range(8):
        assert [e["i"] for e in events if e["task"] == f"T{n}"] == list(range(50))


def test_a_torn_last_line_is_skipped_and_the_next_writer_starts_fresh(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        log.emit("a")
    with (tmp_path / "events.jsonl").open("a") as handle:
        handle.write('{"ts": "x", "type": "tor')  # what kill -9 mid-write leaves
    assert [e["type"] for e in read_events(tmp_path)] == ["a"]
    with EventLog(tmp_path) as log:
        log.emit("b")
    assert [e["type"] for e in read_events(tmp_path)] == ["a", "b"]


def test_missing_log_reads_empty(tmp_path: Path) -> None:
    assert read_events(tmp_path / "nope") == []


def test_secrets_never_reach_the_event_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DACREW_TABLEAU__TOKEN_SECRET", "tab-secret-987654")
    with EventLog(tmp_path) as log:
        log.emit("tool_call", task="T1", args={"note": "token tab-secret-987654", "password": "pw"})
    raw = (tmp_path / "events.jsonl").read_text()
    assert "tab-secret-987654" not in raw
    assert read_events(tmp_path)[0]["args"] == {"note": "token ***", "password": "***"}
