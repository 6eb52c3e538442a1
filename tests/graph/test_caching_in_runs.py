"""Prompt caching seen from the wire: the real Anthropic client in a run, against the loopback fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from runkit import T, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.testing import AnthropicFake

runner = CliRunner()
KEY = "sk-ant-" + "cache-0000000000000000000000000"


def _marked(body: dict[str, Any]) -> list[str]:
    """Where the request's cache_control markers are: tools, system, or the index of a message."""
    where: list[str] = [f"tools:{t['name']}" for t in body.get("tools", []) if "cache_control" in t]
    where += ["system" for b in body.get("system", []) if isinstance(b, dict) and "cache_control" in b]
    for index, message in enumerate(body["messages"]):
        content = message["content"]
        if isinstance(content, list) and any("cache_control" in b for b in content):
            where.append(f"message:{index}")
    return where


def test_each_step_reads_the_conversation_and_each_task_the_agent_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plan(tmp_path, [T("T001", files=["out/"]), T("T002", ["T001"], files=["out/"])])
    with AnthropicFake() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for task in ("T001", "T002"):
            fake.reply_tool_use("files_write", {"path": f"out/{task}.txt", "content": "x\n" * 400})
            fake.reply_tool_use("files_read", {"path": f"out/{task}.txt"})
            fake.reply_tool_use("complete_task", {"summary": f"{task} wrote out/{task}.txt"})
        result = runner.invoke(
            app,
            [
                "run",
                str(tmp_path / "tasks.md"),
                "--project-dir",
                str(tmp_path),
                "--model",
                "anthropic:claude-sonnet-5-5",
                "--headless",
            ],
        )
        assert result.exit_code == 0, result.output
        bodies = [r.body for r in fake.requests]
        served = fake.usage
    assert len(bodies) == 6
    # Two markers on every request: the system prompt and the newest message.
    for body in bodies:
        assert _marked(body) == ["system", f"message:{len(body['messages']) - 1}"]
    # The tools → system prefix is the same bytes in every step of both tasks (one agent).
    prefixes = {json.dumps(b["tools"]) + json.dumps(b["system"]) for b in bodies}
    assert len(prefixes) == 1
    # Earlier messages are sent as the same bytes at every later step, marker aside.
    first, second = bodies[0]["messages"], bodies[1]["messages"]
    unmarked = [{k: v for k, v in block.items() if k != "cache_control"} for block in first[0]["content"]]
    assert second[0]["content"] == unmarked
    # The cache: the first call writes everything; each later step of T001 reads the whole previous
    # request; T002's first call reads the agent's tools and system prompt.
    reads = [u.request.cache_read_input_tokens for u in served]
    totals = [u.request.total_input for u in served]
    assert served[0].request.cache_read_input_tokens == 0
    assert served[0].request.cache_creation_input_tokens == totals[0]
    assert reads[1] == totals[0]
    assert reads[2] == totals[1]
    assert 0 < reads[3] < totals[3]
    assert reads[4] == totals[3]
