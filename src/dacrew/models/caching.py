"""Prompt-cache breakpoints on the conversation: each step of a task reads the earlier steps from the cache.

Anthropic caches a request's prefix in the order tools → system → messages, up to each block marked
``cache_control`` (at most four per request). dacrew marks two: the system prompt
(:func:`dacrew.models.resolve.cache_system_prompt`, which with the tools is the same for every task of an
agent) and the last block of the newest message, so the whole conversation so far is stored and the next
step reads it back — paying the full input price only for what the last step added.

A breakpoint changes nothing but the marker: messages are sent as content blocks at every step, marked or
not, so the bytes of an earlier message do not change when the marker moves on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EPHEMERAL: dict[str, str] = {"type": "ephemeral"}


def with_conversation_breakpoint(messages: Sequence[Any]) -> list[Any]:
    """A copy of ``messages`` (LangChain messages) whose human and tool messages carry their content as
    text blocks, the newest of them with ``cache_control`` on its last block. System and AI messages,
    and empty contents, are passed as they are."""
    from langchain_core.messages import HumanMessage, ToolMessage

    out: list[Any] = []
    for message in messages:
        if isinstance(message, HumanMessage | ToolMessage) and isinstance(message.content, str) and message.content:
            message = message.model_copy(update={"content": [{"type": "text", "text": message.content}]})
        out.append(message)
    for index in range(len(out) - 1, -1, -1):
        message = out[index]
        if not isinstance(message, HumanMessage | ToolMessage):
            continue
        content = message.content
        if isinstance(content, list) and content and isinstance(content[-1], dict):
            blocks: list[Any] = [*content[:-1], {**content[-1], "cache_control": EPHEMERAL}]
            out[index] = message.model_copy(update={"content": blocks})
        break
    return out
