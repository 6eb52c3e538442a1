"""Writes cassette.jsonl: the scripted model decisions that deliver the customer lifetime value feature.

Each task's conversation is a list of turns; a turn is what the model says and the tool calls it makes.
Replaying the cassette (`--model replay:examples/customer_ltv/cassette.jsonl`) runs every tool call for
real on the example project, so the run builds the warehouse, the Tableau extract and the pipeline.
The turns are scripted, not recorded: they cannot see the tool results, so the numbers the agents
quote in their summaries are computed here from the seeds, exactly as the models will find them.

    uv run python examples/customer_ltv/make_cassette.py           # rewrite cassette.jsonl and expected/
    uv run python examples/customer_ltv/make_cassette.py --check   # exit 1 if either is out of date
    uv run python examples/customer_ltv/make_cassette.py --from-run RUN_DIR OUT.jsonl

The last form turns a live run (a real model, `.dacrew/runs/<run-id>/` of its project) into a recorded
cassette: every model turn its journal holds, keyed as replay expects.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASSETTE = HERE / "cassette.jsonl"
EXPECTED_TIERS = HERE / "expected" / "customer_ltv_tiers.csv"
"""Each customer's lifetime value and tier, computed from the raw seeds: T008's business-rule check."""
HEADER = {
    "type": "header",
    "version": 1,
    "source": "scripted",
    "model": "scripted:customer_ltv-example",
    "created": "2026-11-28T10:00:00+00:00",
}
DELAY_S = 0.1  # enough for the live board to show each step; the whole run stays fast
PIPELINE = "orchestration/pipelines/customer_ltv_daily.yml"


@dataclass
class Turn:
    """One model response: its text and the tool calls it makes, as (tool name, arguments)."""

    say: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list[tuple[str, dict[str, Any]]])


def call(tool: str, /, **args: Any) -> tuple[str, dict[str, Any]]:
    return (tool, args)


def complete(**result: Any) -> tuple[str, dict[str, Any]]:
    return ("complete_task", result)


# -- what the seeds hold (the numbers the agents find) ----------------------------------------------
def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / "seeds" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class Facts:
    customers: int
    orders: int
    payments: int
    failed_payments: int
    refunds: int
    zero_payments: int
    customers_without_orders: int
    first_order: str
    last_order: str
    total_ltv: Decimal
    tiers: dict[str, int]


def tier(value: Decimal) -> str:
    """The spec's LTV tiers."""
    if value >= 150:
        return "high"
    if value >= 50:
        return "medium"
    return "low" if value > 0 else "none"


def lifetime_values() -> dict[str, Decimal]:
    """customer id → lifetime value: the successful payments of their orders, in dollars."""
    paid: Counter[str] = Counter()
    for p in _rows("raw_payments"):
        if p["status"] == "success":
            paid[p["order_id"]] += int(p["amount"])
    cents: Counter[str] = Counter()
    for o in _rows("raw_orders"):
        cents[o["user_id"]] += paid[o["id"]]
    return {c["id"]: Decimal(cents[c["id"]]) / 100 for c in _rows("raw_customers")}


def expected_tiers() -> str:
    """The CSV T008's `table` check compares analytics.customer_ltv with: id, value and tier per customer."""
    lines = ["customer_id,lifetime_value,ltv_tier"]
    lines += [f"{cid},{value:.2f},{tier(value)}" for cid, value in lifetime_values().items()]
    return "\n".join(lines) + "\n"


def facts() -> Facts:
    customers, orders, payments = _rows("raw_customers"), _rows("raw_orders"), _rows("raw_payments")
    ltv = list(lifetime_values().values())
    buyers = {o["user_id"] for o in orders}
    tiers = Counter(tier(v) for v in ltv)
    return Facts(
        customers=len(customers),
        orders=len(orders),
        payments=len(payments),
        failed_payments=sum(p["status"] == "fail" for p in payments),
        refunds=sum(p["status"] == "success" and int(p["amount"]) < 0 for p in payments),
        zero_payments=sum(int(p["amount"]) == 0 for p in payments),
        customers_without_orders=sum(c["id"] not in buyers for c in customers),
        first_order=min(o["order_date"] for o in orders),
        last_order=max(o["order_date"] for o in orders),
        total_ltv=sum(ltv, Decimal(0)),
        tiers={name: tiers[name] for name in ("high", "medium", "low", "none")},
    )


# -- the files the specialists write ----------------------------------------------------------------
SOURCES_YML = """\
version: 2

sources:
  - name: jaffle_shop
    description: Raw jaffle-shop tables, loaded daily into the raw schema.
    schema: raw
    tables:
      - name: raw_customers
        description: One row per customer.
        columns:
          - name: id
            data_tests: [unique, not_null]
      - name: raw_orders
        description: One row per order, with its lifecycle status.
        config:
          loaded_at_field: "cast(order_date as timestamp)"
          freshness:
            warn_after: {count: 2, period: day}
            error_after: {count: 7, period: day}
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: user_id
            data_tests: [not_null]
      - name: raw_payments
        description: One row per payment attempt; amounts in cents, refunds negative.
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: order_id
            data_tests: [not_null]
"""

STG_CUSTOMERS = """\
select
    id as customer_id,
    first_name,
    last_name
from {{ source('jaffle_shop', 'raw_customers') }}
"""

STG_ORDERS = """\
select
    id as order_id,
    user_id as customer_id,
    cast(order_date as date) as order_date,
    status
from {{ source('jaffle_shop', 'raw_orders') }}
"""

STG_PAYMENTS = """\
select
    id as payment_id,
    order_id,
    payment_method,
    status,
    -- cents to currency units, exact: a refund stays negative
    cast(amount / 100.0 as decimal(18, 2)) as amount
from {{ source('jaffle_shop', 'raw_payments') }}
"""

STAGING_YML = """\
version: 2

models:
  - name: stg_customers
    description: Customers, one row each.
    columns:
      - name: customer_id
        data_tests: [unique, not_null]
  - name: stg_orders
    description: Orders with their customer, date and status.
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: customer_id
        data_tests: [not_null]
      - name: status
        data_tests:
          - accepted_values:
              arguments:
                values: [placed, shipped, completed, return_pending, returned]
  - name: stg_payments
    description: Payment attempts in currency units; refunds are negative successful payments.
    columns:
      - name: payment_id
        data_tests: [unique, not_null]
      - name: status
        data_tests:
          - accepted_values:
              arguments:
                values: [success, fail]
      - name: payment_method
        data_tests:
          - accepted_values:
              arguments:
                values: [credit_card, bank_transfer, gift_card, coupon]
"""

INT_ORDER_PAYMENTS = """\
with orders as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    -- failed attempts never count; refunds are successful payments with a negative amount
    select * from {{ ref('stg_payments') }}
    where status = 'success'
)

select
    orders.order_id,
    orders.customer_id,
    orders.order_date,
    orders.status as order_status,
{methods}
    coalesce(sum(case when payments.amount < 0 then payments.amount end), 0) as refunded_amount,
    coalesce(sum(payments.amount), 0) as amount,
    count(payments.payment_id) as successful_payments
from orders
left join payments on payments.order_id = orders.order_id
group by 1, 2, 3, 4
""".replace(
    "{methods}",
    "\n".join(
        f"    coalesce(sum(case when payments.payment_method = '{m}' then payments.amount end), 0) as {m}_amount,"
        for m in ("credit_card", "bank_transfer", "gift_card", "coupon")
    ),
)

INTERMEDIATE_YML = """\
version: 2

models:
  - name: int_order_payments
    description: One row per order with its successful payments summed, per method and in total.
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: amount
        description: Net successful payments in currency units (refunds subtracted).
        data_tests: [not_null]
"""

FCT_ORDERS = """\
select
    order_id,
    customer_id,
    order_date,
    order_status as status,
    amount,
    credit_card_amount,
    bank_transfer_amount,
    gift_card_amount,
    coupon_amount,
    refunded_amount,
    successful_payments
from {{ ref('int_order_payments') }}
"""

DIM_CUSTOMERS = """\
with customers as (
    select * from {{ ref('stg_customers') }}
),

customer_orders as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as most_recent_order_date,
        count(*) as number_of_orders
    from {{ ref('stg_orders') }}
    group by customer_id
)

select
    customers.customer_id,
    customers.first_name,
    customers.last_name,
    customer_orders.first_order_date,
    customer_orders.most_recent_order_date,
    coalesce(customer_orders.number_of_orders, 0) as number_of_orders
from customers
left join customer_orders on customer_orders.customer_id = customers.customer_id
"""

MARTS_YML = """\
version: 2

models:
  - name: dim_customers
    description: Every customer with the first and most recent order dates and the number of orders.
    columns:
      - name: customer_id
        data_tests: [unique, not_null]
      - name: number_of_orders
        data_tests: [not_null]
  - name: fct_orders
    description: One row per order with its net paid amount (currency units) and status.
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: customer_id
        data_tests:
          - not_null
          - relationships:
              arguments:
                to: ref('dim_customers')
                field: customer_id
      - name: amount
        data_tests: [not_null]
"""

CUSTOMER_LTV = """\
with customers as (
    select * from {{ ref('dim_customers') }}
),

order_values as (
    select
        customer_id,
        sum(amount) as lifetime_value
    from {{ ref('fct_orders') }}
    group by customer_id
),

joined as (
    select
        customers.*,
        coalesce(order_values.lifetime_value, 0) as lifetime_value
    from customers
    left join order_values on order_values.customer_id = customers.customer_id
)

select
    customer_id,
    first_name,
    last_name,
    first_order_date,
    most_recent_order_date,
    number_of_orders,
    lifetime_value,
    case
        when number_of_orders > 0 then cast(round(lifetime_value / number_of_orders, 2) as decimal(18, 2))
    end as average_order_value,
    date_diff('day', first_order_date, most_recent_order_date) as tenure_days,
    -- tiers from the spec, signed off by finance
    case
        when lifetime_value >= 150 then 'high'
        when lifetime_value >= 50 then 'medium'
        when lifetime_value > 0 then 'low'
        else 'none'
    end as ltv_tier
from joined
"""

CUSTOMER_LTV_YML = """\
version: 2

models:
  - name: customer_ltv
    description: Lifetime value per customer (every customer, with or without orders) and its tier.
    columns:
      - name: customer_id
        data_tests:
          - unique
          - not_null
          - relationships:
              arguments:
                to: ref('dim_customers')
                field: customer_id
      - name: lifetime_value
        description: Sum of successful payments over all the customer's orders, refunds subtracted.
        data_tests: [not_null]
      - name: ltv_tier
        data_tests:
          - not_null
          - accepted_values:
              arguments:
                values: [high, medium, low, none]
"""

TEST_NOT_NEGATIVE = """\
-- A customer's lifetime value is never negative: a refund cannot exceed what was paid.
select customer_id, lifetime_value
from {{ ref('customer_ltv') }}
where lifetime_value < 0
"""

TEST_RECONCILES = """\
-- customer_ltv holds every paid cent of fct_orders, no more and no less.
with ltv as (
    select sum(lifetime_value) as total from {{ ref('customer_ltv') }}
),

orders as (
    select sum(amount) as total from {{ ref('fct_orders') }}
)

select ltv.total as ltv_total, orders.total as orders_total
from ltv
cross join orders
where ltv.total <> orders.total
"""

TEST_INTEGRATION = """\
-- End to end: the lifetime values add up to the raw successful payments (cents) the pipeline loaded.
with payments as (
    select cast(sum(amount) / 100.0 as decimal(18, 2)) as total
    from {{ source('jaffle_shop', 'raw_payments') }}
    where status = 'success'
),

ltv as (
    select sum(lifetime_value) as total from {{ ref('customer_ltv') }}
)

select payments.total as payments_total, ltv.total as ltv_total
from payments
cross join ltv
where payments.total <> ltv.total
"""

PAYMENT_ANOMALIES = """\
-- Payments the business rules must handle: failed attempts, refunds (negative) and zero amounts.
select
    status,
    payment_method,
    count(*) as payments,
    count(*) filter (where amount < 0) as refunds,
    count(*) filter (where amount = 0) as zero_amount,
    sum(amount) as amount_cents
from {{ source('jaffle_shop', 'raw_payments') }}
group by status, payment_method
order by status, payment_method
"""

ORPHANS_SQL = """\
-- Referential integrity of the raw data: orders without a customer, payments without an order.
select
    (select count(*) from {{ source('jaffle_shop', 'raw_orders') }} o
     where not exists (select 1 from {{ source('jaffle_shop', 'raw_customers') }} c where c.id = o.user_id))
        as orders_without_customer,
    (select count(*) from {{ source('jaffle_shop', 'raw_payments') }} p
     where not exists (select 1 from {{ source('jaffle_shop', 'raw_orders') }} o where o.id = p.order_id))
        as payments_without_order,
    (select count(*) from {{ source('jaffle_shop', 'raw_customers') }} c
     where not exists (select 1 from {{ source('jaffle_shop', 'raw_orders') }} o where o.user_id = c.id))
        as customers_without_orders
"""

PIPELINE_SKELETON = """\
version: v1
name: customer_ltv_daily
pipeline:
  transform:
    tasks:
      dbt_build:
        integration: DBT_CORE
        integration_job: DBT_CORE_EXECUTE
        parameters:
          commands: dbt build --select source:jaffle_shop+
schedule:
  - name: daily
    cron: "0 6 * * ? *"
    timezone: UTC
alerts:
  - name: failures
    statuses: [FAILED]
    destinations:
      - integration: EMAIL
        destination: analytics@example.com
"""

PIPELINE_FULL = """\
version: v1
name: customer_ltv_daily
pipeline:
  transform:
    tasks:
      dbt_build:
        integration: DBT_CORE
        integration_job: DBT_CORE_EXECUTE
        parameters:
          commands: dbt build --select source:jaffle_shop+
  publish:
    depends_on: [transform]
    tasks:
      refresh_extract:
        integration: TABLEAU_CLOUD
        integration_job: TABLEAU_REFRESH_EXTRACT
        parameters:
          project_name: Customer Analytics
          datasource_name: customer_ltv
schedule:
  - name: daily
    cron: "0 6 * * ? *"
    timezone: UTC
alerts:
  - name: failures
    statuses: [FAILED]
    destinations:
      - integration: EMAIL
        destination: analytics@example.com
"""

DACREW_YML = """\
# dacrew settings for the customer lifetime value feature.
# The dbt project is this folder; its profile (profiles.yml, beside it) points at an embedded DuckDB file.
dbt:
  project_dir: .
  target: dev
# Where the customer_ltv data source is published once a Tableau server is configured.
tableau:
  project: Customer Analytics
"""

DASHBOARD_QUERIES = {
    "tier summary": (
        "select ltv_tier, count(*) as customers, sum(lifetime_value) as value "
        "from analytics.customer_ltv group by ltv_tier order by value desc"
    ),
    "top customers": (
        "select customer_id, first_name, last_name, lifetime_value, number_of_orders "
        "from analytics.customer_ltv order by lifetime_value desc limit 10"
    ),
    "monthly value": (
        "select date_trunc('month', order_date) as month, count(*) as orders, sum(amount) as value "
        "from analytics.fct_orders group by 1 order by 1"
    ),
}
CLUSTERING_DDL = "alter table analytics.fct_orders cluster by (order_date)"


def optimization_sql() -> str:
    queries = "\n\n".join(f"-- {name}\n{sql};" for name, sql in DASHBOARD_QUERIES.items())
    return f"""\
-- Performance review of the customer lifetime value dashboard (T010).
--
-- The dashboard runs the three queries below. On the embedded warehouse each answers in milliseconds
-- (timed with warehouse_timed_query; figures in the T010 finding). customer_ltv is one row per
-- customer and small: no clustering needed. fct_orders grows daily and the monthly view filters and
-- groups by order_date, so on Snowflake it is clustered by order_date once it passes a few million
-- rows. The statement is recorded in snowflake/planned_ddl.sql; it is not applied on DuckDB.

{queries}

-- Planned for Snowflake:
{CLUSTERING_DDL};
"""


def metric_doc(f: Facts) -> str:
    return f"""\
## Definition
**Customer lifetime value (LTV)** is everything a customer has paid us: the sum of their successful
payments over all their orders, in currency units. Failed payment attempts never count. A refund is a
negative payment, so a returned order nets to zero.

| Field | Meaning |
|---|---|
| `lifetime_value` | Sum of successful payments, refunds subtracted |
| `number_of_orders` | Orders placed, whatever their status |
| `average_order_value` | `lifetime_value / number_of_orders`, rounded to cents |
| `first_order_date`, `most_recent_order_date` | The customer's earliest and latest order |
| `tenure_days` | Days between the first and the most recent order |
| `ltv_tier` | `high` (≥ 150.00), `medium` (≥ 50.00), `low` (> 0), `none` (nothing paid) |

## Where to find it
- Warehouse: `analytics.customer_ltv`, one row per customer ({f.customers} today).
- Tableau: the `customer_ltv` data source, with *Total Lifetime Value*, *Average Lifetime Value*,
  *High Value Customers*, *High Value Share* and *LTV Tier Order* as calculated fields.

## Refresh
The Orchestra pipeline `customer_ltv_daily` rebuilds the models at 06:00 UTC, then refreshes the
Tableau extract. A failure alerts analytics@example.com.

## Today's picture
{f.tiers["high"]} high, {f.tiers["medium"]} medium, {f.tiers["low"]} low and {f.tiers["none"]} customers with no value
yet; total lifetime value {f.total_ltv:.2f}.

## Known limitations
- Customers without orders ({f.customers_without_orders} today) are listed with a value of 0 and tier `none`.
- Orders that are `return_pending` still count in full until the refund is paid.
- Values are gross of costs and discounts other than coupons: LTV is revenue, not margin.
- The tier thresholds are the spec's; finance (Dana Reyes) owns any change to them.
"""


def training_doc() -> str:
    return """\
## In five minutes
1. Open the `customer_ltv` data source in Tableau.
2. Drag **LTV Tier** to Rows and **Total Lifetime Value** to Columns: value per tier.
3. Sort the tiers with **LTV Tier Order**; filter on `high` for the retention list.

## Check yourself
- A customer paid 40.00, then 30.00, and returned the second order: their LTV is 40.00 (tier `low`).
- A customer with a failed payment and a successful retry of 60.00: LTV 60.00 (tier `medium`).

## Who to ask
Metric definition: Dana Reyes (finance). Data and pipeline: the analytics engineering team.
"""


def runbook(f: Facts) -> str:
    return f"""\
# Customer lifetime value — production rollout runbook

Every component was built and checked on the embedded warehouse; promote them in this order.

1. **dbt models** — merge the branch; the production job runs
   `dbt build --select source:jaffle_shop+` (sources, staging, `int_order_payments`, `dim_customers`,
   `fct_orders`, `customer_ltv`, and their tests, including the reconciliation tests).
2. **Snowflake** — apply `snowflake/planned_ddl.sql` (clustering of `fct_orders` by `order_date`) with
   the deployment role; it was planned, not applied, on DuckDB.
3. **Tableau** — publish `tableau/datasources/customer_ltv.tds` to the *Customer Analytics* project
   (`tableau_publish_datasource`); on Snowflake the data source is live, the extract is refreshed by
   the pipeline.
4. **Orchestra** — push `{PIPELINE}` (validated offline); enable the daily 06:00 UTC schedule and
   check the first run, then the failure alert to analytics@example.com.
5. **Sign-off** — Dana Reyes (finance) confirms the tiers on the first production numbers
   (expected here: total {f.total_ltv:.2f} across {f.customers} customers).

Rollback: disable the schedule, revert the merge; the marts are rebuilt from the sources.
"""


# -- the conversations ------------------------------------------------------------------------------
def script(f: Facts) -> dict[str, list[Turn]]:
    """Every conversation of the run, keyed as in the cassette (``T012/dbt-expert`` for a delegate)."""
    return {
        "T001": [
            Turn(
                "Checking the dbt project and the dacrew settings before anything is built.",
                [
                    call("files_list", path="."),
                    call("files_read", path="dbt_project.yml"),
                    call("files_read", path="dacrew.yml"),
                ],
            ),
            Turn(
                "The project names the customer_ltv profile and loads the seeds into `raw`. I record where the "
                "Tableau data source will be published.",
                [call("files_write", path="dacrew.yml", content=DACREW_YML)],
            ),
            Turn(
                "Asking dbt-expert to load the raw seeds into the warehouse.",
                [
                    call(
                        "delegate",
                        agent="dbt-expert",
                        instructions=(
                            "Load the three jaffle-shop seeds into the `raw` schema with dbt_build --select "
                            "path:seeds and report the row counts."
                        ),
                    )
                ],
            ),
            Turn(
                "Setup is done.",
                [
                    complete(
                        summary=(
                            "The dbt project `shop_analytics` is ready on the embedded DuckDB warehouse: profile "
                            "`customer_ltv` (target dev, schema `analytics`, file customer_ltv.duckdb beside the "
                            "project), seeds land in the `raw` schema through a generate_schema_name override and "
                            f"are loaded ({f.customers} customers, {f.orders} orders, {f.payments} payments). "
                            "dacrew.yml now records the Tableau project (Customer Analytics)."
                        ),
                        artifacts=["dacrew.yml", "raw.raw_customers", "raw.raw_orders", "raw.raw_payments"],
                        details=(
                            "profiles.yml is a secrets file for the agents, so it was not read; dbt-expert's "
                            "seed build proves the profile connects."
                        ),
                        testing_strategy="dbt-expert built the three seeds; the parent checks they are in the warehouse.",
                        next_steps="T002 declares the raw tables as the `jaffle_shop` source.",
                    )
                ],
            ),
        ],
        "T001/dbt-expert": [
            Turn("Loading the seeds.", [call("dbt_build", select="path:seeds")]),
            Turn(
                "Seeds loaded.",
                [
                    complete(
                        summary=(
                            f"raw.raw_customers ({f.customers} rows), raw.raw_orders ({f.orders}) and "
                            f"raw.raw_payments ({f.payments}) are loaded from the seeds."
                        ),
                        artifacts=["raw.raw_customers", "raw.raw_orders", "raw.raw_payments"],
                    )
                ],
            ),
        ],
        "T002": [
            Turn("Looking at the raw data first.", [call("files_list", path="seeds")]),
            Turn(
                "Three seeds. Declaring them as the jaffle_shop source, with freshness on orders and key tests, "
                "and loading them.",
                [
                    call("files_write", path="models/staging/_sources.yml", content=SOURCES_YML),
                    call("dbt_build", select="path:seeds"),
                ],
            ),
            Turn(
                "Running the source tests and counting the rows.",
                [
                    call("dbt_test", select="source:jaffle_shop"),
                    call(
                        "warehouse_query",
                        sql=(
                            "select 'raw_customers' as tbl, count(*) as n from raw.raw_customers union all "
                            "select 'raw_orders', count(*) from raw.raw_orders union all "
                            "select 'raw_payments', count(*) from raw.raw_payments"
                        ),
                    ),
                ],
            ),
            Turn(
                "Sources declared and tested.",
                [
                    complete(
                        summary=(
                            f"Source `jaffle_shop` (schema raw) declares raw_customers ({f.customers} rows), "
                            f"raw_orders ({f.orders}) and raw_payments ({f.payments}), loaded from the seeds. "
                            "unique/not_null tests on every raw id pass."
                        ),
                        artifacts=[
                            "models/staging/_sources.yml",
                            "raw.raw_customers",
                            "raw.raw_orders",
                            "raw.raw_payments",
                        ],
                        details=(
                            "raw_orders carries a freshness rule on order_date (warn 2 days, error 7); the seeds "
                            "are a static sample, so `dbt source freshness` reports them stale locally."
                        ),
                        testing_strategy="dbt_test --select source:jaffle_shop; row counts by query.",
                        integration_points="Staging models select from source('jaffle_shop', …).",
                        risks="Freshness is meaningful only on the daily production load.",
                        next_steps="T003 profiles the raw tables; T004 builds staging on these sources.",
                    )
                ],
            ),
        ],
        "T003": [
            Turn(
                "Profiling the three raw tables.",
                [
                    call("warehouse_profile", table="raw.raw_customers"),
                    call("warehouse_profile", table="raw.raw_orders", timestamp_column="order_date"),
                    call("warehouse_profile", table="raw.raw_payments"),
                ],
            ),
            Turn(
                "Now referential integrity and the payment anomalies.",
                [
                    call(
                        "warehouse_query",
                        sql=(
                            "select (select count(*) from raw.raw_orders o where not exists "
                            "(select 1 from raw.raw_customers c where c.id = o.user_id)) as orders_without_customer, "
                            "(select count(*) from raw.raw_payments p where not exists "
                            "(select 1 from raw.raw_orders o where o.id = p.order_id)) as payments_without_order, "
                            "(select count(*) from raw.raw_customers c where not exists "
                            "(select 1 from raw.raw_orders o where o.user_id = c.id)) as customers_without_orders"
                        ),
                    ),
                    call(
                        "warehouse_query",
                        sql=(
                            "select status, count(*) as payments, count(*) filter (where amount < 0) as refunds, "
                            "count(*) filter (where amount = 0) as zero_amount, sum(amount) as amount_cents "
                            "from raw.raw_payments group by status order by status"
                        ),
                    ),
                ],
            ),
            Turn(
                "Keeping both queries as dbt analyses so they can be rerun on production data.",
                [
                    call("files_write", path="analyses/profiling/orphans.sql", content=ORPHANS_SQL),
                    call("files_write", path="analyses/profiling/payment_anomalies.sql", content=PAYMENT_ANOMALIES),
                ],
            ),
            Turn(
                "Profiling done.",
                [
                    complete(
                        summary=(
                            f"Raw data profiled: {f.customers} customers, {f.orders} orders "
                            f"({f.first_order} to {f.last_order}), {f.payments} payments. No orphans: every order "
                            f"has a known customer and every payment a known order. {f.customers_without_orders} "
                            f"customers have no orders. Payment anomalies: {f.failed_payments} failed attempts, "
                            f"{f.refunds} refunds (negative successful payments) and {f.zero_payments} zero-amount "
                            "payments."
                        ),
                        artifacts=["analyses/profiling/orphans.sql", "analyses/profiling/payment_anomalies.sql"],
                        details="Profiles by warehouse_profile (nulls, distinct, min/max); counts by query.",
                        testing_strategy="Direct queries on the raw schema; saved as dbt analyses.",
                        risks=(
                            "Failed payments must be excluded and refunds kept negative, as the spec says; "
                            "zero-amount payments add nothing and are harmless. Customers without orders need a row in the LTV "
                            "mart with value 0."
                        ),
                        next_steps="T006 filters on status = 'success'; T008 keeps customers without orders.",
                    )
                ],
            ),
        ],
        "T004": [
            Turn(
                "One staging model per raw table, amounts converted from cents, with key tests.",
                [
                    call("files_write", path="models/staging/stg_customers.sql", content=STG_CUSTOMERS),
                    call("files_write", path="models/staging/stg_orders.sql", content=STG_ORDERS),
                    call("files_write", path="models/staging/stg_payments.sql", content=STG_PAYMENTS),
                    call("files_write", path="models/staging/_staging.yml", content=STAGING_YML),
                ],
            ),
            Turn("Building staging with its tests.", [call("dbt_build", select="staging")]),
            Turn(
                "Checking the cents conversion.",
                [
                    call(
                        "warehouse_query",
                        sql=(
                            "select status, count(*) as payments, sum(amount) as amount "
                            "from analytics.stg_payments group by status order by status"
                        ),
                    )
                ],
            ),
            Turn(
                "Staging is green.",
                [
                    complete(
                        summary=(
                            "stg_customers, stg_orders and stg_payments built as views in `analytics`, with "
                            "renamed columns (customer_id, order_id, payment_id), order_date as a date and "
                            "payment amounts in currency units as decimal(18, 2)."
                        ),
                        artifacts=[
                            "models/staging/stg_customers.sql",
                            "models/staging/stg_orders.sql",
                            "models/staging/stg_payments.sql",
                            "models/staging/_staging.yml",
                        ],
                        details="Views in `analytics`; `cast(amount / 100.0 as decimal(18, 2))` keeps cents exact (no float drift).",
                        testing_strategy=(
                            "dbt build --select staging: unique/not_null on every key, accepted_values on "
                            "order status, payment status and method."
                        ),
                        integration_points="int_order_payments reads stg_orders and stg_payments.",
                        next_steps="T006 joins orders to their successful payments.",
                    )
                ],
            ),
        ],
        "T005": [
            Turn(
                "The pipeline should build everything downstream of the raw source; checking that selector.",
                [call("dbt_ls", select="source:jaffle_shop+")],
            ),
            Turn(
                "Writing the daily pipeline (validated before it is written).",
                [call("orchestra_write_pipeline", name="customer_ltv_daily", content=PIPELINE_SKELETON)],
            ),
            Turn("Validating it once more from the file.", [call("orchestra_validate_pipeline", path=PIPELINE)]),
            Turn(
                "Skeleton in place.",
                [
                    complete(
                        summary=(
                            f"{PIPELINE}: one DBT_CORE task `dbt build --select source:jaffle_shop+` (every model "
                            "and test downstream of the raw source), daily at 06:00 UTC, failure alert by email "
                            "to analytics@example.com. Orchestra's validator accepts it."
                        ),
                        artifacts=[PIPELINE],
                        details="`source:jaffle_shop+` was checked with dbt_ls; it picks up new models downstream of the source.",
                        testing_strategy="orchestra_validate_pipeline (orchestra-lang plus the dbt selectors).",
                        integration_points="T012 adds the Tableau extract refresh after the build.",
                        next_steps="T012 extends the pipeline and dry-runs it.",
                    )
                ],
            ),
        ],
        "T006": [
            Turn(
                "Joining orders to their successful payments, one row per order.",
                [
                    call("files_write", path="models/intermediate/int_order_payments.sql", content=INT_ORDER_PAYMENTS),
                    call("files_write", path="models/intermediate/_intermediate.yml", content=INTERMEDIATE_YML),
                ],
            ),
            Turn("Building it.", [call("dbt_build", select="int_order_payments")]),
            Turn(
                "Reconciling with stg_payments.",
                [
                    call(
                        "warehouse_query",
                        sql=(
                            "select (select count(*) from analytics.int_order_payments) as orders, "
                            "(select sum(amount) from analytics.int_order_payments) as order_total, "
                            "(select sum(amount) from analytics.stg_payments where status = 'success') "
                            "as payment_total"
                        ),
                    )
                ],
            ),
            Turn(
                "Reconciled.",
                [
                    complete(
                        summary=(
                            f"int_order_payments: one row per order ({f.orders}), successful payments summed per "
                            "method and in total (`amount`), refunds kept negative (`refunded_amount` too), failed "
                            f"attempts excluded. Its total equals stg_payments' successful total ({f.total_ltv:.2f})."
                        ),
                        artifacts=[
                            "models/intermediate/int_order_payments.sql",
                            "models/intermediate/_intermediate.yml",
                        ],
                        details="A left join from orders keeps orders without a successful payment (amount 0).",
                        testing_strategy="unique/not_null on order_id; reconciliation query against stg_payments.",
                        next_steps="T007 builds fct_orders on it.",
                    )
                ],
            ),
        ],
        "T007": [
            Turn(
                "fct_orders from the order payments, dim_customers from staging, with a relationship test.",
                [
                    call("files_write", path="models/marts/fct_orders.sql", content=FCT_ORDERS),
                    call("files_write", path="models/marts/dim_customers.sql", content=DIM_CUSTOMERS),
                    call("files_write", path="models/marts/_marts.yml", content=MARTS_YML),
                ],
            ),
            Turn("Building both marts.", [call("dbt_build", select="dim_customers fct_orders")]),
            Turn(
                "Checking customers and orders line up.",
                [
                    call(
                        "warehouse_query",
                        sql=(
                            "select count(*) as customers, sum(number_of_orders) as orders, "
                            "count(*) filter (where number_of_orders = 0) as without_orders "
                            "from analytics.dim_customers"
                        ),
                    )
                ],
            ),
            Turn(
                "Marts done.",
                [
                    complete(
                        summary=(
                            f"fct_orders ({f.orders} rows: amount, status, per-method amounts) and dim_customers "
                            f"({f.customers} rows: first and most recent order dates, number_of_orders) built as "
                            f"tables. {f.customers_without_orders} customers have no orders (number_of_orders 0)."
                        ),
                        artifacts=[
                            "models/marts/fct_orders.sql",
                            "models/marts/dim_customers.sql",
                            "models/marts/_marts.yml",
                        ],
                        details="Both marts are tables (marts folder config); dim_customers left-joins so every customer stays.",
                        testing_strategy="unique/not_null keys; relationships fct_orders.customer_id → dim_customers.",
                        next_steps="T008 aggregates fct_orders per customer for lifetime value.",
                    )
                ],
            ),
        ],
        "T008": [
            Turn(
                "The LTV mart on dim_customers and fct_orders, with the spec's tiers and the tests.",
                [
                    call("files_write", path="models/marts/customer_ltv.sql", content=CUSTOMER_LTV),
                    call("files_write", path="models/marts/_customer_ltv.yml", content=CUSTOMER_LTV_YML),
                    call(
                        "files_write",
                        path="tests/customer_ltv/assert_customer_ltv_not_negative.sql",
                        content=TEST_NOT_NEGATIVE,
                    ),
                    call(
                        "files_write",
                        path="tests/customer_ltv/assert_customer_ltv_reconciles.sql",
                        content=TEST_RECONCILES,
                    ),
                ],
            ),
            Turn("Building it with its tests.", [call("dbt_build", select="customer_ltv")]),
            Turn(
                "Looking at the tiers.",
                [
                    call(
                        "warehouse_query",
                        sql=(
                            "select ltv_tier, count(*) as customers, sum(lifetime_value) as value, "
                            "min(lifetime_value) as min_value, max(lifetime_value) as max_value "
                            "from analytics.customer_ltv group by ltv_tier order by min_value desc"
                        ),
                    )
                ],
            ),
            Turn(
                "The mart is ready.",
                [
                    complete(
                        summary=(
                            f"analytics.customer_ltv: one row per customer ({f.customers}) with lifetime_value, "
                            "number_of_orders, average_order_value, first/most recent order, tenure_days and "
                            f"ltv_tier. Total lifetime value {f.total_ltv:.2f}; tiers: {f.tiers['high']} high, "
                            f"{f.tiers['medium']} medium, {f.tiers['low']} low, {f.tiers['none']} none."
                        ),
                        artifacts=[
                            "models/marts/customer_ltv.sql",
                            "models/marts/_customer_ltv.yml",
                            "tests/customer_ltv/assert_customer_ltv_not_negative.sql",
                            "tests/customer_ltv/assert_customer_ltv_reconciles.sql",
                            "analytics.customer_ltv",
                        ],
                        details=(
                            "Built on dim_customers (every customer) left-joined to order values from fct_orders; "
                            "average_order_value is null for customers without orders; singular tests under tests/customer_ltv/."
                        ),
                        testing_strategy=(
                            "unique/not_null/relationships on customer_id, accepted_values on ltv_tier, singular "
                            "tests: no negative value, totals reconcile with fct_orders."
                        ),
                        integration_points="Tableau (T009), performance (T010) and docs (T011) read customer_ltv.",
                        risks="Tier thresholds (150 / 50) need finance's sign-off on production numbers.",
                        next_steps="T009 publishes it to Tableau; T012 adds it to the daily pipeline.",
                    )
                ],
            ),
        ],
        "T009": [
            Turn("Checking the mart's columns.", [call("warehouse_describe", table="analytics.customer_ltv")]),
            Turn(
                "Building the data source with an extract and the tier calculations.",
                [
                    call(
                        "tableau_build_datasource",
                        table="analytics.customer_ltv",
                        name="customer_ltv",
                        metrics=[
                            {"name": "Total Lifetime Value", "formula": "SUM([lifetime_value])", "datatype": "real"},
                            {"name": "Average Lifetime Value", "formula": "AVG([lifetime_value])", "datatype": "real"},
                            {
                                "name": "High Value Customers",
                                "formula": "SUM(IF [ltv_tier] = 'high' THEN 1 ELSE 0 END)",
                                "datatype": "integer",
                            },
                            {
                                "name": "High Value Share",
                                "formula": "[High Value Customers] / COUNTD([customer_id])",
                                "datatype": "real",
                            },
                            {
                                "name": "LTV Tier Order",
                                "formula": "CASE [ltv_tier] WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
                                "WHEN 'low' THEN 3 ELSE 4 END",
                                "datatype": "integer",
                                "description": "Sorts the tiers from high to none.",
                            },
                        ],
                    )
                ],
            ),
            Turn(
                "Checking the .tds against the mart.",
                [
                    call(
                        "tableau_check_fields",
                        tds="tableau/datasources/customer_ltv.tds",
                        table="analytics.customer_ltv",
                    )
                ],
            ),
            Turn(
                "Data source ready.",
                [
                    complete(
                        summary=(
                            "tableau/datasources/customer_ltv.tds with its .hyper extract "
                            f"({f.customers} rows): every column with a friendly caption, and calculated fields "
                            "Total Lifetime Value, Average Lifetime Value, High Value Customers, High Value Share "
                            "and LTV Tier Order."
                        ),
                        artifacts=["tableau/datasources/customer_ltv.tds", "tableau/datasources/customer_ltv.hyper"],
                        details="No Tableau server is configured: the data source is built locally, not published.",
                        testing_strategy="tableau_check_fields: columns, types, calculations and extract rows match.",
                        risks="Publishing needs tableau.server_url and a token (deployment, T013).",
                        next_steps="The pipeline's refresh step (T012) refreshes this extract on the server.",
                    )
                ],
            ),
        ],
        "T010": [
            Turn(
                "Timing the dashboard's three queries.",
                [call("warehouse_timed_query", sql=sql) for sql in DASHBOARD_QUERIES.values()],
            ),
            Turn(
                "Looking at the plan of the monthly query and planning clustering for Snowflake.",
                [
                    call("warehouse_explain", sql=DASHBOARD_QUERIES["monthly value"]),
                    call("warehouse_apply_ddl", sql=CLUSTERING_DDL),
                ],
            ),
            Turn(
                "Writing the review down.",
                [call("files_write", path="snowflake/optimization/customer_ltv.sql", content=optimization_sql())],
            ),
            Turn(
                "Review done.",
                [
                    complete(
                        summary=(
                            "The dashboard's queries (tier summary, top customers, monthly value) each answer in "
                            "milliseconds on the embedded warehouse, far under 2 s. customer_ltv needs no "
                            "clustering; fct_orders gets `cluster by (order_date)` on Snowflake, recorded as "
                            "planned DDL (not applied on DuckDB)."
                        ),
                        artifacts=["snowflake/optimization/customer_ltv.sql", "snowflake/planned_ddl.sql"],
                        testing_strategy="warehouse_timed_query per dashboard query; warehouse_explain.",
                        risks="Timings on DuckDB with sample data say little about Snowflake at scale; re-time there.",
                        next_steps="T013 applies snowflake/planned_ddl.sql on Snowflake.",
                    )
                ],
            ),
        ],
        "T011": [
            Turn(
                "Reading the spec's definitions and the mart's handoff.",
                [call("docs_read", path="spec.md", section="Definitions"), call("findings_read", task="T008")],
            ),
            Turn(
                "Checking today's tiers so the page matches the data.",
                [
                    call(
                        "warehouse_query",
                        sql="select ltv_tier, count(*) as customers from analytics.customer_ltv group by ltv_tier",
                    )
                ],
            ),
            Turn(
                "Writing the metric reference and a short training note.",
                [
                    call(
                        "docs_write",
                        kind="reference",
                        slug="customer_ltv",
                        title="Customer lifetime value",
                        content=metric_doc(f),
                        audience="finance, CRM and analysts",
                    ),
                    call(
                        "docs_write",
                        kind="training",
                        slug="customer_ltv",
                        title="Using customer lifetime value in Tableau",
                        content=training_doc(),
                        audience="CRM analysts",
                    ),
                ],
            ),
            Turn(
                "Documented.",
                [
                    complete(
                        summary=(
                            "documentation/customer_ltv.md defines lifetime value, the tiers, the refresh and the "
                            "known limitations (refunds, return_pending orders, customers without orders); "
                            "training/customer_ltv.md walks CRM analysts through the Tableau data source."
                        ),
                        artifacts=["documentation/customer_ltv.md", "training/customer_ltv.md"],
                        details="Written with docs_write (reference and training); no placeholders flagged.",
                        testing_strategy="Numbers in the page checked against analytics.customer_ltv.",
                        risks="Finance has not yet signed off the tier thresholds on production numbers.",
                        next_steps=(
                            "Ask Dana Reyes (finance) to sign off the definition and tiers after the first "
                            "production run; record it with docs_record_signoff."
                        ),
                    )
                ],
            ),
        ],
        "T012": [
            Turn(
                "Reading the skeleton the pipeline task left.",
                [call("findings_read", task="T005"), call("files_read", path=PIPELINE)],
            ),
            Turn(
                "The build already covers customer_ltv (source:jaffle_shop+). Asking dbt-expert for an "
                "end-to-end test the pipeline's build runs.",
                [
                    call(
                        "delegate",
                        agent="dbt-expert",
                        instructions=(
                            "Write tests/integration/assert_ltv_matches_raw_payments.sql: a singular dbt test "
                            "failing when the sum of customer_ltv.lifetime_value differs from the raw successful "
                            "payments (cents / 100). Run it with dbt_test."
                        ),
                    )
                ],
            ),
            Turn(
                "Adding the Tableau extract refresh after the build.",
                [call("orchestra_write_pipeline", name="customer_ltv_daily", content=PIPELINE_FULL)],
            ),
            Turn("Dry-running the pipeline's dbt steps locally.", [call("orchestra_dry_run", path=PIPELINE)]),
            Turn(
                "Integration run done.",
                [
                    complete(
                        summary=(
                            f"{PIPELINE} now runs `dbt build --select source:jaffle_shop+` then refreshes the "
                            "customer_ltv extract on Tableau Cloud (project Customer Analytics). It validates, and "
                            "a local dry run built every model and test green, customer_ltv included; the new "
                            "integration test checks LTV against the raw payments."
                        ),
                        artifacts=[PIPELINE, "tests/integration/assert_ltv_matches_raw_payments.sql"],
                        details=(
                            "No Orchestra server is configured: the run was a local dry run of the DBT_CORE step; "
                            "the Tableau step runs only on Orchestra and was skipped."
                        ),
                        testing_strategy="orchestra_dry_run; dbt_test on tests/integration.",
                        risks="The refresh step needs the Tableau Cloud integration set up in Orchestra.",
                        next_steps="T013 pushes the pipeline and starts its first production run.",
                    )
                ],
            ),
        ],
        "T012/dbt-expert": [
            Turn(
                "Writing the end-to-end test.",
                [
                    call(
                        "files_write",
                        path="tests/integration/assert_ltv_matches_raw_payments.sql",
                        content=TEST_INTEGRATION,
                    )
                ],
            ),
            Turn("Running it.", [call("dbt_test", select="path:tests/integration")]),
            Turn(
                "Test passes.",
                [
                    complete(
                        summary=(
                            "tests/integration/assert_ltv_matches_raw_payments.sql passes: lifetime values add up "
                            f"to the raw successful payments ({f.total_ltv:.2f})."
                        ),
                        artifacts=["tests/integration/assert_ltv_matches_raw_payments.sql"],
                    )
                ],
            ),
        ],
        "T013": [
            Turn(
                "Gathering what every task delivered.",
                [call("findings_list"), call("findings_read", task="T010"), call("findings_read", task="T012")],
            ),
            Turn(
                "Asking dbt-expert for a last full build of the feature before the rollout.",
                [
                    call(
                        "delegate",
                        agent="dbt-expert",
                        instructions=(
                            "Run dbt_build --select source:jaffle_shop+ (the production job's selection) and "
                            "report any node that is not green."
                        ),
                    )
                ],
            ),
            Turn(
                "Writing the rollout runbook.",
                [call("files_write", path="deployment/customer_ltv/runbook.md", content=runbook(f))],
            ),
            Turn(
                "Ready to roll out.",
                [
                    complete(
                        summary=(
                            "Every component is built and checked on the embedded defaults: dbt models and tests "
                            "(full build green), the Tableau data source with its extract, the validated daily "
                            "pipeline, planned Snowflake DDL and the metric docs. "
                            "deployment/customer_ltv/runbook.md gives the production steps in order."
                        ),
                        artifacts=["deployment/customer_ltv/runbook.md"],
                        details=(
                            "Nothing was pushed to production: no Snowflake, Tableau server or Orchestra API is "
                            "configured in this project. The runbook lists each step and the approval it needs."
                        ),
                        testing_strategy=(
                            "A full `dbt build --select source:jaffle_shop+` by dbt-expert; the checks of T001 to T012 "
                            "passed."
                        ),
                        risks="Finance sign-off of the tiers is pending until the first production numbers.",
                        next_steps="Follow the runbook with production credentials; record finance's sign-off.",
                    )
                ],
            ),
        ],
        "T013/dbt-expert": [
            Turn("Running the production selection.", [call("dbt_build", select="source:jaffle_shop+")]),
            Turn(
                "All green.",
                [
                    complete(
                        summary=(
                            "dbt build --select source:jaffle_shop+ passed: staging, intermediate and marts, "
                            "with every test, including the reconciliation and integration tests."
                        ),
                    )
                ],
            ),
        ],
    }


# -- rendering --------------------------------------------------------------------------------------
def records(conversations: dict[str, list[Turn]]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [HEADER]
    for task, turns in conversations.items():
        for step, turn in enumerate(turns):
            lines.append(
                {
                    "type": "model",
                    "task": task,
                    "attempt": 1,
                    "step": step,
                    "request_digest": None,
                    "delay_s": DELAY_S,
                    "response": {
                        "content": turn.say,
                        "tool_calls": [
                            {"id": f"{task.replace('/', '_').lower()}_s{step}_c{i}", "name": name, "args": args}
                            for i, (name, args) in enumerate(turn.calls, start=1)
                        ],
                        "usage": {
                            "input_tokens": 0,
                            "output_tokens": 0,
                            "cache_read_tokens": 0,
                            "cache_write_tokens": 0,
                        },
                    },
                }
            )
    return lines


def render() -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records(script(facts())))


def from_run(run_dir: Path) -> str:
    """A recorded cassette of a run's model turns, read from its journal (one file per task attempt)."""
    from langchain_core.messages import messages_from_dict

    from dacrew.models.cassette import response_from_message

    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    header = {**HEADER, "source": "recorded", "model": run.get("model", ""), "created": run.get("created", "")}
    turns: list[dict[str, Any]] = []
    for path in sorted((run_dir / "journal").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line) if line.strip() else {}
            if entry.get("kind") != "model":
                continue
            # T004/1/m3 for a lead, T012/1/dbt-expert/m0 for a delegate (cassette task T012/dbt-expert)
            task, attempt, *delegate, step = str(entry["key"]).split("/")
            message = messages_from_dict([entry["message"]])[0]
            turns.append(
                {
                    "type": "model",
                    "task": "/".join([task, *delegate]),
                    "attempt": int(attempt),
                    "step": int(step.removeprefix("m")),
                    "request_digest": None,
                    "delay_s": 0.0,
                    "response": response_from_message(message).model_dump(),
                }
            )
    turns.sort(key=lambda t: (t["task"], t["attempt"], t["step"]))
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [header, *turns])


def main(argv: list[str]) -> int:
    if argv[:1] == ["--from-run"] and len(argv) == 3:
        out = Path(argv[2])
        out.write_text(from_run(Path(argv[1])), encoding="utf-8")
        print(f"wrote {out}")
        return 0
    text, tiers = render(), expected_tiers()
    if "--check" in argv:
        stale = [
            path.relative_to(HERE).as_posix()
            for path, wanted in ((CASSETTE, text), (EXPECTED_TIERS, tiers))
            if (path.read_text(encoding="utf-8") if path.is_file() else "") != wanted
        ]
        if stale:
            print(f"{', '.join(stale)} out of date: run make_cassette.py", file=sys.stderr)
            return 1
        return 0
    CASSETTE.write_text(text, encoding="utf-8")
    EXPECTED_TIERS.parent.mkdir(exist_ok=True)
    EXPECTED_TIERS.write_text(tiers, encoding="utf-8")
    print(f"wrote {CASSETTE.name}: {text.count(chr(10)) - 1} model turns; {EXPECTED_TIERS.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
