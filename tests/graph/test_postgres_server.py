"""The suite's own PostgreSQL server: started from the installed binaries, one fresh database per test."""

from __future__ import annotations

import psycopg


def test_each_test_gets_a_fresh_database_on_a_loopback_server(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone()
        name = conn.execute("select current_database()").fetchone()
    assert tables == (0,)
    assert name is not None
    assert postgres_url.endswith("/" + str(name[0]))
