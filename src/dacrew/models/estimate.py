"""Token counts and prompt-cache accounting from the requests themselves, computed the same way for every
request: what the Messages API fake reports, and what a replayed run without recorded usage would have
cost (:class:`UsageEstimator`).

**The estimate.** A request is flattened into blocks in the order Anthropic builds its prompt — each tool
definition, then each system block, then each content block of each message (a string content is one
text block) — and each block counts ``ceil(len(json) / 4)`` tokens, where ``json`` is the block (with its
role, without ``cache_control``) serialised with sorted keys and no spaces. Output counts the same way over
the reply's content blocks. Characters ÷ 4 is the usual rule of thumb for English and JSON; the point is
that every request is measured by one rule, so ratios between runs are meaningful.

**The cache**, as Anthropic documents it: a block carrying ``cache_control`` is a breakpoint; a
successful request stores the prefix up to each of its breakpoints (prefixes shorter than
``min_cache_tokens`` are not cached). A later request reads the longest stored prefix that ends at one of
its block boundaries within 20 blocks before one of its breakpoints; everything after that, up to its
last breakpoint, is written; the rest is uncached input. Prefixes are keyed by model and by content
(``cache_control`` itself is not part of the key, so a breakpoint can move forward as the conversation
grows). Entries do not expire (a run is shorter than the five-minute lifetime, which each read renews).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from typing import Any

from dacrew.findings.format import Usage

ESTIMATED_USAGE = "dacrew_estimated_usage"
"""Where an estimated usage rides in a reply's ``response_metadata`` (and so in the task's journal)."""
LOOKBACK_BLOCKS = 20
DEFAULT_MIN_CACHE_TOKENS = 1024


def estimate_tokens(block: Any) -> int:
    """``ceil(len(canonical JSON) / 4)`` of one block (a string counts its own characters)."""
    text = block if isinstance(block, str) else _canonical(block)
    return math.ceil(len(text) / 4)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _strip_cache_control(block: Any) -> Any:
    if isinstance(block, dict):
        return {k: _strip_cache_control(v) for k, v in block.items() if k != "cache_control"}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(block, list):
        return [_strip_cache_control(v) for v in block]  # pyright: ignore[reportUnknownVariableType]
    return block


def _has_breakpoint(block: Any) -> bool:
    return isinstance(block, dict) and "cache_control" in block


def prompt_blocks(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The request's blocks in cache order: ``(where, block)`` with where = tools | system | user | assistant."""
    blocks: list[tuple[str, dict[str, Any]]] = [("tools", tool) for tool in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append(("system", {"type": "text", "text": system}))
    elif isinstance(system, list):
        blocks += [("system", block) for block in system]  # pyright: ignore[reportUnknownVariableType]
    for message in body.get("messages") or []:
        content = message.get("content")
        role = str(message.get("role", "user"))
        if isinstance(content, str):
            blocks.append((role, {"type": "text", "text": content}))
        else:
            blocks += [(role, block) for block in content or []]
    return blocks


@dataclass
class RequestUsage:
    """One request as the API would bill it: ``input_tokens`` is the uncached part only."""

    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    breakpoints: int

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


class PromptCache:
    """The cached prefixes a fake has stored; thread-safe."""

    def __init__(self, min_cache_tokens: int = DEFAULT_MIN_CACHE_TOKENS) -> None:
        self.min_cache_tokens = min_cache_tokens
        self._stored: set[str] = set()
        self._lock = threading.Lock()

    def account(self, body: dict[str, Any], *, store: bool = True) -> RequestUsage:
        """Count a request's tokens, read what the cache holds, and (``store``: it succeeded) store its
        breakpoints' prefixes."""
        blocks = prompt_blocks(body)
        digest = hashlib.sha256(str(body.get("model", "")).encode())
        keys: list[str] = []
        ends: list[int] = []
        total = 0
        for where, block in blocks:
            clean = _strip_cache_control(block)
            digest.update(_canonical([where, clean]).encode())
            keys.append(digest.copy().hexdigest())
            total += estimate_tokens({"role": where, **clean})
            ends.append(total)
        breaks = [i for i, (_, block) in enumerate(blocks) if _has_breakpoint(block)]
        with self._lock:
            read = 0
            for point in breaks:
                for i in range(point, max(point - LOOKBACK_BLOCKS, -1), -1):
                    if keys[i] in self._stored:
                        read = max(read, ends[i])
                        break
            written = max(ends[breaks[-1]] - read, 0) if breaks and ends[breaks[-1]] >= self.min_cache_tokens else 0
            if store:
                self._stored.update(keys[i] for i in breaks if ends[i] >= self.min_cache_tokens)
        return RequestUsage(
            input_tokens=total - read - written,
            cache_read_input_tokens=read,
            cache_creation_input_tokens=written,
            breakpoints=len(breaks),
        )


def output_tokens(content: list[dict[str, Any]]) -> int:
    """The estimate for a reply's content blocks (at least 1)."""
    return max(1, sum(estimate_tokens(block) for block in content))


class UsageEstimator:
    """What a conversation would cost on an Anthropic model, from the requests dacrew built: each request
    is laid out as ``ChatAnthropic`` would send it (the system prompt and the newest message as cache
    breakpoints, like a live run), counted by the rule above with one prompt cache for the whole run,
    and priced. The result is marked ``estimated``; its price is in ``estimated_usd`` (``usd`` stays 0:
    nothing was paid, and budgets count only what was)."""

    def __init__(self, model_name: str, pricing: Any = None) -> None:
        self.model_name = model_name
        self.pricing = pricing
        self.cache = PromptCache()
        self._client: Any = None

    def _payload(self, messages: list[Any], tools: list[dict[str, Any]]) -> dict[str, Any]:
        from langchain_anthropic import ChatAnthropic
        from langchain_anthropic.chat_models import convert_to_anthropic_tool
        from langchain_core.messages import SystemMessage
        from pydantic import SecretStr

        from dacrew.models.caching import EPHEMERAL, with_conversation_breakpoint
        from dacrew.models.usage import bare_model_name

        if self._client is None:
            # Only the request payload is built: no key is needed and nothing is sent.
            model = bare_model_name(self.model_name)
            self._client = ChatAnthropic(model_name=model, api_key=SecretStr("unused"), timeout=None, stop=None)
        head = messages[:1]
        if head and isinstance(head[0], SystemMessage) and isinstance(head[0].content, str):
            head = [SystemMessage(content=[{"type": "text", "text": head[0].content, "cache_control": EPHEMERAL}])]
        shaped = head + with_conversation_breakpoint(messages[1:])
        anthropic_tools = [convert_to_anthropic_tool(t) for t in tools]
        return self._client._get_request_payload(shaped, tools=anthropic_tools)  # pyright: ignore[reportPrivateUsage]

    def estimate(self, messages: list[Any], tools: list[dict[str, Any]], reply: Any) -> Usage:
        """The estimated usage of the call that sent ``messages`` (LangChain messages, the system prompt
        first) with ``tools`` (OpenAI-format schemas) and got ``reply`` (an ``AIMessage``)."""
        from dacrew.models.usage import cost_usd

        counted = self.cache.account(self._payload(messages, tools))
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.content}] if reply.content else []
        content += [
            {"type": "tool_use", "id": c.get("id") or "", "name": c["name"], "input": c["args"]}
            for c in getattr(reply, "tool_calls", None) or []
        ]
        usage = Usage(
            input_tokens=counted.total_input,
            output_tokens=output_tokens(content),
            cache_read_tokens=counted.cache_read_input_tokens,
            cache_write_tokens=counted.cache_creation_input_tokens,
            estimated=True,
        )
        usage.estimated_usd = cost_usd(self.model_name, usage, self.pricing)
        return usage
