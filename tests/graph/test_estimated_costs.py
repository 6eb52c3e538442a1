"""A replayed cassette that recorded no usage: dacrew estimates tokens and USD from the requests it built,
labelled as estimates, and never counts them against a budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from runkit import T, events, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.testing import AnthropicFake

runner = CliRunner()
KEY = "sk-ant-" + "estimate-0000000000000000000000"


def _turns() -> list[dict[str, Any]]:
    """Two tasks of one agent, each writing a file and completing; no usage recorded."""
    out: list[dict[str, Any]] = []
    for task in ("T001", "T002"):
        calls = [
            [("files_write", {"path": f"work/{task.lower()}/a.txt", "content": "row\n" * 300})],
            [("complete_task", {"summary": f"{task} wrote its file"})],
        ]
        for step, step_calls in enumerate(calls):
            out.append(
                {
                    "type": "model",
                    "task": task,
                    "attempt": 1,
                    "step": step,
                    "response": {
                        "content": "",
                        "tool_calls": [{"id": f"toolu_{task}_{step}", "name": n, "args": a} for n, a in step_calls],
                    },
                }
            )
    return out


def _plan(project: Path) -> None:
    write_plan(project, [T("T001"), T("T002", ["T001"])])


def test_a_scripted_replay_shows_estimated_tokens_and_usd_that_no_budget_counts(tmp_path: Path) -> None:
    _plan(tmp_path)
    cassette = write_cassette(tmp_path / "c.jsonl", _turns())
    args = ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--model", f"replay:{cassette}"]
    result = runner.invoke(app, [*args, "--budget-usd", "0.000001", "--report-json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    found = FindingsStore(tmp_path).all()
    for task in ("T001", "T002"):
        usage = found[task].usage
        assert usage.estimated
        assert usage.usd == 0
        assert usage.estimated_usd > 0
        assert usage.input_tokens > 1000
    # The second task of the agent reads the tools and the system prompt from the (estimated) cache.
    assert found["T002"].usage.cache_read_tokens > 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["estimated"] is True
    assert report["usd"] == 0
    assert report["estimated_usd"] == pytest.approx(sum(t["estimated_usd"] for t in report["tasks"]))
    assert [a["agent"] for a in report["agents"] if a["estimated"]] == ["dbt-expert"]
    assert "est." in result.output
    assert "~$" in result.output
    responses = [e for e in events(tmp_path) if e["type"] == "model_response"]
    assert len(responses) == 4
    assert all(e["usage"]["estimated"] for e in responses)
    html = next((tmp_path / ".dacrew" / "runs").glob("*/report.html")).read_text()
    assert "est." in html


def test_the_estimate_is_what_the_api_fake_counts_for_the_same_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replayed, live = tmp_path / "replayed", tmp_path / "live"
    _plan(replayed)
    _plan(live)
    cassette = write_cassette(tmp_path / "c.jsonl", _turns())
    result = runner.invoke(
        app, ["run", str(replayed / "tasks.md"), "--project-dir", str(replayed), "--model", f"replay:{cassette}"]
    )
    assert result.exit_code == 0, result.output
    with AnthropicFake() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for turn in _turns():
            (call,) = turn["response"]["tool_calls"]
            fake.reply_tool_use(call["name"], call["args"], id=call["id"])
        model = ["--model", "anthropic:claude-sonnet-5-5"]
        result = runner.invoke(app, ["run", str(live / "tasks.md"), "--project-dir", str(live), *model])
        assert result.exit_code == 0, result.output
    estimated, measured = FindingsStore(replayed).all(), FindingsStore(live).all()
    for task in ("T001", "T002"):
        e, m = estimated[task].usage, measured[task].usage
        assert (e.input_tokens, e.cache_read_tokens, e.cache_write_tokens) == (
            m.input_tokens,
            m.cache_read_tokens,
            m.cache_write_tokens,
        )
        assert e.estimated_usd == pytest.approx(m.usd)
