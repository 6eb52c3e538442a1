"""Extracts keep what the warehouse holds: each DuckDB type written to its Hyper equivalent and read
back unchanged; a type Hyper cannot hold is named in the result and fails the field check."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dacrew.tools.base import ToolContext
from dacrew.tools.tableau.columns import hyperapi
from dacrew.tools.tableau.hyper import hyper_process
from dacrew.tools.tableau.local import BuildArgs, CheckFieldsArgs, tableau_build_datasource, tableau_check_fields
from dacrew.tools.tableau.types import hyper_type_of

FAITHFUL = """
    select 1::bigint as id,
           170141183460469231731687303715884105::hugeint as big,
           12345678901234567890.1234567890::decimal(38,10) as amount,
           '2024-03-31 01:30+02'::timestamptz as paid_at,
           '13:45:01.5'::time as cutoff,
           interval '1 month 2 days 3 hours 4.5 seconds' as wait,
           18446744073709551615::ubigint as counter
"""


def _project(root: Path, select: str) -> ToolContext:
    (root / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (root / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n"
    )
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        con.execute("create schema analytics")
        con.execute(f"create table analytics.mart as {select}")
    return ToolContext(project_dir=root, files=("tableau/datasources/",))


def _extract_rows(path: Path) -> list[list[Any]]:
    hapi = hyperapi()
    with hyper_process() as hyper, hapi.Connection(hyper.endpoint, path) as con:
        return con.execute_list_query(f"SELECT * FROM {hapi.TableName('Extract', 'Extract')}")


@pytest.mark.parametrize(
    ("source", "hyper", "datatype"),
    [
        ("HUGEINT", "NUMERIC(38,0)", "real"),
        ("DECIMAL(38,10)", "NUMERIC(38,10)", "real"),
        ("DECIMAL(12,2)", "NUMERIC(12,2)", "real"),
        ("DECIMAL", "NUMERIC(18,3)", "real"),
        ("NUMBER(38,0)", "NUMERIC(38,0)", "integer"),
        ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP_TZ", "datetime"),
        ("TIMESTAMP_TZ", "TIMESTAMP_TZ", "datetime"),
        ("TIMESTAMP", "TIMESTAMP", "datetime"),
        ("TIME", "TIME", "datetime"),
        ("INTERVAL", "INTERVAL", "string"),
        ("UBIGINT", "NUMERIC(20,0)", "real"),
        ("INTEGER", "BIG_INT", "integer"),
        ("DOUBLE", "DOUBLE", "real"),
        ("BLOB", "BYTES", "string"),
        ("VARCHAR", "TEXT", "string"),
    ],
)
def test_each_type_has_its_hyper_equivalent(source: str, hyper: str, datatype: str) -> None:
    mapped = hyper_type_of(source)
    assert (mapped.hyper, mapped.datatype, mapped.note) == (hyper, datatype, "")


@pytest.mark.parametrize(
    "source", ["UUID", "INTEGER[]", "STRUCT(a INTEGER)", "MAP(VARCHAR, INTEGER)", "VARIANT", "BIT"]
)
def test_types_without_an_equivalent_say_so(source: str) -> None:
    mapped = hyper_type_of(source)
    assert (mapped.hyper, mapped.note) == ("TEXT", f"Hyper has no {source} type: the values are stored as their text")


def test_extract_keeps_every_value(tmp_path: Path) -> None:
    ctx = _project(tmp_path, FAITHFUL)
    built = tableau_build_datasource(ctx, BuildArgs(table="analytics.mart"))
    assert built.not_faithful == []
    assert {f.name: f.hyper_type for f in built.fields} == {
        "id": "BIG_INT",
        "big": "NUMERIC(38,0)",
        "amount": "NUMERIC(38,10)",
        "paid_at": "TIMESTAMP_TZ",
        "cutoff": "TIME",
        "wait": "INTERVAL",
        "counter": "NUMERIC(20,0)",
    }
    [row] = _extract_rows(tmp_path / built.hyper)  # type: ignore[operator]
    hapi = hyperapi()
    assert row[1] == decimal.Decimal("170141183460469231731687303715884105")
    assert row[2] == decimal.Decimal("12345678901234567890.1234567890")
    # The same instant: 01:30 at +02:00 is 23:30 UTC the day before — kept with its time zone.
    assert row[3].to_datetime() == dt.datetime(2024, 3, 30, 23, 30, tzinfo=dt.UTC)
    assert row[4] == dt.time(13, 45, 1, 500000)
    assert row[5] == hapi.Interval(1, 2, (3 * 3600 + 4) * 1_000_000 + 500_000)
    assert row[6] == decimal.Decimal("18446744073709551615")
    checked = tableau_check_fields(ctx, CheckFieldsArgs(tds=built.tds, table="analytics.mart"))
    assert checked.matches, checked.message


def test_a_type_hyper_cannot_hold_fails_the_check(tmp_path: Path) -> None:
    ctx = _project(tmp_path, "select 1 as id, '6eb9916c-819d-4177-b020-bfbc85eb9907'::uuid as token, [1, 2] as tags")
    built = tableau_build_datasource(ctx, BuildArgs(table="analytics.mart"))
    assert built.not_faithful == [
        "token: Hyper has no UUID type: the values are stored as their text",
        "tags: Hyper has no INTEGER[] type: the values are stored as their text",
    ]
    [row] = _extract_rows(tmp_path / built.hyper)  # type: ignore[operator]
    assert row[1:] == ["6eb9916c-819d-4177-b020-bfbc85eb9907", "[1, 2]"]
    checked = tableau_check_fields(ctx, CheckFieldsArgs(tds=built.tds, table="analytics.mart"))
    assert not checked.matches
    assert checked.not_faithful == sorted(built.not_faithful)
    assert "2 problem(s)" in checked.message
