"""The Messages API fake's token estimate and prompt-cache accounting."""

from __future__ import annotations

from typing import Any

from dacrew.models.estimate import PromptCache, estimate_tokens

MARK = {"type": "ephemeral"}


def _body(messages: list[str], *, mark_last: bool = True, model: str = "claude-sonnet-5-5") -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for index, text in enumerate(messages):
        block: dict[str, Any] = {"type": "text", "text": text}
        if mark_last and index == len(messages) - 1:
            block["cache_control"] = MARK
        blocks.append(block)
    return {
        "model": model,
        "tools": [{"name": "files_read", "description": "Read a file. " * 50, "input_schema": {"type": "object"}}],
        "system": [{"type": "text", "text": "You are the dbt expert. " * 200, "cache_control": MARK}],
        "messages": [{"role": "user", "content": [b]} for b in blocks],
    }


def test_tokens_are_characters_over_four_of_the_canonical_json() -> None:
    assert estimate_tokens("abcd" * 10) == 10
    assert estimate_tokens({"b": 1, "a": "xyz"}) == 5  # {"a":"xyz","b":1}: 17 characters, rounded up


def test_a_growing_conversation_reads_what_the_previous_step_stored() -> None:
    cache = PromptCache(min_cache_tokens=100)
    first = cache.account(_body(["step one " * 100]))
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation_input_tokens == first.total_input
    second = cache.account(_body(["step one " * 100, "step two " * 100]))
    assert second.cache_read_input_tokens == first.total_input
    assert second.cache_creation_input_tokens == second.total_input - first.total_input
    assert second.input_tokens == 0


def test_only_the_prefix_up_to_a_breakpoint_is_read_and_nothing_past_the_last_one_is_written() -> None:
    cache = PromptCache(min_cache_tokens=100)
    cache.account(_body(["a " * 300]))
    other = cache.account(_body(["b " * 300], mark_last=False))
    # The tools and system prompt (the system breakpoint) are read; the new message is plain input.
    assert 0 < other.cache_read_input_tokens < other.total_input
    assert other.cache_creation_input_tokens == 0
    assert other.input_tokens == estimate_tokens({"role": "user", "type": "text", "text": "b " * 300})


def test_prefixes_are_per_model_and_short_ones_are_not_cached() -> None:
    cache = PromptCache(min_cache_tokens=100)
    cache.account(_body(["hello"]))
    assert cache.account(_body(["hello"], model="claude-haiku-4-5")).cache_read_input_tokens == 0
    tiny = PromptCache(min_cache_tokens=10**9)
    tiny.account(_body(["hello"]))
    again = tiny.account(_body(["hello"]))
    assert (again.cache_read_input_tokens, again.cache_creation_input_tokens) == (0, 0)


def test_a_failed_request_stores_nothing() -> None:
    cache = PromptCache(min_cache_tokens=100)
    cache.account(_body(["x " * 300]), store=False)
    assert cache.account(_body(["x " * 300])).cache_read_input_tokens == 0
