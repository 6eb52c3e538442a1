"""Replay a cassette's model turns as a chat model: the recorded decisions, today's tools.

The step of a call is the number of AI messages already in its input — a pure function of the
conversation, so replay is deterministic and a resumed task picks up at the right turn.
"""

from __future__ import annotations

import asyncio
import difflib
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from dacrew.errors import DacrewError
from dacrew.models.cassette import Cassette, ModelTurn, TurnResponse, request_digest, request_summary


class ReplayError(DacrewError):
    """The cassette cannot answer this request: no turn for the key, or (strict) the request drifted.
    The task fails with this message; the run goes on."""

    exit_code = 1

    def __init__(
        self, message: str, *, task: str, attempt: int, step: int, what: str = "request", diff: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.task = task
        self.attempt = attempt
        self.step = step
        self.what = what
        """What drifted: ``request`` (prompt, messages, tool schemas), ``tool result``, or ``missing``."""
        self.diff = diff


def ai_message(response: TurnResponse, *, model_name: str = "") -> AIMessage:
    """The ``AIMessage`` a cassette response stands for, with tool calls and usage metadata."""
    usage = response.usage
    return AIMessage(
        content=response.content,
        tool_calls=[
            {"name": c.name, "args": dict(c.args), "id": c.id, "type": "tool_call"} for c in response.tool_calls
        ],
        usage_metadata={
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
            "input_token_details": {"cache_read": usage.cache_read_tokens, "cache_creation": usage.cache_write_tokens},
        },
        response_metadata={"model_name": model_name},
    )


def step_of(messages: Sequence[BaseMessage]) -> int:
    """The step of a request: how many AI turns the conversation already holds."""
    return sum(1 for m in messages if isinstance(m, AIMessage))


class OfflineChatModel(BaseChatModel):
    """Base of the models that answer without a provider (replay, dry run, scripted tests): the tools
    ride along as the ``tools`` keyword of each call, where request digests can see them."""

    def bind_tools(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)


class ReplayChatModel(OfflineChatModel):
    """Answers each request with the cassette's turn for (task, attempt, step)."""

    cassette: Cassette
    task: str
    attempt: int = 1
    strict: bool = False
    """Compare each request's digest with the recorded one; a mismatch is a :class:`ReplayError`."""
    on_drift: Callable[[ReplayError], None] | None = None
    """Told of every drifted request (strict or not): lenient replay warns through it and goes on."""
    sleep: bool = True
    """Honour ``delay_s`` (benchmarks simulate model latency with it)."""

    @property
    def _llm_type(self) -> str:
        return "dacrew-replay"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"cassette": self.cassette.path, "task": self.task, "attempt": self.attempt}

    def _turn(self, messages: list[BaseMessage], tools: Sequence[Any]) -> ModelTurn:
        step = step_of(messages)
        turn = self.cassette.turn(self.task, self.attempt, step)
        where = f"task {self.task} attempt {self.attempt} step {step}"
        if turn is None:
            raise ReplayError(
                f"the cassette {self.cassette.path} has no model turn for {where}",
                task=self.task,
                attempt=self.attempt,
                step=step,
            )
        if turn.request_digest is not None and (self.strict or self.on_drift is not None):
            digest = request_digest(messages, tools)
            if digest != turn.request_digest:
                diff = _diff(turn, messages, tools)
                drift = ReplayError(
                    f"the request for {where} no longer matches {self.cassette.path}"
                    f" (recorded {turn.request_digest[:19]}…, now {digest[:19]}…)" + (f"\n{diff}" if diff else ""),
                    task=self.task,
                    attempt=self.attempt,
                    step=step,
                    diff=diff,
                )
                if self.on_drift is not None:
                    self.on_drift(drift)
                if self.strict:
                    raise drift
        return turn

    def _result(self, turn: ModelTurn) -> ChatResult:
        message = ai_message(turn.response, model_name=f"replay:{self.cassette.path}")
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn = self._turn(messages, kwargs.get("tools") or [])
        if turn.delay_s and self.sleep:
            time.sleep(turn.delay_s)
        return self._result(turn)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn = self._turn(messages, kwargs.get("tools") or [])
        if turn.delay_s and self.sleep:
            await asyncio.sleep(turn.delay_s)
        return self._result(turn)


def _diff(turn: ModelTurn, messages: list[BaseMessage], tools: Sequence[Any]) -> str:
    if not turn.request:
        return ""
    lines = list(
        difflib.unified_diff(turn.request, request_summary(messages, tools), "recorded", "now", n=0, lineterm="")
    )
    shown = lines[:12] + (["…"] if len(lines) > 12 else [])
    return "\n".join(shown)
