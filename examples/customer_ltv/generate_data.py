"""Writes the example's raw data: customers, orders and payments of a jaffle shop, deterministic at any
scale.

    uv run python examples/customer_ltv/generate_data.py                # seeds/raw_*.csv at scale 1
                                                                        # and acceptance/customer_ltv.csv
    uv run python examples/customer_ltv/generate_data.py --check        # exit 1 if the seeds differ
    uv run python examples/customer_ltv/generate_data.py --scale 10 --out DIR
    uv run python examples/customer_ltv/generate_data.py --scale 100 --database FILE.duckdb

Scale 1 is 3,000 customers (about 10,000 orders and 12,000 payments); rows grow linearly with
``--scale`` (scale 300 is about 3.6 million payments). The same scale always gives the same rows: every
customer draws from a random generator seeded with its own id, so scale 10 holds scale 1's customers
and their orders, with more customers after them (order and payment ids are renumbered).

``--database`` loads the rows into the raw schema of a DuckDB file (``raw.raw_customers``,
``raw.raw_orders``, ``raw.raw_payments``) when those tables are missing, and leaves them alone when they
exist — the way to put millions of rows in front of dbt without CSV seeds.

At scale 1 it also writes ``acceptance/customer_ltv.csv``: what the stakeholders expect the
``customer_ltv`` mart to hold, computed from the raw rows in plain Python (the plan's ``table`` check
compares the mart with it).

What the data holds, on purpose: customers without orders; orders in five statuses; payments by four
methods, some failed (retried with another method), some zero-amount coupons, and refunds of returned
orders as negative successful payments (amounts in cents).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "seeds"
CUSTOMERS_PER_SCALE = 3_000
FIRST_DAY = date(2025, 1, 1)
DAYS = 540  # to 2026-06-24
FIRST_NAMES = [
    "Olga",
    "Xin",
    "Amara",
    "Bruno",
    "Chen",
    "Dara",
    "Emil",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jun",
    "Kemi",
    "Luca",
    "Maya",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Vik",
    "Wren",
    "Yara",
    "Zoe",
    "Aldo",
    "Bea",
    "Cruz",
]
METHODS = ("credit_card", "bank_transfer", "coupon", "gift_card")
STATUSES = ("completed", "shipped", "placed", "return_pending", "returned")
TABLES = ("raw_customers", "raw_orders", "raw_payments")
HEADERS = {
    "raw_customers": ("id", "first_name", "last_name"),
    "raw_orders": ("id", "user_id", "order_date", "status"),
    "raw_payments": ("id", "order_id", "payment_method", "status", "amount"),
}


@dataclass
class RawData:
    """The three raw tables as rows (tuples in ``HEADERS`` order)."""

    customers: list[tuple[int, str, str]]
    orders: list[tuple[int, int, str, str]]
    payments: list[tuple[int, int, str, str, int]]

    def tables(self) -> dict[str, list[tuple[object, ...]]]:
        return {
            "raw_customers": list(self.customers),
            "raw_orders": list(self.orders),
            "raw_payments": list(self.payments),
        }


def _customer_orders(customer: int) -> Iterator[tuple[int, str, list[tuple[str, str, int]]]]:
    """One customer's orders: (day, status, payments as (method, status, cents)), from its own seed."""
    rng = random.Random(customer * 7919 + 20261128)
    if rng.random() < 0.12:  # never ordered
        return
    count = min(1 + int(rng.expovariate(1 / 2.6)), 25)
    first = rng.randrange(DAYS - 30)
    days = sorted(first + rng.randrange(DAYS - first) for _ in range(count))
    for day in days:
        status = rng.choices(STATUSES, weights=(70, 12, 8, 4, 6))[0]
        cents = rng.randrange(3, 120) * 100 + rng.choice((0, 0, 50, 99))
        payments: list[tuple[str, str, int]] = []
        method = rng.choices(METHODS, weights=(55, 20, 15, 10))[0]
        if rng.random() < 0.06:  # declined, then paid another way
            payments.append((method, "fail", cents))
            method = rng.choice([m for m in METHODS if m != method and m != "coupon"])
        if method == "coupon" and rng.random() < 0.25:  # a free-order coupon
            cents = 0
        if rng.random() < 0.15 and cents >= 1000:  # split: part on a gift card
            part = cents // 4
            payments += [("gift_card", "success", part), (method, "success", cents - part)]
        else:
            payments.append((method, "success", cents))
        if status == "returned":
            payments.append((method, "success", -cents))
        yield FIRST_DAY.toordinal() + day, status, payments


def generate(scale: int = 1) -> RawData:
    """The raw tables at ``scale`` (≥ 1): ``CUSTOMERS_PER_SCALE * scale`` customers."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    customers: list[tuple[int, str, str]] = []
    orders: list[tuple[int, int, str, str]] = []
    payments: list[tuple[int, int, str, str, int]] = []
    for customer in range(1, CUSTOMERS_PER_SCALE * scale + 1):
        customers.append((customer, FIRST_NAMES[customer * 13 % len(FIRST_NAMES)], f"{chr(65 + customer * 7 % 26)}."))
        for day, status, paid in _customer_orders(customer):
            orders.append((0, customer, date.fromordinal(day).isoformat(), status))
            payments += [(0, len(orders), method, state, cents) for method, state, cents in paid]
    # Orders are numbered by date (then customer), as a shop's ids are; payments follow their orders.
    by_date = sorted(range(len(orders)), key=lambda n: (orders[n][2], orders[n][1], n))
    new_id = {old + 1: new + 1 for new, old in enumerate(by_date)}
    orders = [(new_id[n + 1], *orders[n][1:]) for n in by_date]
    payments.sort(key=lambda p: new_id[p[1]])
    payments = [(n, new_id[p[1]], p[2], p[3], p[4]) for n, p in enumerate(payments, start=1)]
    return RawData(customers, orders, payments)


def tier(value: Decimal) -> str:
    """The spec's LTV tiers."""
    if value >= 150:
        return "high"
    if value >= 50:
        return "medium"
    return "low" if value > 0 else "none"


def expected_ltv(data: RawData) -> list[tuple[int, str, int, str]]:
    """What the spec says customer_ltv holds, computed here from the raw rows in plain Python:
    (customer_id, lifetime_value, number_of_orders, ltv_tier) per customer. Lifetime value is the sum of
    the successful payments of the customer's orders (refunds negative), in currency units."""
    paid: dict[int, int] = {}
    for _, order, _, state, cents in data.payments:
        if state == "success":
            paid[order] = paid.get(order, 0) + cents
    cents_of: dict[int, int] = {}
    count: dict[int, int] = {}
    for order, customer, _, _ in data.orders:
        cents_of[customer] = cents_of.get(customer, 0) + paid.get(order, 0)
        count[customer] = count.get(customer, 0) + 1
    rows: list[tuple[int, str, int, str]] = []
    for customer, _, _ in data.customers:
        value = Decimal(cents_of.get(customer, 0)) / 100
        rows.append((customer, f"{value:.2f}", count.get(customer, 0), tier(value)))
    return rows


ACCEPTANCE = ("customer_id", "lifetime_value", "number_of_orders", "ltv_tier")


def csv_text(rows: list[tuple[object, ...]], header: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_seeds(data: RawData, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in data.tables().items():
        (folder / f"{name}.csv").write_text(csv_text(rows, HEADERS[name]), encoding="utf-8")


def write_acceptance(data: RawData, folder: Path) -> None:
    """``customer_ltv.csv``: the stakeholders' expected mart, for the plan's ``table`` check."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customer_ltv.csv").write_text(csv_text(list(expected_ltv(data)), ACCEPTANCE), encoding="utf-8")


def load_database(data: RawData, database: Path) -> list[str]:
    """Create and fill the raw tables in ``database`` that are missing; returns the ones it loaded."""
    import duckdb

    types = {
        "raw_customers": "id integer, first_name varchar, last_name varchar",
        "raw_orders": "id integer, user_id integer, order_date date, status varchar",
        "raw_payments": "id integer, order_id integer, payment_method varchar, status varchar, amount integer",
    }
    loaded: list[str] = []
    with tempfile.TemporaryDirectory() as scratch, duckdb.connect(str(database)) as conn:
        conn.execute("create schema if not exists raw")
        present = {
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        for name, rows in data.tables().items():
            if name in present:
                continue
            conn.execute(f"create table raw.{name} ({types[name]})")
            staged = Path(scratch) / f"{name}.csv"  # COPY is what keeps millions of rows fast
            staged.write_text(csv_text(rows, HEADERS[name]), encoding="utf-8")
            conn.execute(f"copy raw.{name} from '{staged.as_posix()}' (header true)")
            loaded.append(name)
    return loaded


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="customers in thousands of 3 (default 1: 3,000)")
    parser.add_argument("--out", type=Path, default=SEEDS, help="the seeds folder to write (default: seeds/)")
    parser.add_argument("--database", type=Path, help="load the raw schema of this DuckDB file where missing")
    parser.add_argument("--check", action="store_true", help="exit 1 if the seeds are not what scale 1 gives")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    data = generate(args.scale)
    if args.check:
        stale = [
            name
            for name, rows in data.tables().items()
            if (args.out / f"{name}.csv").read_text(encoding="utf-8") != csv_text(rows, HEADERS[name])
        ]
        expected = csv_text(list(expected_ltv(data)), ACCEPTANCE)
        if args.scale == 1 and (HERE / "acceptance" / "customer_ltv.csv").read_text(encoding="utf-8") != expected:
            stale.append("acceptance/customer_ltv.csv")
        print("seeds are up to date" if not stale else f"seeds out of date: {', '.join(stale)}")
        return 1 if stale else 0
    if args.database is not None:
        loaded = load_database(data, args.database)
        print(f"loaded {', '.join(loaded) or 'nothing (the raw tables exist)'} into {args.database}")
        return 0
    write_seeds(data, args.out)
    if args.out == SEEDS:
        write_acceptance(data, HERE / "acceptance")
    print(
        f"wrote {len(data.customers):,} customers, {len(data.orders):,} orders, {len(data.payments):,} payments "
        f"to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
