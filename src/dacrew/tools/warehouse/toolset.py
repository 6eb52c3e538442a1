"""The warehouse toolset: query, execute, describe, list, profile, explain and time SQL on the dbt
profile's target (DuckDB or Snowflake). Every statement passes the SQL guard first (``sql_guard``)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from pydantic import BaseModel, Field

from dacrew.errors import ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.sql.guard import enforce
from dacrew.tools.sql.scope import write_scope
from dacrew.tools.warehouse.backend import Backend
from dacrew.tools.warehouse.connect import backend, require_target_approval
from dacrew.tools.warehouse.metadata import columns_of, object_exists, quote_table, relation_key, tables_in


class Column(BaseModel):
    name: str
    type: str


class QueryResult(ToolResult):
    backend: str
    columns: list[Column]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = False
    """True when the statement returned more rows than ``limit``."""


class QueryArgs(ToolArgs):
    sql: str = Field(description="Exactly one read-only SQL statement (SELECT, WITH … SELECT, SHOW, DESCRIBE).")
    limit: int = Field(default=100, ge=1, le=10_000, description="The most rows to return.")


def _result(wh: Backend, out: Any) -> QueryResult:
    return QueryResult(
        backend=wh.name,
        columns=[Column(name=n, type=t) for n, t in out.columns],
        rows=out.rows,
        row_count=len(out.rows),
        truncated=out.truncated,
    )


@tool("warehouse")
def warehouse_query(ctx: ToolContext, args: QueryArgs) -> QueryResult:
    """Run one read-only SQL statement on the warehouse and return typed columns and up to `limit` rows.

    Reads only: anything that writes, creates, drops or changes the session is refused — use
    warehouse_execute for those. One statement per call.
    """
    wh = backend(ctx)
    enforce(ctx, args.sql, wh.dialect, tool="warehouse_query", read_only=True)
    return _result(wh, wh.run(args.sql, args.limit, read_only=True))


class ExecuteArgs(ToolArgs):
    sql: str = Field(description="Exactly one SQL statement (DDL or DML) to run with your permissions.")


class ExecuteResult(ToolResult):
    backend: str
    statement: str
    """The statement's kind as the guard read it (INSERT, CREATE, ALTER…)."""
    rows_affected: int | None = None
    columns: list[Column] = Field(default_factory=list[Column])
    rows: list[list[Any]] = Field(default_factory=list[list[Any]])


@tool("warehouse", read_only=False)
def warehouse_execute(ctx: ToolContext, args: ExecuteArgs) -> ExecuteResult:
    """Run one SQL statement that changes the warehouse, with your permissions.

    `write` for data changes (INSERT, UPDATE, DELETE, MERGE), `ddl` for objects (CREATE, ALTER…).

    Your write scope is what this run created: INSERT, UPDATE, DELETE, MERGE or ALTER of a relation that
    existed before the run is held for a person's approval whatever its WHERE, and so are DROP,
    TRUNCATE, CREATE OR REPLACE of an existing object, GRANT/REVOKE, CALL, EXECUTE IMMEDIATE and account
    objects (warehouses, shares, policies…). A column type change, rename or drop needs `write` too. Refused: several statements in one call, session
    changes (USE, SET, ALTER SESSION), file and stage I/O, unparseable SQL.
    """
    wh = backend(ctx)
    require_target_approval(ctx, "warehouse_execute", args.sql)
    scope = write_scope(ctx)
    verdict = enforce(
        ctx,
        args.sql,
        wh.dialect,
        tool="warehouse_execute",
        exists=lambda kind, name: object_exists(wh, kind, name),
        created=lambda name: relation_key(wh, name) in scope,
    )
    out = wh.run(args.sql, 100)
    scope.add(relation_key(wh, name) for name in verdict.creates)
    return ExecuteResult(
        backend=wh.name,
        statement=verdict.statement,
        rows_affected=_affected(verdict.statement, out),
        columns=[Column(name=n, type=t) for n, t in out.columns],
        rows=out.rows,
    )


_DML = {"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"}


def _affected(statement: str, out: Any) -> int | None:
    """Rows a DML statement changed: the databases answer with one row of counts (DuckDB `Count`,
    Snowflake `number of rows inserted/updated/deleted`)."""
    if statement not in _DML:
        return None
    if not out.columns:
        return out.rowcount
    if len(out.rows) == 1 and all(isinstance(v, int) for v in out.rows[0]):
        return sum(out.rows[0])
    return None


class TableArgs(ToolArgs):
    table: str = Field(description="A table or view: `name`, `schema.name` or `database.schema.name`.")


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool


class DescribeResult(ToolResult):
    table: str
    columns: list[ColumnInfo]


@tool("warehouse")
def warehouse_describe(ctx: ToolContext, args: TableArgs) -> DescribeResult:
    """The columns of a table or view: name, type and whether it accepts NULL."""
    wh = backend(ctx)
    cols = columns_of(wh, args.table)
    return DescribeResult(table=args.table, columns=[ColumnInfo(name=n, type=t, nullable=nl) for n, t, nl in cols])


class ListArgs(ToolArgs):
    schema_name: str | None = Field(
        default=None, alias="schema", description="Only this schema (default: every schema but the system ones)."
    )


class Relation(BaseModel):
    table_schema: str
    name: str
    type: str


class ListResult(ToolResult):
    schemas: list[str]
    tables: list[Relation]


@tool("warehouse")
def warehouse_list(ctx: ToolContext, args: ListArgs) -> ListResult:
    """List the schemas and the tables and views in them (one schema with `schema`)."""
    wh = backend(ctx)
    rels = tables_in(wh, args.schema_name)
    return ListResult(
        schemas=sorted({r[0] for r in rels}),
        tables=[Relation(table_schema=s, name=n, type=t) for s, n, t in rels],
    )


class ProfileArgs(TableArgs):
    timestamp_column: str | None = Field(default=None, description="A timestamp column to measure freshness from.")


class ColumnProfile(BaseModel):
    name: str
    type: str
    nulls: int
    null_share: float
    distinct: int | None
    min: Any = None
    max: Any = None


class ProfileResult(ToolResult):
    table: str
    row_count: int
    columns: list[ColumnProfile]
    latest: Any = None
    """The newest value of ``timestamp_column``."""
    age_hours: float | None = None
    """Hours between ``latest`` and now (UTC)."""


_NO_MINMAX = ("STRUCT", "MAP", "LIST", "[]", "VARIANT", "OBJECT", "ARRAY", "BLOB", "BINARY", "GEO", "UNION", "JSON")


@tool("warehouse")
def warehouse_profile(ctx: ToolContext, args: ProfileArgs) -> ProfileResult:
    """Profile a table: row count, NULLs, distinct values, min/max per column, and freshness.

    With `timestamp_column`, the latest timestamp and its age in hours.
    """
    from sqlglot import exp

    wh = backend(ctx)
    cols = columns_of(wh, args.table)
    names = {n.lower(): n for n, _, _ in cols}
    ts_col = None
    if args.timestamp_column is not None:
        ts_col = names.get(args.timestamp_column.lower())
        if ts_col is None:
            raise ToolError(
                f"{args.table} has no column {args.timestamp_column!r} (columns: {', '.join(names.values())})"
            )
    parts = ["count(*)"]
    for name, type_, _ in cols:
        q = exp.column(name, quoted=True).sql(wh.dialect)
        simple = not any(word in type_.upper() for word in _NO_MINMAX)
        parts.append(f"count({q})")
        parts.append(f"count(distinct {q})" if simple else "null")
        parts.extend([f"min({q})", f"max({q})"] if simple else ["null", "null"])
    if ts_col is not None:
        parts.append(f"max({exp.column(ts_col, quoted=True).sql(wh.dialect)})")
    row = wh.run(f"select {', '.join(parts)} from {quote_table(wh, args.table)}", 1, read_only=True).rows[0]
    total = int(row[0] or 0)
    profiles: list[ColumnProfile] = []
    for i, (name, type_, _) in enumerate(cols):
        non_null, distinct, lo, hi = row[1 + 4 * i : 5 + 4 * i]
        nulls = total - int(non_null or 0)
        profiles.append(
            ColumnProfile(
                name=name,
                type=type_,
                nulls=nulls,
                null_share=round(nulls / total, 4) if total else 0.0,
                distinct=int(distinct) if distinct is not None else None,
                min=lo,
                max=hi,
            )
        )
    latest = row[-1] if ts_col is not None else None
    return ProfileResult(
        table=args.table, row_count=total, columns=profiles, latest=latest, age_hours=_age_hours(latest)
    )


def _age_hours(latest: Any) -> float | None:
    if not isinstance(latest, str):
        return None
    try:
        when = dt.datetime.fromisoformat(latest)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return round((dt.datetime.now(dt.UTC) - when).total_seconds() / 3600, 2)


class SqlArgs(ToolArgs):
    sql: str = Field(description="Exactly one read-only SQL statement.")


class ExplainResult(ToolResult):
    backend: str
    plan: str


@tool("warehouse")
def warehouse_explain(ctx: ToolContext, args: SqlArgs) -> ExplainResult:
    """The database's query plan for one read-only statement, without running it."""
    wh = backend(ctx)
    enforce(ctx, args.sql, wh.dialect, tool="warehouse_explain", read_only=True)
    body = args.sql.strip().rstrip(";")
    prefix = "EXPLAIN USING TEXT " if wh.dialect == "snowflake" else "EXPLAIN "
    out = wh.run(prefix + body, read_only=True)
    plan = "\n".join(str(r[-1]) for r in out.rows)
    return ExplainResult(backend=wh.name, plan=plan)


class TimedResult(ToolResult):
    backend: str
    elapsed_ms: float
    """Wall time to run the statement and fetch every row."""
    row_count: int
    columns: list[Column]
    sample: list[list[Any]]
    """The first 10 rows."""
    query_id: str | None = None


@tool("warehouse")
def warehouse_timed_query(ctx: ToolContext, args: SqlArgs) -> TimedResult:
    """Time one read-only statement: elapsed ms to run it and fetch every row, the row count, 10 rows.

    Use it to compare query shapes or check a performance target.
    """
    wh = backend(ctx)
    enforce(ctx, args.sql, wh.dialect, tool="warehouse_timed_query", read_only=True)
    start = time.perf_counter()
    out = wh.run(args.sql, 10, drain=True, read_only=True)
    elapsed = (time.perf_counter() - start) * 1000
    return TimedResult(
        backend=wh.name,
        elapsed_ms=round(elapsed, 3),
        row_count=out.rowcount or 0,
        columns=[Column(name=n, type=t) for n, t in out.columns],
        sample=out.rows,
        query_id=out.query_id,
    )
