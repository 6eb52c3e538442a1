"""The dbt toolset: build, run, test, compile, show, ls, parse, docs generate, source freshness and
snapshot through dbt-core's in-process runner, plus manifest reading (``dbt_manifest``).

Every selector is checked (``dbt_select``); ``full_refresh``, any target but the profile's own default
and any production target need a person's approval. What an invocation would run is checked first
(``dbt_guard``): hooks and Jinja that run SQL of their own need approval, and every compiled model must
be one read-only SELECT. Building (build, run, snapshot, docs generate) needs the agent's ``write``
permission.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, cast

from pydantic import BaseModel, Field

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.dbt.runner import Invocation, NodeResult, forget_manifest, invoke, node_results, parsed_manifest
from dacrew.tools.dbt.selection import selector_name, state_arguments, validate_selector
from dacrew.tools.profiles import DbtLocation, is_production_target, locate
from dacrew.tools.sql.guard import classify

_SELECT = "dbt node selection syntax, e.g. `+fct_orders`, `tag:daily`, `path:models/staging` (default: all)."


class SelectArgs(ToolArgs):
    select: str | None = Field(default=None, description=_SELECT)
    exclude: str | None = Field(default=None, description="Nodes to leave out, in the same syntax.")
    selector: str | None = Field(
        default=None, description="Or a selection the project's selectors.yml defines, by name (not with select)."
    )
    target: str | None = Field(default=None, description="A profile target other than the default (needs approval).")


class RunArgs(SelectArgs):
    full_refresh: bool = Field(
        default=False, description="Rebuild incremental models and seeds from scratch (needs approval)."
    )


class DbtResult(ToolResult):
    command: str
    target: str
    success: bool
    nodes: list[NodeResult] = Field(default_factory=list[NodeResult])
    """One entry per node dbt ran: status, timing, failures (tests) and message."""
    summary: dict[str, int] = Field(default_factory=dict[str, int])
    """How many nodes ended in each status."""
    error: str | None = None
    """dbt's error when the invocation failed (parse or compile errors, database errors)."""
    elapsed_s: float = 0.0
    manifest_reused: bool = False

    def for_model(self) -> str:
        """Failures, errors, warnings and skips whole (with their messages and compiled SQL); passed
        nodes summarised: how many of each type, the names of the models, seeds and snapshots, their
        time. Nodes that carry compiled SQL (``dbt_compile``) are always shown whole."""
        passed = [n for n in self.nodes if n.status in PASSED and not n.compiled_sql]
        data = self.model_dump(mode="json")
        data["nodes"] = [n.model_dump(mode="json") for n in self.nodes if n.status not in PASSED or n.compiled_sql]
        if passed:
            data["passed"] = {
                "count": len(passed),
                "by_type": dict(Counter(n.resource_type for n in passed)),
                "names": [n.name for n in passed if n.resource_type != "test"],
                "execution_time_s": round(sum(n.execution_time for n in passed), 2),
            }
        return json.dumps(data, ensure_ascii=False, default=str)


PASSED = frozenset({"success", "pass"})


_BUILDS = frozenset({"build", "run", "snapshot", "seed", "docs generate"})


def _prepare(
    ctx: ToolContext,
    command: str,
    args: SelectArgs,
    *,
    more: dict[str, Any] | None = None,
    guard_select: str | None = None,
) -> tuple[DbtLocation, list[str]]:
    """Check the selection, the caller's permission and the approvals this invocation needs, and run
    the dbt guard on what it would execute. ``more`` adds the arguments that change the effect to the
    approval digest; ``guard_select`` is what the guard checks when it differs from ``select``."""
    if command in _BUILDS and ctx.agent is not None and not ctx.can("write"):
        held = ", ".join(sorted(ctx.permissions)) or "none"
        raise GuardRefused(
            f"dbt {command} builds in the warehouse and needs the write permission; agent {ctx.agent} holds: {held}",
            rule="permission",
        )
    loc = locate(ctx, args.target)
    extra: list[str] = []
    if args.select is not None:
        extra += ["--select", *validate_selector(args.select)]
    if args.exclude is not None:
        extra += ["--exclude", *validate_selector(args.exclude, what="exclude")]
    if args.selector is not None:
        extra += ["--selector", selector_name(args.selector, args.select, args.exclude)]
    full_refresh = isinstance(args, RunArgs) and args.full_refresh
    if full_refresh:
        extra.append("--full-refresh")
    reasons: list[str] = []
    if full_refresh:
        reasons.append("--full-refresh rebuilds tables from scratch")
    if loc.target != loc.profile_target:
        reasons.append(f"target {loc.target!r} is not the profile's default target {loc.profile_target!r}")
    if is_production_target(loc.target, ctx.config.dbt.production_targets):
        reasons.append(f"target {loc.target!r} is a production target")
    detail: dict[str, Any] = {
        "command": command,
        "select": args.select,
        "exclude": args.exclude,
        "selector": args.selector,
        "target": loc.target,
        "full_refresh": full_refresh,
        **(more or {}),
    }
    if reasons:
        ctx.require_approval(
            f"dbt_{command.replace(' ', '_')}",
            f"dbt {command}: {'; '.join(reasons)} — needs a person's approval",
            detail,
        )
    from dacrew.tools.dbt.guard import guard_invocation

    guarded: list[str] | None = extra
    if guard_select is not None:
        guarded = ["--select", *validate_selector(guard_select)] if guard_select else None
    guard_invocation(ctx, loc, command, guarded, detail)
    return loc, extra


def _result(command: str, loc: DbtLocation, inv: Invocation, *, with_sql: bool = False) -> DbtResult:
    nodes = node_results(inv.result, with_sql=with_sql)
    return DbtResult(
        ok=inv.success,
        command=command,
        target=loc.target,
        success=inv.success,
        nodes=nodes,
        summary=dict(Counter(n.status for n in nodes)),
        error=inv.error or _node_errors(nodes),
        elapsed_s=inv.elapsed_s,
        manifest_reused=inv.manifest_reused,
    )


def _node_errors(nodes: list[NodeResult]) -> str | None:
    bad = [f"{n.unique_id}: {n.status}: {n.message}" for n in nodes if n.status in {"error", "fail"}]
    return "\n".join(bad) or None


def _run(ctx: ToolContext, command: str, args: SelectArgs, *, with_sql: bool = False) -> DbtResult:
    loc, extra = _prepare(ctx, command, args)
    return _result(command, loc, invoke(loc, command.split(), extra), with_sql=with_sql)


def _selected_build(args: dict[str, Any]) -> bool:
    """A build or run of a named selection, without --full-refresh, converges on the same tables."""
    return bool(args.get("select")) and not args.get("full_refresh")


@tool("dbt", read_only=False, idempotent=_selected_build)
def dbt_build(ctx: ToolContext, args: RunArgs) -> DbtResult:
    """Build the selected seeds, models, snapshots and tests in DAG order, one result per node.

    Each node has its status, time, test failures and message; a failing test fails the result (ok=false).
    """
    return _run(ctx, "build", args)


@tool("dbt", read_only=False, idempotent=_selected_build)
def dbt_run(ctx: ToolContext, args: RunArgs) -> DbtResult:
    """Run (materialise) the selected models without their tests; one result per model."""
    return _run(ctx, "run", args)


@tool("dbt")
def dbt_test(ctx: ToolContext, args: SelectArgs) -> DbtResult:
    """Run the data tests of the selected nodes; `failures` counts the failing rows of each test."""
    return _run(ctx, "test", args)


@tool("dbt", read_only=False)
def dbt_snapshot(ctx: ToolContext, args: SelectArgs) -> DbtResult:
    """Run the selected snapshots (slowly changing dimensions, type 2)."""
    return _run(ctx, "snapshot", args)


@tool("dbt")
def dbt_compile(ctx: ToolContext, args: SelectArgs) -> DbtResult:
    """Compile the selected nodes to SQL without running them.

    Each node carries its `compiled_sql`; a failure carries dbt's error.
    """
    return _run(ctx, "compile", args, with_sql=True)


@tool("dbt")
def dbt_source_freshness(ctx: ToolContext, args: SelectArgs) -> DbtResult:
    """Check source freshness: status pass, warn or error per source table.

    Uses the `freshness` and `loaded_at_field` of your sources YAML; select with `source:name`.
    """
    return _run(ctx, "source freshness", args)


class ShowArgs(ToolArgs):
    select: str | None = Field(default=None, description="One model (or other node) to preview, e.g. `fct_orders`.")
    inline: str | None = Field(
        default=None,
        description="Or a read-only SELECT to preview, may use {{ ref('model') }} and {{ source('s', 't') }}.",
    )
    limit: int = Field(default=10, ge=1, le=1000, description="The most rows to return.")
    target: str | None = Field(default=None, description="A profile target other than the default (needs approval).")


class ShowResult(ToolResult):
    columns: list[str]
    rows: list[list[Any]]
    error: str | None = None


@tool("dbt")
def dbt_show(ctx: ToolContext, args: ShowArgs) -> ShowResult:
    """Preview the rows a model (or an inline SELECT using ref/source) returns, without materialising it."""
    if (args.select is None) == (args.inline is None):
        raise ToolError("give exactly one of select (a node) or inline (a SELECT)")
    refs = _inline_refs(args.inline) if args.inline is not None else None
    loc, extra = _prepare(
        ctx,
        "show",
        SelectArgs(select=args.select, target=args.target),
        more={"inline": args.inline, "limit": args.limit},
        guard_select=None if refs is None else (" ".join(refs) or ""),
    )
    if args.inline is not None:
        inline = _without_terminator(args.inline)
        _check_inline(loc, inline)
        extra += ["--inline", inline]
    inv = invoke(loc, ["show"], [*extra, "--limit", str(args.limit)])
    if not inv.success:
        return ShowResult(ok=False, columns=[], rows=[], error=inv.error)
    from dacrew.tools.values import json_value

    table = inv.result.results[0].agate_table
    rows = [[json_value(v) for v in row] for row in table.rows]
    return ShowResult(columns=[str(c) for c in table.column_names], rows=rows)


_INLINE_CALL = r"\{\{\s*(ref|source)\(\s*'([\w.\-]+)'\s*(,\s*'([\w.\-]+)'\s*)?\)\s*\}\}"


def _without_terminator(sql: str) -> str:
    """The statement without its closing ``;`` (dbt wraps inline SQL in a query of its own, where a
    semicolon is a syntax error). Only the semicolons that end the text go: a second statement stays for
    the guard to refuse. A trailing line comment ends with a newline, so that what dbt appends is not
    commented out."""
    from sqlglot.tokenizer_core import TokenType
    from sqlglot.tokens import Tokenizer

    tokens = Tokenizer().tokenize(sql)
    end = len(sql)
    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        end = tokens[-1].start
        tokens.pop()
    return sql[:end].rstrip() + "\n"


def _inline_refs(sql: str) -> list[str]:
    """The models an inline preview refs: their compiled SQL runs inside it (ephemeral models)."""
    import re

    return sorted({m.group(2) for m in re.finditer(_INLINE_CALL, sql) if m.group(1) == "ref" and not m.group(3)})


def _check_inline(loc: DbtLocation, sql: str) -> None:
    """Inline SQL reaches the warehouse: only ref()/source() Jinja, and a read the SQL guard allows."""
    import re

    from dacrew.errors import GuardRefused
    from dacrew.tools.profiles import load_target

    if "{%" in sql or "{#" in sql:
        raise GuardRefused("dbt_show: inline SQL may not hold Jinja blocks", rule="inline_jinja")
    call = re.compile(_INLINE_CALL)
    plain = call.sub("dacrew_ref", sql)
    if "{{" in plain or "}}" in plain:
        raise GuardRefused(
            "dbt_show: inline SQL may use only {{ ref('x') }} and {{ source('s', 't') }}", rule="inline_jinja"
        )
    dialect = "snowflake" if load_target(loc).get("type") == "snowflake" else "duckdb"
    verdict = classify(plain, dialect)
    if not verdict.is_read:
        raise GuardRefused(
            f"dbt_show previews reads only; this is {verdict.statement} ({verdict.refused or verdict.needs})",
            rule=verdict.refused or "read_only",
        )


class LsArgs(SelectArgs):
    resource_type: str | None = Field(default=None, description="Only this kind: model, test, seed, snapshot, source…")
    state: str | None = Field(
        default=None,
        description="For state:… selectors (state:modified+): a project folder holding the manifest.json to "
        "compare with (e.g. a production run's artifacts); default dbt.state in dacrew.yml.",
    )


class LsNode(BaseModel):
    unique_id: str
    name: str
    resource_type: str
    path: str | None = None


class LsResult(ToolResult):
    nodes: list[LsNode]
    error: str | None = None


_RESOURCE_TYPES = {
    "model",
    "test",
    "seed",
    "snapshot",
    "source",
    "analysis",
    "exposure",
    "metric",
    "unit_test",
    "semantic_model",
    "saved_query",
}


@tool("dbt")
def dbt_ls(ctx: ToolContext, args: LsArgs) -> LsResult:
    """List the nodes a selector picks (unique_id, name, type, file) without running anything."""
    loc, extra = _prepare(ctx, "ls", args)
    extra += state_arguments(ctx, args.state, f"{args.select or ''} {args.exclude or ''}")
    if args.resource_type is not None:
        if args.resource_type not in _RESOURCE_TYPES:
            raise ToolError(f"resource_type must be one of {', '.join(sorted(_RESOURCE_TYPES))}")
        extra += ["--resource-type", args.resource_type]
    extra += ["--output", "json", "--output-keys", "unique_id", "name", "resource_type", "original_file_path"]
    inv = invoke(loc, ["ls"], extra)
    if not inv.success:
        return LsResult(ok=False, nodes=[], error=inv.error)
    nodes: list[LsNode] = []
    for line in cast(list[str], inv.result or []):
        data = json.loads(line)
        nodes.append(
            LsNode(
                unique_id=data["unique_id"],
                name=data["name"],
                resource_type=data["resource_type"],
                path=data.get("original_file_path"),
            )
        )
    return LsResult(nodes=nodes)


class TargetArgs(ToolArgs):
    target: str | None = Field(default=None, description="A profile target other than the default (needs approval).")


class ParseResult(ToolResult):
    success: bool
    counts: dict[str, int]
    """Nodes by resource type (model, test, seed, snapshot, source…)."""
    error: str | None = None


@tool("dbt")
def dbt_parse(ctx: ToolContext, args: TargetArgs) -> ParseResult:
    """Parse the project afresh (YAML, Jinja, refs) and count its nodes; the error says what does not parse."""
    from dacrew.tools.dbt.runner import ParseFailed

    loc, _ = _prepare(ctx, "parse", SelectArgs(target=args.target))
    forget_manifest(loc)
    try:
        manifest = parsed_manifest(loc)
    except ParseFailed as exc:
        return ParseResult(ok=False, success=False, counts={}, error=str(exc))
    counts = Counter(str(getattr(n.resource_type, "value", n.resource_type)) for n in manifest.nodes.values())
    counts["source"] = len(manifest.sources)
    return ParseResult(success=True, counts=dict(counts))


class DocsResult(ToolResult):
    success: bool
    catalog_nodes: int
    """Tables and views the catalog describes."""
    index_path: str | None = None
    error: str | None = None


@tool("dbt", read_only=False, idempotent=True)
def dbt_docs_generate(ctx: ToolContext, args: TargetArgs) -> DocsResult:
    """Generate the dbt docs site (target/index.html) and the warehouse catalog."""
    loc, _ = _prepare(ctx, "docs generate", SelectArgs(target=args.target))
    inv = invoke(loc, ["docs", "generate"], [])
    if not inv.success:
        return DocsResult(ok=False, success=False, catalog_nodes=0, error=inv.error)
    nodes: dict[str, Any] = getattr(inv.result, "nodes", None) or {}
    index = loc.project_dir / "target" / "index.html"
    rel = index.relative_to(loc.project_dir).as_posix() if index.is_file() else None
    return DocsResult(success=True, catalog_nodes=len(nodes), index_path=rel)
