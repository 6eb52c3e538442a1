"""One model conversation of the chat (the interview, or the planning): its messages, its tools, and
one streamed reply at a time.

Replay cassettes key the two threads as tasks ``chat/interview`` and ``chat/plan``; a turn's step is the
number of replies the thread already holds, as for any task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dacrew.findings.format import Usage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage

    from dacrew.config import DacrewConfig

TextSink = Callable[[str], None]


class Thread:
    """A system prompt, tools (plain typed functions: the signature is the schema, the docstring what
    the model reads) and the saved messages; :meth:`reply` adds the model's next message."""

    def __init__(
        self,
        model: BaseChatModel,
        model_name: str,
        system: str,
        tools: Sequence[Callable[..., Any]],
        saved: list[dict[str, Any]],
        pricing: DacrewConfig | None = None,
    ) -> None:
        from langchain_core.messages import messages_from_dict

        self.model = model
        self.model_name = model_name
        self.system = system
        self.tools = list(tools)
        self.messages: list[BaseMessage] = list(messages_from_dict(saved))
        self.pricing = pricing.pricing if pricing is not None else None

    def saved(self) -> list[dict[str, Any]]:
        from langchain_core.messages import messages_to_dict

        return messages_to_dict(self.messages)

    def add_person(self, text: str) -> None:
        from langchain_core.messages import HumanMessage

        self.messages.append(HumanMessage(content=text))

    def add_result(self, call_id: str, text: str) -> None:
        from langchain_core.messages import ToolMessage

        self.messages.append(ToolMessage(content=text, tool_call_id=call_id))

    def open_call(self) -> dict[str, Any] | None:
        """The last reply's tool call that has no result yet (what the thread waits for), if any."""
        from langchain_core.messages import AIMessage, ToolMessage

        answered = {m.tool_call_id for m in self.messages if isinstance(m, ToolMessage)}
        for message in reversed(self.messages):
            if isinstance(message, AIMessage):
                return next((dict(c) for c in message.tool_calls if c["id"] not in answered), None)
        return None

    def reply(self, on_text: TextSink) -> tuple[AIMessage, Usage]:
        """Ask the model for its next message, streaming its text to ``on_text``; the message joins the
        thread only once complete (a reply cancelled with Ctrl-C leaves the thread as it was)."""
        from langchain_core.messages import AIMessage, AIMessageChunk, SystemMessage

        from dacrew.models.usage import usage_from_message

        bound = self.model.bind_tools(self.tools)
        merged: AIMessageChunk | None = None
        whole: AIMessage | None = None
        for piece in bound.stream([SystemMessage(content=self.system), *self.messages]):
            if not isinstance(piece, AIMessage):
                continue
            text = _text_of(piece.content)
            if text:
                on_text(text)
            if isinstance(piece, AIMessageChunk):
                merged = piece if merged is None else merged + piece
            else:  # a model that does not stream answers with its whole message at once
                whole = piece
        source = whole or merged
        message = AIMessage(
            content=_text_of(source.content) if source else "",
            tool_calls=list(source.tool_calls) if source else [],
            usage_metadata=source.usage_metadata if source else None,
        )
        self.messages.append(message)
        return message, usage_from_message(message, self.model_name, self.pricing)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":  # pyright: ignore[reportUnknownMemberType]
            parts.append(str(block.get("text", "")))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    return "".join(parts)
