"""Warehouse values survive JSON exactly: NaN and infinities are not NULL, decimals keep every digit and
their scale, and each column's type travels with the rows — on DuckDB and on Snowflake (fakesnow)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from pathlib import Path
from typing import Any

import duckdb
import fakesnow
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dacrew.tools.base import ToolContext
from dacrew.tools.values import json_value
from dacrew.tools.warehouse.toolset import ProfileArgs, QueryArgs, warehouse_profile, warehouse_query

NOT_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _read(value: Any, column_type: str) -> Any:
    """A JSON value back to the database's value, as the encoding documents it."""
    kind = column_type.upper()
    if isinstance(value, str) and kind.startswith(("DOUBLE", "FLOAT", "REAL")):
        return NOT_FINITE[value]
    if isinstance(value, str | int) and kind.startswith(("DECIMAL", "NUMBER")):
        return decimal.Decimal(value)
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal):
        return a == b and a.as_tuple().exponent == b.as_tuple().exponent
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (None, None),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (0.1, 0.1),
        (decimal.Decimal("12345678901234567890.1234567890"), "12345678901234567890.1234567890"),
        (decimal.Decimal("10.50"), "10.50"),
        (decimal.Decimal("0.00"), "0.00"),
        (decimal.Decimal("1E-12"), "0.000000000001"),
        (decimal.Decimal("42"), 42),
        (decimal.Decimal("NaN"), "NaN"),
        (170141183460469231731687303715884105727, 170141183460469231731687303715884105727),
        (dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2024-03-31T01:30:00+02:00"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        ([1.5, math.nan, None], [1.5, "NaN", None]),
        ({"a": decimal.Decimal("1.5")}, {"a": "1.5"}),
    ],
)
def test_encoding(value: Any, encoded: Any) -> None:
    assert json.loads(json.dumps(json_value(value), allow_nan=False)) == encoded


@given(st.floats())
def test_every_double_round_trips(value: float) -> None:
    back = _read(json.loads(json.dumps(json_value(value), allow_nan=False)), "DOUBLE")
    assert _same(value, back)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=10, max_value=10**28, min_value=-(10**28)))
def test_every_decimal_round_trips(value: decimal.Decimal) -> None:
    back = _read(json.loads(json.dumps(json_value(value), allow_nan=False)), "DECIMAL(38,10)")
    assert back == value
    assert back.as_tuple().exponent == value.as_tuple().exponent or value == value.to_integral_value()


QUERY = (
    "select 12345678901234567890.1234567890::decimal(38,10) as d, 'nan'::double as n, 'inf'::double as p, "
    "'-inf'::double as m, null::double as z, 10.50::decimal(10,2) as money, 2::decimal(18,0) as whole"
)
EXPECTED = ["12345678901234567890.1234567890", "NaN", "Infinity", "-Infinity", None, "10.50", 2]


def _duckdb_ctx(tmp_path: Path) -> ToolContext:
    root = tmp_path / "p"
    root.mkdir()
    (root / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    (root / "profiles.yml").write_text("p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: wh.duckdb}\n")
    with duckdb.connect(str(root / "wh.duckdb")) as conn:
        conn.execute("create table readings (id int, x double, amount decimal(38,10))")
        conn.execute(
            "insert into readings values (1, 1.5, 1.25), (2, 'nan', 12345678901234567890.1234567890), "
            "(3, null, null), (4, -2.0, -0.0000000001)"
        )
    return ToolContext(project_dir=root)


def _through_json(result: Any) -> dict[str, Any]:
    # The result as the model and the findings get it: strict JSON (no NaN literals).
    return json.loads(json.dumps(result.model_dump(mode="json"), allow_nan=False))


def test_duckdb_query_round_trips(tmp_path: Path) -> None:
    ctx = _duckdb_ctx(tmp_path)
    try:
        data = _through_json(warehouse_query(ctx, QueryArgs(sql=QUERY)))
    finally:
        ctx.close()
    assert [c["type"] for c in data["columns"]] == [
        "DECIMAL(38,10)",
        "DOUBLE",
        "DOUBLE",
        "DOUBLE",
        "DOUBLE",
        "DECIMAL(10,2)",
        "DECIMAL(18,0)",
    ]
    assert data["rows"] == [EXPECTED]
    values = [_read(v, c["type"]) for v, c in zip(data["rows"][0], data["columns"], strict=True)]
    assert values[0] == decimal.Decimal("12345678901234567890.1234567890")
    assert math.isnan(values[1])
    assert (values[2], values[3]) == (math.inf, -math.inf)
    assert values[4] is None


def test_duckdb_profile_with_nan(tmp_path: Path) -> None:
    ctx = _duckdb_ctx(tmp_path)
    try:
        data = _through_json(warehouse_profile(ctx, ProfileArgs(table="readings")))
    finally:
        ctx.close()
    x = next(c for c in data["columns"] if c["name"] == "x")
    amount = next(c for c in data["columns"] if c["name"] == "amount")
    # DuckDB (like Snowflake) orders NaN above every number: the column's max is NaN, not NULL.
    assert (x["type"], x["min"], x["max"], x["nulls"]) == ("DOUBLE", -2.0, "NaN", 1)
    assert (amount["min"], amount["max"]) == ("-0.0000000001", "12345678901234567890.1234567890")


def test_snowflake_query_and_profile_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "sf"
    root.mkdir()
    (root / "dbt_project.yml").write_text("name: sf\nprofile: sf\n")
    (root / "profiles.yml").write_text(
        "sf:\n  target: dev\n  outputs:\n    dev:\n      type: snowflake\n      account: acme\n"
        "      user: u\n      password: p\n      database: analytics\n      schema: marts\n"
    )
    with fakesnow.patch():
        ctx = ToolContext(project_dir=root, agent="snowflake-expert", permissions=frozenset({"read", "write", "ddl"}))
        try:
            from dacrew.tools.warehouse.toolset import ExecuteArgs, warehouse_execute

            warehouse_execute(ctx, ExecuteArgs(sql="create table readings (id int, x float, amount number(38,10))"))
            warehouse_execute(
                ctx,
                ExecuteArgs(
                    sql="insert into readings select 1, 1.5, 1.25 union all "
                    "select 2, 'nan'::float, 12345678901234567890.1234567890 union all select 3, null, null"
                ),
            )
            sql = QUERY.replace("::double", "::float").replace("::decimal", "::number")
            query = _through_json(warehouse_query(ctx, QueryArgs(sql=sql)))
            profile = _through_json(warehouse_profile(ctx, ProfileArgs(table="readings")))
        finally:
            ctx.close()
    assert [c["type"] for c in query["columns"]] == [
        "NUMBER(38,10)",
        "REAL",
        "REAL",
        "REAL",
        "REAL",
        "NUMBER(10,2)",
        "NUMBER(18,0)",
    ]
    assert query["rows"] == [EXPECTED]
    x = next(c for c in profile["columns"] if c["name"] == "X")
    amount = next(c for c in profile["columns"] if c["name"] == "AMOUNT")
    assert (x["min"], x["max"], x["nulls"]) == (1.5, "NaN", 1)
    assert amount["max"] == "12345678901234567890.1234567890"
