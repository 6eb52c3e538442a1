"""Runs against the Messages API fake when the API misbehaves: injected faults, exhausted retries, the
fallback model."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from runkit import T, events, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.testing import AnthropicFake
from dacrew.testing.anthropic_fake import FAULT_KINDS

runner = CliRunner()
KEY = "sk-ant-" + "faults-000000000000000000000000"
SONNET = "anthropic:claude-sonnet-5-5"


def _run(project: Path, *extra: str) -> Any:
    return runner.invoke(
        app,
        ["run", str(project / "tasks.md"), "--project-dir", str(project), "--model", SONNET, "--headless", *extra],
    )


def _two_steps(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Each task writes its file, then completes."""
    task = re.search(r"# Task (T\d+)", json.dumps(body["messages"][0]))
    task_id = task.group(1) if task else "T000"
    if sum(1 for m in body["messages"] if m["role"] == "assistant") == 0:
        args = {"path": f"work/{task_id.lower()}/out.txt", "content": f"{task_id}\n"}
        return [{"type": "tool_use", "id": f"toolu_{task_id}_w", "name": "files_write", "input": args}]
    args = {"summary": f"{task_id} wrote its file"}
    return [{"type": "tool_use", "id": f"toolu_{task_id}_c", "name": "complete_task", "input": args}]


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return monkeypatch


def test_a_plan_completes_while_a_fifth_of_the_requests_fail(tmp_path: Path, keyed: pytest.MonkeyPatch) -> None:
    tasks = [T("T001"), T("T002", ["T001"]), T("T003", ["T001"], parallel=True), T("T004", ["T002", "T003"])]
    write_plan(tmp_path, [*tasks, T("T005", ["T004"])])
    (tmp_path / "dacrew.yml").write_text("models:\n  timeout_s: 2\n")
    with AnthropicFake(responder=_two_steps) as fake:
        keyed.setenv("ANTHROPIC_BASE_URL", fake.url)
        fake.inject_faults(0.2, seed=515, timeout_s=3.0)
        result = _run(tmp_path, "--max-parallel", "1")
        faults, requests = list(fake.faults_served), len(fake.requests)
    assert result.exit_code == 0, result.output
    found = FindingsStore(tmp_path).all()
    assert {found[f"T00{i}"].status for i in range(1, 6)} == {"completed"}
    # Every kind of fault happened, about a fifth of the requests failed, and each task still made its
    # two calls (a fault costs a retry, not a step).
    assert set(faults) == set(FAULT_KINDS)
    assert 0.1 <= len(faults) / requests <= 0.35
    assert len([e for e in events(tmp_path) if e["type"] == "model_response"]) == 10


def test_a_task_whose_retries_run_out_fails_alone_with_the_api_error(tmp_path: Path, keyed: pytest.MonkeyPatch) -> None:
    write_plan(tmp_path, [T("T001", parallel=True), T("T002", parallel=True), T("T003", ["T001"])])
    with AnthropicFake() as fake:
        keyed.setenv("ANTHROPIC_BASE_URL", fake.url)
        for _ in range(4):  # every attempt of T001's first call
            fake.fail(529, retry_after=0, message="Overloaded")
        fake.reply_tool_use("complete_task", {"summary": "T002 done"})
        result = _run(tmp_path, "--max-parallel", "1")
    assert result.exit_code == 1, result.output
    found = FindingsStore(tmp_path).all()
    assert found["T001"].status == "failed"
    assert "InternalServerError" in found["T001"].summary or "Overloaded" in found["T001"].summary
    assert "529" in found["T001"].summary or "Overloaded" in found["T001"].summary
    assert found["T002"].status == "completed"
    assert found["T003"].status == "skipped"


def test_the_fallback_model_answers_after_repeated_overloads_and_the_report_says_so(
    tmp_path: Path, keyed: pytest.MonkeyPatch
) -> None:
    write_plan(tmp_path, [T("T001")])
    (tmp_path / "dacrew.yml").write_text("models:\n  fallback: anthropic:claude-haiku-4-5\n")
    with AnthropicFake() as fake:
        keyed.setenv("ANTHROPIC_BASE_URL", fake.url)
        fake.fail_model("claude-sonnet-5-5", "529", 2)
        fake.reply_tool_use("files_write", {"path": "work/t001/a.txt", "content": "a\n"})
        fake.reply_tool_use("complete_task", {"summary": "T001 done"})
        result = _run(tmp_path, "--report-json", str(tmp_path / "r.json"))
        models = [r.body["model"] for r in fake.requests]
    assert result.exit_code == 0, result.output
    # Two overloaded answers, the fallback answers that call; the next call tries the model again.
    assert models == ["claude-sonnet-5-5", "claude-sonnet-5-5", "claude-haiku-4-5", "claude-sonnet-5-5"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["fallback_calls"] == [
        {"task": "T001", "agent": "dbt-expert", "step": 0, "model": "anthropic:claude-haiku-4-5"}
    ]
    html = next((tmp_path / ".dacrew" / "runs").glob("*/report.html")).read_text()
    assert "Calls answered by the fallback model" in html
