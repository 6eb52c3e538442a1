"""Which backend serves a dbt target, opened once per tool context, and approval for changes on a target
other than the profile's own."""

from __future__ import annotations

from typing import cast

from dacrew.errors import UserError
from dacrew.tools.base import ToolContext
from dacrew.tools.warehouse.backend import Backend


def backend(ctx: ToolContext, target: str | None = None) -> Backend:
    """The warehouse of the dbt profile's target, opened once per context."""
    from dacrew.tools.profiles import load_target, locate

    loc = locate(ctx, target)

    def factory() -> Backend:
        settings = load_target(loc)
        kind = str(settings["type"])
        if kind == "duckdb":
            from dacrew.tools.warehouse.duckdb_backend import DuckDBBackend

            return DuckDBBackend(settings)
        if kind == "snowflake":
            from dacrew.tools.warehouse.snowflake_backend import SnowflakeBackend

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
    from dacrew.tools.profiles import is_production_target, locate

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
