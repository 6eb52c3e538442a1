"""The run's LangGraph checkpointer: SQLite under ``.dacrew/`` or Postgres (``state.url``), with a serialiser
that redacts secrets before they are written."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from dacrew.findings.redact import secret_values


@contextlib.asynccontextmanager
async def open_checkpointer(db: Path, url: str | None = None) -> AsyncIterator[Any]:
    """The run's checkpointer: Postgres when ``url`` is given (``state.url``), else SQLite at ``db``.

    SQLite runs in WAL mode: a commit per finished task without the rollback journal's
    create-fsync-delete cycle (it survives a killed process; ``synchronous=NORMAL``). Postgres is
    ``langgraph-checkpoint-postgres``'s ``AsyncPostgresSaver``, its tables created on first use. Both
    serialise through :class:`RedactingSerde`."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = RedactingSerde(JsonPlusSerializer())
    if url is not None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(url, serde=serde) as saver:  # pyright: ignore[reportArgumentType]
            await saver.setup()
            yield saver
        return
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    db.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(db)) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        yield AsyncSqliteSaver(conn, serde=serde)  # pyright: ignore[reportArgumentType]


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
