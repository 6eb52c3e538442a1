"""Which chat model each agent gets, for a run.

Precedence per agent: ``--model`` (all agents) > ``models.<agent>`` in dacrew.yml > ``model`` in the
agent's prompt front matter > ``models.default`` > the built-in default. A model string is
``replay:<cassette>`` (recorded turns), or anything ``init_chat_model`` takes (``anthropic:…``);
``--dry-run`` replaces them all with the built-in model that completes each task at once.

Live models go through :class:`LimitedChatModel`: one rate limiter for the crew and bounded retries
honouring ``retry-after`` (the client's own retries are off, so the two never multiply).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable, RunnableBinding
from langchain_core.tools import BaseTool

from dacrew.config import DEFAULT_MODEL, DacrewConfig
from dacrew.errors import UserError
from dacrew.models.cassette import Cassette, load_cassette
from dacrew.models.dryrun import DryRunChatModel
from dacrew.models.estimate import UsageEstimator
from dacrew.models.limiter import OVERLOADED, RateLimiter, shared_limiter, status_of, with_retries, with_retries_sync
from dacrew.models.replay import ReplayChatModel, ReplayError

REPLAY_PREFIX = "replay:"
DRY_RUN_MODEL = "dry-run"
NO_KEY = "no model configured: set ANTHROPIC_API_KEY, or pass --model replay:<cassette> or --dry-run"


def is_anthropic(model_name: str) -> bool:
    name = model_name.strip().lower()
    return name.startswith("anthropic:") or (":" not in name and name.startswith("claude"))


def cache_system_prompt(text: str, model_name: str) -> SystemMessage:
    """The system prompt as a message; for Anthropic, marked as a prompt-cache breakpoint.

    Anthropic caches the request prefix in the order tools → system → messages, so a breakpoint on
    the system prompt caches the tool definitions and the prompt together: every task of the same
    agent reads them from the cache. The conversation gets a second breakpoint at each step
    (:mod:`dacrew.models.caching`).
    """
    if is_anthropic(model_name):
        return SystemMessage(content=[{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}])
    return SystemMessage(content=text)


FALLBACK_MODEL = "fallback_model"
"""The key in a response's ``response_metadata`` that names the fallback model which answered."""
FALLBACK_AFTER_OVERLOADS = 2
"""Overloaded (529) answers to one call after which its remaining attempts go to the fallback model."""


class LimitedChatModel(BaseChatModel):
    """A live chat model behind the shared rate limiter and bounded retries.

    With a ``fallback``, a call that got :data:`FALLBACK_AFTER_OVERLOADS` overloaded answers makes its
    remaining attempts on the fallback model, with the same tools; its response's
    ``response_metadata[FALLBACK_MODEL]`` names the fallback.
    """

    inner: BaseChatModel
    model_name: str
    attempts: int = 4
    base_delay: float = 1.0
    limiter: RateLimiter | None = None
    fallback: BaseChatModel | None = None
    fallback_name: str = ""

    @property
    def _llm_type(self) -> str:
        return f"dacrew-limited-{self.inner._llm_type}"  # pyright: ignore[reportPrivateUsage]

    def bind_tools(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # The inner model formats the tools its own way; we keep its call keywords and call it ourselves.
        bound = self.inner.bind_tools(tools, tool_choice=tool_choice, **kwargs)
        extra: dict[str, Any] = dict(bound.kwargs) if isinstance(bound, RunnableBinding) else {}
        return self.bind(**extra)

    def _target(self, overloads: int) -> BaseChatModel | None:
        """The fallback when this call has been overloaded often enough (None: the model itself)."""
        return self.fallback if self.fallback is not None and overloads >= FALLBACK_AFTER_OVERLOADS else None

    def _marked(self, result: ChatResult) -> ChatResult:
        for generation in result.generations:
            message = getattr(generation, "message", None)
            if message is not None:
                message.response_metadata[FALLBACK_MODEL] = self.fallback_name
        return result

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        overloads = 0

        def attempt() -> ChatResult:
            nonlocal overloads
            fallback = self._target(overloads)
            try:
                result = (fallback or self.inner)._generate(messages, stop=stop, **kwargs)  # pyright: ignore[reportPrivateUsage]
            except Exception as exc:
                overloads += status_of(exc) == OVERLOADED
                raise
            return self._marked(result) if fallback is not None else result

        return with_retries_sync(
            attempt, attempts=self.attempts, base_delay=self.base_delay, limiter=self.limiter or shared_limiter()
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        overloads = 0

        async def attempt() -> ChatResult:
            nonlocal overloads
            fallback = self._target(overloads)
            try:
                result = await (fallback or self.inner)._agenerate(messages, stop=stop, **kwargs)  # pyright: ignore[reportPrivateUsage]
            except Exception as exc:
                overloads += status_of(exc) == OVERLOADED
                raise
            return self._marked(result) if fallback is not None else result

        return await with_retries(
            attempt, attempts=self.attempts, base_delay=self.base_delay, limiter=self.limiter or shared_limiter()
        )


class ModelSource:
    """Hands each task's agent its chat model; built once per run by :func:`resolve_model_source`."""

    def __init__(
        self,
        cli_model: str | None = None,
        config: DacrewConfig | None = None,
        *,
        dry_run: bool = False,
        base_dir: Path | None = None,
    ) -> None:
        self.cli_model = cli_model
        self.config = config
        self.dry_run = dry_run
        self.base_dir = base_dir or Path.cwd()
        self._lock = threading.Lock()
        self._cassettes: dict[str, Cassette] = {}
        self._live: dict[str, BaseChatModel] = {}
        self._estimator: UsageEstimator | None = None
        self.replay_strict = False
        """Replay models fail a drifted request (strict replay) instead of answering it."""
        self.on_drift: Callable[[ReplayError], None] | None = None
        """Told of every drifted replay request (events, warnings)."""

    def model_name(self, agent: str, agent_model: str | None = None) -> str:
        """The model string ``agent`` uses, by the precedence above (``dry-run`` in a dry run)."""
        if self.dry_run:
            return DRY_RUN_MODEL
        models = self.config.models if self.config is not None else None
        for candidate in (
            self.cli_model,
            models.for_agent(agent) if models else None,
            agent_model,
            models.default if models else None,
        ):
            if candidate:
                return candidate.strip()
        return DEFAULT_MODEL

    def chat_model(
        self, agent: str, task_id: str, attempt: int, *, task_title: str = "", agent_model: str | None = None
    ) -> BaseChatModel:
        """A chat model for one attempt of one task (replay and dry-run models are per task)."""
        if self.dry_run:
            return DryRunChatModel(task_id=task_id, title=task_title)
        name = self.model_name(agent, agent_model)
        if name.startswith(REPLAY_PREFIX):
            return ReplayChatModel(
                cassette=self.cassette(name),
                task=task_id,
                attempt=attempt,
                strict=self.replay_strict,
                on_drift=self.on_drift,
            )
        return self.live_model(name)

    def cassette(self, model_name: str) -> Cassette:
        """The cassette of a ``replay:<path>`` string, loaded once (paths are relative to the cwd)."""
        raw = model_name.removeprefix(REPLAY_PREFIX).strip()
        if not raw:
            raise UserError("--model replay: needs a cassette path (replay:<cassette.jsonl>)")
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else self.base_dir / path
        key = str(path)
        with self._lock:
            if key not in self._cassettes:
                self._cassettes[key] = load_cassette(path)
            return self._cassettes[key]

    def live_model(self, model_name: str) -> BaseChatModel:
        """An ``init_chat_model`` model behind the limiter (with ``models.fallback`` behind it, if set),
        one instance per model string."""
        check_credentials(model_name)
        models = self.config.models if self.config is not None else None
        timeout = models.timeout_s if models else None
        fallback = models.fallback.strip() if models and models.fallback else ""
        with self._lock:
            if model_name not in self._live:
                inner = _init_live(model_name, timeout)
                backup = _init_live(fallback, timeout) if fallback and fallback != model_name else None
                self._live[model_name] = LimitedChatModel(
                    inner=inner, model_name=model_name, fallback=backup, fallback_name=fallback if backup else ""
                )
            return self._live[model_name]

    def estimator(self, model_name: str, pricing: Any = None) -> UsageEstimator | None:
        """For a replayed model: the run's one estimator of what its calls would cost on the default
        model (``models.default`` if it is an Anthropic model, else the built-in default); None otherwise."""
        if not model_name.startswith(REPLAY_PREFIX):
            return None
        default = self.config.models.default if self.config is not None else None
        target = default if default and is_anthropic(default) else DEFAULT_MODEL
        with self._lock:
            if self._estimator is None:
                self._estimator = UsageEstimator(target, pricing)
            return self._estimator

    def check(self) -> None:
        """Fail now, before any work, if a model the run will use cannot be reached or read."""
        if self.dry_run:
            return
        for name in self._planned_names():
            if name.startswith(REPLAY_PREFIX):
                self.cassette(name)
            else:
                check_credentials(name)
        fallback = self.config.models.fallback if self.config is not None else None
        if fallback and any(is_anthropic(name) for name in self._planned_names()):
            check_credentials(fallback)
            if not is_anthropic(fallback) or fallback.startswith(REPLAY_PREFIX):
                raise UserError(f"models.fallback must be an Anthropic model (anthropic:…), not {fallback!r}")

    def _planned_names(self) -> list[str]:
        if self.cli_model:
            return [self.cli_model]
        models = self.config.models if self.config is not None else None
        names = [str(v) for v in (models.model_extra or {}).values() if v] if models else []
        return [*names, (models.default if models and models.default else DEFAULT_MODEL)]

    def describe(self) -> str:
        """One line for the run header: which model, from where."""
        if self.dry_run:
            return "dry run: the built-in model completes each task at once (no tools, no checks)"
        if self.cli_model:
            return f"{_describe_name(self.cli_model, self)} for every agent (--model)"
        models = self.config.models if self.config is not None else None
        default = models.default if models and models.default else None
        text = (
            f"{_describe_name(default or DEFAULT_MODEL, self)} ({'models.default' if default else 'built-in default'})"
        )
        overrides = sorted((models.model_extra or {}).items()) if models else []
        if overrides:
            text += "; " + ", ".join(f"{agent}: {value}" for agent, value in overrides)
        return text


class FactoryModelSource(ModelSource):
    """A source whose models come from ``factory(agent, task_id, attempt)``: scripted models in tests
    and evals, one per task, so that parallel tasks each follow their own script."""

    def __init__(self, factory: Callable[[str, str, int], BaseChatModel], *, name: str = "scripted") -> None:
        super().__init__(name)
        self._factory = factory
        self._name = name

    def model_name(self, agent: str, agent_model: str | None = None) -> str:
        return self._name

    def chat_model(
        self, agent: str, task_id: str, attempt: int, *, task_title: str = "", agent_model: str | None = None
    ) -> BaseChatModel:
        return self._factory(agent, task_id, attempt)

    def check(self) -> None:
        return None

    def describe(self) -> str:
        return f"{self._name} models (built in code)"


def _describe_name(name: str, source: ModelSource) -> str:
    if name.startswith(REPLAY_PREFIX):
        cassette = source.cassette(name)
        return f"replay of {cassette.path} ({len(cassette.turns)} model turns, {cassette.header.source})"
    return name


def check_credentials(model_name: str) -> None:
    """Anthropic models need ``ANTHROPIC_API_KEY``; say how to configure one if it is missing."""
    if is_anthropic(model_name) and not os.environ.get("ANTHROPIC_API_KEY"):
        raise UserError(NO_KEY)


def _init_live(model_name: str, timeout_s: float | None = None) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {}
    if is_anthropic(model_name):
        # langchain-anthropic reads ANTHROPIC_BASE_URL itself; retries are ours (LimitedChatModel).
        kwargs["max_retries"] = 0
    if timeout_s is not None:
        kwargs["timeout"] = timeout_s
    try:
        return init_chat_model(model_name, **kwargs)
    except (ValueError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot use model {model_name!r}: {first.split('. ')[0].rstrip('.')}") from None


def resolve_model_source(
    cli_model: str | None, config: DacrewConfig | None, *, dry_run: bool = False, base_dir: Path | None = None
) -> ModelSource:
    """The run's model source; raises :class:`UserError` (exit 2) now if no model can be used."""
    source = ModelSource(cli_model, config, dry_run=dry_run, base_dir=base_dir)
    source.check()
    return source


def reset_async_clients() -> None:
    """Start an event loop's work with fresh HTTP clients.

    langchain-anthropic shares one async HTTP client per process (an ``lru_cache``), and that client's
    connections belong to the event loop that first used it. Every run session (and every test that
    runs one in-process) has its own event loop, so the cached client is dropped first.
    """
    import sys

    utils = sys.modules.get("langchain_anthropic._client_utils")
    cached = getattr(utils, "_get_default_async_httpx_client", None)
    cache_clear = getattr(cached, "cache_clear", None)
    if callable(cache_clear):
        cache_clear()
