from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from dacrew.errors import UserError
from dacrew.findings.format import CheckResult, Finding, parse
from dacrew.findings.store import FindingsStore


def test_start_then_finish_follows_the_protocol(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    started = store.start("T004", title="Stage", owner="dbt-expert", depends_on=["T001"], attempt=1, run_id="r1")
    assert started.status == "in_progress"
    assert started.started is not None
    assert started.finished is None
    done = store.finish("T004", "completed", summary="Built it.", artifacts=["models/a.sql"])
    assert done.status == "completed"
    assert done.finished is not None
    assert done.finished >= done.started  # type: ignore[operator]
    again = store.read("T004")
    assert again == done
    assert again is not None
    assert again.depends_on == ["T001"]
    assert again.run_id == "r1"
    assert sorted(p.name for p in store.dir.iterdir()) == ["T004.md"]


def test_a_new_attempt_keeps_nothing_stale(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    store.start("T1", title="t")
    store.finish("T1", "failed", summary="broke", checks=[CheckResult(kind="file", argument="a", output="missing")])
    retry = store.start("T1", title="t", attempt=2)
    assert (retry.summary, retry.checks, retry.finished, retry.attempt) == ("", [], None, 2)
    assert store.read("T1") == retry


def test_update_creates_and_validates(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    created = store.update("T2", status="pending", title="later")
    assert created.task == "T2"
    assert created.title == "later"
    with pytest.raises(ValueError, match="status"):
        store.update("T2", status="done")
    with pytest.raises(ValueError, match="colour"):
        store.update("T2", colour="red")
    assert store.read("T2") == created


def test_read_missing_is_none_and_bad_ids_are_refused(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    assert store.read("T9") is None
    assert store.all() == {}
    for bad in ("../etc", "a/b", "", ".hidden"):
        with pytest.raises(UserError, match="invalid task id"):
            store.read(bad)


def test_twenty_threads_write_at_once(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            task = f"T{n:03d}"
            store.start(task, title=f"task {n}", owner="dbt-expert")
            for i in range(5):
                store.update(task, artifacts=[f"a{i}"])
            store.finish(task, "completed", summary=f"done {n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    found = store.all()
    assert list(found) == [f"T{n:03d}" for n in range(20)]
    for n, (task, finding) in enumerate(found.items()):
        assert (finding.task, finding.status, finding.summary, finding.artifacts) == (
            task,
            "completed",
            f"done {n}",
            ["a4"],
        )
    assert sorted(os.listdir(store.dir)) == [f"T{n:03d}.md" for n in range(20)]
    assert os.listdir(tmp_path / ".dacrew" / "tmp") == []


def _hammer(project: str, worker: int, rounds: int) -> None:
    store = FindingsStore(project)
    for i in range(rounds):
        # A large, self-describing body: a torn or mixed file could not parse or would mix tokens.
        store.write(Finding(task="T1", title=f"w{worker}", summary=f"w{worker}-{i} " * 4000))
        with store.lock("T1"):
            pass
    for i in range(rounds):
        with store.lock("T2"):
            store.update("T2", artifacts=[*_artifacts(store), f"w{worker}-{i}"])


def _artifacts(store: FindingsStore) -> list[str]:
    current = store.read("T2")
    return current.artifacts if current else []


def test_processes_never_tear_a_file_nor_lose_an_update(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    store.write(Finding(task="T1", summary="seed"))
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_hammer, args=(str(tmp_path), w, 15)) for w in range(3)]
    for p in workers:
        p.start()
    reads = 0
    while any(p.is_alive() for p in workers):
        text = store.path("T1").read_text(encoding="utf-8")
        finding = parse(text, "T1.md")
        tokens = set(finding.summary.split())
        assert len(tokens) == 1, "a reader saw a mixed file"
        reads += 1
        time.sleep(0.001)
    for p in workers:
        p.join()
        assert p.exitcode == 0
    assert reads > 0
    # Update reads then writes; without the cross-process lock some of these would be lost.
    t2 = store.read("T2")
    assert t2 is not None
    assert sorted(t2.artifacts) == sorted(f"w{w}-{i}" for w in range(3) for i in range(15))


def test_secrets_never_reach_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-" + "api03-supersecretvalue")
    monkeypatch.setenv("DACREW_ORCHESTRA__API_KEY", "orch-key-123456")
    store = FindingsStore(tmp_path)
    store.start("T1", title="uses orch-key-123456")
    store.finish(
        "T1",
        "completed",
        summary="called with sk-ant-" + "api03-supersecretvalue and Bearer abcdefghijkl",
        checks=[CheckResult(kind="sql", argument="x", output="password=hunter2hunter2")],
    )
    text = store.path("T1").read_text(encoding="utf-8")
    for secret in ("supersecretvalue", "orch-key-123456", "abcdefghijkl", "hunter2"):
        assert secret not in text
    finding = store.read("T1")
    assert finding is not None
    assert finding.title == "uses ***"
    assert finding.checks[0].output == "password=***"


def test_handoff_gives_status_summary_artifacts_and_next_steps(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    store.start("T1", title="Source", owner="dbt-expert")
    store.finish(
        "T1",
        "completed",
        summary="Declared the orders source.",
        artifacts=["models/sources.yml"],
        next_steps="- Stage it.",
        implementation_details="long transcript-like detail",
    )
    text = store.handoff(["T1", "T0"])
    assert text == (
        "### T1: Source\n\n- Status: completed\n- Owner: dbt-expert\n\nSummary:\n\nDeclared the orders source."
        "\n\nArtifacts:\n\n- models/sources.yml\n\nNext Steps:\n\n- Stage it."
        "\n\n### T0\n\nNo finding: this task has not run."
    )
    assert "transcript" not in text
