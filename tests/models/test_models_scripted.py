from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool as lc_tool

from dacrew.testing import ScriptedChatModel, ai, tool_call


@lc_tool
def files_write(path: str, content: str) -> str:
    """Write a file."""
    return path


def test_steps_play_in_order_and_calls_are_recorded() -> None:
    model = ScriptedChatModel(steps=[[tool_call("files_write", id="w1", path="a", content="b")], [ai("done")]])
    bound = model.bind_tools([files_write])
    first = bound.invoke([HumanMessage("start")])
    assert first.tool_calls == [
        {"name": "files_write", "args": {"path": "a", "content": "b"}, "id": "w1", "type": "tool_call"}
    ]
    assert first.usage_metadata is not None
    assert first.usage_metadata["input_tokens"] == 10
    second = bound.invoke([HumanMessage("start"), first, HumanMessage("go on")])
    assert second.content == "done"
    assert second.tool_calls == []
    assert [[m.content for m in call] for call in model.calls] == [["start"], ["start", "", "go on"]]
    assert [t["function"]["name"] for t in model.tools_seen[0]] == ["files_write"]
    model.assert_complete()


def test_assert_complete_fails_when_steps_remain_and_extra_calls_fail() -> None:
    model = ScriptedChatModel(steps=[[ai("one")], [ai("two")]])
    model.invoke([HumanMessage("x")])
    with pytest.raises(AssertionError, match="1 of 2 steps were never used"):
        model.assert_complete()
    model.invoke([HumanMessage("x")])
    with pytest.raises(AssertionError, match="call 3 but only 2 steps were scripted"):
        model.invoke([HumanMessage("again")])


def test_generated_ids_are_unique_and_text_can_go_with_calls() -> None:
    model = ScriptedChatModel(steps=[[ai("Writing both."), tool_call("a"), tool_call("b")]])
    reply = model.invoke([HumanMessage("x")])
    assert reply.content == "Writing both."
    assert [c["name"] for c in reply.tool_calls] == ["a", "b"]
    assert len({c["id"] for c in reply.tool_calls}) == 2


def test_a_step_can_be_a_function_of_the_messages() -> None:
    model = ScriptedChatModel(steps=[lambda messages: ai(f"saw {len(messages)}")])
    assert model.invoke([HumanMessage("a"), HumanMessage("b")]).content == "saw 2"


def test_shared_across_async_tasks_each_step_is_used_once() -> None:
    model = ScriptedChatModel(steps=[[ai(f"r{n}")] for n in range(20)])

    async def many() -> list[AIMessage]:
        return await asyncio.gather(*(model.ainvoke([HumanMessage(str(n))]) for n in range(20)))

    replies = asyncio.run(many())
    assert sorted(str(r.content) for r in replies) == sorted(f"r{n}" for n in range(20))
    assert len(model.calls) == 20
    model.assert_complete()
