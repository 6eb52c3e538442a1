"""A tiny DuckDB project for the verification tests, and a fingerprint of every table in it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from textwrap import dedent

PROJECT = {
    "dbt_project.yml": """
        name: shop
        version: "1.0"
        profile: shop
        models:
          shop:
            +materialized: table
        """,
    "profiles.yml": """
        shop:
          target: dev
          outputs:
            dev: {type: duckdb, path: shop.duckdb, schema: analytics, threads: 1}
        """,
}


def write_files(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return root


def fingerprint(database: Path) -> dict[str, object]:
    """Every table and view of a DuckDB file with its row count and a hash of its rows (order-free),
    plus the digest of the file's bytes; {} when the file does not exist."""
    import duckdb

    if not database.exists():
        return {}
    connection = duckdb.connect(str(database), read_only=True)
    try:
        names = connection.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables order by all"
        ).fetchall()
        prints: dict[str, object] = {}
        for catalog, schema, name in names:
            relation = f'"{catalog}"."{schema}"."{name}"'
            prints[relation] = connection.execute(f"select count(*), sum(hash(t)) from {relation} t").fetchone()
    finally:
        connection.close()
    prints["file sha256"] = hashlib.sha256(database.read_bytes()).hexdigest()
    return prints
