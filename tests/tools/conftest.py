"""Shared fixtures of the toolset tests: a generated dbt project on DuckDB (seeds, staging, marts,
tests with one failing, a source with freshness, a snapshot), built once per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from dacrew.tools.base import ToolContext
from dacrew.tools.dbt.toolset import DbtResult, RunArgs, dbt_build

CUSTOMERS = "id,first_name,last_name\n1,Ada,Lovelace\n2,Alan,Turing\n3,Grace,Hopper\n4,Edsger,Dijkstra\n"
ORDERS = (
    "id,user_id,order_date,status\n"
    "1,1,2024-01-01,completed\n2,1,2024-01-05,shipped\n3,2,2024-01-07,placed\n"
    "4,3,2024-02-01,returned\n5,3,2024-02-03,completed\n"
)
PAYMENTS = (
    "id,order_id,payment_method,amount\n"
    "1,1,credit_card,1000\n2,2,coupon,500\n3,2,credit_card,250\n4,3,bank_transfer,1200\n"
    "5,4,gift_card,300\n6,5,credit_card,4000\n"
)

FILES: dict[str, str] = {
    "dbt_project.yml": """
        name: shop
        version: "1.0"
        profile: shop
        models:
          shop:
            staging: {+materialized: view}
            marts: {+materialized: table}
        """,
    "profiles.yml": """
        shop:
          target: dev
          outputs:
            dev: {type: duckdb, path: shop.duckdb, threads: 1}
            prod: {type: duckdb, path: prod.duckdb, threads: 1}
        """,
    "seeds/raw_customers.csv": CUSTOMERS,
    "seeds/raw_orders.csv": ORDERS,
    "seeds/raw_payments.csv": PAYMENTS,
    "models/staging/_sources.yml": """
        sources:
          - name: raw
            schema: main
            tables:
              - name: raw_orders
                loaded_at_field: "cast(order_date as timestamp)"
                config:
                  freshness:
                    warn_after: {count: 1, period: day}
        """,
    "models/staging/stg_customers.sql": """
        select id as customer_id, first_name, last_name from {{ ref('raw_customers') }}
        """,
    "models/staging/stg_orders.sql": """
        select id as order_id, user_id as customer_id, order_date, status from {{ ref('raw_orders') }}
        """,
    "models/staging/stg_payments.sql": """
        select id as payment_id, order_id, payment_method, amount / 100.0 as amount
        from {{ ref('raw_payments') }}
        """,
    "models/staging/schema.yml": """
        models:
          - name: stg_customers
            description: One row per customer.
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [unique, not_null]
              - name: status
                data_tests:
                  - accepted_values:
                      arguments:
                        values: [placed, shipped, completed, return_pending, returned]
        """,
    "models/marts/orders.sql": """
        select o.order_id, o.customer_id, o.order_date, o.status, coalesce(sum(p.amount), 0) as amount
        from {{ ref('stg_orders') }} o left join {{ ref('stg_payments') }} p using (order_id)
        group by all
        """,
    "models/marts/customers.sql": """
        select c.customer_id, c.first_name, c.last_name, count(o.order_id) as number_of_orders,
               sum(o.amount) as customer_lifetime_value
        from {{ ref('stg_customers') }} c left join {{ ref('orders') }} o using (customer_id)
        group by all
        """,
    "models/marts/schema.yml": """
        models:
          - name: orders
            columns:
              - name: order_id
                data_tests: [unique, not_null]
          - name: customers
            columns:
              - name: customer_id
                data_tests: [unique]
        """,
    # Fails on purpose: customer 4 has no orders.
    "tests/assert_every_customer_ordered.sql": """
        select * from {{ ref('customers') }} where number_of_orders = 0
        """,
    "snapshots/customers_snapshot.yml": """
        snapshots:
          - name: customers_snapshot
            relation: ref('stg_customers')
            config:
              unique_key: customer_id
              strategy: check
              check_cols: all
        """,
}


def write_project(root: Path, extra: dict[str, str] | None = None) -> Path:
    """Write the shop project (plus ``extra`` files) under ``root``."""
    for rel, text in {**FILES, **(extra or {})}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def write_shop() -> Callable[..., Path]:
    """``write_shop(root, extra=None)`` writes a fresh, unbuilt shop project."""
    return write_project


@pytest.fixture(autouse=True)
def _isolated_dbt_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's own dbt settings must not leak into a test.
    for key in ("DBT_PROFILES_DIR", "DBT_TARGET", "DBT_PROJECT_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def shop_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtResult]:
    """The shop project, built once with `dbt build` (its failing singular test fails), and the result."""
    root = write_project(tmp_path_factory.mktemp("shop"))
    with pytest.MonkeyPatch.context() as mp:
        for key in ("DBT_PROFILES_DIR", "DBT_TARGET"):
            mp.delenv(key, raising=False)
        return root, dbt_build(ToolContext(project_dir=root), RunArgs())


@pytest.fixture(scope="session")
def shop_dir(shop_build: tuple[Path, DbtResult]) -> Path:
    return shop_build[0]


@pytest.fixture
def shop_ctx(shop_dir: Path) -> Iterator[ToolContext]:
    ctx = ToolContext(project_dir=shop_dir)
    yield ctx
    ctx.close()
