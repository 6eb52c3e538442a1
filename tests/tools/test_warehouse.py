"""The warehouse toolset on DuckDB (the built shop project): query, execute, describe, list, profile,
explain, timed query and planned Snowflake DDL; and how the dbt profile is found and rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from dacrew.errors import ApprovalRequired, GuardRefused, ToolError, UserError
from dacrew.tools.base import ToolContext
from dacrew.tools.profiles import load_target, locate
from dacrew.tools.warehouse.ddl import DdlArgs, warehouse_apply_ddl
from dacrew.tools.warehouse.toolset import (
    ExecuteArgs,
    ListArgs,
    ProfileArgs,
    QueryArgs,
    SqlArgs,
    TableArgs,
    warehouse_describe,
    warehouse_execute,
    warehouse_explain,
    warehouse_list,
    warehouse_profile,
    warehouse_query,
    warehouse_timed_query,
)

ALL = frozenset({"read", "write", "ddl"})


@pytest.fixture
def scratch(tmp_path: Path, shop_dir: Path) -> Path:
    """A private copy of the built shop project, for tests that change the warehouse."""
    root = tmp_path / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("target", "logs"))
    return root


def test_query_returns_typed_columns_and_honours_the_limit(shop_ctx: ToolContext) -> None:
    out = warehouse_query(shop_ctx, QueryArgs(sql="select order_id, status from orders order by order_id", limit=3))
    assert [(c.name, c.type) for c in out.columns] == [("order_id", "INTEGER"), ("status", "VARCHAR")]
    assert out.rows == [[1, "completed"], [2, "shipped"], [3, "placed"]]
    assert out.truncated is True
    assert out.row_count == 3


def test_query_refuses_anything_but_reads(shop_ctx: ToolContext) -> None:
    shop_ctx.permissions = ALL
    with pytest.raises(GuardRefused, match="warehouse_execute"):
        warehouse_query(shop_ctx, QueryArgs(sql="delete from orders where order_id = 1"))
    with pytest.raises(GuardRefused, match="multi_statement"):
        warehouse_query(shop_ctx, QueryArgs(sql="select 1; drop table orders"))
    assert warehouse_query(shop_ctx, QueryArgs(sql="select count(*) from orders")).rows == [[5]]


def test_describe_list_and_profile(shop_ctx: ToolContext) -> None:
    described = warehouse_describe(shop_ctx, TableArgs(table="main.customers"))
    assert [c.name for c in described.columns][:2] == ["customer_id", "first_name"]
    listed = warehouse_list(shop_ctx, ListArgs.model_validate({"schema": "main"}))
    kinds = {t.name: t.type for t in listed.tables}
    assert kinds["orders"] == "BASE TABLE"
    assert kinds["stg_orders"] == "VIEW"
    profile = warehouse_profile(shop_ctx, ProfileArgs(table="customers", timestamp_column=None))
    cols = {c.name: c for c in profile.columns}
    assert profile.row_count == 4
    assert (cols["customer_lifetime_value"].nulls, cols["customer_lifetime_value"].null_share) == (1, 0.25)
    assert (cols["number_of_orders"].min, cols["number_of_orders"].max, cols["number_of_orders"].distinct) == (0, 2, 3)
    fresh = warehouse_profile(shop_ctx, ProfileArgs(table="orders", timestamp_column="ORDER_DATE"))
    assert fresh.latest == "2024-02-03"
    assert fresh.age_hours is not None
    assert fresh.age_hours > 24 * 300
    with pytest.raises(ToolError, match="no table or view"):
        warehouse_describe(shop_ctx, TableArgs(table="nope"))
    with pytest.raises(ToolError, match="not a table name"):
        warehouse_describe(shop_ctx, TableArgs(table="orders; drop table orders"))


def test_explain_and_timed_query(shop_ctx: ToolContext) -> None:
    plan = warehouse_explain(shop_ctx, SqlArgs(sql="select * from orders where amount > 10"))
    assert "orders" in plan.plan.lower()
    timed = warehouse_timed_query(shop_ctx, SqlArgs(sql="select * from orders"))
    assert timed.row_count == 5
    assert timed.elapsed_ms > 0
    assert len(timed.sample) == 5
    many = warehouse_timed_query(shop_ctx, SqlArgs(sql="select * from range(2500)"))
    assert many.row_count == 2500
    assert many.sample == [[i] for i in range(10)]
    with pytest.raises(GuardRefused):
        warehouse_timed_query(shop_ctx, SqlArgs(sql="update orders set amount = 0 where true"))


def test_execute_applies_permissions_and_approvals(scratch: Path) -> None:
    reader = ToolContext(project_dir=scratch)
    with pytest.raises(GuardRefused, match="permission"):
        warehouse_execute(reader, ExecuteArgs(sql="create table notes (id int)"))
    ctx = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL)
    created = warehouse_execute(ctx, ExecuteArgs(sql="create table notes (id int)"))
    assert created.statement == "CREATE"
    inserted = warehouse_execute(ctx, ExecuteArgs(sql="insert into notes values (1), (2)"))
    assert (inserted.statement, inserted.rows_affected) == ("INSERT", 2)
    # notes is in the call's write scope (it created it): no approval, whatever the WHERE.
    assert warehouse_execute(ctx, ExecuteArgs(sql="delete from notes where id = 3")).rows_affected == 0
    # orders existed before: held whatever the predicate says, with the 'every row' line in the message.
    with pytest.raises(ApprovalRequired, match="existed before") as held:
        warehouse_execute(ctx, ExecuteArgs(sql="delete from orders where id is not null"))
    assert "every row" not in held.value.message
    with pytest.raises(ApprovalRequired, match=r"(?s)every row.*existed before"):
        warehouse_execute(ctx, ExecuteArgs(sql="update orders set amount = 0 where 1 = 1"))
    with pytest.raises(ApprovalRequired):
        warehouse_execute(ctx, ExecuteArgs(sql="drop table notes"))
    # Replacing an object that does not exist yet is a plain create; replacing one that does is held.
    warehouse_execute(ctx, ExecuteArgs(sql="create or replace view v_notes as select * from notes"))
    with pytest.raises(ApprovalRequired, match="existing"):
        warehouse_execute(ctx, ExecuteArgs(sql="create or replace view v_notes as select 1 as id"))
    assert warehouse_query(ctx, QueryArgs(sql="select count(*) from v_notes")).rows == [[2]]


def test_write_scope_is_the_runs_own_relations(scratch: Path) -> None:
    """What a run created stays in its scope across its tasks and a resume; another run (or a call)
    finds it existing and is held."""
    first = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL, run_id="r1", task_id="T1")
    warehouse_execute(first, ExecuteArgs(sql="create table main.scratch_notes as select 1 as id"))
    later = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL, run_id="r1", task_id="T2")
    warehouse_execute(later, ExecuteArgs(sql="update scratch_notes set id = 2"))
    warehouse_execute(later, ExecuteArgs(sql="alter table scratch_notes alter id type bigint using id * 10"))
    assert warehouse_query(later, QueryArgs(sql="select id from scratch_notes")).rows == [[20]]
    other = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL, run_id="r2")
    with pytest.raises(ApprovalRequired, match="scratch_notes, which existed before"):
        warehouse_execute(other, ExecuteArgs(sql="delete from main.scratch_notes where id = 20"))
    call = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL)
    with pytest.raises(ApprovalRequired):
        warehouse_execute(call, ExecuteArgs(sql="insert into scratch_notes values (3)"))
    assert warehouse_query(call, QueryArgs(sql="select id from scratch_notes")).rows == [[20]]


def test_snowflake_ddl_is_planned_on_duckdb(scratch: Path) -> None:
    ctx = ToolContext(
        project_dir=scratch, agent="snowflake-expert", task_id="T007", permissions=frozenset({"read", "ddl"})
    )
    out = warehouse_apply_ddl(ctx, DdlArgs(sql="ALTER TABLE orders CLUSTER BY (order_date)"))
    assert (out.kind, out.applied, out.planned) == ("clustering_key", False, True)
    assert "planned" in out.message
    warehouse_apply_ddl(ctx, DdlArgs(sql="alter table orders add search optimization on equality(status)"))
    warehouse_apply_ddl(
        ctx,
        DdlArgs(sql="create row access policy region_rap as (region varchar) returns boolean -> region = 'EU'"),
    )
    warehouse_apply_ddl(
        ctx, DdlArgs(sql="CREATE MATERIALIZED VIEW mv_orders AS SELECT status, count(*) n FROM orders GROUP BY 1")
    )
    warehouse_apply_ddl(ctx, DdlArgs(sql="ALTER TABLE orders CLUSTER BY (order_date)"))  # recorded once
    planned = (scratch / "snowflake" / "planned_ddl.sql").read_text()
    assert planned.count("CLUSTER BY (order_date);") == 1
    assert "T007 snowflake-expert" in planned
    assert "row access policy region_rap" in planned
    with pytest.raises(ApprovalRequired):
        warehouse_apply_ddl(ctx, DdlArgs(sql="GRANT SELECT ON TABLE orders TO ROLE analyst"))
    with pytest.raises(ToolError, match="warehouse_execute"):
        warehouse_apply_ddl(ctx, DdlArgs(sql="DROP TABLE orders"))
    with pytest.raises(ToolError, match="not valid"):
        warehouse_apply_ddl(ctx, DdlArgs(sql="ALTER TABLE orders CLUSTER BY (order_date); DROP TABLE orders"))
    with pytest.raises(GuardRefused, match="ddl"):
        warehouse_apply_ddl(ToolContext(project_dir=scratch), DdlArgs(sql="ALTER TABLE orders CLUSTER BY (status)"))
    # Nothing ran on DuckDB: the table is as dbt built it.
    assert warehouse_query(ctx, QueryArgs(sql="select count(*) from orders")).rows == [[5]]


def _project(root: Path, profiles: str, *, profiles_dir: Path | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    ((profiles_dir or root) / "profiles.yml").write_text(profiles)
    return root


def test_duckdb_path_resolves_against_the_project_not_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p", "p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: data/wh.duckdb}\n")
    (root / "data").mkdir()
    with duckdb.connect(str(root / "data" / "wh.duckdb")) as conn:
        conn.execute("create table t as select 42 as answer")
    monkeypatch.chdir(tmp_path)
    ctx = ToolContext(project_dir=root)
    assert warehouse_query(ctx, QueryArgs(sql="select answer from t")).rows == [[42]]
    assert load_target(locate(ctx))["path"] == str((root / "data" / "wh.duckdb").resolve())


def test_profiles_dir_order_and_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "p:\n  target: \"{{ env_var('P_TARGET', 'dev') }}\"\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('P_DB') }}\"\n      threads: \"{{ env_var('P_THREADS', '2') | as_number }}\"\n"
    root = _project(tmp_path / "p", text)
    monkeypatch.setenv("P_DB", "x.duckdb")
    ctx = ToolContext(project_dir=root)
    loc = locate(ctx)
    assert (loc.profiles_dir, loc.target) == (root.resolve(), "dev")
    settings = load_target(loc)
    assert settings["path"].endswith("p/x.duckdb")
    assert settings["threads"] == 2
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(root / "profiles.yml", elsewhere / "profiles.yml")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(elsewhere))
    assert locate(ctx).profiles_dir == elsewhere.resolve()
    (root / "dacrew.yml").write_text("dbt:\n  profiles_dir: conf\n  target: ci\n")
    (root / "conf").mkdir()
    shutil.copy(root / "profiles.yml", root / "conf" / "profiles.yml")
    configured = locate(ToolContext(project_dir=root))
    assert (configured.profiles_dir, configured.target) == ((root / "conf").resolve(), "ci")
    monkeypatch.delenv("P_DB")
    with pytest.raises(UserError, match="env var P_DB is not set") as info:
        load_target(locate(ToolContext(project_dir=root), "dev"))
    assert info.value.line == 6


def test_config_errors_name_the_file_and_line(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: [\n")
    with pytest.raises(UserError) as info:
        locate(ToolContext(project_dir=root))
    assert info.value.path is not None
    assert info.value.path.endswith("profiles.yml")
    assert info.value.line is not None
    missing = _project(tmp_path / "q", "p:\n  target: dev\n  outputs:\n    dev: {type: duckdb}\n")
    with pytest.raises(UserError, match="no target 'prod'"):
        load_target(locate(ToolContext(project_dir=missing), "prod"))
    with pytest.raises(UserError, match=r"dbt_project\.yml"):
        locate(ToolContext(project_dir=tmp_path))


def test_review_attacks_on_warehouse_query_are_refused_and_change_nothing(scratch: Path) -> None:
    (scratch / ".env").write_text("SNOWFLAKE_PASSWORD=hunter2-secret\n", encoding="utf-8")
    ctx = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL)
    attacks = [
        "EXPLAIN ANALYSE DELETE FROM orders",
        "EXPLAIN /* x */ ANALYZE DELETE FROM orders",
        "EXPLAIN ANALYZE DROP TABLE orders",
        "EXPLAIN ANALYZE COPY (SELECT 1) TO 'leak.csv'",
        "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT content FROM read_text(''.env'')'))",
        "SELECT * FROM read_duckdb('prod.duckdb', table_name := 'orders')",
        "SUMMARIZE '.env'",
        "SHOW SELECT * FROM read_csv('.env', header = false)",
    ]
    try:
        for sql in attacks:
            with pytest.raises(GuardRefused):
                warehouse_query(ctx, QueryArgs(sql=sql))
        assert warehouse_query(ctx, QueryArgs(sql="select count(*) from orders")).rows == [[5]]
    finally:
        ctx.close()
    assert not (scratch / "leak.csv").exists()


def test_duckdb_connections_cannot_reach_files_whatever_the_guard_misses(scratch: Path) -> None:
    """Defence in depth: the backend itself, with the guard bypassed, can neither read a file nor
    attach another database, nor turn external access back on; reads open the file read-only."""
    from dacrew.tools.warehouse.connect import backend

    (scratch / ".env").write_text("SECRET=hunter2-secret\n", encoding="utf-8")
    ctx = ToolContext(project_dir=scratch)
    wh = backend(ctx)
    try:
        for sql in (
            "select content from read_text('.env')",
            "select * from read_csv('.env')",
            f"attach '{scratch / 'other.duckdb'}' as other",
            "set enable_external_access = true",
            "copy (select 1) to 'leak.csv'",
        ):
            with pytest.raises(ToolError):
                wh.run(sql)
        with pytest.raises(ToolError, match="read-only"):
            wh.run("delete from orders", read_only=True)
        assert wh.run("select count(*) from orders", read_only=True).rows == [[5]]
    finally:
        ctx.close()
    assert not (scratch / "leak.csv").exists()
    assert not (scratch / "other.duckdb").exists()


def test_create_or_replace_of_an_existing_schema_needs_approval(scratch: Path) -> None:
    ctx = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL)
    try:
        warehouse_execute(ctx, ExecuteArgs(sql="create schema s2"))
        assert warehouse_execute(ctx, ExecuteArgs(sql="create or replace schema s3")).statement == "CREATE"
        # s2 is this call's own; for the next call it existed before.
        assert warehouse_execute(ctx, ExecuteArgs(sql="create or replace schema s2")).statement == "CREATE"
        ctx.close()
        ctx = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL)
        with pytest.raises(ApprovalRequired):
            warehouse_execute(ctx, ExecuteArgs(sql="create or replace schema s2"))
    finally:
        ctx.close()


def test_a_row_access_policy_body_must_be_a_read(scratch: Path) -> None:
    ctx = ToolContext(project_dir=scratch, agent="snowflake-expert", permissions=frozenset({"read", "ddl"}))
    head = "create row access policy rap as (region varchar) returns boolean -> "
    for body in (
        "system$cancel_all_queries(1) = 'x'",
        "exists (select 1 from @my_stage/file.csv)",
        "region in (select $1 from @my_stage)",
    ):
        with pytest.raises(GuardRefused):
            warehouse_apply_ddl(ctx, DdlArgs(sql=head + body))
    out = warehouse_apply_ddl(ctx, DdlArgs(sql=head + "region in (select region from allowed_regions)"))
    assert out.planned


def test_changes_on_a_production_default_target_need_approval(scratch: Path) -> None:
    """Review: `dbt: {target: prod}` in dacrew.yml moved every call to prod without approval."""
    (scratch / "dacrew.yml").write_text("dbt:\n  target: prod\n", encoding="utf-8")
    ctx = ToolContext(project_dir=scratch, agent="dbt-expert", permissions=ALL)
    with pytest.raises(ApprovalRequired, match="production target") as info:
        warehouse_execute(ctx, ExecuteArgs(sql="create table notes (id int)"))
    assert info.value.detail["target"] == "prod"
    with pytest.raises(ApprovalRequired, match="production target"):
        warehouse_apply_ddl(ctx, DdlArgs(sql="ALTER TABLE orders CLUSTER BY (order_date)"))
    assert not (scratch / "prod.duckdb").exists()
