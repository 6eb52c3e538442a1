"""The dbt toolset on a generated DuckDB project: per-node results, failing tests, compile errors,
snapshots, freshness, docs, selection checks, approvals and the shared manifest."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from dacrew.errors import ApprovalRequired, GuardRefused, ToolError
from dacrew.tools.base import ToolContext
from dacrew.tools.dbt.manifest import ManifestArgs, dbt_manifest
from dacrew.tools.dbt.selection import validate_selector
from dacrew.tools.dbt.toolset import (
    DbtResult,
    LsArgs,
    RunArgs,
    SelectArgs,
    ShowArgs,
    TargetArgs,
    dbt_build,
    dbt_compile,
    dbt_docs_generate,
    dbt_ls,
    dbt_parse,
    dbt_run,
    dbt_show,
    dbt_snapshot,
    dbt_source_freshness,
    dbt_test,
)
from dacrew.tools.warehouse.toolset import QueryArgs, warehouse_query


def test_build_returns_one_result_per_node(shop_build: tuple[Path, DbtResult]) -> None:
    _, result = shop_build
    by_name = {n.name: n for n in result.nodes}
    assert result.ok is False
    assert result.success is False
    for name in ("raw_customers", "raw_orders", "raw_payments", "stg_orders", "orders", "customers"):
        assert by_name[name].status == "success", by_name[name]
    assert by_name["customers_snapshot"].resource_type == "snapshot"
    assert by_name["customers_snapshot"].status == "success"
    failing = by_name["assert_every_customer_ordered"]
    assert (failing.status, failing.failures, failing.resource_type) == ("fail", 1, "test")
    assert by_name["unique_orders_order_id"].status == "pass"
    assert result.summary["fail"] == 1
    assert result.error is not None
    assert "assert_every_customer_ordered" in result.error
    assert all(n.execution_time >= 0 for n in result.nodes)


def test_built_tables_hold_the_right_rows(shop_ctx: ToolContext) -> None:
    out = warehouse_query(shop_ctx, QueryArgs(sql="select customer_id, number_of_orders from customers order by 1"))
    assert out.rows == [[1, 2], [2, 1], [3, 2], [4, 0]]


def test_selected_build_reuses_the_manifest_and_passes(shop_ctx: ToolContext) -> None:
    result = dbt_build(shop_ctx, RunArgs(select="path:models/staging"))
    assert result.ok
    assert result.manifest_reused
    assert {n.name for n in result.nodes if n.resource_type == "model"} == {
        "stg_customers",
        "stg_orders",
        "stg_payments",
    }
    assert result.summary == {"success": 3, "pass": 5}


def test_run_and_test(shop_ctx: ToolContext) -> None:
    run = dbt_run(shop_ctx, RunArgs(select="orders"))
    assert [(n.name, n.status) for n in run.nodes] == [("orders", "success")]
    tested = dbt_test(shop_ctx, SelectArgs(select="customers"))
    statuses = {n.name: (n.status, n.failures) for n in tested.nodes}
    assert statuses["assert_every_customer_ordered"] == ("fail", 1)
    assert not tested.ok


def test_compile_returns_sql(shop_ctx: ToolContext) -> None:
    result = dbt_compile(shop_ctx, SelectArgs(select="stg_orders"))
    (node,) = [n for n in result.nodes if n.resource_type == "model"]
    assert node.compiled_sql is not None
    assert "raw_orders" in node.compiled_sql
    assert "ref(" not in node.compiled_sql


def test_show_previews_rows_and_guards_inline_sql(shop_ctx: ToolContext) -> None:
    shown = dbt_show(shop_ctx, ShowArgs(select="customers", limit=2))
    assert shown.columns[:2] == ["customer_id", "first_name"]
    assert len(shown.rows) == 2
    inline = dbt_show(shop_ctx, ShowArgs(inline="select count(*) as n from {{ ref('stg_orders') }}"))
    assert inline.rows == [[5]]
    with pytest.raises(GuardRefused):
        dbt_show(shop_ctx, ShowArgs(inline="delete from {{ ref('stg_orders') }}"))
    with pytest.raises(GuardRefused):
        dbt_show(shop_ctx, ShowArgs(inline="select {{ run_query('drop table orders') }}"))


def test_ls_and_lineage(shop_ctx: ToolContext) -> None:
    listed = dbt_ls(shop_ctx, LsArgs(select="+customers", resource_type="model"))
    assert {n.name for n in listed.nodes} == {"stg_customers", "stg_orders", "stg_payments", "orders", "customers"}
    overview = dbt_manifest(shop_ctx, ManifestArgs())
    assert {m.name for m in overview.models} >= {"orders", "customers"}
    assert [s.name for s in overview.sources] == ["raw.raw_orders"]
    lineage = dbt_manifest(shop_ctx, ManifestArgs(node="orders")).lineage
    assert lineage is not None
    assert set(lineage.parents) == {"model.shop.stg_orders", "model.shop.stg_payments"}
    assert "seed.shop.raw_payments" in lineage.upstream
    assert "model.shop.customers" in lineage.children
    assert "test.shop.assert_every_customer_ordered" in lineage.downstream
    with pytest.raises(ToolError, match="no node"):
        dbt_manifest(shop_ctx, ManifestArgs(node="nope"))


def test_snapshot_freshness_docs_and_parse(shop_ctx: ToolContext) -> None:
    snap = dbt_snapshot(shop_ctx, SelectArgs())
    assert [(n.name, n.status) for n in snap.nodes] == [("customers_snapshot", "success")]
    fresh = dbt_source_freshness(shop_ctx, SelectArgs(select="source:raw"))
    (node,) = fresh.nodes
    assert node.unique_id == "source.shop.raw.raw_orders"
    assert node.status == "warn"
    docs = dbt_docs_generate(shop_ctx, TargetArgs())
    assert docs.ok
    assert docs.catalog_nodes >= 9
    assert docs.index_path == "target/index.html"
    parsed = dbt_parse(shop_ctx, TargetArgs())
    assert parsed.counts["model"] == 5
    assert parsed.counts["seed"] == 3
    assert parsed.counts["snapshot"] == 1
    assert parsed.counts["source"] == 1


@pytest.mark.parametrize(
    "selector",
    [
        "+model",
        "tag:nightly",
        "path:models/staging",
        "@orders",
        "orders customers",
        "tag:a,config.materialized:table",
        "1+orders+2",
        "state:modified+",
        "test_type:generic",
        "source:raw.orders+",
        "models/marts/*",
    ],
)
def test_selection_grammar_is_allowed(selector: str) -> None:
    assert validate_selector(selector) == selector.split()


@pytest.mark.parametrize(
    "selector",
    [
        "--full-refresh",
        "orders --vars {x: 1}",
        "orders -t prod",
        "a,-b",
        "a;b",
        "$(rm -rf x)",
        "orders\n--target",
        "evil:x",
    ],
)
def test_smuggled_flags_are_refused(selector: str) -> None:
    with pytest.raises(ToolError):
        validate_selector(selector)


def test_full_refresh_and_other_targets_need_approval(shop_ctx: ToolContext, shop_dir: Path) -> None:
    with pytest.raises(ApprovalRequired) as info:
        dbt_build(shop_ctx, RunArgs(select="orders", full_refresh=True))
    assert "--full-refresh" in info.value.message
    with pytest.raises(ApprovalRequired) as other:
        dbt_run(shop_ctx, RunArgs(select="raw_customers", target="prod"))
    assert "prod" in other.value.message
    shop_ctx.approved.add(other.value.digest)
    # An approval covers its request only: the same target with another selection asks again.
    with pytest.raises(ApprovalRequired):
        dbt_run(shop_ctx, RunArgs(select="stg_orders", target="prod"))
    assert not (shop_dir / "prod.duckdb").exists()


@pytest.fixture(scope="module")
def edit_dir(tmp_path_factory: pytest.TempPathFactory, write_shop: Callable[..., Path]) -> Path:
    return write_shop(tmp_path_factory.mktemp("edit"))


def test_compile_errors_are_reported(edit_dir: Path) -> None:
    ctx = ToolContext(project_dir=edit_dir)
    bad_sql = edit_dir / "models" / "bad_column.sql"
    bad_sql.write_text("select no_such_column from {{ ref('raw_orders') }}\n")
    seeded = dbt_build(ctx, RunArgs(select="raw_orders"))
    assert seeded.ok
    result = dbt_run(ctx, RunArgs(select="bad_column"))
    (node,) = result.nodes
    assert node.status == "error"
    assert "no_such_column" in (node.message or "")
    assert node.compiled_sql is not None
    assert "no_such_column" in node.compiled_sql
    broken = edit_dir / "models" / "broken.sql"
    broken.write_text("select * from {{ ref('does_not_exist') }}\n")
    try:
        failed = dbt_build(ctx, RunArgs())
        assert failed.ok is False
        assert failed.nodes == []
        assert failed.error is not None
        assert "does_not_exist" in failed.error
    finally:
        broken.unlink()
        bad_sql.unlink()


def test_a_changed_project_is_parsed_again(edit_dir: Path) -> None:
    ctx = ToolContext(project_dir=edit_dir)
    before = {n.name for n in dbt_ls(ctx, LsArgs(resource_type="model")).nodes}
    (edit_dir / "models" / "marts" / "fct_new.sql").write_text("select 1 as id\n")
    after = dbt_ls(ctx, LsArgs(resource_type="model"))
    assert {n.name for n in after.nodes} == before | {"fct_new"}


def test_concurrent_calls_on_two_projects_are_serialised(edit_dir: Path, shop_dir: Path) -> None:
    # dbt-core keeps process-wide state (flags, adapters, the working directory): calls on different
    # projects from different threads must each see their own project.
    results: dict[str, list[str]] = {}

    def call(root: Path, key: str) -> None:
        ctx = ToolContext(project_dir=root)
        results[key] = sorted(
            n.name for n in dbt_ls(ctx, LsArgs(select="path:models/marts", resource_type="model")).nodes
        )

    threads = [
        threading.Thread(target=call, args=(root, f"{name}{i}"))
        for i in range(2)
        for root, name in ((edit_dir, "edit"), (shop_dir, "shop"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["shop0"] == results["shop1"] == ["customers", "orders"]
    assert results["edit0"] == results["edit1"]
    assert {"customers", "orders"} <= set(results["edit0"])


def test_dbt_project_dir_from_config(tmp_path: Path, shop_dir: Path) -> None:
    outer = tmp_path / "feature"
    shutil.copytree(shop_dir, outer / "warehouse", ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    (outer / "dacrew.yml").write_text("dbt:\n  project_dir: warehouse\n")
    result = dbt_ls(ToolContext(project_dir=outer), LsArgs(select="orders", resource_type="model"))
    assert [n.path for n in result.nodes] == ["models/marts/orders.sql"]


@pytest.fixture
def attack_dir(tmp_path: Path, shop_dir: Path) -> Path:
    """A private copy of the built shop project with a secrets file beside it."""
    root = tmp_path / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("target", "logs"))
    (root / ".env").write_text("SNOWFLAKE_PASSWORD=hunter2-secret\n", encoding="utf-8")
    return root


def _orders(root: Path) -> int:
    ctx = ToolContext(project_dir=root)
    try:
        return int(warehouse_query(ctx, QueryArgs(sql="select count(*) from orders")).rows[0][0])
    finally:
        ctx.close()


def test_a_model_with_a_hook_is_held_and_a_file_reading_model_refused(attack_dir: Path) -> None:
    """Review: a model written by an agent dropped a table through pre_hook and read .env."""
    evil = attack_dir / "models" / "evil.sql"
    evil.write_text(
        "{{ config(pre_hook=\"drop table if exists main.orders\") }}\nselect content from read_text('.env')\n"
    )
    ctx = ToolContext(project_dir=attack_dir, agent="dbt-expert", permissions=frozenset({"read", "write", "ddl"}))
    with pytest.raises(ApprovalRequired, match="pre_hook") as held:
        dbt_run(ctx, RunArgs(select="evil"))
    with pytest.raises(ApprovalRequired):
        dbt_show(ctx, ShowArgs(select="evil"))
    # Even approved, the hook does not make the model's SQL a read: the compiled SQL is refused.
    ctx.approved.add(held.value.digest)
    with pytest.raises(GuardRefused, match=r"models/evil\.sql"):
        dbt_run(ctx, RunArgs(select="evil"))
    assert _orders(attack_dir) == 5
    # Without the hook, the file reader alone is refused before dbt runs anything.
    evil.write_text("select content from read_text('.env')\n")
    with pytest.raises(GuardRefused, match="read_text"):
        dbt_show(ctx, ShowArgs(select="evil"))
    with pytest.raises(GuardRefused):
        dbt_build(ctx, RunArgs(select="evil"))
    # An approval of the earlier file does not cover an edit.
    evil.write_text("{{ config(post_hook='delete from main.orders') }}\nselect 1 as x\n")
    with pytest.raises(ApprovalRequired):
        dbt_run(ctx, RunArgs(select="evil"))
    assert _orders(attack_dir) == 5


def test_jinja_that_runs_sql_or_reads_the_environment_is_held(attack_dir: Path) -> None:
    ctx = ToolContext(project_dir=attack_dir, agent="dbt-expert", permissions=frozenset({"read", "write", "ddl"}))
    model = attack_dir / "models" / "sneaky.sql"
    for body in (
        "{% do run_query('drop table main.orders') %}select 1 as x",
        "{% call statement('x') %}delete from main.orders{% endcall %}select 1 as x",
        "{% do adapter.execute('delete from main.orders') %}select 1 as x",
    ):
        model.write_text(body + "\n")
        with pytest.raises(ApprovalRequired, match=r"sneaky\.sql"):
            dbt_run(ctx, RunArgs(select="sneaky"))
        with pytest.raises(ApprovalRequired):
            dbt_compile(ctx, SelectArgs(select="sneaky"))
    # env_var in project code is refused outright, and so is binding a callable to a new name.
    for body in (
        'select \'{{ env_var("SNOWFLAKE_PASSWORD", "") }}\' as x',
        "{% set rq = run_query %}{% if execute %}{% do rq('delete from main.orders') %}{% endif %}select 1 as x",
    ):
        model.write_text(body + "\n")
        with pytest.raises(GuardRefused, match=r"sneaky\.sql:1"):
            dbt_compile(ctx, SelectArgs(select="sneaky"))
    model.unlink()
    macro = attack_dir / "macros" / "cleanup.sql"
    macro.parent.mkdir(exist_ok=True)
    macro.write_text("{% macro cleanup() %}{% do run_query('delete from main.orders') %}{% endmacro %}\n")
    with pytest.raises(ApprovalRequired, match=r"cleanup\.sql"):
        dbt_run(ctx, RunArgs(select="stg_orders"))
    macro.unlink()
    assert _orders(attack_dir) == 5
    assert dbt_run(ctx, RunArgs(select="stg_orders")).ok


def test_inline_preview_is_guarded_including_the_models_it_refs(attack_dir: Path) -> None:
    ctx = ToolContext(project_dir=attack_dir)
    for sql in (
        "select content from read_text('.env')",
        "select * from json_execute_serialized_sql(json_serialize_sql('select content from read_text(''.env'')'))",
    ):
        with pytest.raises(GuardRefused):
            dbt_show(ctx, ShowArgs(inline=sql))
    (attack_dir / "models" / "leak.sql").write_text(
        "{{ config(materialized='ephemeral') }}\nselect content from read_text('.env')\n"
    )
    with pytest.raises(GuardRefused, match=r"leak\.sql"):
        dbt_show(ctx, ShowArgs(inline="select * from {{ ref('leak') }}"))


def test_show_approval_names_the_inline_sql_and_the_limit(shop_ctx: ToolContext) -> None:
    with pytest.raises(ApprovalRequired) as first:
        dbt_show(shop_ctx, ShowArgs(inline="select 1 as x", target="prod"))
    shop_ctx.approved.add(first.value.digest)
    with pytest.raises(ApprovalRequired) as other_sql:
        dbt_show(shop_ctx, ShowArgs(inline="select 2 as x", target="prod"))
    with pytest.raises(ApprovalRequired) as other_limit:
        dbt_show(shop_ctx, ShowArgs(inline="select 1 as x", target="prod", limit=500))
    assert len({first.value.digest, other_sql.value.digest, other_limit.value.digest}) == 3


def test_a_production_default_target_in_dacrew_yml_still_needs_approval(attack_dir: Path) -> None:
    """Review: writing `dbt: {target: prod}` to dacrew.yml made prod the default, with no approval."""
    (attack_dir / "dacrew.yml").write_text("dbt:\n  target: prod\n", encoding="utf-8")
    ctx = ToolContext(project_dir=attack_dir, agent="dbt-expert", permissions=frozenset({"read", "write", "ddl"}))
    with pytest.raises(ApprovalRequired, match="prod") as info:
        dbt_run(ctx, RunArgs(select="stg_orders"))
    assert "production target" in info.value.message
    assert not (attack_dir / "prod.duckdb").exists()
    (attack_dir / "dacrew.yml").write_text("dbt:\n  target: staging\n", encoding="utf-8")
    with pytest.raises(ApprovalRequired, match="not the profile's default target"):
        dbt_run(ToolContext(project_dir=attack_dir, agent="dbt-expert", permissions=ctx.permissions), RunArgs())


def test_building_needs_the_write_permission(shop_ctx: ToolContext) -> None:
    shop_ctx.agent, shop_ctx.permissions = "snowflake-expert", frozenset({"read", "ddl"})
    for call in (
        lambda: dbt_build(shop_ctx, RunArgs(select="stg_orders")),
        lambda: dbt_run(shop_ctx, RunArgs(select="stg_orders")),
        lambda: dbt_snapshot(shop_ctx, SelectArgs()),
        lambda: dbt_docs_generate(shop_ctx, TargetArgs()),
    ):
        with pytest.raises(GuardRefused, match="write permission"):
            call()


def test_dbt_runs_duckdb_without_file_access(attack_dir: Path) -> None:
    """Defence in depth: with the dbt guard bypassed (dbt invoked directly), a model cannot read a
    file on the embedded warehouse; seeds still load from the seed folder."""
    from dacrew.tools.dbt.runner import invoke
    from dacrew.tools.profiles import locate

    (attack_dir / "models" / "leak.sql").write_text("select content from read_text('.env')\n")
    loc = locate(ToolContext(project_dir=attack_dir))
    leaked = invoke(loc, ["run"], ["--select", "leak"])
    assert not leaked.success
    assert "file system operations are disabled" in (leaked.error or "") + str(
        [getattr(r, "message", "") for r in getattr(leaked.result, "results", [])]
    )
    seeded = invoke(loc, ["seed"], ["--select", "raw_orders"])
    assert seeded.success, seeded.error


@pytest.mark.parametrize(
    ("target", "production"),
    [
        ("prod", True),
        ("PROD", True),
        ("prod_eu", True),
        ("eu-production", True),
        ("product_dev", False),
        ("dev", False),
    ],
)
def test_production_targets_are_recognised_by_name(target: str, production: bool) -> None:
    from dacrew.tools.profiles import is_production_target

    assert is_production_target(target, ["prod", "production"]) is production
