"""dbt calls as people write them: an inline preview ending in ``;``, and ``state:modified+`` against
another run's manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolContext
from dacrew.tools.dbt.toolset import LsArgs, ShowArgs, dbt_ls, dbt_show


@pytest.mark.parametrize(
    "sql",
    [
        "select count(*) as n from {{ ref('stg_orders') }};",
        "select count(*) as n from {{ ref('stg_orders') }} ;\n",
        "select count(*) as n from {{ ref('stg_orders') }}; -- how many orders",
        "select count(*) as n\nfrom {{ ref('stg_orders') }} -- how many orders\n",
    ],
)
def test_inline_preview_with_a_closing_semicolon_or_comment(shop_ctx: ToolContext, sql: str) -> None:
    shown = dbt_show(shop_ctx, ShowArgs(inline=sql))
    assert shown.error is None
    assert (shown.columns, shown.rows) == (["n"], [[5]])


def test_a_second_statement_after_the_semicolon_is_still_refused(shop_ctx: ToolContext) -> None:
    with pytest.raises(GuardRefused):
        dbt_show(shop_ctx, ShowArgs(inline="select 1 as x; delete from {{ ref('stg_orders') }};"))


@pytest.fixture
def changed(tmp_path: Path, shop_dir: Path) -> Path:
    """A copy of the shop project with a production manifest saved in prod_state/ and customers changed."""
    root = tmp_path / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("logs", "*.duckdb*"))
    (root / "prod_state").mkdir()
    shutil.copy(root / "target" / "manifest.json", root / "prod_state" / "manifest.json")
    model = root / "models" / "marts" / "customers.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- changed\n", encoding="utf-8")
    return root


def test_state_modified_compares_with_the_given_manifest(changed: Path) -> None:
    ctx = ToolContext(project_dir=changed)
    listed = dbt_ls(ctx, LsArgs(select="state:modified", state="prod_state", resource_type="model"))
    assert listed.error is None
    assert [n.name for n in listed.nodes] == ["customers"]
    same = dbt_ls(ctx, LsArgs(select="state:modified+", state="prod_state/manifest.json", resource_type="model"))
    assert [n.name for n in same.nodes] == ["customers"]
    tests = dbt_ls(ctx, LsArgs(select="state:modified+", state="prod_state", resource_type="test"))
    # The + takes the changed model's tests along, and nothing of the unchanged orders model.
    assert sorted(n.name for n in tests.nodes) == ["assert_every_customer_ordered", "unique_customers_customer_id"]


def test_state_from_dacrew_yml(changed: Path) -> None:
    (changed / "dacrew.yml").write_text("dbt:\n  state: prod_state\n", encoding="utf-8")
    listed = dbt_ls(ToolContext(project_dir=changed), LsArgs(select="state:modified", resource_type="model"))
    assert [n.name for n in listed.nodes] == ["customers"]


def test_state_selection_without_a_manifest_says_what_to_give(changed: Path) -> None:
    ctx = ToolContext(project_dir=changed)
    with pytest.raises(ToolError, match="give state"):
        dbt_ls(ctx, LsArgs(select="tag:x,state:modified+"))
    with pytest.raises(ToolError, match=r"no manifest\.json in 'models'"):
        dbt_ls(ctx, LsArgs(select="state:modified", state="models"))
    with pytest.raises(GuardRefused):
        dbt_ls(ctx, LsArgs(select="state:modified", state="../elsewhere"))
