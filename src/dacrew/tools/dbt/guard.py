"""The guard for dbt: what a dbt invocation would run is checked before dbt runs it.

A model's job is one SELECT. So before any dbt invocation (dbt's parse renders every model):

1. the project's code is read from disk and parsed with Jinja as dbt configures it, and every node held
   to an allow-list per permission (:mod:`dacrew.tools.dbt.project_code`): refused findings (``env_var``,
   binding a callable to a new name, a secret target attribute…) stop the invocation; the others (``call
   statement``, ``run_query``, mutating adapter methods, macros that do these…) hold it for a person's
   approval, the digest naming each file and its content, so an approval never covers an edited file;
2. for invocations that execute (not ``ls`` / ``parse``), hooks and Python models in the parsed
   manifest are held for approval too;
3. then the selection is compiled and the compiled SQL of every model, snapshot, analysis and test is
   judged by the SQL guard as one statement that must be a read (file readers, DML in a CTE… are
   refused).

The second layer is the connection: read-only commands run on a database opened read-only
(:mod:`dacrew.tools.dbt.toolset`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from dacrew.errors import GuardRefused
from dacrew.tools.base import ToolContext
from dacrew.tools.dbt.project_code import review_code
from dacrew.tools.dbt.runner import ParseFailed, fingerprint, invoke, parsed_manifest
from dacrew.tools.profiles import DbtLocation, load_target

# Commands that only parse: their code is checked, hooks do not run.
PARSE_ONLY = frozenset({"ls", "parse"})
# Commands whose compiled SQL reaches the warehouse as models, snapshots or previews.
COMPILED_CHECK = frozenset({"build", "run", "snapshot", "show"})
# Commands that run hooks and project macros against the warehouse.
EXECUTING = frozenset({"build", "run", "test", "snapshot", "seed", "show", "source freshness", "docs generate"})
_CHECKED_TYPES = frozenset({"model", "snapshot", "analysis", "test"})


@dataclass
class Review:
    """What the project code check found: ``(file, sha256, what)`` per finding."""

    findings: list[tuple[str, str, str]] = field(default_factory=lambda: list[tuple[str, str, str]]())

    def add(self, path: str, code: str, what: str) -> None:
        digest = hashlib.sha256(code.encode()).hexdigest()[:16]
        self.findings.append((path, digest, what))


def review_project(loc: DbtLocation, command: str, selected: set[str] | None) -> Review:
    """Hooks and Python models in the project's own code (``selected`` nodes; None: all)."""
    manifest: Any = parsed_manifest(loc)
    project = str(getattr(manifest.metadata, "project_name", "") or "")
    review = Review()
    executing = command in EXECUTING
    for uid, node in manifest.nodes.items():
        if getattr(node, "package_name", project) != project:
            continue
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        path = str(getattr(node, "original_file_path", uid))
        code = str(getattr(node, "raw_code", "") or "")
        if kind == "operation":
            if executing:
                review.add(path, code, f"on-run-start/on-run-end hook {code.strip()[:80]!r}")
            continue
        if selected is not None and uid not in selected:
            continue
        config: Any = getattr(node, "config", None)
        hooks: list[Any] = [*(getattr(config, "pre_hook", None) or []), *(getattr(config, "post_hook", None) or [])]
        if hooks and executing:
            shown = "; ".join(str(getattr(h, "sql", h))[:80] for h in hooks)
            review.add(path, code + shown, f"pre_hook/post_hook {shown!r}")
        if str(getattr(node, "language", "sql")) == "python" and executing:
            review.add(path, code, "a Python model runs arbitrary code")
    return review


def selected_nodes(loc: DbtLocation, extra: list[str]) -> set[str]:
    """The unique ids dbt selects for ``extra`` (``--select`` / ``--exclude`` flags), through ``dbt ls``."""
    import json

    flags = [f for f in extra if f != "--full-refresh"]
    inv = invoke(loc, ["ls"], [*flags, "--output", "json", "--output-keys", "unique_id"])
    if not inv.success:
        raise ParseFailed(inv.error or "dbt could not resolve the selection")
    lines: list[str] = list(inv.result or [])
    return {str(json.loads(line)["unique_id"]) for line in lines}


def check_compiled(loc: DbtLocation, tool: str, extra: list[str]) -> None:
    """Compile the selection and judge every compiled model, snapshot, analysis and test as one read."""
    from dacrew.tools.sql.guard import classify

    flags = [f for f in extra if f != "--full-refresh"]
    inv = invoke(loc, ["compile"], flags)
    if not inv.success:
        return  # the invocation itself will fail and report dbt's error
    dialect = "snowflake" if load_target(loc).get("type") == "snowflake" else "duckdb"
    results: list[Any] = getattr(inv.result, "results", None) or []
    for result in results:
        node: Any = result.node
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        sql = getattr(node, "compiled_code", None)
        if kind not in _CHECKED_TYPES or not sql:
            continue
        verdict = classify(str(sql), dialect)
        if not verdict.is_read:
            why = verdict.reason or f"a {verdict.statement} statement (needs {verdict.needs})"
            raise GuardRefused(
                f"{tool}: {node.original_file_path} must compile to one read-only SELECT: {why}",
                rule=verdict.refused or "dbt_model_not_read",
            )


def guard_invocation(
    ctx: ToolContext, loc: DbtLocation, command: str, extra: list[str] | None, detail: dict[str, Any]
) -> None:
    """Refuse or hold a dbt invocation whose project code does more than select (see the module doc).
    ``extra`` holds the selection flags; None when the invocation selects no node (an inline preview
    that refs nothing): then only the project-wide code (macros, hooks) is reviewed."""
    tool = f"dbt_{command.replace(' ', '_')}"
    selection = tuple(extra or ("-",))
    key = (str(loc.project_dir), str(loc.profiles_dir), loc.profile, loc.target, command, selection, ctx.permissions)
    stamp = fingerprint(loc)
    if _VETTED.get(key) == stamp:
        return
    code = review_code(loc.project_dir, ctx.permissions)
    if code.refused:
        listed = "; ".join(str(f) for f in code.refused[:5])
        raise GuardRefused(f"{tool}: refused: the project's code {listed}", rule="dbt_code")
    held: list[tuple[str, str, str]] = code.digest_items()
    if command not in PARSE_ONLY:
        try:
            if extra is None:
                selected: set[str] | None = set()
            elif "--select" in extra or "--exclude" in extra:
                selected = selected_nodes(loc, extra)
            else:
                selected = None
            held += review_project(loc, command, selected).findings
        except ParseFailed:
            pass  # a project that does not parse runs nothing; the invocation reports dbt's error
    if held:
        listed = "; ".join(f"{path}: {what}" for path, _, what in held[:5])
        ctx.require_approval(
            f"{tool}:dbt_code",
            f"{tool}: the project's code does more than select ({listed}) — needs a person's approval",
            {**detail, "code": sorted(held)},
        )
    if command in COMPILED_CHECK and extra is not None:
        check_compiled(loc, tool, extra)
    if not held:
        _VETTED[key] = stamp


# (project, profiles, profile, target, command, selection) → the project fingerprint it was vetted at.
_VETTED: dict[tuple[object, ...], str] = {}
