"""A mart as Tableau sees it: the dbt target's warehouse table, its columns and their Tableau types."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from dacrew.errors import ToolError, UserError
from dacrew.tools.base import ToolContext
from dacrew.tools.tableau.types import TableauType, hyper_type_of

ENV_VAR_RE = re.compile(r"\{\{\s*env_var\(\s*['\"](\w+)['\"]\s*(?:,\s*['\"]([^'\"]*)['\"]\s*)?\)\s*\}\}")

TABLE_RE = re.compile(r"^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}$")


# -- reading the warehouse table -------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    source_type: str
    datatype: str
    """Tableau's datatype: integer, real, string, boolean, date or datetime."""
    select: str
    """The SELECT expression that yields a value Hyper accepts for this column."""
    hyper: str = "TEXT"
    """The Hyper column type (``NUMERIC(38,10)``, ``TIMESTAMP_TZ``…)."""
    note: str = ""
    """Why the column's values are not kept as they are (no Hyper equivalent); empty when they are."""


def hyperapi() -> Any:
    """tableauhyperapi, imported on first use (it is heavy) and untyped for the checker."""
    return importlib.import_module("tableauhyperapi")


def yaml_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise UserError("cannot read the file", path=str(path)) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", path=str(path)) from None
    return cast(dict[str, Any], data) if isinstance(data, dict) else {}


def render_env(value: str) -> str:
    def sub(m: re.Match[str]) -> str:
        found = os.environ.get(m[1], m[2] or "")
        if m[1] not in os.environ and m[2] is None:
            raise UserError(f"the dbt profile needs the environment variable {m[1]}")
        return found

    return ENV_VAR_RE.sub(sub, value)


def dbt_target(ctx: ToolContext) -> tuple[dict[str, Any], Path, str]:
    """The dbt profile's target as written (env_var() rendered), the dbt project folder, the target name."""
    cfg = ctx.config.dbt
    dbt_dir = (ctx.project_dir / (cfg.project_dir or ".")).resolve()
    profile = cfg.profile or yaml_file(dbt_dir / "dbt_project.yml").get("profile")
    candidates = [
        Path(cfg.profiles_dir) if cfg.profiles_dir else None,
        Path(os.environ["DBT_PROFILES_DIR"]) if os.environ.get("DBT_PROFILES_DIR") else None,
        dbt_dir,
        ctx.project_dir,
        Path.home() / ".dbt",
    ]
    profiles_file = next(
        (
            (ctx.project_dir / d / "profiles.yml")
            for d in candidates
            if d is not None and (ctx.project_dir / d / "profiles.yml").is_file()
        ),
        None,
    )
    if profiles_file is None or not isinstance(profile, str):
        raise UserError("no dbt profile found (profiles.yml and `profile:` in dbt_project.yml)")
    entry: Any = yaml_file(profiles_file).get(profile)
    if not isinstance(entry, dict):
        raise UserError(f"profile {profile!r} is not in the file", path=str(profiles_file))
    profile_entry = cast(dict[str, Any], entry)
    target = str(cfg.target or profile_entry.get("target"))
    outputs: Any = profile_entry.get("outputs") or {}
    output: Any = cast(dict[str, Any], outputs).get(target) if isinstance(outputs, dict) else None
    if not isinstance(output, dict):
        raise UserError(f"profile {profile!r} has no output {target!r}", path=str(profiles_file))
    rendered = {k: render_env(v) if isinstance(v, str) else v for k, v in cast(dict[str, Any], output).items()}
    return rendered, dbt_dir, target


def duckdb_path(ctx: ToolContext) -> Path:
    """The DuckDB file of the dbt profile's target (dbt.project_dir, dbt.profiles_dir, dbt.target)."""
    output, dbt_dir, target = dbt_target(ctx)
    if output.get("type") != "duckdb":
        raise ToolError(f"target {target!r} is {output.get('type')}, not DuckDB: there is no local file to read")
    raw = str(output.get("path", ":memory:"))
    if raw.startswith(":memory:") or raw.startswith("md:"):
        raise ToolError(f"target {target!r} has no DuckDB file (path {raw!r}) to read the table from")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else dbt_dir / path


def tableau_type(source_type: str) -> TableauType:
    """Tableau's datatype for a DuckDB or Snowflake column type."""
    return hyper_type_of(source_type).datatype


def column(name: str, source_type: str) -> Column:
    """The column as the extract and the .tds hold it (:mod:`dacrew.tools.tableau.types`)."""
    quoted = '"' + name.replace('"', '""') + '"'
    mapped = hyper_type_of(source_type)
    if mapped.hyper == "INTERVAL":
        # Hyper's INTERVAL keeps months, days and microseconds apart, as DuckDB does.
        select = (
            f"[datepart('year', {quoted}) * 12 + datepart('month', {quoted}), datepart('day', {quoted}), "
            f"(datepart('hour', {quoted}) * 60 + datepart('minute', {quoted})) * 60000000 "
            f"+ datepart('microseconds', {quoted})]"
        )
    else:
        select = f"CAST({quoted} AS {mapped.cast})" if mapped.cast else quoted
    return Column(name, source_type, mapped.datatype, select, mapped.hyper, mapped.note)


@contextmanager
def open_table(ctx: ToolContext, table: str) -> Generator[tuple[Any, list[Column], str]]:
    """A DuckDB connection, the table's columns and its quoted name; closed on exit.

    The connection is held under the process lock that dbt and the warehouse toolset take around their
    own use of the file: DuckDB refuses a second configuration of an open file in one process, so
    tasks running side by side take turns rather than fail.
    """
    import duckdb

    from dacrew.tools.base import WAREHOUSE_FILE_LOCK

    if not TABLE_RE.match(table):
        raise ToolError(f"{table!r} is not a table name: use table, schema.table or database.schema.table")
    path = duckdb_path(ctx)
    if not path.is_file():
        raise ToolError(f"the warehouse file {path.name} does not exist yet: build the models first (dbt_build)")
    with WAREHOUSE_FILE_LOCK:
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException:
            # Another connection in this process holds the file read-write: share its configuration.
            con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            raise ToolError(f"cannot open the warehouse file {path.name}: {exc}") from None
        quoted = ".".join('"' + part + '"' for part in table.split("."))
        try:
            try:
                described = con.execute(f"DESCRIBE {quoted}").fetchall()
            except duckdb.CatalogException:
                raise ToolError(f"no table {table} in the warehouse; build it first or check the schema") from None
            yield con, [column(str(r[0]), str(r[1])) for r in described], quoted
        finally:
            con.close()


def warehouse_tool(ctx: ToolContext, name: str, args: dict[str, Any]) -> Any:
    """A call to the warehouse toolset (looked up when needed): it holds the Snowflake connection."""
    from dacrew.tools.registry import load_all

    found = load_all().get(name)
    if found is None:
        raise ToolError(f"reading a Snowflake table needs the warehouse toolset's {name}, which is not installed")
    return found.call(ctx, args)


def table_shape(ctx: ToolContext, table: str) -> tuple[list[Column], int]:
    """The table's columns and row count, from DuckDB directly or from Snowflake through the warehouse."""
    if not TABLE_RE.match(table):
        raise ToolError(f"{table!r} is not a table name: use table, schema.table or database.schema.table")
    output, _, _ = dbt_target(ctx)
    if output.get("type") == "snowflake":
        parts = [p.upper() for p in table.split(".")]
        database = parts[-3] if len(parts) == 3 else str(output.get("database", "")).upper()
        schema = parts[-2] if len(parts) >= 2 else str(output.get("schema", "")).upper()
        # information_schema keeps NUMBER's scale, which tells whole numbers from money.
        described = warehouse_tool(
            ctx,
            "warehouse_query",
            {
                "sql": "select column_name, data_type, numeric_precision, numeric_scale "
                f"from {database}.information_schema.columns where table_schema = '{schema}' "
                f"and table_name = '{parts[-1]}' order by ordinal_position"
            },
        )
        if not described.rows:
            raise ToolError(f"no table {table} in the warehouse; build it first or check the schema")
        columns = [
            column(str(name), f"{kind}({precision},{scale})" if scale is not None else str(kind))
            for name, kind, precision, scale in described.rows
        ]
        counted = warehouse_tool(ctx, "warehouse_query", {"sql": f"select count(*) from {table}"})
        return columns, int(counted.rows[0][0])
    with open_table(ctx, table) as (con, columns, quoted):
        return columns, int(con.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()[0])
