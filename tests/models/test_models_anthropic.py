"""The real ChatAnthropic client against the loopback fake: tool calls, caching, usage, retries."""

from __future__ import annotations

import asyncio
import time

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool as lc_tool

from dacrew.models.limiter import RateLimiter
from dacrew.models.resolve import LimitedChatModel, cache_system_prompt, resolve_model_source
from dacrew.models.usage import usage_from_message
from dacrew.testing import AnthropicFake

KEY = "sk-ant-test-key-0123456789"


@lc_tool
def warehouse_query(sql: str) -> str:
    """Run a read-only SQL query."""
    return sql


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with AnthropicFake() as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        yield server


def test_init_chat_model_reaches_the_fake_and_gets_a_tool_call(fake: AnthropicFake) -> None:
    from langchain.chat_models import init_chat_model

    fake.reply_tool_use("warehouse_query", {"sql": "select 1"}, id="toolu_01", text="Checking.")
    model = init_chat_model("anthropic:claude-sonnet-5-5").bind_tools([warehouse_query])
    reply = model.invoke([HumanMessage("how many orders?")])
    assert reply.tool_calls == [
        {"name": "warehouse_query", "args": {"sql": "select 1"}, "id": "toolu_01", "type": "tool_call"}
    ]
    [request] = fake.requests
    assert request.path == "/v1/messages"
    assert request.body["model"] == "claude-sonnet-5-5"
    assert [t["name"] for t in request.body["tools"]] == ["warehouse_query"]
    assert request.body["messages"] == [{"role": "user", "content": "how many orders?"}]
    # The key travels only in the auth header to the configured base URL.
    assert KEY in (request.headers.get("x-api-key", "") + request.headers.get("authorization", ""))


def test_streaming_form_is_understood(fake: AnthropicFake) -> None:
    from langchain_anthropic import ChatAnthropic

    fake.reply_tool_use("warehouse_query", {"sql": "select 2"}, id="toolu_02")
    model = ChatAnthropic(model_name="claude-sonnet-5-5", streaming=True, timeout=10, stop=None)
    reply = model.bind_tools([warehouse_query]).invoke([HumanMessage("stream it")])
    assert fake.requests[0].body["stream"] is True
    assert reply.tool_calls[0]["args"] == {"sql": "select 2"}


def test_source_model_caches_the_prompt_and_reports_cache_usage(fake: AnthropicFake) -> None:
    fake.reply_text("done", usage={"input_tokens": 10, "cache_read_input_tokens": 900, "output_tokens": 3})
    source = resolve_model_source("anthropic:claude-sonnet-5-5", None)
    model = source.chat_model("dbt-expert", "T1", 1).bind_tools([warehouse_query])
    system = cache_system_prompt("You are the dbt expert.", source.model_name("dbt-expert"))
    reply = asyncio.run(model.ainvoke([system, HumanMessage("go")]))
    assert reply.content == "done"
    assert fake.requests[0].body["system"] == [
        {"type": "text", "text": "You are the dbt expert.", "cache_control": {"type": "ephemeral"}}
    ]
    usage = usage_from_message(reply, "anthropic:claude-sonnet-5-5")
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (910, 900, 3)
    assert usage.usd == pytest.approx((10 * 3.0 + 900 * 0.30 + 3 * 15.0) / 1e6)


def _limited(limiter: RateLimiter, attempts: int = 4) -> LimitedChatModel:
    from langchain.chat_models import init_chat_model

    inner = init_chat_model("anthropic:claude-sonnet-5-5", max_retries=0)
    return LimitedChatModel(
        inner=inner, model_name="anthropic:claude-sonnet-5-5", limiter=limiter, attempts=attempts, base_delay=0.05
    )


def test_429_waits_for_retry_after_then_succeeds(fake: AnthropicFake) -> None:
    fake.fail(429, retry_after=0.4)
    fake.reply_tool_use("warehouse_query", {"sql": "select 3"})
    model = _limited(RateLimiter()).bind_tools([warehouse_query])
    started = time.monotonic()
    reply = asyncio.run(model.ainvoke([HumanMessage("go")]))
    assert time.monotonic() - started >= 0.4
    assert reply.tool_calls[0]["args"] == {"sql": "select 3"}
    assert len(fake.requests) == 2
    # The retry is the same request again.
    assert fake.requests[0].body == fake.requests[1].body


def test_529_overloaded_is_retried_sync_too(fake: AnthropicFake) -> None:
    fake.fail(529, retry_after=0.1)
    fake.reply_text("ok")
    reply = _limited(RateLimiter()).invoke([HumanMessage("go")])
    assert reply.content == "ok"
    assert len(fake.requests) == 2


def test_retries_are_bounded_and_the_error_surfaces(fake: AnthropicFake) -> None:
    import anthropic

    for _ in range(3):
        fake.fail(429, retry_after=0.01)
    fake.reply_text("never reached")
    with pytest.raises(anthropic.RateLimitError):
        asyncio.run(_limited(RateLimiter(), attempts=3).ainvoke([HumanMessage("go")]))
    assert len(fake.requests) == 3
    assert fake.pending == 1


def test_a_client_error_is_not_retried(fake: AnthropicFake) -> None:
    import anthropic

    fake.fail(400, message="bad request")
    fake.reply_text("never reached")
    with pytest.raises(anthropic.BadRequestError):
        asyncio.run(_limited(RateLimiter()).ainvoke([HumanMessage("go")]))
    assert len(fake.requests) == 1


def test_a_rate_limit_pauses_every_caller(fake: AnthropicFake) -> None:
    fake.fail(429, retry_after=0.5)
    fake.reply_text("a")
    fake.reply_text("b")
    limiter = RateLimiter()
    model = _limited(limiter)

    async def two_callers() -> list[float]:
        async def call(delay: float) -> float:
            await asyncio.sleep(delay)
            await model.ainvoke([HumanMessage("go")])
            return time.monotonic()

        start = time.monotonic()
        done = await asyncio.gather(call(0), call(0.15))
        return [t - start for t in done]

    finished = asyncio.run(two_callers())
    # The second caller arrived during the first one's pause and waited for it too.
    assert min(finished) >= 0.45
    assert len(fake.requests) == 3
