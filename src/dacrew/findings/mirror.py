"""A second copy of what a run writes, kept elsewhere (the shared store, when ``state.url`` names one).

The findings store, the event log and the journals write their files as always; while a mirror is
attached to a project, each finding written and each JSON line appended under that project is also
handed to the mirror, already redacted, right after the file write. Nothing is mirrored when no mirror
is attached (the embedded default).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any, Protocol

from dacrew.findings.format import Finding


class Mirror(Protocol):
    def finding_written(self, finding: Finding) -> None:
        """``finding`` (redacted) was just written to ``findings/<task>.md``."""
        ...

    def line_appended(self, path: Path, entry: dict[str, Any]) -> None:
        """``entry`` (redacted) was just appended as one JSON line to the file ``path``."""
        ...


_ACTIVE: dict[str, Mirror] = {}
_GUARD = threading.Lock()


@contextlib.contextmanager
def mirrored(project: Path, mirror: Mirror) -> Generator[None]:
    """Hand every write under ``project`` to ``mirror`` for the duration of the block."""
    root = os.path.abspath(project)
    with _GUARD:
        _ACTIVE[root] = mirror
    try:
        yield
    finally:
        with _GUARD:
            if _ACTIVE.get(root) is mirror:
                del _ACTIVE[root]


def mirror_of(path: Path) -> Mirror | None:
    """The mirror attached to the project holding ``path``, if any."""
    if not _ACTIVE:
        return None
    text = os.path.abspath(path)
    for root, mirror in list(_ACTIVE.items()):
        if text.startswith(root + os.sep):
            return mirror
    return None
