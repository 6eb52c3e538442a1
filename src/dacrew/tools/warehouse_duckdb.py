"""The embedded DuckDB backend: the database file of the dbt-duckdb target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dacrew.errors import ToolError
from dacrew.tools.sql_guard import Dialect
from dacrew.tools.warehouse_backend import Rows, db_error, fetch


class DuckDBBackend:
    """Opens the file for each statement and closes it after, so that dbt (in this process or another)
    can take the file between calls: DuckDB allows one writing process and one configuration per file."""

    name = "duckdb"
    dialect: Dialect = "duckdb"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.path = str(settings.get("path") or ":memory:")
        self.default_schema = str(settings.get("schema") or "main")
        self.default_database: str | None = (
            None if self.path == ":memory:" else Path(self.path).stem if "://" not in self.path else None
        )
        self._memory: Any = None

    def _connect(self) -> Any:
        import duckdb

        if self.path == ":memory:":
            if self._memory is None:
                self._memory = duckdb.connect(":memory:")
            return self._memory
        try:
            return duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise ToolError(f"cannot open the DuckDB database {Path(self.path).name}: {exc}") from None

    def run(self, sql: str, limit: int | None = None, params: list[Any] | None = None, *, drain: bool = False) -> Rows:
        import duckdb

        conn = self._connect()
        try:
            cursor = conn.execute(sql, params or [])
            if cursor.description is None:
                return Rows(rowcount=None)
            columns = [(str(d[0]), str(d[1])) for d in cursor.description]
            rows, truncated, seen = fetch(cursor, limit, drain=drain)
            return Rows(columns=columns, rows=rows, truncated=truncated, rowcount=seen)
        except duckdb.Error as exc:
            raise db_error(exc) from None
        finally:
            if conn is not self._memory:
                conn.close()

    def close(self) -> None:
        if self._memory is not None:
            self._memory.close()
            self._memory = None
