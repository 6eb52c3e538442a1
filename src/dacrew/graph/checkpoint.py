"""The run's LangGraph checkpointer: SQLite under ``.dacrew/``, with a serialiser that redacts secrets before they are written."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from dacrew.findings.redact import secret_values


@contextlib.asynccontextmanager
async def open_checkpointer(db: Path) -> AsyncIterator[Any]:
    """The run's SQLite checkpointer, in WAL mode: a commit per finished task without the rollback
    journal's create-fsync-delete cycle (it survives a killed process; ``synchronous=NORMAL``)."""
    import aiosqlite
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with aiosqlite.connect(str(db)) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        yield AsyncSqliteSaver(conn, serde=RedactingSerde(JsonPlusSerializer()))


class RedactingSerde:
    """Checkpoint serialisation with secret values masked in place: each occurrence becomes as many
    ``*`` bytes, so the serialised form keeps its lengths and stays readable."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        kind, data = self.inner.dumps_typed(obj)
        for value in secret_values():
            raw = value.encode("utf-8")
            if raw in data:
                data = data.replace(raw, b"*" * len(raw))
        return kind, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.inner.loads_typed(data)
