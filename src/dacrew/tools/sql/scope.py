"""A run's write scope: the relations it created. DML and DDL on them need no approval; on any relation
that existed before the run (for ``dacrew tools call``: before the call) they do.

Kept one relation key a line in ``.dacrew/runs/<run id>/created_relations.txt``, so a resumed run, and
every task of the run, knows what the run created. A call outside a run keeps its scope in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from dacrew.tools.base import ToolContext

SCOPE_FILE = "created_relations.txt"


class WriteScope:
    """The relation keys (``schema.name`` lower case, ``database.schema.name`` when a database is named)
    a run created."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self._load()

    def __contains__(self, key: object) -> bool:
        if key in self._keys:
            return True
        self._load()  # another task of the run may have created it since
        return key in self._keys

    def add(self, keys: Iterable[str]) -> None:
        """Record relations the run just created."""
        new = [k for k in keys if k not in self._keys]
        if not new:
            return
        with self._lock:
            self._keys.update(new)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write("".join(f"{k}\n" for k in new))

    def _load(self) -> None:
        if self.path is not None and self.path.is_file():
            with self._lock:
                self._keys.update(line.strip() for line in self.path.read_text(encoding="utf-8").splitlines() if line)


def write_scope(ctx: ToolContext) -> WriteScope:
    """The caller's write scope: the run's (from its run folder) or, outside a run, this context's own."""
    path = ctx.project_dir / ".dacrew" / "runs" / ctx.run_id / SCOPE_FILE if ctx.run_id else None
    scope = ctx.connection("write_scope", lambda: WriteScope(path))
    assert isinstance(scope, WriteScope)
    return scope
