"""The chat on a real Anthropic client (against the loopback fake): the reply is streamed (server-sent
events), the interview's tools reach the API, the answers go back as tool results, the conversation is
costed, and a resumed conversation asks its open question again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_engine import ScriptIO

from dacrew.chat.engine import Conversation
from dacrew.chat.session import last_state, new_state
from dacrew.config import load_config
from dacrew.models.resolve import resolve_model_source
from dacrew.testing import AnthropicFake

MODEL = "anthropic:claude-sonnet-5-5"


def _conversation(project: Path, io: ScriptIO, *, resume: bool = False) -> Conversation:
    config = load_config(project)
    state = last_state(project) if resume else new_state(project, MODEL)
    return Conversation(state, io, config, resolve_model_source(state.model, config, base_dir=project))


def test_the_interview_streams_from_a_live_model_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with AnthropicFake() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-" + "test-" + "0" * 16)
        question = {"question": "Who signs off the churn numbers?", "topic": "stakeholders"}
        usage = {"input_tokens": 900, "output_tokens": 20}
        fake.reply_tool_use("ask_person", question, text="Let us pin down the owner first.", usage=usage)
        fake.reply_tool_use("ask_person", {"question": "Monthly or weekly churn?", "topic": "metrics"}, usage=usage)
        io = ScriptIO(["we need a churn dashboard", "Dana in finance", "/pause"])
        conversation = _conversation(tmp_path, io)
        conversation.start(resumed=False)
        conversation.loop()
        assert fake.pending == 0
        first, second = fake.requests
        assert first.body["stream"] is True
        assert {tool["name"] for tool in first.body["tools"]} == {"ask_person", "write_spec"}
        assert "The feature, in the person's words: we need a churn dashboard" in json.dumps(first.body["messages"])
        assert "The person answers: Dana in finance" in json.dumps(second.body["messages"])
    assert "Let us pin down the owner first." in io.shown
    assert "**Question 1** (stakeholders): Who signs off the churn numbers?" in io.shown
    state = last_state(tmp_path)
    assert state.usage.output_tokens == 40
    assert state.usage.usd > 0

    again = ScriptIO(["/quit"])
    _conversation(tmp_path, again, resume=True).start(resumed=True)
    assert "**Still waiting for your answer**: Monthly or weekly churn?" in again.shown
