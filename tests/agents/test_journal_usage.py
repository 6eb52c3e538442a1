"""The task journal keeps what each model call used, estimates included, for resumed attempts."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage, message_to_dict

from dacrew.agents.journal import Journal
from dacrew.findings.format import Usage
from dacrew.models.estimate import ESTIMATED_USAGE


def test_a_journal_keeps_the_estimated_usage_of_its_calls(tmp_path: Path) -> None:
    estimate = Usage(input_tokens=3000, output_tokens=40, cache_read_tokens=2500, estimated=True, estimated_usd=0.002)
    reply = AIMessage(content="done", response_metadata={ESTIMATED_USAGE: estimate.model_dump()})
    Journal(tmp_path / "T001.1.jsonl").record_model("T001/1/m0", message_to_dict(reply), model="replay:c.jsonl")
    assert Journal(tmp_path / "T001.1.jsonl").usage() == estimate
