from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from dacrew.errors import UserError
from dacrew.models.cassette import CassetteWriter, load_cassette, request_digest

HEADER = {"type": "header", "version": 1, "source": "scripted", "model": "scripted", "created": "2026-11-28"}


def _turn(task: str = "T1", attempt: int = 1, step: int = 0, **extra: object) -> dict[str, object]:
    return {
        "type": "model",
        "task": task,
        "attempt": attempt,
        "step": step,
        "request_digest": None,
        "delay_s": 0.0,
        "response": {
            "content": "",
            "tool_calls": [{"id": "c1", "name": "complete_task", "args": {"summary": "ok"}}],
            "usage": {"input_tokens": 5, "output_tokens": 1, "cache_read_tokens": 0, "cache_write_tokens": 0},
        },
        **extra,
    }


def _write(path: Path, *records: object, raw: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + raw)
    return path


def test_load_keys_turns_by_task_attempt_and_step(tmp_path: Path) -> None:
    tool = {"type": "tool", "task": "T1", "attempt": 1, "step": 0, "call_id": "c1", "name": "x", "args": {}}
    path = _write(tmp_path / "c.jsonl", HEADER, _turn(), _turn(step=1), _turn("T2", attempt=2), {**tool, "result": 3})
    cassette = load_cassette(path)
    assert cassette.header.source == "scripted"
    assert sorted(cassette.turns) == [("T1", 1, 0), ("T1", 1, 1), ("T2", 2, 0)]
    turn = cassette.turn("T1", 1, 0)
    assert turn is not None
    assert turn.response.tool_calls[0].args == {"summary": "ok"}
    assert cassette.turn("T2", 1, 0) is None
    record = cassette.tool("T1", 1, "c1")
    assert record is not None
    assert record.result == 3
    assert cassette.tasks() == ["T1", "T2"]


@pytest.mark.parametrize(
    ("records", "raw", "message", "line"),
    [
        ([], "", "empty cassette", 1),
        ([_turn()], "", "the first line must be the header", 1),
        ([{**HEADER, "version": 2}], "", "version: Input should be 1", 1),
        ([HEADER, _turn()], "{not json\n", "not valid JSON", 3),
        ([HEADER, _turn(), _turn()], "", "duplicate model turn for task T1 attempt 1 step 0", 3),
        ([HEADER, {"type": "note"}], "", "unknown record type 'note'", 2),
        ([HEADER, _turn(step=-1)], "", "step: Input should be greater than or equal to 0", 2),
        ([HEADER, {**_turn(), "response": {"tool_calls": [{"name": "x"}]}}], "", "response.tool_calls.0.id", 2),
        ([HEADER], "[1, 2]\n", "each line must be a JSON object", 2),
    ],
)
def test_load_errors_are_located(tmp_path: Path, records: list[object], raw: str, message: str, line: int) -> None:
    path = _write(tmp_path / "bad.jsonl", *records, raw=raw)
    with pytest.raises(UserError) as info:
        load_cassette(path)
    assert message in str(info.value)
    assert (info.value.path, info.value.line) == (str(path), line)


def test_missing_cassette_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cassette not found"):
        load_cassette(tmp_path / "nope.jsonl")


def test_digest_covers_content_and_tools_but_not_call_ids() -> None:
    base = [SystemMessage("sys"), HumanMessage("do T1")]
    tools = [{"type": "function", "function": {"name": "files_read", "parameters": {"type": "object"}}}]
    digest = request_digest(base, tools)
    assert digest.startswith("sha256:")
    assert digest == request_digest([SystemMessage("sys"), HumanMessage("do T1")], tools)
    assert digest != request_digest([SystemMessage("sys"), HumanMessage("do T2")], tools)
    assert digest != request_digest(base, [])
    call_a = AIMessage("", tool_calls=[{"name": "x", "args": {"a": 1}, "id": "one", "type": "tool_call"}])
    call_b = AIMessage("", tool_calls=[{"name": "x", "args": {"a": 1}, "id": "two", "type": "tool_call"}])
    assert request_digest([*base, call_a]) == request_digest([*base, call_b])


def test_writer_round_trips_and_redacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-" + "api03-recordedsecret")
    path = tmp_path / "rec.jsonl"
    message = AIMessage(
        "thinking about sk-ant-" + "api03-recordedsecret",
        tool_calls=[{"name": "warehouse_query", "args": {"sql": "select 1"}, "id": "toolu_1", "type": "tool_call"}],
        usage_metadata={
            "input_tokens": 120,
            "output_tokens": 7,
            "total_tokens": 127,
            "input_token_details": {"cache_read": 100, "cache_creation": 0},
        },
    )
    request = [HumanMessage("go")]
    with CassetteWriter(path, source="recorded", model="anthropic:claude-sonnet-5-5") as writer:
        writer.model_turn("T1", 1, 0, message, messages=request)
        writer.tool_record("T1", 1, 0, "toolu_1", "warehouse_query", {"password": "pw"}, result={"rows": 1})
    assert "recordedsecret" not in path.read_text()
    cassette = load_cassette(path)
    assert cassette.header.model == "anthropic:claude-sonnet-5-5"
    turn = cassette.turn("T1", 1, 0)
    assert turn is not None
    assert turn.response.content == "thinking about ***"
    assert turn.response.usage.cache_read_tokens == 100
    assert turn.request_digest == request_digest(request)
    assert turn.request == ["human: go"]
    assert cassette.tools[0].args == {"password": "***"}


def test_writer_appends_to_an_existing_cassette_without_duplicating_turns(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with CassetteWriter(path, source="recorded", model="m") as writer:
        writer.model_turn("T1", 1, 0, AIMessage("first"))
    with CassetteWriter(path, source="recorded", model="m") as writer:
        writer.model_turn("T1", 1, 0, AIMessage("again after a resume"))
        writer.model_turn("T1", 1, 1, AIMessage("second"))
    cassette = load_cassette(path)
    assert [(key, turn.response.content) for key, turn in sorted(cassette.turns.items())] == [
        (("T1", 1, 0), "first"),
        (("T1", 1, 1), "second"),
    ]
    assert path.read_text().count('"type": "header"') == 1
