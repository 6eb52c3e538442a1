from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool as lc_tool

from dacrew.models.cassette import Cassette, CassetteWriter, load_cassette
from dacrew.models.dryrun import DryRunChatModel
from dacrew.models.replay import ReplayChatModel, ReplayError


@lc_tool
def files_read(path: str) -> str:
    """Read a file of the project."""
    return path


def _cassette(tmp_path: Path) -> Cassette:
    def turn(attempt: int, step: int, calls: list[dict[str, object]], content: str = "", delay: float = 0.0) -> str:
        return json.dumps(
            {
                "type": "model",
                "task": "T1",
                "attempt": attempt,
                "step": step,
                "request_digest": None,
                "delay_s": delay,
                "response": {
                    "content": content,
                    "tool_calls": calls,
                    "usage": {"input_tokens": 40, "output_tokens": 4, "cache_read_tokens": 30, "cache_write_tokens": 0},
                },
            }
        )

    lines = [
        json.dumps({"type": "header", "version": 1, "source": "scripted", "model": "scripted", "created": ""}),
        turn(1, 0, [{"id": "c1", "name": "files_read", "args": {"path": "a.sql"}}], delay=0.2),
        turn(1, 1, [{"id": "c2", "name": "complete_task", "args": {"summary": "first try"}}]),
        turn(2, 0, [{"id": "c9", "name": "complete_task", "args": {"summary": "second try"}}]),
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return load_cassette(path)


def test_steps_follow_the_conversation(tmp_path: Path) -> None:
    model = ReplayChatModel(cassette=_cassette(tmp_path), task="T1", attempt=1, sleep=False).bind_tools([files_read])
    history = [SystemMessage("you are dbt"), HumanMessage("do T1")]
    first = model.invoke(history)
    assert first.tool_calls == [{"name": "files_read", "args": {"path": "a.sql"}, "id": "c1", "type": "tool_call"}]
    assert first.usage_metadata is not None
    assert first.usage_metadata["input_tokens"] == 40
    assert first.usage_metadata.get("input_token_details") == {"cache_read": 30, "cache_creation": 0}
    history += [first, ToolMessage("select 1", tool_call_id="c1")]
    second = model.invoke(history)
    assert [c["args"] for c in second.tool_calls] == [{"summary": "first try"}]
    # Asking again for the same conversation gives the same turn: resume-safe.
    assert model.invoke(history).tool_calls == second.tool_calls


def test_attempt_selects_its_own_turns(tmp_path: Path) -> None:
    model = ReplayChatModel(cassette=_cassette(tmp_path), task="T1", attempt=2)
    reply = model.invoke([HumanMessage("retry T1")])
    assert reply.tool_calls[0]["id"] == "c9"


def test_delay_is_honoured_async_and_sync(tmp_path: Path) -> None:
    model = ReplayChatModel(cassette=_cassette(tmp_path), task="T1", attempt=1)
    started = time.monotonic()
    asyncio.run(model.ainvoke([HumanMessage("go")]))
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    model.invoke([HumanMessage("go")])
    assert time.monotonic() - started >= 0.2


def test_async_delays_overlap(tmp_path: Path) -> None:
    cassette = _cassette(tmp_path)

    async def both() -> None:
        models = [ReplayChatModel(cassette=cassette, task="T1", attempt=1) for _ in range(3)]
        await asyncio.gather(*(m.ainvoke([HumanMessage("go")]) for m in models))

    started = time.monotonic()
    asyncio.run(both())
    assert time.monotonic() - started < 0.5  # three 0.2 s turns in parallel, not in series


def test_a_missing_turn_names_task_attempt_step_and_cassette(tmp_path: Path) -> None:
    cassette = _cassette(tmp_path)
    model = ReplayChatModel(cassette=cassette, task="T7", attempt=1)
    with pytest.raises(ReplayError) as info:
        model.invoke([HumanMessage("go")])
    assert str(info.value) == f"the cassette {cassette.path} has no model turn for task T7 attempt 1 step 0"
    assert (info.value.task, info.value.attempt, info.value.step) == ("T7", 1, 0)


def test_strict_replay_reports_drift_with_a_diff(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    recorded = [SystemMessage("you are dbt"), HumanMessage("build stg_orders")]
    reply = AIMessage("", tool_calls=[{"name": "files_read", "args": {"path": "x"}, "id": "t1", "type": "tool_call"}])
    with CassetteWriter(path, source="recorded", model="m") as writer:
        writer.model_turn("T1", 1, 0, reply, messages=recorded, tools=[files_read])
    cassette = load_cassette(path)
    strict = ReplayChatModel(cassette=cassette, task="T1", strict=True).bind_tools([files_read])
    assert strict.invoke(recorded).tool_calls[0]["id"] == "t1"
    with pytest.raises(ReplayError) as info:
        strict.invoke([SystemMessage("you are dbt"), HumanMessage("build stg_customers")])
    message = str(info.value)
    assert "no longer matches" in message
    assert "-human: build stg_orders\n+human: build stg_customers" in message
    lenient = ReplayChatModel(cassette=cassette, task="T1").bind_tools([files_read])
    assert lenient.invoke([HumanMessage("anything")]).tool_calls[0]["id"] == "t1"


def test_dry_run_completes_at_once() -> None:
    model = DryRunChatModel(task_id="T004", title="Stage orders").bind_tools([files_read])
    reply = model.invoke([SystemMessage("s"), HumanMessage("do it")])
    assert reply.tool_calls == [
        {
            "name": "complete_task",
            "args": {
                "summary": "Dry run: Stage orders — no tools were called.",
                "artifacts": [],
                "details": "The dry-run model completed task T004 without a model call or a tool call.",
            },
            "id": "dry-T004-0",
            "type": "tool_call",
        }
    ]
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == reply.usage_metadata["output_tokens"] == 0
