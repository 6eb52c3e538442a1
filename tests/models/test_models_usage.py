from __future__ import annotations

import threading

import pytest
from langchain_core.messages import AIMessage

from dacrew.config import ModelPrice
from dacrew.findings.format import Usage
from dacrew.models.usage import UsageMeter, cost_usd, price_for, usage_from_message


def test_prices_by_family_and_exact_name() -> None:
    sonnet = price_for("anthropic:claude-sonnet-5-5")
    assert sonnet is not None
    assert (sonnet.input, sonnet.output) == (3.0, 15.0)
    opus_old = price_for("claude-opus-4-1-20250805")
    assert opus_old is not None
    assert opus_old.input == 15.0
    haiku = price_for("anthropic:claude-haiku-4-5")
    assert haiku is not None
    assert haiku.output == 5.0
    assert price_for("replay:run.jsonl") is None
    assert price_for("dry-run") is None
    assert price_for("openai:gpt-9") is None


def test_cost_counts_cached_input_at_cache_rates() -> None:
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=600_000, cache_write_tokens=100_000, output_tokens=10_000)
    # 300k uncached at $3, 600k read at $0.30, 100k written at $3.75, 10k out at $15 (per million).
    assert cost_usd("anthropic:claude-sonnet-5-5", usage) == pytest.approx(0.9 + 0.18 + 0.375 + 0.15)
    assert cost_usd("replay:x.jsonl", usage) == 0.0
    assert cost_usd("scripted", usage) == 0.0


def test_config_pricing_overrides_and_derives_cache_rates() -> None:
    pricing = {"anthropic:claude-sonnet-5-5": ModelPrice(input=2.0, output=10.0)}
    usage = Usage(input_tokens=2_000_000, cache_read_tokens=1_000_000, output_tokens=1_000_000)
    assert cost_usd("anthropic:claude-sonnet-5-5", usage, pricing) == pytest.approx(2.0 + 0.2 + 10.0)
    assert (
        cost_usd("my-own-model", Usage(input_tokens=1_000_000), {"my-own-model": ModelPrice(input=1, output=1)}) == 1.0
    )


def test_usage_from_message_reads_cache_details() -> None:
    message = AIMessage(
        "x",
        usage_metadata={
            "input_tokens": 1100,
            "output_tokens": 50,
            "total_tokens": 1150,
            "input_token_details": {"cache_read": 1000, "cache_creation": 0},
        },
    )
    usage = usage_from_message(message, "anthropic:claude-sonnet-5-5")
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (1100, 50, 1000)
    assert usage.usd == pytest.approx((100 * 3 + 1000 * 0.3 + 50 * 15) / 1e6)
    assert usage_from_message(AIMessage("no usage")) == Usage()


def test_meter_sums_per_task_agent_and_run_across_threads() -> None:
    meter = UsageMeter()
    one = Usage(input_tokens=10, output_tokens=1, usd=0.001)

    def work(task: str) -> None:
        for _ in range(100):
            meter.add(one, task=task, agent="dbt-expert")

    threads = [threading.Thread(target=work, args=(f"T{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert meter.total.input_tokens == 4000
    assert meter.total.usd == pytest.approx(0.4)
    assert meter.by_task["T2"].output_tokens == 100
    assert meter.by_agent["dbt-expert"].input_tokens == 4000
