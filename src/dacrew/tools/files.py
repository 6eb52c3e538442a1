"""The files toolset: read and list inside the project, write only inside the task's Files.

Refused (``GuardRefused``): absolute paths, ``..``, paths that resolve (through symlinks) outside the
project, secrets files (``.env*``, ``profiles.yml``, keys and keystores, ``*secret*``, ``*credential*``,
``.git/``, ``.dacrew/``, dbt's output folders — ``target/`` and ``logs/`` of any dbt project in it, where
run results and compiled SQL hold rendered values), writes to project configuration
(``dacrew.yml``, ``dbt_project.yml``, ``packages.yml``, ``prompts/``) and writes outside the task's
Files — or any write when there is no task.
"""

from __future__ import annotations

import os
import tempfile
from fnmatch import fnmatch
from itertools import pairwise
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool

# Matched against every part of a path, case-insensitively: a folder named so hides all it holds.
SECRET_PATTERNS = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "profiles.yml",
    "*.pem",
    "*.key",
    "*.p8",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "id_dsa*",
    "*credential*",
    "*secret*",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".git",  # its config can hold tokens in remote URLs
    ".dacrew",  # run state: journals and checkpoints hold tool results
)
# dbt writes the SQL it ran here with every env_var() rendered.
SECRET_SEQUENCES = (("target", "compiled"), ("target", "run"))
# Never written through the files tools, whatever the task's Files say: git hooks would run code, run
# state and findings have their own writers, prompts decide an agent's tools and permissions, installed
# packages are code every dbt run executes.
PROTECTED_DIRS = frozenset({".git", ".dacrew", "findings", ".venv", "prompts", "dbt_packages", "target", "logs"})
# Project configuration: the warehouse target, the dbt project and its packages, the plan. Written only
# by a task whose Files name the file itself (the person who approved the plan gave it that job) —
# never through a folder, a glob or `repository root`.
PROTECTED_FILES = frozenset({"dacrew.yml", "dbt_project.yml", "packages.yml", "dependencies.yml", "tasks.md"})
_HIDDEN_DIRS = {".git", ".venv", ".dacrew", "__pycache__", "node_modules", "target", "logs", "dbt_packages"}
MAX_READ_BYTES = 512_000
_DBT_OUTPUT_KEYS = (("target-path", "target"), ("log-path", "logs"))


def is_secret(relpath: str) -> bool:
    parts = [p.lower() for p in PurePosixPath(relpath).parts]
    if any(fnmatch(part, pattern) for part in parts for pattern in SECRET_PATTERNS):
        return True
    pairs = set(pairwise(parts))
    return any(seq in pairs for seq in SECRET_SEQUENCES)


def resolve(ctx: ToolContext, path: str, *, tool_name: str) -> tuple[Path, str]:
    """``(absolute path, project-relative POSIX path)`` of a path the model gave, or a refusal."""
    raw = path.strip().replace("\\", "/")
    if not raw or raw in {".", "./"}:
        return ctx.project_dir.resolve(), "."
    pure = PurePosixPath(raw)
    if pure.is_absolute() or raw.startswith("~") or (len(raw) > 1 and raw[1] == ":"):
        raise GuardRefused(
            f"{tool_name}: {path!r} is absolute; give a path relative to the project", rule="absolute_path"
        )
    if ".." in pure.parts:
        raise GuardRefused(f"{tool_name}: {path!r} climbs out with '..'", rule="parent_path")
    root = ctx.project_dir.resolve()
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise GuardRefused(f"{tool_name}: {path!r} resolves outside the project (symlink)", rule="symlink_escape")
    rel = target.relative_to(root).as_posix() if target != root else "."
    if is_secret(rel) or is_secret(pure.as_posix()):
        raise GuardRefused(f"{tool_name}: {path!r} is a secrets file and cannot be read or written", rule="secret")
    if in_dbt_output(root, target):
        raise GuardRefused(
            f"{tool_name}: {path!r} is dbt's output (target/, logs/), which holds rendered values; use "
            "dbt_manifest for the project's structure and dbt_compile for a model's SQL",
            rule="secret",
        )
    return target, rel


def in_dbt_output(root: Path, target: Path) -> bool:
    """Whether ``target`` lies in a dbt project's ``target-path`` or ``log-path`` (defaults ``target``
    and ``logs``): dbt writes the SQL it ran and ``run_results.json`` there with every value rendered."""
    for folder in [target, *target.parents]:
        for output in dbt_outputs(folder):
            if target == output or output in target.parents:
                return True
        if folder == root:
            return False
    return False


def dbt_outputs(folder: Path) -> list[Path]:
    """The output folders of the dbt project in ``folder`` (none when it holds no dbt_project.yml)."""
    import yaml

    project_file = folder / "dbt_project.yml"
    if not project_file.is_file():
        return []
    try:
        loaded = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        loaded = None
    config: dict[str, Any] = loaded if isinstance(loaded, dict) else {}  # pyright: ignore[reportUnknownVariableType]
    found = [(folder / str(config.get(key) or default)).resolve() for key, default in _DBT_OUTPUT_KEYS]
    return [f for f in found if f != folder.resolve()]


class PathArgs(ToolArgs):
    path: str = Field(description="A path relative to the project folder, e.g. models/staging/stg_orders.sql.")


class ReadResult(ToolResult):
    path: str
    content: str
    truncated: bool = False


@tool("files")
def files_read(ctx: ToolContext, args: PathArgs) -> ReadResult:
    """Read a text file of the project (secrets files such as profiles.yml and .env are not readable)."""
    target, rel = resolve(ctx, args.path, tool_name="files_read")
    if not target.is_file():
        raise ToolError(f"no file {rel}; files_list shows what exists")
    data = target.read_bytes()
    content = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
    return ReadResult(path=rel, content=content, truncated=len(data) > MAX_READ_BYTES)


class WriteArgs(PathArgs):
    content: str = Field(description="The whole new content of the file.")


class WriteResult(ToolResult):
    path: str
    bytes_written: int
    created: bool


@tool("files", read_only=False, idempotent=True)
def files_write(ctx: ToolContext, args: WriteArgs) -> WriteResult:
    """Write a whole text file, only inside your task's Files (paths and globs); folders are created."""
    target, rel = resolve(ctx, args.path, tool_name="files_write")
    if not ctx.files:
        raise GuardRefused(
            "files_write: writes happen only inside a task's Files, and this call has no task", rule="no_task"
        )
    parts = PurePosixPath(rel).parts
    if parts[0] in PROTECTED_DIRS or any(p in {".git", "dbt_packages"} for p in parts):
        raise GuardRefused(f"files_write: {rel} is inside a folder the files tools never write", rule="protected")
    if parts[-1].lower() in PROTECTED_FILES and not _named_exactly(ctx.files, rel):
        raise GuardRefused(
            f"files_write: {rel} is project configuration (warehouse target, dbt project, packages, plan): only "
            "a task whose Files name it may write it; say what should change in your finding or with "
            "request_input",
            rule="protected",
        )
    if rel == "." or not ctx.may_write(rel):
        raise GuardRefused(
            f"files_write: {rel} is outside this task's Files ({', '.join(ctx.files)})", rule="outside_task_files"
        )
    if target.is_dir():
        raise ToolError(f"{rel} is a folder")
    created = not target.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = args.content.encode("utf-8")
    # Temp file + rename: a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return WriteResult(path=rel, bytes_written=len(data), created=created)


def _named_exactly(files: tuple[str, ...], rel: str) -> bool:
    return any(f.strip().strip("`").removeprefix("./") == rel for f in files)


class ListArgs(ToolArgs):
    path: str = Field(default=".", description="A folder relative to the project (default: the project folder).")


class Entry(BaseModel):
    path: str
    kind: str
    """file or dir"""
    size: int | None = None


class ListResult(ToolResult):
    path: str
    entries: list[Entry]
    truncated: bool = False


@tool("files")
def files_list(ctx: ToolContext, args: ListArgs) -> ListResult:
    """List a project folder recursively (build output, virtualenvs and secrets files are left out)."""
    target, rel = resolve(ctx, args.path, tool_name="files_list")
    if not target.is_dir():
        raise ToolError(f"no folder {rel}")
    root = ctx.project_dir.resolve()
    entries: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(target):
        outputs = dbt_outputs(Path(dirpath))
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _HIDDEN_DIRS
            and not (Path(dirpath) / d).is_symlink()
            and (Path(dirpath) / d).resolve() not in outputs
        )
        for name in [*dirnames, *sorted(filenames)]:
            full = Path(dirpath) / name
            relp = full.relative_to(root).as_posix()
            if is_secret(relp):
                continue
            is_dir = name in dirnames
            entries.append(
                Entry(path=relp, kind="dir" if is_dir else "file", size=None if is_dir else full.stat().st_size)
            )
            if len(entries) >= 2000:
                return ListResult(path=rel, entries=entries, truncated=True)
    return ListResult(path=rel, entries=sorted(entries, key=lambda e: e.path))
