"""The run's event log: ``<run_dir>/events.jsonl``, append-only, one JSON object a line.

Every line is written with a single ``os.write`` to an ``O_APPEND`` descriptor, so lines from several
threads or processes never interleave; a process killed mid-write leaves at most one torn line, which
:func:`read_events` skips (and the next writer starts on a fresh line).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, cast

from dacrew.findings.format import now_iso
from dacrew.findings.mirror import mirror_of
from dacrew.findings.redact import redact_obj

EVENTS_FILE = "events.jsonl"


class EventLog:
    """Append events to ``<run_dir>/events.jsonl``; thread-safe; secrets redacted."""

    def __init__(self, run_dir: Path | str) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / EVENTS_FILE
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if _ends_torn(self.path):
                os.write(fd, b"\n")
            self._fd = fd
        return self._fd

    def emit(self, type: str, *, task: str | None = None, **fields: Any) -> dict[str, Any]:
        """Append one event (``ts``, ``type``, ``task`` if given, then ``fields``); returns it."""
        event: dict[str, Any] = {"ts": now_iso(), "type": type}
        if task is not None:
            event["task"] = task
        event.update(fields)
        event = cast(dict[str, Any], redact_obj(event))
        line = (json.dumps(event, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        with self._lock:
            fd = self._open()
            written = os.write(fd, line)
            # Regular files take the whole buffer at once; finish a short write rather than lose it.
            while written < len(line):
                written += os.write(fd, line[written:])
        mirror = mirror_of(self.path)
        if mirror is not None:
            mirror.line_appended(self.path, event)
        return event

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_torn(path: Path) -> bool:
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) != b"\n"


def read_events(run_dir: Path | str) -> list[dict[str, Any]]:
    """Every complete event of a run, in order; a torn line (a kill mid-write) is skipped."""
    return read_json_lines(Path(run_dir) / EVENTS_FILE)


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, in order (none when it does not exist); a torn or
    unreadable line is skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    out: list[dict[str, Any]] = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(value, dict):
            out.append(cast(dict[str, Any], value))
    return out
