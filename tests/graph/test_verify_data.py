"""Business-rule checks (`sql`, `table`) and the services' checks, each with pass, fail and unverified."""

from __future__ import annotations

from pathlib import Path

import pytest
from warehouse_kit import PROJECT, fingerprint, write_files

from dacrew.findings.format import CheckResult, Finding
from dacrew.graph.verify import CheckSpec, run_check
from dacrew.tools.base import ToolContext

TIERS = "ltv_tier,customers,min_ltv\nhigh,2,150\nmedium,1,50.5\nlow,1,\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    import duckdb

    write_files(tmp_path, PROJECT)
    connection = duckdb.connect(str(tmp_path / "shop.duckdb"))
    connection.execute("create schema analytics")
    connection.execute(
        "create table analytics.tiers as select * from (values "
        "('low', 1, null::decimal(10,2)), ('high', 2, 150.00::decimal(10,2)), ('medium', 1, 50.50::decimal(10,2))"
        ") as t(ltv_tier, customers, min_ltv)"
    )
    connection.execute("create table analytics.empty (id integer)")
    connection.close()
    (tmp_path / "expected").mkdir()
    (tmp_path / "expected" / "tiers.csv").write_text(TIERS, encoding="utf-8")
    return tmp_path


def check(project: Path, kind: str, argument: str) -> CheckResult:
    ctx = ToolContext(project_dir=project, agent="parent-checks")
    try:
        return run_check(ctx, Finding(task="T1"), CheckSpec(kind, argument))
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("argument", "outcome"),
    [
        ("select count(*) from analytics.tiers = 3", "passed"),
        ("select count(*) from analytics.tiers = 4", "failed"),
        ("select sum(min_ltv) from analytics.tiers = 200.5", "passed"),
        ("select sum(min_ltv) from analytics.tiers = 200 within 0.6", "passed"),
        ("select sum(min_ltv) from analytics.tiers = 200 within 0.4", "failed"),
        ("select sum(min_ltv) from analytics.tiers = 200 within 1%", "passed"),
        # A query that ends in a comparison of its own is put in parentheses.
        ("(select ltv_tier from analytics.tiers where customers = 2) = 'high'", "passed"),
        ("(select min_ltv from analytics.tiers where ltv_tier = 'low') = null", "passed"),
        ("(select min_ltv from analytics.tiers where ltv_tier = 'low') = 0", "failed"),
        ("select count(*) from analytics.tiers where customers = 2", "passed"),
        ("select count(*) from analytics.tiers where customers = 5", "failed"),
        ("select * from analytics.tiers returns rows", "passed"),
        ("select * from analytics.empty returns rows", "failed"),
        ("select * from analytics.empty returns no rows", "passed"),
        ("select * from analytics.tiers where customers > 1 returns no rows", "failed"),
        ("select count(*) = 3 from analytics.tiers", "passed"),
        ("select count(*) from analytics.tiers = 3 under 60000 ms", "passed"),
        ("select * from analytics.missing returns no rows", "failed"),
    ],
)
def test_sql_checks(project: Path, argument: str, outcome: str) -> None:
    result = check(project, "sql", argument)
    assert result.outcome == outcome, result.output


def test_sql_says_what_it_saw(project: Path) -> None:
    assert check(project, "sql", "select count(*) from analytics.tiers = 4").output == "value: 3, expected 4"
    missing = check(project, "sql", "select * from analytics.missing returns no rows")
    assert "missing" in missing.output


def test_sql_checks_cannot_write(project: Path) -> None:
    before = fingerprint(project / "shop.duckdb")
    result = check(project, "sql", "delete from analytics.tiers returning 1")
    assert result.outcome == "failed"
    assert "GuardRefused" in result.output or "refused" in result.output.lower()
    assert fingerprint(project / "shop.duckdb") == before


def test_table_matches_a_csv(project: Path) -> None:
    before = fingerprint(project / "shop.duckdb")
    ok = check(project, "table", "analytics.tiers matches expected/tiers.csv")
    assert ok.outcome == "passed", ok.output
    assert ok.output == "3 rows match the expected 3 in any order on 3 columns (ltv_tier, customers, min_ltv)"
    assert fingerprint(project / "shop.duckdb") == before


def test_table_reports_the_differing_rows(project: Path) -> None:
    (project / "expected" / "tiers.csv").write_text("ltv_tier,customers\nhigh,5\nmedium,1\nlow,1\n")
    result = check(project, "table", "analytics.tiers matches expected/tiers.csv")
    assert result.outcome == "failed"
    assert "only in expected: (high, 5)" in result.output
    assert "only in actual: (high, 2)" in result.output


def test_table_order_and_tolerance_options(project: Path) -> None:
    (project / "expected" / "near.csv").write_text("ltv_tier,min_ltv\nhigh,150.4\nlow,\nmedium,50.5\n")
    assert check(project, "table", "analytics.tiers matches expected/near.csv").outcome == "failed"
    assert check(project, "table", "analytics.tiers matches expected/near.csv within 0.5").outcome == "passed"
    ordered = check(project, "table", "analytics.tiers matches expected/near.csv ordered within 0.5")
    assert ordered.outcome == "failed"
    assert "in order" in ordered.output


def test_table_without_an_expected_file_is_unverified(project: Path) -> None:
    result = check(project, "table", "analytics.tiers matches expected/nothing.csv")
    assert (result.outcome, result.output) == (
        "unverified",
        "nothing to compare with: expected/nothing.csv does not exist",
    )
    (project / "expected" / "bad.csv").write_text("a,b\n1\n")
    bad = check(project, "table", "analytics.tiers matches expected/bad.csv")
    assert bad.outcome == "unverified"
    assert "expected/bad.csv:2" in bad.output


def test_table_refuses_paths_outside_the_project_and_missing_columns_fail(project: Path) -> None:
    assert check(project, "table", "analytics.tiers matches ../x.csv").output == "../x.csv is outside the project"
    (project / "expected" / "cols.csv").write_text("ltv_tier,threshold\nhigh,150\n")
    result = check(project, "table", "analytics.tiers matches expected/cols.csv")
    assert result.outcome == "failed"
    assert result.output.startswith("columns missing from the actual table: threshold")


def test_tableau_published_without_a_server_is_unverified(tmp_path: Path) -> None:
    missing = check(tmp_path, "tableau", "datasource customer_ltv published")
    assert (missing.outcome, missing.output) == (
        "failed",
        "no Tableau server configured and tableau/datasources/customer_ltv.tds does not exist",
    )
    write_files(tmp_path, {"tableau/datasources/customer_ltv.tds": "<datasource/>"})
    local = check(tmp_path, "tableau", "datasource customer_ltv published")
    assert (local.outcome, local.passed) == ("unverified", False)
    assert (
        local.output == "no Tableau server configured; tableau/datasources/customer_ltv.tds exists but is not published"
    )
    assert check(tmp_path, "tableau", "job 42 finished").outcome == "unverified"


def test_orchestra_run_without_a_key_is_unverified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DACREW_ORCHESTRA__API_KEY", raising=False)
    result = check(tmp_path, "orchestra", "run 123 SUCCEEDED")
    assert (result.outcome, result.output) == (
        "unverified",
        "no Orchestra API key configured (DACREW_ORCHESTRA__API_KEY)",
    )


def test_without_a_warehouse_sql_and_table_checks_are_unverified(tmp_path: Path) -> None:
    (tmp_path / "expected.csv").write_text("a\n1\n")
    sql = check(tmp_path, "sql", "select 1 = 1")
    assert sql.outcome == "unverified"
    assert sql.output.startswith("no warehouse configured: ")
    assert "dbt_project.yml" in sql.output
    assert check(tmp_path, "table", "analytics.t matches expected.csv").outcome == "unverified"
