"""One warehouse protocol, two backends (DuckDB embedded, Snowflake), chosen from the dbt target."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from dacrew.errors import ToolError, UserError
from dacrew.tools.base import ToolContext
from dacrew.tools.sql_guard import Dialect


@dataclass
class Rows:
    """What one statement returned: typed columns, JSON-safe rows, and whether the limit cut them."""

    columns: list[tuple[str, str]] = field(default_factory=lambda: list[tuple[str, str]]())
    rows: list[list[Any]] = field(default_factory=lambda: list[list[Any]]())
    truncated: bool = False
    rowcount: int | None = None
    query_id: str | None = None


class Backend(Protocol):
    """What the warehouse tools need from a database."""

    name: str
    dialect: Dialect
    default_database: str | None
    default_schema: str

    def run(
        self,
        sql: str,
        limit: int | None = None,
        params: list[Any] | None = None,
        *,
        drain: bool = False,
        read_only: bool = False,
    ) -> Rows:
        """Run one statement; keep up to ``limit`` rows. ``drain`` fetches every row (timing) and counts
        them in ``rowcount`` while keeping only ``limit``. ``read_only`` asks the database itself to
        refuse any change, where it can (DuckDB opens the file read-only)."""
        ...

    def close(self) -> None: ...


def json_value(value: Any) -> Any:
    """A value the JSON result can carry without losing meaning."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(cast(bytes, value)).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return str(value)


def fetch(cursor: Any, limit: int | None, *, drain: bool) -> tuple[list[list[Any]], bool, int]:
    """``(rows kept, truncated, rows seen)`` from a DB-API cursor, holding at most ``limit`` rows."""
    if limit is None:
        rows = [[json_value(v) for v in row] for row in cursor.fetchall()]
        return rows, False, len(rows)
    if not drain:
        fetched = cursor.fetchmany(limit + 1)
        rows = [[json_value(v) for v in row] for row in fetched[:limit]]
        return rows, len(fetched) > limit, len(rows)
    kept: list[list[Any]] = []
    seen = 0
    while batch := cursor.fetchmany(1000):
        room = limit - len(kept)
        kept.extend([json_value(v) for v in row] for row in batch[: max(room, 0)])
        seen += len(batch)
    return kept, seen > limit, seen


def backend(ctx: ToolContext, target: str | None = None) -> Backend:
    """The warehouse of the dbt profile's target, opened once per context."""
    from dacrew.tools.dbt_profiles import load_target, locate

    loc = locate(ctx, target)

    def factory() -> Backend:
        settings = load_target(loc)
        kind = str(settings["type"])
        if kind == "duckdb":
            from dacrew.tools.warehouse_duckdb import DuckDBBackend

            return DuckDBBackend(settings)
        if kind == "snowflake":
            from dacrew.tools.warehouse_snowflake import SnowflakeBackend

            return SnowflakeBackend(settings)
        raise UserError(
            f"target {loc.target!r} is a {kind} warehouse; dacrew's warehouse tools speak duckdb and snowflake",
            path=str(loc.profiles_file),
        )

    return cast(Backend, ctx.connection(f"warehouse:{loc.profiles_file}:{loc.profile}:{loc.target}", factory))


def require_target_approval(ctx: ToolContext, tool: str, sql: str) -> None:
    """A change on a target other than the profile's own default (moved by ``dbt.target`` in
    dacrew.yml) needs a person's approval of that exact statement. (The profile's own default is the
    warehouse the person set up for the tools, whatever its name.)"""
    from dacrew.tools.dbt_profiles import is_production_target, locate

    loc = locate(ctx)
    if loc.target == loc.profile_target:
        return
    reasons = [f"target {loc.target!r} is not the profile's default target {loc.profile_target!r}"]
    if is_production_target(loc.target, ctx.config.dbt.production_targets):
        reasons.append(f"target {loc.target!r} is a production target")
    ctx.require_approval(
        f"{tool}:target",
        f"{tool}: {'; '.join(reasons)} — needs a person's approval",
        {"tool": tool, "sql": sql, "target": loc.target},
    )


def db_error(exc: Exception) -> ToolError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ToolError(f"the warehouse refused the statement: {first}")
