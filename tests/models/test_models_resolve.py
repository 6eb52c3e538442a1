from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from dacrew.config import DEFAULT_MODEL, DacrewConfig
from dacrew.errors import UserError
from dacrew.models.dryrun import DryRunChatModel
from dacrew.models.replay import ReplayChatModel
from dacrew.models.resolve import (
    NO_KEY,
    LimitedChatModel,
    ModelSource,
    cache_system_prompt,
    resolve_model_source,
)


def _config(**models: str) -> DacrewConfig:
    return DacrewConfig(models=models)  # type: ignore[arg-type]


def _cassette(path: Path) -> Path:
    header = {"type": "header", "version": 1, "source": "scripted", "model": "scripted", "created": ""}
    turn = {"type": "model", "task": "T1", "attempt": 1, "step": 0, "response": {"content": "hi"}}
    path.write_text(json.dumps(header) + "\n" + json.dumps(turn) + "\n")
    return path


def test_precedence_per_agent() -> None:
    config = _config(default="anthropic:claude-haiku-4-5", **{"dbt-expert": "anthropic:claude-opus-4-5"})
    source = ModelSource(None, config)
    assert source.model_name("dbt-expert", "anthropic:claude-x") == "anthropic:claude-opus-4-5"
    assert source.model_name("tableau-expert", "anthropic:claude-x") == "anthropic:claude-x"
    assert source.model_name("tableau-expert") == "anthropic:claude-haiku-4-5"
    assert ModelSource(None, None).model_name("tableau-expert") == DEFAULT_MODEL
    assert ModelSource(None, _config()).model_name("x", None) == DEFAULT_MODEL
    cli = ModelSource("anthropic:claude-sonnet-4-5", config)
    assert cli.model_name("dbt-expert", "anthropic:claude-x") == "anthropic:claude-sonnet-4-5"
    assert ModelSource("anthropic:a", config, dry_run=True).model_name("dbt-expert") == "dry-run"


def test_no_key_is_a_user_error_at_resolve_time() -> None:
    with pytest.raises(UserError) as info:
        resolve_model_source(None, None)
    assert str(info.value) == NO_KEY
    assert info.value.exit_code == 2
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY"):
        resolve_model_source(None, _config(**{"dbt-expert": "anthropic:claude-opus-4-5"}))
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY"):
        resolve_model_source("claude-sonnet-4-5", None)


def test_dry_run_and_replay_need_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dry = resolve_model_source(None, None, dry_run=True)
    model = dry.chat_model("dbt-expert", "T1", 1, task_title="Stage")
    assert isinstance(model, DryRunChatModel)
    assert model.title == "Stage"
    assert "dry run" in dry.describe()

    _cassette(tmp_path / "run.jsonl")
    monkeypatch.chdir(tmp_path)
    replay = resolve_model_source("replay:run.jsonl", None)
    one = replay.chat_model("dbt-expert", "T1", 1)
    two = replay.chat_model("tableau-expert", "T1", 2)
    assert isinstance(one, ReplayChatModel)
    assert isinstance(two, ReplayChatModel)
    assert one.cassette is two.cassette  # loaded once
    assert (one.task, one.attempt, two.attempt) == ("T1", 1, 2)
    assert one.invoke([HumanMessage("x")]).content == "hi"
    assert (
        replay.describe() == f"replay of {tmp_path / 'run.jsonl'} (1 model turns, scripted) for every agent (--model)"
    )


def test_a_bad_cassette_fails_at_resolve_time(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cassette not found"):
        resolve_model_source("replay:missing.jsonl", None, base_dir=tmp_path)
    with pytest.raises(UserError, match="needs a cassette path"):
        resolve_model_source("replay:", None)


def test_live_model_is_anthropic_behind_the_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000000000")
    source = resolve_model_source(None, _config(default="anthropic:claude-haiku-4-5"))
    model = source.chat_model("dbt-expert", "T1", 1)
    assert isinstance(model, LimitedChatModel)
    assert model.inner.__class__.__name__ == "ChatAnthropic"
    assert model.inner.model == "claude-haiku-4-5"  # type: ignore[attr-defined]
    assert model.inner.max_retries == 0  # type: ignore[attr-defined]
    assert source.chat_model("other", "T2", 1) is model
    assert source.describe() == "anthropic:claude-haiku-4-5 (models.default)"


def test_cache_breakpoint_only_for_anthropic() -> None:
    cached = cache_system_prompt("You are dbt-expert.", "anthropic:claude-sonnet-5-5")
    assert cached.content == [{"type": "text", "text": "You are dbt-expert.", "cache_control": {"type": "ephemeral"}}]
    assert cache_system_prompt("plain", "openai:gpt-5").content == "plain"


def test_factory_source_gives_each_task_its_own_model() -> None:
    from dacrew.models.resolve import FactoryModelSource
    from dacrew.testing import ScriptedChatModel, ai

    scripts = {"T1": ScriptedChatModel(steps=[[ai("one")]]), "T2": ScriptedChatModel(steps=[[ai("two")]])}
    source = FactoryModelSource(lambda agent, task, attempt: scripts[task])
    assert source.chat_model("dbt-expert", "T2", 1).invoke([HumanMessage("x")]).content == "two"
    assert source.model_name("dbt-expert") == "scripted"
    assert source.describe() == "scripted models (built in code)"
    scripts["T2"].assert_complete()


def test_the_fallback_must_be_an_anthropic_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-" + "test-" + "0" * 16)
    with pytest.raises(UserError, match=r"models\.fallback must be an Anthropic model"):
        resolve_model_source(None, _config(default="anthropic:claude-sonnet-5-5", fallback="openai:gpt-5"))
    source = resolve_model_source(
        None, _config(default="anthropic:claude-sonnet-5-5", fallback="anthropic:claude-haiku-4-5")
    )
    model = source.live_model("anthropic:claude-sonnet-5-5")
    assert isinstance(model, LimitedChatModel)
    assert model.fallback_name == "anthropic:claude-haiku-4-5"
    assert model.fallback is not None


def test_a_replay_needs_no_key_for_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    cassette = _cassette(tmp_path / "c.jsonl")
    source = resolve_model_source(f"replay:{cassette}", _config(fallback="anthropic:claude-haiku-4-5"))
    assert source.model_name("dbt-expert").startswith("replay:")
