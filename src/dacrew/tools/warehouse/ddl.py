"""``warehouse_apply_ddl``: Snowflake-only DDL (clustering keys, search optimisation, row access
policies, materialized views, grants), validated with sqlglot's Snowflake dialect.

On Snowflake it is applied (after the SQL guard). On DuckDB it cannot run, so it is appended to
``snowflake/planned_ddl.sql`` in the project — a reviewable file to apply on Snowflake later — and the
result says it was planned, not applied.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import Field

from dacrew.errors import ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, project_lock, tool
from dacrew.tools.sql.guard import classify, enforce
from dacrew.tools.sql.scope import write_scope
from dacrew.tools.warehouse.connect import backend, require_target_approval
from dacrew.tools.warehouse.metadata import object_exists, relation_key

PLANNED_DDL_FILE = "snowflake/planned_ddl.sql"

# The kinds this tool takes, each matched on the statement as sqlglot's Snowflake dialect reads it.
_KINDS: list[tuple[str, re.Pattern[str]]] = [
    (
        "clustering_key",
        re.compile(r"^ALTER\s+TABLE\s+\S+\s+(CLUSTER\s+BY|DROP\s+CLUSTERING\s+KEY|(RESUME|SUSPEND)\s+RECLUSTER)\b"),
    ),
    ("search_optimization", re.compile(r"^ALTER\s+TABLE\s+\S+\s+(ADD|DROP)\s+SEARCH\s+OPTIMIZATION\b")),
    ("row_access_policy", re.compile(r"^ALTER\s+TABLE\s+\S+\s+(ADD|DROP)\s+ROW\s+ACCESS\s+POLICY\b")),
    ("row_access_policy", re.compile(r"^CREATE\s+(OR\s+REPLACE\s+)?ROW\s+ACCESS\s+POLICY\b")),
    ("materialized_view", re.compile(r"^CREATE\s+(OR\s+REPLACE\s+)?(SECURE\s+)?MATERIALIZED\s+VIEW\b")),
    ("grant", re.compile(r"^(GRANT|REVOKE)\b")),
]
_POLICY = re.compile(
    r"^CREATE\s+(OR\s+REPLACE\s+)?ROW\s+ACCESS\s+POLICY\s+(IF\s+NOT\s+EXISTS\s+)?(?P<name>[\w.$\"]+)\s+AS\s*"
    r"\((?P<args>[^)]*)\)\s*RETURNS\s+BOOLEAN\s*->\s*(?P<body>.+)$",
    re.IGNORECASE | re.DOTALL,
)


class DdlArgs(ToolArgs):
    sql: str = Field(
        description="One Snowflake DDL statement: ALTER TABLE … CLUSTER BY / ADD SEARCH OPTIMIZATION / "
        "ADD ROW ACCESS POLICY, CREATE ROW ACCESS POLICY, CREATE MATERIALIZED VIEW, GRANT or REVOKE."
    )


class DdlResult(ToolResult):
    kind: str
    """clustering_key, search_optimization, row_access_policy, materialized_view or grant."""
    applied: bool
    """True when it ran on Snowflake."""
    planned: bool
    """True when the warehouse is DuckDB: the statement was recorded, not run."""
    recorded_in: str | None = None
    message: str


def ddl_kind(sql: str) -> str:
    """The kind of Snowflake-only DDL ``sql`` is, validated with sqlglot; a :class:`ToolError` otherwise."""
    text = " ".join(sql.strip().rstrip(";").split())
    upper = text.upper()
    kind = next((k for k, pattern in _KINDS if pattern.match(upper)), None)
    if kind is None:
        raise ToolError(
            "warehouse_apply_ddl takes Snowflake-only DDL (clustering keys, search optimisation, row access "
            "policies, materialized views, grants); use warehouse_execute for other statements"
        )
    policy = _POLICY.match(text)
    if policy is not None:
        _check_policy(policy)
        return kind
    verdict = classify(text, "snowflake")
    if verdict.refused:
        raise ToolError(f"not valid Snowflake DDL ({verdict.refused}): {verdict.reason}")
    return kind


def _check_policy(match: re.Match[str]) -> None:
    """sqlglot has no grammar for CREATE ROW ACCESS POLICY: check its parts with sqlglot instead."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        sqlglot.parse_one(f"CREATE TABLE _policy_args ({match['args']})", read="snowflake")
        body = sqlglot.parse_one(match["body"], read="snowflake")
    except SqlglotError as exc:
        raise ToolError(f"not valid Snowflake DDL: {str(exc).splitlines()[0]}") from None
    if ";" in match["body"] or isinstance(body, exp.Command):
        raise ToolError("a row access policy body is one boolean expression")


@tool("warehouse", read_only=False)
def warehouse_apply_ddl(ctx: ToolContext, args: DdlArgs) -> DdlResult:
    """Apply Snowflake-only DDL: clustering keys, search optimisation, row access policies, grants…

    Also materialized views. Validated first; needs the ddl permission; GRANT/REVOKE and replacing an
    existing object need a person's approval.

    On Snowflake the statement runs. On the embedded DuckDB warehouse it cannot: it is recorded in
    snowflake/planned_ddl.sql for the Snowflake deployment, and the result says planned, not applied.
    """
    kind = ddl_kind(args.sql)
    wh = backend(ctx)
    require_target_approval(ctx, "warehouse_apply_ddl", args.sql)
    if _POLICY.match(" ".join(args.sql.split())) is None:
        scope = write_scope(ctx)
        enforce(
            ctx,
            args.sql,
            "snowflake",
            tool="warehouse_apply_ddl",
            exists=lambda kind, name: object_exists(wh, kind, name),
            # On DuckDB the statement is only recorded, never run: it touches no relation.
            created=lambda name: wh.dialect != "snowflake" or relation_key(wh, name) in scope,
        )
    else:
        _require_ddl_for_policy(ctx, args.sql)
    if wh.dialect == "snowflake":
        wh.run(args.sql)
        return DdlResult(kind=kind, applied=True, planned=False, message=f"{kind} applied on Snowflake")
    path = _record(ctx, args.sql.strip().rstrip(";") + ";")
    return DdlResult(
        kind=kind,
        applied=False,
        planned=True,
        recorded_in=PLANNED_DDL_FILE,
        message=f"DuckDB cannot run Snowflake {kind} DDL: recorded as planned DDL in {path}, not applied",
    )


def _require_ddl_for_policy(ctx: ToolContext, sql: str) -> None:
    """sqlglot cannot parse CREATE ROW ACCESS POLICY whole: its body, the expression that runs for every
    row read, is judged by the SQL guard as ``SELECT <body>`` and must be a read."""
    from dacrew.errors import GuardRefused

    match = _POLICY.match(" ".join(sql.split()))
    body = match["body"].strip().rstrip(";") if match else ""
    verdict = classify(f"SELECT {body}", "snowflake")
    if not body or not verdict.is_read:
        raise GuardRefused(
            f"warehouse_apply_ddl: a row access policy body must be a read-only expression ({verdict.reason})",
            rule=verdict.refused or "read_only",
        )
    if not ctx.can("ddl"):
        raise GuardRefused("warehouse_apply_ddl: a row access policy needs the ddl permission", rule="permission")
    if re.match(r"\s*CREATE\s+OR\s+REPLACE\b", sql, re.IGNORECASE):
        ctx.require_approval(
            "warehouse_apply_ddl:replace_existing",
            "warehouse_apply_ddl: CREATE OR REPLACE of a row access policy — needs a person's approval",
            {"tool": "warehouse_apply_ddl", "sql": sql, "dialect": "snowflake"},
        )


def _record(ctx: ToolContext, statement: str) -> str:
    """Append to the planned DDL file once (a repeated call records nothing new)."""
    path = ctx.project_dir / PLANNED_DDL_FILE
    with project_lock("planned_ddl", ctx.project_dir):
        existing = path.read_text(encoding="utf-8") if path.is_file() else ""
        if statement in existing:
            return PLANNED_DDL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        who = " ".join(x for x in (ctx.task_id, ctx.agent) if x) or "dacrew tools call"
        header = "" if existing else "-- Snowflake DDL planned on the embedded warehouse; apply on Snowflake.\n"
        Path(path).write_text(existing + header + f"\n-- {stamp} {who}\n{statement}\n", encoding="utf-8")
    return PLANNED_DDL_FILE
