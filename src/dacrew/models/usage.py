"""Tokens and USD: usage read from ``AIMessage.usage_metadata``, priced from a table the project's
``pricing:`` section can override, summed per call, task, agent and run.

Prices are USD per million tokens. ``input_tokens`` counts every input token (LangChain's convention:
cached ones included), so uncached input is ``input - cache_read - cache_write``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from dacrew.config import ModelPrice
from dacrew.findings.format import Usage

# Cache reads cost a tenth of input, 5-minute cache writes a quarter more (Anthropic's published ratios).
PRICES: dict[str, ModelPrice] = {
    "claude-sonnet": ModelPrice(input=3.0, output=15.0, cache_read=0.30, cache_write=3.75),
    "claude-opus": ModelPrice(input=5.0, output=25.0, cache_read=0.50, cache_write=6.25),
    "claude-opus-4-0": ModelPrice(input=15.0, output=75.0, cache_read=1.50, cache_write=18.75),
    "claude-opus-4-1": ModelPrice(input=15.0, output=75.0, cache_read=1.50, cache_write=18.75),
    "claude-opus-4-2025": ModelPrice(input=15.0, output=75.0, cache_read=1.50, cache_write=18.75),
    "claude-haiku": ModelPrice(input=1.0, output=5.0, cache_read=0.10, cache_write=1.25),
    "claude-3-5-haiku": ModelPrice(input=0.80, output=4.0, cache_read=0.08, cache_write=1.0),
    "claude-3-haiku": ModelPrice(input=0.25, output=1.25, cache_read=0.03, cache_write=0.30),
    "claude-3-7-sonnet": ModelPrice(input=3.0, output=15.0, cache_read=0.30, cache_write=3.75),
}
FREE_PREFIXES = ("replay:", "dry-run", "dryrun", "scripted")


def bare_model_name(model_name: str) -> str:
    """``anthropic:claude-sonnet-5-5`` → ``claude-sonnet-5-5``."""
    name = model_name.strip()
    if ":" in name and not name.startswith(FREE_PREFIXES):
        name = name.split(":", 1)[1]
    return name.lower()


def price_for(model_name: str, pricing: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of a model: an exact entry in ``pricing`` (with or without the provider), else the
    longest matching prefix of the built-in table merged with ``pricing``; None if unknown."""
    if model_name.startswith(FREE_PREFIXES):
        return None
    bare = bare_model_name(model_name)
    table = {**PRICES, **{bare_model_name(k): v for k, v in (pricing or {}).items()}}
    if bare in table:
        return table[bare]
    matches = [key for key in table if bare.startswith(key)]
    return table[max(matches, key=len)] if matches else None


def cost_usd(model_name: str, usage: Usage, pricing: Mapping[str, ModelPrice] | None = None) -> float:
    """What ``usage`` cost on ``model_name``; 0 for replayed, dry-run, scripted and unknown models."""
    price = price_for(model_name, pricing)
    if price is None:
        return 0.0
    # A price given without cache rates gets Anthropic's ratios rather than free cache traffic.
    cache_read = price.cache_read or price.input * 0.1
    cache_write = price.cache_write or price.input * 1.25
    uncached = max(usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens, 0)
    total = (
        uncached * price.input
        + usage.cache_read_tokens * cache_read
        + usage.cache_write_tokens * cache_write
        + usage.output_tokens * price.output
    )
    return round(total / 1_000_000, 6)


def usage_from_message(message: Any, model_name: str = "", pricing: Mapping[str, ModelPrice] | None = None) -> Usage:
    """The usage of one model response (zero if it reports none), priced for ``model_name``."""
    meta: Mapping[str, Any] = getattr(message, "usage_metadata", None) or {}
    details: Mapping[str, Any] = meta.get("input_token_details") or {}
    usage = Usage(
        input_tokens=int(meta.get("input_tokens") or 0),
        output_tokens=int(meta.get("output_tokens") or 0),
        cache_read_tokens=int(details.get("cache_read") or 0),
        cache_write_tokens=int(details.get("cache_creation") or 0),
    )
    if model_name:
        usage.usd = cost_usd(model_name, usage, pricing)
    return usage


class UsageMeter:
    """Running totals per task, per agent and for the run; safe to share between tasks and threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = Usage()
        self.by_task: dict[str, Usage] = {}
        self.by_agent: dict[str, Usage] = {}

    def add(self, usage: Usage, *, task: str | None = None, agent: str | None = None) -> Usage:
        """Add one call's usage; returns the run's new total."""
        with self._lock:
            self.total = self.total + usage
            if task is not None:
                self.by_task[task] = self.by_task.get(task, Usage()) + usage
            if agent is not None:
                self.by_agent[agent] = self.by_agent.get(agent, Usage()) + usage
            return self.total
