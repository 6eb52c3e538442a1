"""warehouse: one protocol over the dbt target's database, two backends (DuckDB embedded, Snowflake).

- ``toolset``: query, execute, describe, list, profile, explain, timed query.
- ``ddl``: Snowflake-only DDL, validated and applied (planned on DuckDB).
- ``backend``: the protocol every backend implements, and row fetching.
- ``connect``: chooses the backend for a target.
- ``duckdb_backend``, ``snowflake_backend``: one module per database.
- ``metadata``: tables, columns and existence, per backend.
- ``sandbox``: the dbt-duckdb plugin that turns DuckDB's file access off.
"""

from __future__ import annotations

from dacrew.tools.warehouse.ddl import warehouse_apply_ddl
from dacrew.tools.warehouse.toolset import (
    warehouse_describe,
    warehouse_execute,
    warehouse_explain,
    warehouse_list,
    warehouse_profile,
    warehouse_query,
    warehouse_timed_query,
)

__all__ = [
    "warehouse_apply_ddl",
    "warehouse_describe",
    "warehouse_execute",
    "warehouse_explain",
    "warehouse_list",
    "warehouse_profile",
    "warehouse_query",
    "warehouse_timed_query",
]
