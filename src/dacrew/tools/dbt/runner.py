"""Running dbt in-process with ``dbtRunner``: locks, flags, the manifest cache and typed results.

dbt-core keeps process-wide state (flags, the adapter registry, the event manager) and resolves a
DuckDB path against the working directory, which this module moves to the dbt project for the call.
So invocations are serialised process-wide, not only per project (``project_lock("dbt", …)`` is held
too, so other code can wait on one project).

The parsed manifest is kept per (project, profiles, profile, target) and handed to the next invocation
(``dbtRunner(manifest=…)``), skipping dbt's parse; it is dropped when any project file changes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dacrew.errors import ToolError
from dacrew.tools.base import WAREHOUSE_FILE_LOCK, project_lock
from dacrew.tools.profiles import DbtLocation

_SKIP_DIRS = {"target", "logs", ".git", ".dacrew", "findings", "__pycache__", ".venv", "node_modules"}
_SKIP_SUFFIXES = (".duckdb", ".duckdb.wal", ".wal", ".tmp", ".pyc", ".lock")


@dataclass
class _Cached:
    fingerprint: str
    manifest: Any


_MANIFESTS: dict[tuple[str, str, str, str], _Cached] = {}


def _key(loc: DbtLocation) -> tuple[str, str, str, str]:
    return (str(loc.project_dir), str(loc.profiles_dir), loc.profile, loc.target)


class ParseFailed(ToolError):
    """The project does not parse (bad YAML, a Jinja error, a missing ref)."""


class NodeResult(BaseModel):
    unique_id: str
    name: str
    resource_type: str
    status: str
    execution_time: float = 0.0
    failures: int | None = None
    message: str | None = None
    compiled_sql: str | None = None


@dataclass
class Invocation:
    success: bool
    result: Any
    error: str | None
    elapsed_s: float
    manifest_reused: bool


def fingerprint(loc: DbtLocation) -> str:
    """Size and mtime of every project file (build output and databases left out), the profiles file
    and dbt's environment: any change means a fresh parse."""
    import hashlib

    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(loc.project_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(_SKIP_SUFFIXES):
                continue
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            h.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    with_profiles = loc.profiles_file
    if with_profiles.is_file():
        st = with_profiles.stat()
        h.update(f"{with_profiles}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for key in sorted(k for k in os.environ if k.startswith("DBT_")):
        h.update(f"{key}={os.environ[key]}\n".encode())
    return h.hexdigest()


def base_flags(loc: DbtLocation) -> list[str]:
    from dacrew.tools.profiles import sandboxed_profiles_dir

    flags = [
        "--project-dir",
        str(loc.project_dir),
        "--profiles-dir",
        str(sandboxed_profiles_dir(loc)),
        "--profile",
        loc.profile,
        "--target",
        loc.target,
    ]
    if loc.scratch is not None:
        flags += ["--target-path", str(loc.scratch / "target"), "--log-path", str(loc.scratch / "logs")]
    return flags


_GLOBAL_FLAGS = ["--log-level", "none", "--no-use-colors", "--no-send-anonymous-usage-stats", "--no-version-check"]


def invoke(loc: DbtLocation, command: list[str], extra: list[str], *, reuse_manifest: bool = True) -> Invocation:
    """Run ``dbt <command> <flags> <extra>`` in-process, one at a time, with the cached manifest."""
    with WAREHOUSE_FILE_LOCK, project_lock("dbt", loc.project_dir):
        cwd = os.getcwd()
        os.chdir(loc.project_dir)
        try:
            try:
                manifest, reused = _manifest(loc) if reuse_manifest else (None, False)
            except ParseFailed as exc:
                return Invocation(False, None, f"dbt could not parse the project: {exc}", 0.0, False)
            errors: list[str] = []
            start = time.perf_counter()
            try:
                res = _run(manifest, [*_GLOBAL_FLAGS, *command, *base_flags(loc), *extra], errors)
            finally:
                release_duckdb()
            elapsed = time.perf_counter() - start
        finally:
            os.chdir(cwd)
    error = None
    if not res.success:
        error = _error_text(res.exception, errors)
    return Invocation(res.success, res.result, error, round(elapsed, 3), reused)


def _run(manifest: Any, args: list[str], errors: list[str]) -> Any:
    from dbt.cli.main import dbtRunner

    def collect(event: Any) -> None:
        info = event.info
        if info.level == "error" and info.msg:
            errors.append(str(info.msg))

    os.environ.setdefault("DO_NOT_TRACK", "1")
    runner: Any = dbtRunner(manifest=manifest, callbacks=[collect])
    return runner.invoke(args)


def release_duckdb() -> None:
    """Close the database dbt-duckdb keeps open between invocations (``keep_open``): the warehouse tools
    open the same file with a stricter configuration, which DuckDB refuses while another one holds it."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    manager: Any = DuckDBConnectionManager
    with manager._LOCK:
        env = manager._ENV
        manager._ENV = None
    if env is not None:
        env.close()


def _manifest(loc: DbtLocation) -> tuple[Any, bool]:
    """The cached manifest if the project has not changed, else a fresh ``dbt parse``."""
    key = _key(loc)
    fp = fingerprint(loc)
    cached = _MANIFESTS.get(key)
    if cached is not None and cached.fingerprint == fp:
        return cached.manifest, True
    _MANIFESTS.pop(key, None)
    errors: list[str] = []
    res = _run(None, [*_GLOBAL_FLAGS, "parse", *base_flags(loc)], errors)
    if not res.success or res.result is None:
        raise ParseFailed(_error_text(res.exception, errors))
    _MANIFESTS[key] = _Cached(fp, res.result)
    return res.result, False


def parsed_manifest(loc: DbtLocation) -> Any:
    """The project's manifest (parsed once, reused until a file changes)."""
    with WAREHOUSE_FILE_LOCK, project_lock("dbt", loc.project_dir):
        cwd = os.getcwd()
        os.chdir(loc.project_dir)
        try:
            return _manifest(loc)[0]
        finally:
            os.chdir(cwd)


def forget_manifest(loc: DbtLocation) -> None:
    """Drop the cached manifest of this project and target: the next invocation parses afresh."""
    _MANIFESTS.pop(_key(loc), None)


def _error_text(exc: BaseException | None, errors: list[str]) -> str:
    parts = [e.strip() for e in errors if e.strip()]
    if exc is not None and str(exc).strip() and str(exc).strip() not in parts:
        parts.insert(0, str(exc).strip())
    text = "\n".join(dict.fromkeys(parts)) or "dbt failed without an error message"
    return text[:4000]


def node_results(result: Any, *, with_sql: bool = False) -> list[NodeResult]:
    """One typed record per node of a RunExecutionResult or a freshness result."""
    out: list[NodeResult] = []
    runs: list[Any] = getattr(result, "results", None) or []
    for r in runs:
        node: Any = r.node
        status = str(getattr(r.status, "value", r.status))
        compiled = getattr(node, "compiled_code", None) if with_sql or status == "error" else None
        message = r.message
        out.append(
            NodeResult(
                unique_id=node.unique_id,
                name=node.name,
                resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
                status=status,
                execution_time=round(float(r.execution_time or 0.0), 4),
                failures=r.failures,
                message=str(message) if message is not None else None,
                compiled_sql=compiled,
            )
        )
    return out
