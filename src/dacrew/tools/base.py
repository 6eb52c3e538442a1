"""What every toolset is built from: the injected :class:`ToolContext`, the :func:`tool` decorator and
the typed result base class.

A tool is a plain function ``fn(ctx: ToolContext, args: SomeArgs) -> SomeResult``. The pydantic
``SomeArgs`` is the schema the model sees, the function's docstring is the description it reads; the
context (project, task, permissions, approvals, connections) is injected and never in the schema.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict

from dacrew.errors import ApprovalRequired

if TYPE_CHECKING:
    from dacrew.config import DacrewConfig

PERMISSIONS = frozenset({"read", "ddl", "write"})


class ToolArgs(BaseModel):
    """Base class of tool arguments: unknown keys are an error the model can see and fix."""

    model_config = ConfigDict(extra="forbid")


class ToolResult(BaseModel):
    """Base class of tool results. ``ok`` is False when a remote job or run the tool waited for
    ended failed: the result is still returned (and printed), and ``dacrew tools call`` exits 1."""

    ok: bool = True

    def for_model(self) -> str:
        """The text the model reads (JSON); a result type may condense what the model needs less of."""
        return self.model_dump_json()


def request_digest(action: str, detail: dict[str, Any]) -> str:
    """A stable digest of one exact request: an approval names it and covers nothing else."""
    blob = json.dumps({"action": action, "detail": detail}, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


_PROJECT_LOCKS: dict[str, threading.Lock] = {}
_PROJECT_LOCKS_GUARD = threading.Lock()


WAREHOUSE_FILE_LOCK = threading.RLock()
"""Held by every dbt invocation, by the DuckDB warehouse backend around each statement, and by the Tableau
and Orchestra tools that read the warehouse file or the manifest: dbt-core keeps process-wide state, and
DuckDB refuses a second configuration of an open file in one process, so they take turns."""


def project_lock(name: str, project: Path) -> threading.Lock:
    """One process-wide lock per (name, project): e.g. dbt allows one invocation per project at a time."""
    key = f"{name}:{project.resolve()}"
    with _PROJECT_LOCKS_GUARD:
        return _PROJECT_LOCKS.setdefault(key, threading.Lock())


@dataclass
class ToolContext:
    """What a tool knows about the caller; injected, never shown to the model.

    ``permissions`` are the agent's (``read``, ``ddl``, ``write``); without an agent a call is read-only.
    ``files`` are the task's Files (paths and globs) — the only places the files toolset may write.
    ``approved`` holds request digests a person approved; ``require_approval`` raises
    :class:`ApprovalRequired` for anything else.
    """

    project_dir: Path
    agent: str | None = None
    task_id: str | None = None
    permissions: frozenset[str] = frozenset({"read"})
    files: tuple[str, ...] = ()
    approved: set[str] = field(default_factory=lambda: set[str]())
    run_id: str | None = None
    _config: DacrewConfig | None = None
    _connections: dict[str, Any] = field(default_factory=lambda: dict[str, Any]())
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def config(self) -> DacrewConfig:
        """The project's configuration, loaded on first use (a plan that calls no tools needs none)."""
        if self._config is None:
            from dacrew.config import load_config

            self._config = load_config(self.project_dir)
        return self._config

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require_approval(self, action: str, message: str, detail: dict[str, Any]) -> None:
        """Return if a person approved exactly this request; raise :class:`ApprovalRequired` otherwise."""
        digest = request_digest(action, detail)
        if digest in self.approved:
            return
        raise ApprovalRequired(message, digest=digest, action=action, detail=detail)

    def connection(self, key: str, factory: Callable[[], Any]) -> Any:
        """A connection shared by this context's calls, opened lazily on first use."""
        with self._lock:
            if key not in self._connections:
                self._connections[key] = factory()
            return self._connections[key]

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                close = getattr(conn, "close", None)
                if callable(close):
                    close()
            self._connections.clear()

    def may_write(self, relpath: str) -> bool:
        """True if ``relpath`` (relative to the project, POSIX) falls under one of the task's Files, with
        the plan's one glob meaning (:func:`dacrew.plan.globs.covers`)."""
        from dacrew.plan.globs import covers

        return any(covers(pattern, relpath) for pattern in self.files)


A = TypeVar("A", bound=ToolArgs)
R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Tool:
    """One typed tool: its name, the toolset it belongs to, the schema and the function."""

    name: str
    toolset: str
    description: str
    args_model: type[ToolArgs]
    result_model: type[BaseModel]
    func: Callable[[ToolContext, Any], BaseModel]
    read_only: bool = True
    idempotent: bool | Callable[[dict[str, Any]], bool] = False
    """A write that may run twice with the same effect (for these arguments): after a crash in the
    middle of it, a resumed run repeats it; any other write is reported as interrupted instead."""

    def safe_to_repeat(self, args: dict[str, Any]) -> bool:
        """True for a read, or a write this tool declares idempotent for ``args``."""
        if self.read_only:
            return True
        return self.idempotent(args) if callable(self.idempotent) else self.idempotent

    def call(self, ctx: ToolContext, args: dict[str, Any] | ToolArgs) -> BaseModel:
        """Validate ``args``, run the tool (synchronously) and return its result with secrets masked.

        Every caller — the agent loop, ``dacrew tools call``, the parent's checks — gets its result
        here, so this is the one place results are redacted (a compiled model that renders
        ``env_var('SNOWFLAKE_PASSWORD')``, a file holding a token). Tool errors are redacted too."""
        from dacrew.errors import ToolError
        from dacrew.findings.redact import redact_obj, redact_text

        parsed = args if isinstance(args, self.args_model) else self.args_model.model_validate(args)
        try:
            result = self.func(ctx, parsed)
        except ToolError as exc:
            exc.args = tuple(redact_text(a) if isinstance(a, str) else a for a in exc.args)
            raise
        data = result.model_dump()
        clean = redact_obj(data)
        return result if clean == data else type(result).model_validate(clean)

    def schema(self) -> dict[str, Any]:
        return _schema_of(self.args_model)


@functools.cache
def _schema_of(model: type[ToolArgs]) -> dict[str, Any]:
    # Building a JSON schema costs about a millisecond; every agent turn binds its tools.
    return model.model_json_schema()


_REGISTERED: dict[str, Tool] = {}


def tool(
    toolset: str,
    *,
    read_only: bool = True,
    name: str | None = None,
    idempotent: bool | Callable[[dict[str, Any]], bool] = False,
) -> Callable[[Callable[[ToolContext, A], R]], Callable[[ToolContext, A], R]]:
    """Register ``fn(ctx, args) -> result`` as a tool; the docstring is what the model reads.
    ``idempotent`` (a write only): True, or a test of the arguments, when running it twice does no harm."""

    def wrap(fn: Callable[[ToolContext, A], R]) -> Callable[[ToolContext, A], R]:
        hints = get_type_hints(fn)
        params = list(inspect.signature(fn).parameters)
        args_model = hints[params[1]]
        result_model = hints["return"]
        tool_name = name or fn.__name__
        doc = inspect.cleandoc(fn.__doc__ or "").strip()
        if not doc:
            raise TypeError(f"tool {tool_name} needs a docstring: it is what the model reads")
        _REGISTERED[tool_name] = Tool(
            name=tool_name,
            toolset=toolset,
            description=doc,
            args_model=args_model,
            result_model=result_model,
            func=fn,  # pyright: ignore[reportArgumentType]
            read_only=read_only,
            idempotent=idempotent,
        )
        return fn

    return wrap


def registered() -> dict[str, Tool]:
    return dict(_REGISTERED)


def select(names: Iterable[str]) -> list[Tool]:
    return [_REGISTERED[n] for n in names if n in _REGISTERED]
