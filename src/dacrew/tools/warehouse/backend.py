"""The protocol every warehouse backend implements, and what backends share (row fetching, errors).
:mod:`dacrew.tools.warehouse.connect` chooses the backend; this module imports none of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from dacrew.errors import ToolError
from dacrew.tools.sql.guard import Dialect
from dacrew.tools.values import json_value


@dataclass
class Rows:
    """What one statement returned: typed columns, JSON-safe rows, and whether the limit cut them."""

    columns: list[tuple[str, str]] = field(default_factory=lambda: list[tuple[str, str]]())
    rows: list[list[Any]] = field(default_factory=lambda: list[list[Any]]())
    truncated: bool = False
    rowcount: int | None = None
    query_id: str | None = None


class Backend(Protocol):
    """What the warehouse tools need from a database."""

    name: str
    dialect: Dialect
    default_database: str | None
    default_schema: str

    def run(
        self,
        sql: str,
        limit: int | None = None,
        params: list[Any] | None = None,
        *,
        drain: bool = False,
        read_only: bool = False,
    ) -> Rows:
        """Run one statement; keep up to ``limit`` rows. ``drain`` fetches every row (timing) and counts
        them in ``rowcount`` while keeping only ``limit``. ``read_only`` asks the database itself to
        refuse any change, where it can (DuckDB opens the file read-only)."""
        ...

    def close(self) -> None: ...


def fetch(cursor: Any, limit: int | None, *, drain: bool) -> tuple[list[list[Any]], bool, int]:
    """``(rows kept, truncated, rows seen)`` from a DB-API cursor, holding at most ``limit`` rows."""
    if limit is None:
        rows = [[json_value(v) for v in row] for row in cursor.fetchall()]
        return rows, False, len(rows)
    if not drain:
        fetched = cursor.fetchmany(limit + 1)
        rows = [[json_value(v) for v in row] for row in fetched[:limit]]
        return rows, len(fetched) > limit, len(rows)
    kept: list[list[Any]] = []
    seen = 0
    while batch := cursor.fetchmany(1000):
        room = limit - len(kept)
        kept.extend([json_value(v) for v in row] for row in batch[: max(room, 0)])
        seen += len(batch)
    return kept, seen > limit, seen


def db_error(exc: Exception) -> ToolError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ToolError(f"the warehouse refused the statement: {first}")
