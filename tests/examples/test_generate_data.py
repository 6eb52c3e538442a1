"""The example's data generator: deterministic, linear in --scale, shaped as the feature needs, the
shipped seeds are its scale-1 output, and it loads a raw schema only where one is missing."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customer_ltv"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("customer_ltv_generate_data", EXAMPLE / "generate_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_shipped_seeds_are_the_generators_scale_1(generator: ModuleType) -> None:
    data = generator.generate(1)
    for name, rows in data.tables().items():
        shipped = (EXAMPLE / "seeds" / f"{name}.csv").read_text(encoding="utf-8")
        assert shipped == generator.csv_text(rows, generator.HEADERS[name]), name


def test_the_same_scale_gives_the_same_rows_and_more_scale_more_customers(generator: ModuleType) -> None:
    one, again, two = generator.generate(1), generator.generate(1), generator.generate(2)
    assert one == again
    assert len(one.customers) == 3000
    assert len(two.customers) == 6000
    assert 1.8 < len(two.orders) / len(one.orders) < 2.2

    # Scale 2 holds scale 1's customers with the same orders (ids renumbered by date).
    def orders_of(data: object, customer: int) -> list[tuple[str, str]]:
        return sorted((o[2], o[3]) for o in data.orders if o[1] == customer)  # type: ignore[attr-defined]

    assert orders_of(one, 17) == orders_of(two, 17)
    with pytest.raises(ValueError, match="at least 1"):
        generator.generate(0)


def test_the_data_holds_what_the_feature_must_handle(generator: ModuleType) -> None:
    data = generator.generate(1)
    ids = [o[0] for o in data.orders]
    assert ids == list(range(1, len(ids) + 1))
    assert [o[2] for o in data.orders] == sorted(o[2] for o in data.orders)
    customers = {c[0] for c in data.customers}
    assert {o[1] for o in data.orders} <= customers  # no orphan orders
    assert {p[1] for p in data.payments} <= set(ids)  # no orphan payments
    assert len(customers - {o[1] for o in data.orders}) > 100  # customers who never ordered
    statuses = Counter(o[3] for o in data.orders)
    assert set(statuses) == set(generator.STATUSES)
    assert {p[2] for p in data.payments} == set(generator.METHODS)
    assert sum(p[3] == "fail" for p in data.payments) > 100
    refunded = {p[1] for p in data.payments if p[3] == "success" and p[4] < 0}
    returned = {o[0] for o in data.orders if o[3] == "returned"}
    assert refunded <= returned
    assert len(refunded) > 0.9 * len(returned)  # all but the free (zero-amount) returned orders
    assert sum(p[4] == 0 for p in data.payments) > 50


def test_the_raw_schema_is_loaded_only_where_missing(generator: ModuleType, tmp_path: Path) -> None:
    import duckdb

    database = tmp_path / "warehouse.duckdb"
    data = generator.generate(1)
    with duckdb.connect(str(database)) as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.raw_customers (id integer)")
        conn.execute("insert into raw.raw_customers values (42)")
    assert generator.load_database(data, database) == ["raw_orders", "raw_payments"]
    assert generator.load_database(data, database) == []
    with duckdb.connect(str(database)) as conn:
        assert conn.execute("select count(*) from raw.raw_customers").fetchone() == (1,)
        assert conn.execute("select count(*), max(order_date) from raw.raw_orders").fetchone() == (
            len(data.orders),
            max(__import__("datetime").date.fromisoformat(o[2]) for o in data.orders),
        )
        assert conn.execute("select sum(amount) from raw.raw_payments").fetchone() == (
            sum(p[4] for p in data.payments),
        )
