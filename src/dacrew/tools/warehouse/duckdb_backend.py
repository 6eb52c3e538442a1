"""The embedded DuckDB backend: the database file of the dbt-duckdb target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dacrew.errors import ToolError
from dacrew.tools.sql.guard import Dialect
from dacrew.tools.warehouse.backend import Rows, db_error, fetch

# Whatever the SQL guard misses, a statement cannot reach a file, another database or an extension:
# external access is off and the configuration locked (no SET can turn it back on).
SANDBOX_CONFIG: dict[str, Any] = {"enable_external_access": False, "lock_configuration": True}


class DuckDBBackend:
    """Opens the file for each statement and closes it after, so that dbt (in this process or another)
    can take the file between calls: DuckDB allows one writing process and one configuration per file.

    Every connection runs with :data:`SANDBOX_CONFIG`; reads open the file read-only, so not even a
    statement the guard misread as a read can change it."""

    name = "duckdb"
    dialect: Dialect = "duckdb"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.path = str(settings.get("path") or ":memory:")
        self.default_schema = str(settings.get("schema") or "main")
        self.default_database: str | None = (
            None if self.path == ":memory:" else Path(self.path).stem if "://" not in self.path else None
        )
        self._memory: Any = None

    def _connect(self, read_only: bool) -> Any:
        import duckdb

        if self.path == ":memory:":
            if self._memory is None:
                self._memory = duckdb.connect(":memory:", config=dict(SANDBOX_CONFIG))
            return self._memory
        if read_only and not Path(self.path).exists():
            raise ToolError(f"the DuckDB database {Path(self.path).name} does not exist yet: build the project first")
        try:
            return duckdb.connect(self.path, read_only=read_only, config=dict(SANDBOX_CONFIG))
        except duckdb.Error as exc:
            raise ToolError(f"cannot open the DuckDB database {Path(self.path).name}: {exc}") from None

    def run(
        self,
        sql: str,
        limit: int | None = None,
        params: list[Any] | None = None,
        *,
        drain: bool = False,
        read_only: bool = False,
    ) -> Rows:
        import duckdb

        from dacrew.tools.base import WAREHOUSE_FILE_LOCK

        with WAREHOUSE_FILE_LOCK:
            return self._run(duckdb, sql, limit, params, drain=drain, read_only=read_only)

    def _run(
        self, duckdb: Any, sql: str, limit: int | None, params: list[Any] | None, *, drain: bool, read_only: bool
    ) -> Rows:
        conn = self._connect(read_only)
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
