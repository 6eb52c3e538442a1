"""The SQL guard for dbt: what a dbt invocation would run is checked before dbt runs it.

A model's job is one SELECT. So before dbt builds, runs, snapshots or previews a selection:

1. the project's own code (the selected nodes, every macro of the project and its ``on-run-start`` /
   ``on-run-end`` hooks) is read for what can do more than select: ``pre_hook`` / ``post_hook``, Python
   models, and Jinja that runs SQL or reaches outside (``run_query``, ``statement``, ``adapter.execute``…,
   ``modules``, ``env_var``) — any of these holds the invocation for a person's approval, the digest
   naming each file and its content, so an approval never covers an edited file;
2. then the selection is compiled and the compiled SQL of every model, snapshot, analysis and test is
   judged by the SQL guard as one statement that must be a read (file readers, DML in a CTE… are
   refused).

Installed packages (``dbt_packages/``) are not inspected: the files tools never write there.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from dacrew.errors import GuardRefused
from dacrew.tools.base import ToolContext
from dacrew.tools.dbt.runner import ParseFailed, fingerprint, invoke, parsed_manifest
from dacrew.tools.profiles import DbtLocation, load_target

# Jinja that runs SQL of its own, or reaches the environment, whatever the model's SELECT says.
_RISKY_JINJA = re.compile(
    r"\b((?:run_query|statement|load_result|env_var|run_operation)(?=\s*\()|modules(?=\s*\.)|"
    r"adapter\s*\.\s*(?:execute|add_query|run_sql|submit_python_job|drop_\w+|truncate_\w+|rename_\w+|"
    r"create_schema|expand_\w+|alter_\w+))"
)
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


def _risky(code: str) -> list[str]:
    return sorted({" ".join(m.group(1).split()) for m in _RISKY_JINJA.finditer(code or "")})


def review_project(loc: DbtLocation, command: str, selected: set[str] | None) -> Review:
    """Hooks, Python models and risky Jinja in the project's own code (``selected`` nodes; None: all)."""
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
        found = _risky(code)
        if found:
            review.add(path, code, f"Jinja {', '.join(found)}")
    for macro in manifest.macros.values():
        if getattr(macro, "package_name", "") != project:
            continue
        found = _risky(str(macro.macro_sql or ""))
        if found:
            review.add(str(macro.original_file_path), str(macro.macro_sql), f"macro Jinja {', '.join(found)}")
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
    """Hold or refuse a dbt invocation whose project code does more than select (see the module doc).
    ``extra`` holds the selection flags; None when the invocation selects no node (an inline preview
    that refs nothing): then only the project-wide code (macros, hooks) is reviewed."""
    tool = f"dbt_{command.replace(' ', '_')}"
    key = (str(loc.project_dir), str(loc.profiles_dir), loc.profile, loc.target, command, tuple(extra or ("-",)))
    stamp = fingerprint(loc)
    if _VETTED.get(key) == stamp:
        return
    try:
        if extra is None:
            selected: set[str] | None = set()
        elif "--select" in extra or "--exclude" in extra:
            selected = selected_nodes(loc, extra)
        else:
            selected = None
        review = review_project(loc, command, selected)
    except ParseFailed:
        return  # a project that does not parse runs nothing; the invocation reports dbt's error
    if review.findings:
        listed = "; ".join(f"{path}: {what}" for path, _, what in review.findings[:5])
        ctx.require_approval(
            f"{tool}:dbt_code",
            f"{tool}: the project's code does more than select ({listed}) — needs a person's approval",
            {**detail, "code": sorted(review.findings)},
        )
    if command in COMPILED_CHECK and extra is not None:
        check_compiled(loc, tool, extra)
    if not review.findings:
        _VETTED[key] = stamp


# (project, profiles, profile, target, command, selection) → the project fingerprint it was vetted at.
_VETTED: dict[tuple[object, ...], str] = {}
