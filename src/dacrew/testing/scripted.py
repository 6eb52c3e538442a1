"""A chat model that plays a script: each call takes the next step.

```
model = ScriptedChatModel(steps=[[tool_call("files_write", path="a.sql", content="select 1")], [ai("done")]])
...
model.assert_complete()
```

A step is a list of tool calls (``tool_call(...)``), optionally with an ``ai(...)`` message giving the
text that goes with them, or a single ``ai(...)`` message, or a function of the received messages
returning either. ``.calls`` holds the messages of every call, in order. One model can be shared by
concurrent tasks: steps are taken under a lock, in call order.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, ToolCall
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

from dacrew.models.replay import OfflineChatModel

_IDS = itertools.count(1)


def tool_call(name: str, id: str | None = None, **args: Any) -> ToolCall:
    """A tool call for a script step; the id is generated when not given."""
    return ToolCall(name=name, args=args, id=id or f"call_{next(_IDS)}", type="tool_call")


def ai(text: str) -> AIMessage:
    """A plain answer (no tool calls) for a script step."""
    return AIMessage(content=text)


Step = AIMessage | Sequence[ToolCall | AIMessage] | Callable[[list[BaseMessage]], Any]


class ScriptedChatModel(OfflineChatModel):
    """Returns the scripted steps in order; see the module docstring."""

    steps: list[Any] = Field(default_factory=list[Any])
    usage: dict[str, int] = Field(default_factory=lambda: {"input_tokens": 10, "output_tokens": 5})
    """The usage every response reports (``input_tokens``, ``output_tokens``, optional cache counts)."""

    _next: int = PrivateAttr(default=0)
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list[list[BaseMessage]])
    _tools: list[list[dict[str, Any]]] = PrivateAttr(default_factory=list[list[dict[str, Any]]])
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "dacrew-scripted"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The messages each call received, in call order."""
        with self._lock:
            return list(self._calls)

    @property
    def tools_seen(self) -> list[list[dict[str, Any]]]:
        """The tools (OpenAI-format schemas) bound for each call."""
        with self._lock:
            return list(self._tools)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self.steps) - self._next

    def assert_complete(self) -> None:
        """Fail unless every scripted step was used."""
        left = self.remaining
        if left:
            raise AssertionError(f"ScriptedChatModel: {left} of {len(self.steps)} steps were never used")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            index = self._next
            self._calls.append(list(messages))
            self._tools.append(list(kwargs.get("tools") or []))
            if index >= len(self.steps):
                raise AssertionError(
                    f"ScriptedChatModel: call {index + 1} but only {len(self.steps)} steps were scripted;"
                    f" last message: {messages[-1].content!r}"
                    if messages
                    else "ScriptedChatModel: no steps left"
                )
            self._next += 1
            step = self.steps[index]
        if callable(step) and not isinstance(step, AIMessage):
            step = step(list(messages))
        message = self._message(step)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _message(self, step: Any) -> AIMessage:
        usage = {"input_tokens": 0, "output_tokens": 0, **self.usage}
        metadata: dict[str, Any] = {
            "input_tokens": usage["input_tokens"],
            "output_tokens": usage["output_tokens"],
            "total_tokens": usage["input_tokens"] + usage["output_tokens"],
            "input_token_details": {
                "cache_read": usage.get("cache_read", 0),
                "cache_creation": usage.get("cache_creation", 0),
            },
        }
        if isinstance(step, AIMessage):
            return AIMessage(
                content=step.content, tool_calls=list(step.tool_calls), usage_metadata=metadata, id=step.id
            )
        content: Any = ""
        calls: list[ToolCall] = []
        for item in step:
            if isinstance(item, AIMessage):
                content = item.content
                calls.extend(item.tool_calls)
            else:
                calls.append(item)
        return AIMessage(content=content, tool_calls=calls, usage_metadata=metadata)  # pyright: ignore[reportArgumentType]
