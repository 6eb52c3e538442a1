"""Catalogue look-ups shared by the warehouse tools, through ``information_schema`` on both backends.
Names the model gives are parsed with sqlglot and only ever reach SQL as quoted literals."""

from __future__ import annotations

import re

from dacrew.errors import ToolError
from dacrew.tools.warehouse.backend import Backend

# One to three dot-separated parts, each a plain or a double-quoted identifier: nothing else reaches SQL.
_PART = r'(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)'
_TABLE_NAME = re.compile(rf"^(?:{_PART}\.){{0,2}}{_PART}$")
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


def split_table(wh: Backend, table: str) -> tuple[str | None, str, str]:
    """``(database, schema, name)`` of a table reference; a :class:`ToolError` when it is not one."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    ref = None
    if _TABLE_NAME.match(table.strip()):
        try:
            ref = exp.to_table(table.strip(), dialect=wh.dialect)
        except SqlglotError:
            ref = None
    if not isinstance(ref, exp.Table) or not ref.name or ref.args.get("alias") is not None:
        raise ToolError(f"{table!r} is not a table name: use name, schema.name or database.schema.name")
    return (ref.catalog or None, ref.db or wh.default_schema, ref.name)


def relation_key(wh: Backend, name: str) -> str:
    """How a run's write scope names a relation: ``schema.name`` lower case, with the database first
    when one other than the default is named (a name that is not a table reference: itself, lower case)."""
    try:
        db, schema, table = split_table(wh, name)
    except ToolError:
        return name.lower()
    if db is None or db.lower() == (wh.default_database or "").lower():
        return f"{schema}.{table}".lower()
    return f"{db}.{schema}.{table}".lower()


def quote_table(wh: Backend, table: str) -> str:
    from sqlglot import exp

    db, schema, name = split_table(wh, table)
    return exp.table_(name, db=schema, catalog=db, quoted=True).sql(wh.dialect)


def _literal(value: str) -> str:
    from sqlglot import exp

    return exp.Literal.string(value).sql()


def _info_schema(wh: Backend, database: str | None) -> str:
    from sqlglot import exp

    name = database or wh.default_database
    if wh.dialect == "snowflake" and name:
        return f"{exp.Identifier(this=name, quoted=True).sql('snowflake')}.information_schema"
    return "information_schema"


def columns_of(wh: Backend, table: str) -> list[tuple[str, str, bool]]:
    """``(name, type, nullable)`` per column, in order; a :class:`ToolError` naming the table if absent."""
    db, schema, name = split_table(wh, table)
    where = f"upper(table_schema) = upper({_literal(schema)}) and upper(table_name) = upper({_literal(name)})"
    if db and wh.dialect == "duckdb":
        where += f" and upper(table_catalog) = upper({_literal(db)})"
    out = wh.run(
        f"select column_name, data_type, is_nullable from {_info_schema(wh, db)}.columns "
        f"where {where} order by ordinal_position",
        read_only=True,
    )
    if not out.rows:
        raise ToolError(f"no table or view {table!r} (schema {schema}); warehouse_list shows what exists")
    return [(str(r[0]), str(r[1]), str(r[2]).upper() in {"YES", "TRUE", "Y"}) for r in out.rows]


def tables_in(wh: Backend, schema: str | None) -> list[tuple[str, str, str]]:
    """``(schema, name, type)`` of every table and view, in one schema or in all but the system ones."""
    system = ", ".join(_literal(s) for s in _SYSTEM_SCHEMAS)
    where = f"lower(table_schema) not in ({system})"
    if schema is not None:
        where += f" and upper(table_schema) = upper({_literal(schema)})"
    out = wh.run(
        f"select table_schema, table_name, table_type from {_info_schema(wh, None)}.tables where {where} order by 1, 2",
        read_only=True,
    )
    return [(str(r[0]), str(r[1]), str(r[2])) for r in out.rows]


def object_exists(wh: Backend, kind: str, name: str) -> bool:
    """True if the object exists. Tables, views and schemas are looked up; any other kind, and a
    look-up that fails, count as existing (the caller then holds the request for approval)."""
    try:
        if kind.upper() == "SCHEMA":
            parts = [p.strip('"') for p in name.split(".")]
            db, schema = (parts[-2] if len(parts) > 1 else None), parts[-1]
            out = wh.run(
                f"select 1 from {_info_schema(wh, db)}.schemata where upper(schema_name) = upper({_literal(schema)})",
                read_only=True,
            )
            return bool(out.rows)
        if kind.upper() not in {"TABLE", "VIEW"}:
            return True
        db, schema, table = split_table(wh, name)
        out = wh.run(
            f"select 1 from {_info_schema(wh, db)}.tables where upper(table_schema) = upper({_literal(schema)}) "
            f"and upper(table_name) = upper({_literal(table)})",
            read_only=True,
        )
    except ToolError:
        return True
    return bool(out.rows)
