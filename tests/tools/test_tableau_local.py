"""Local Tableau artifacts: the .tds parsed back as XML and the .hyper read back with tableauhyperapi."""

from __future__ import annotations

import importlib
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolContext
from dacrew.tools.tableau.local import (
    BuildArgs,
    CheckFieldsArgs,
    tableau_build_datasource,
    tableau_check_fields,
)
from dacrew.tools.tableau.tds import Metric

MART_ROWS = 257


def make_project(root: Path) -> Path:
    """A dbt project folder whose DuckDB target holds analytics.customer_ltv."""
    (root / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (root / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n"
    )
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA analytics")
    con.execute(
        """
        CREATE TABLE analytics.customer_ltv AS
        SELECT i AS customer_id,
               'Customer ' || i AS customer_name,
               DATE '2024-01-01' + CAST(i AS INTEGER) AS first_order_date,
               TIMESTAMP '2024-01-01 08:00:00' + to_hours(i) AS last_seen_at,
               CAST(i * 12.5 AS DECIMAL(12, 2)) AS lifetime_value,
               i % 7 AS order_count,
               i % 2 = 0 AS is_active
        FROM range(1, ?) t(i)
        """,
        [MART_ROWS + 1],
    )
    con.close()
    return root


@contextmanager
def fake_snowflake() -> Iterator[dict[str, Any]]:
    """fakesnow's local server, leaving fakesnow as it found it.

    Starting a server imports the submodule ``fakesnow.server``, which shadows the package's
    ``server()`` function: a later ``fakesnow.server()`` elsewhere would fail. Undo that afterwards.
    """
    import fakesnow

    if not callable(fakesnow.server):
        sys.modules.pop("fakesnow.server", None)
        importlib.reload(fakesnow)
    start = fakesnow.server
    try:
        with start() as kwargs:
            yield kwargs
    finally:
        sys.modules.pop("fakesnow.server", None)
        fakesnow.server = start


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def task_ctx(project: Path, **kw: Any) -> ToolContext:
    """A call that belongs to a task whose Files cover the data sources."""
    return ToolContext(project_dir=project, files=("tableau/datasources/",), **kw)


def test_build_writes_tds_and_hyper_that_open_with_the_real_libraries(project: Path) -> None:
    ctx = task_ctx(project)
    args = BuildArgs(
        table="analytics.customer_ltv",
        metrics=[
            Metric(name="Average LTV", formula="SUM([lifetime_value]) / COUNTD([customer_id])"),
            Metric(name="LTV per Order", formula="[Average LTV] / AVG([order_count])"),
        ],
    )
    result = tableau_build_datasource(ctx, args)

    assert result.tds == "tableau/datasources/customer_ltv.tds"
    assert result.rows == MART_ROWS
    root = ET.parse(project / result.tds).getroot()
    plain = {c.get("name"): c for c in root.findall("column") if c.find("calculation") is None}
    assert set(plain) == {
        "[customer_id]",
        "[customer_name]",
        "[first_order_date]",
        "[last_seen_at]",
        "[lifetime_value]",
        "[order_count]",
        "[is_active]",
    }
    assert plain["[lifetime_value]"].get("datatype") == "real"
    assert plain["[lifetime_value]"].get("role") == "measure"
    assert plain["[customer_id]"].get("role") == "dimension"  # an id is never summed
    assert plain["[first_order_date]"].get("datatype") == "date"
    assert plain["[last_seen_at]"].get("datatype") == "datetime"
    assert plain["[is_active]"].get("datatype") == "boolean"
    assert plain["[customer_name]"].get("caption") == "Customer Name"
    calcs = {
        col.get("caption"): calc.get("formula")
        for col in root.findall("column")
        if (calc := col.find("calculation")) is not None
    }
    assert calcs["Average LTV"] == "SUM([lifetime_value]) / COUNTD([customer_id])"
    # a reference to another metric by caption becomes that calculated field's internal name
    assert calcs["LTV per Order"] == "[Calculation_average_ltv] / AVG([order_count])"
    hyper_conn = root.find(".//connection[@class='hyper']")
    assert hyper_conn is not None
    assert hyper_conn.get("dbname") == "customer_ltv.hyper"

    from tableauhyperapi import Connection, HyperProcess, TableName, Telemetry

    assert result.hyper == "tableau/datasources/customer_ltv.hyper"
    assert result.connection == "extract"
    with (
        HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_dir": str(project / "..")}) as hyper,
        Connection(hyper.endpoint, project / result.hyper) as conn,
    ):
        table = TableName("Extract", "Extract")
        assert conn.execute_scalar_query(f"SELECT COUNT(*) FROM {table}") == MART_ROWS
        assert conn.execute_scalar_query(f"SELECT MAX(customer_id) FROM {table}") == MART_ROWS
        assert conn.execute_scalar_query(f"SELECT SUM(lifetime_value) FROM {table}") == pytest.approx(
            12.5 * MART_ROWS * (MART_ROWS + 1) / 2
        )
    # Hyper's own logs went to a temporary folder, not the project
    assert not list(project.rglob("hyperd*.log"))


def test_check_fields_matches_then_reports_drift(project: Path) -> None:
    ctx = task_ctx(project)
    tableau_build_datasource(ctx, BuildArgs(table="analytics.customer_ltv"))
    ok = tableau_check_fields(
        ctx, CheckFieldsArgs(tds="tableau/datasources/customer_ltv.tds", table="analytics.customer_ltv")
    )
    assert ok.matches
    assert ok.ok
    assert ok.table_rows == ok.hyper_rows == MART_ROWS

    con = duckdb.connect(str(project / "warehouse.duckdb"))
    con.execute("ALTER TABLE analytics.customer_ltv ADD COLUMN region VARCHAR")
    con.execute("ALTER TABLE analytics.customer_ltv DROP COLUMN is_active")
    con.execute("INSERT INTO analytics.customer_ltv (customer_id) VALUES (9999)")
    con.close()
    drift = tableau_check_fields(
        ctx, CheckFieldsArgs(tds="tableau/datasources/customer_ltv.tds", table="analytics.customer_ltv")
    )
    assert drift.ok
    assert not drift.matches
    assert drift.missing_in_tds == ["region"]
    assert drift.unknown_in_tds == ["is_active"]
    assert drift.hyper_rows == MART_ROWS
    assert drift.table_rows == MART_ROWS + 1
    assert "rows" in drift.message


def test_metric_with_unknown_field_is_an_error_the_model_can_fix(project: Path) -> None:
    ctx = task_ctx(project)
    with pytest.raises(ToolError, match=r"\[revenue\].*not a column"):
        tableau_build_datasource(
            ctx, BuildArgs(table="analytics.customer_ltv", metrics=[Metric(name="Rev", formula="SUM([revenue])")])
        )
    assert not (project / "tableau/datasources/customer_ltv.tds").exists()


def test_unknown_table_and_bad_names(project: Path) -> None:
    ctx = task_ctx(project)
    with pytest.raises(ToolError, match=r"no table analytics\.nope"):
        tableau_build_datasource(ctx, BuildArgs(table="analytics.nope"))
    with pytest.raises(ToolError, match="not a table name"):
        tableau_build_datasource(ctx, BuildArgs(table="x; DROP TABLE y"))


def test_writes_only_inside_the_task_files(project: Path) -> None:
    ctx = ToolContext(project_dir=project, files=("models/",))
    with pytest.raises(GuardRefused, match="outside this task's Files"):
        tableau_build_datasource(ctx, BuildArgs(table="analytics.customer_ltv"))
    ctx = ToolContext(project_dir=project, files=("tableau/",))
    assert tableau_build_datasource(ctx, BuildArgs(table="analytics.customer_ltv")).rows == MART_ROWS


def test_live_snowflake_datasource_has_no_extract_and_no_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dacrew.tools.warehouse.toolset import ExecuteArgs, warehouse_execute

    with fake_snowflake() as sf:
        # fakesnow takes any password; a distinctive one shows it is not written anywhere
        monkeypatch.setenv("SF_PASSWORD", "pw-71c3e9")
        (tmp_path / "dbt_project.yml").write_text("name: sf\nprofile: sf\n")
        (tmp_path / "profiles.yml").write_text(
            "sf:\n  target: prod\n  outputs:\n    prod:\n      type: snowflake\n"
            f"      account: {sf['account']}\n      user: {sf['user']}\n"
            "      password: \"{{ env_var('SF_PASSWORD') }}\"\n"
            f"      host: {sf['host']}\n      port: {sf['port']}\n      protocol: {sf['protocol']}\n"
            "      database: analytics\n      schema: marts\n      warehouse: reporting_wh\n      role: reporter\n"
            "      session_parameters: {CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED: false}\n"
        )
        ctx = task_ctx(tmp_path, permissions=frozenset({"read", "write", "ddl"}))
        try:
            warehouse_execute(
                ctx, ExecuteArgs(sql="create table customer_ltv (customer_id int, lifetime_value number(12,2))")
            )
            warehouse_execute(ctx, ExecuteArgs(sql="insert into customer_ltv values (1, 10.5), (2, 20.25)"))
            built = tableau_build_datasource(
                ctx,
                BuildArgs(
                    table="marts.customer_ltv",
                    metrics=[Metric(name="Average LTV", formula="AVG([LIFETIME_VALUE])")],
                ),
            )
            assert built.connection == "live"
            assert built.hyper is None
            assert built.rows == 2
            text = (tmp_path / built.tds).read_text()
            assert "pw-71c3e9" not in text
            root = ET.fromstring(text)
            conn = root.find(".//connection[@class='snowflake']")
            assert conn is not None
            assert conn.get("dbname") == "ANALYTICS"
            assert conn.get("schema") == "MARTS"
            assert conn.get("warehouse") == "reporting_wh"
            assert conn.get("service") == "reporter"
            relation = root.find(".//relation")
            assert relation is not None
            assert relation.get("table") == "[MARTS].[CUSTOMER_LTV]"
            types = {c.get("name"): c.get("datatype") for c in root.findall("column")}
            assert types["[CUSTOMER_ID]"] == "integer"
            assert types["[LIFETIME_VALUE]"] == "real"
            assert not (tmp_path / "tableau/datasources/customer_ltv.hyper").exists()
            check = tableau_check_fields(ctx, CheckFieldsArgs(tds=built.tds, table="marts.customer_ltv"))
            assert check.matches, check.message
            assert check.table_rows == 2
            assert check.hyper_rows is None
            with pytest.raises(ToolError, match="extracts are written from a DuckDB target"):
                tableau_build_datasource(ctx, BuildArgs(table="marts.customer_ltv", connection="extract"))
        finally:
            ctx.close()


def test_live_connection_needs_snowflake(project: Path) -> None:
    with pytest.raises(ToolError, match="live connection needs a Snowflake target"):
        tableau_build_datasource(task_ctx(project), BuildArgs(table="analytics.customer_ltv", connection="live"))


def test_metadata_records_use_tableau_remote_type_codes(project: Path) -> None:
    result = tableau_build_datasource(task_ctx(project), BuildArgs(table="analytics.customer_ltv"))
    root = ET.parse(project / result.tds).getroot()
    records = {r.findtext("remote-name"): r for r in root.iter("metadata-record")}
    codes = {name: rec.findtext("remote-type") for name, rec in records.items()}
    assert codes == {
        "customer_id": "20",
        "customer_name": "129",
        "first_order_date": "133",
        "last_seen_at": "135",
        "lifetime_value": "5",
        "order_count": "20",
        "is_active": "11",
    }
    debug = records["lifetime_value"].find("attributes/attribute[@name='DebugRemoteType']")
    assert debug is not None
    assert debug.text == '"DECIMAL(12,2)"'


def test_build_without_a_task_or_through_a_symlink_is_refused(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.raises(GuardRefused) as refused:
        tableau_build_datasource(ToolContext(project_dir=project), BuildArgs(table="analytics.customer_ltv"))
    assert refused.value.rule == "no_task"
    assert not (project / "tableau").exists()
    outside = tmp_path_factory.mktemp("outside")
    (project / "tableau").symlink_to(outside, target_is_directory=True)
    with pytest.raises(GuardRefused) as refused:
        tableau_build_datasource(task_ctx(project), BuildArgs(table="analytics.customer_ltv"))
    assert refused.value.rule == "symlink_escape"
    assert list(outside.iterdir()) == []


def test_check_fields_reads_only_inside_the_project(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    ctx = task_ctx(project)
    built = tableau_build_datasource(ctx, BuildArgs(table="analytics.customer_ltv"))
    for path, rule in (("credentials.tds", "secret"), ("../x.tds", "parent_path"), ("/x.tds", "absolute_path")):
        with pytest.raises(GuardRefused) as refused:
            tableau_check_fields(ctx, CheckFieldsArgs(tds=path, table="analytics.customer_ltv"))
        assert refused.value.rule == rule
    # A .tds whose extract lies outside the project (edited by hand, or by someone else) is not followed.
    outside = tmp_path_factory.mktemp("outside") / "stolen.hyper"
    assert built.hyper is not None
    (project / built.hyper).rename(outside)
    tds = project / built.tds
    tds.write_text(
        tds.read_text()
        .replace("dbname='customer_ltv.hyper'", f"dbname='{outside}'")
        .replace('dbname="customer_ltv.hyper"', f'dbname="{outside}"')
    )
    assert str(outside) in tds.read_text()
    with pytest.raises(GuardRefused, match="outside the project"):
        tableau_check_fields(ctx, CheckFieldsArgs(tds=built.tds, table="analytics.customer_ltv"))


def test_build_waits_for_another_use_of_the_warehouse_file(project: Path) -> None:
    import threading
    import time

    from dacrew.tools.base import WAREHOUSE_FILE_LOCK

    # The warehouse toolset holds the file, under the process lock, with its own configuration.
    holding, release = threading.Event(), threading.Event()

    def warehouse() -> None:
        with WAREHOUSE_FILE_LOCK:
            con = duckdb.connect(str(project / "warehouse.duckdb"), config={"enable_external_access": False})
            holding.set()
            release.wait(5)
            time.sleep(0.2)
            con.close()

    other = threading.Thread(target=warehouse)
    other.start()
    assert holding.wait(5)
    release.set()
    try:
        assert tableau_build_datasource(task_ctx(project), BuildArgs(table="analytics.customer_ltv")).rows == MART_ROWS
    finally:
        other.join()
