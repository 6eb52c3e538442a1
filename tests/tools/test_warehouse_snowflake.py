"""The Snowflake backend through fakesnow: patch mode, and the real connector against fakesnow's local
server reached through a dbt profile (host, port and protocol as written, password from env_var())."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakesnow
import pytest

from dacrew.errors import ApprovalRequired, GuardRefused
from dacrew.tools.base import ToolContext
from dacrew.tools.warehouse.ddl import DdlArgs, warehouse_apply_ddl
from dacrew.tools.warehouse.snowflake_backend import connect_kwargs
from dacrew.tools.warehouse.toolset import (
    ExecuteArgs,
    ListArgs,
    ProfileArgs,
    QueryArgs,
    TableArgs,
    warehouse_describe,
    warehouse_execute,
    warehouse_list,
    warehouse_profile,
    warehouse_query,
)

ALL = frozenset({"read", "write", "ddl"})


def _project(root: Path, output: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: sf\nprofile: sf\n")
    (root / "profiles.yml").write_text(f"sf:\n  target: dev\n  outputs:\n    dev:\n{output}")
    return root


def _seed(ctx: ToolContext) -> None:
    warehouse_execute(ctx, ExecuteArgs(sql="create table orders (id int, amount number(10,2), created_at timestamp)"))
    inserted = warehouse_execute(
        ctx,
        ExecuteArgs(sql="insert into orders values (1, 10.5, '2024-01-01 00:00:00'), (2, null, '2024-01-02 00:00:00')"),
    )
    assert inserted.rows_affected == 2


def test_connect_kwargs_take_the_target_as_written() -> None:
    kwargs = connect_kwargs(
        {
            "type": "snowflake",
            "account": "acme",
            "user": "u",
            "password": "p",
            "host": "proxy.local",
            "port": "8443",
            "protocol": "https",
            "database": "analytics",
            "schema": "marts",
            "warehouse": "wh",
            "role": "transformer",
            "threads": 4,
        }
    )
    assert kwargs == {
        "account": "acme", "user": "u", "password": "p", "host": "proxy.local", "port": 8443, "protocol": "https",
        "database": "analytics", "schema": "marts", "warehouse": "wh", "role": "transformer", "application": "dacrew",
    }  # fmt: skip


def test_patch_mode(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p",
        "      type: snowflake\n      account: acme\n      user: u\n      password: p\n"
        "      database: analytics\n      schema: marts\n",
    )
    with fakesnow.patch(nop_regexes=[r"^ALTER TABLE .* CLUSTER BY"]):
        ctx = ToolContext(project_dir=root, agent="snowflake-expert", permissions=ALL)
        try:
            _seed(ctx)
            out = warehouse_query(ctx, QueryArgs(sql="select id, amount from orders order by id"))
            assert [c.name for c in out.columns] == ["ID", "AMOUNT"]
            # NUMBER(10,2) keeps its scale: an exact decimal string (see dacrew.tools.values).
            assert out.rows == [[1, "10.50"], [2, None]]
            assert [c.type for c in out.columns] == ["NUMBER(38,0)", "NUMBER(10,2)"]
            assert [c.name for c in warehouse_describe(ctx, TableArgs(table="marts.orders")).columns] == [
                "ID",
                "AMOUNT",
                "CREATED_AT",
            ]
            applied = warehouse_apply_ddl(ctx, DdlArgs(sql="ALTER TABLE orders CLUSTER BY (created_at)"))
            assert (applied.applied, applied.planned) == (True, False)
            assert not (root / "snowflake").exists()
            with pytest.raises(GuardRefused, match="warehouse_execute"):
                warehouse_query(
                    ctx, QueryArgs(sql="merge into orders o using orders s on o.id = s.id when matched then delete")
                )
            with pytest.raises(ApprovalRequired):
                warehouse_execute(ctx, ExecuteArgs(sql="truncate table orders"))
        finally:
            ctx.close()


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, Any]]:
    with fakesnow.server() as kwargs:
        yield kwargs


def test_real_connector_against_the_local_server(
    tmp_path: Path, server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_PASSWORD", str(server["password"]))
    root = _project(
        tmp_path / "p",
        f"      type: snowflake\n      account: {server['account']}\n      user: {server['user']}\n"
        "      password: \"{{ env_var('SF_PASSWORD') }}\"\n"
        f"      host: {server['host']}\n      port: {server['port']}\n      protocol: {server['protocol']}\n"
        "      database: analytics\n      schema: marts\n"
        "      session_parameters: {CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED: false}\n",
    )
    ctx = ToolContext(project_dir=root, agent="snowflake-expert", permissions=ALL)
    try:
        _seed(ctx)
        out = warehouse_query(ctx, QueryArgs(sql="select count(*) as n, sum(amount) as total from orders"))
        assert out.rows == [[2, 10.5]]
        assert [t.name for t in warehouse_list(ctx, ListArgs()).tables] == ["ORDERS"]
        profile = warehouse_profile(ctx, ProfileArgs(table="orders", timestamp_column="created_at"))
        amount = next(c for c in profile.columns if c.name == "AMOUNT")
        assert (profile.row_count, amount.nulls, amount.null_share) == (2, 1, 0.5)
        assert profile.latest == "2024-01-02T00:00:00"
        with pytest.raises(GuardRefused, match="session"):
            warehouse_execute(ctx, ExecuteArgs(sql="use role accountadmin"))
    finally:
        ctx.close()
