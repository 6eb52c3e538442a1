"""The side-effect journal of one task attempt: every model response and every tool result, in order,
and the intent of every tool call before it runs.

A task that was interrupted or killed restarts from its top (LangGraph re-runs it); the loop then
replays the journal instead of asking the model again or repeating a tool's side effect. A tool call's
intent (tool and arguments) is appended before the tool runs and its result right after; an intent with
no result is a call in flight when the process died (``in_flight``). A call that never started its side
effect (it stopped for approval) is marked ``not_started``. Each entry is one ``write`` to an
``O_APPEND`` file: it survives the process being killed (the page cache outlives it). It is not fsynced,
so a power cut can lose the last entries — that call is then treated as if it had not been made.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from dacrew.findings.format import Usage
from dacrew.findings.mirror import mirror_of
from dacrew.findings.redact import redact_obj


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._models: dict[str, dict[str, Any]] = {}
        self._tools: dict[str, dict[str, Any]] = {}
        self._intents: dict[str, dict[str, Any]] = {}
        if path.exists():
            for raw in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # a torn last line after kill -9: that call is simply made again
                key = str(entry.get("key", ""))
                kind = entry.get("kind")
                if kind == "intent":
                    self._intents[key] = entry
                elif kind == "not_started":
                    self._intents.pop(key, None)
                else:
                    (self._models if kind == "model" else self._tools)[key] = entry

    def model(self, key: str) -> dict[str, Any] | None:
        return self._models.get(key)

    def tool(self, key: str) -> dict[str, Any] | None:
        return self._tools.get(key)

    def in_flight(self, key: str) -> dict[str, Any] | None:
        """The intent of a tool call that started and has no result: it was running when the process died."""
        return self._intents.get(key) if key not in self._tools else None

    def record_intent(self, key: str, tool: str, args: dict[str, Any]) -> None:
        """Before a tool runs: what is about to happen."""
        self._append({"kind": "intent", "key": key, "tool": tool, "args": args}, self._intents)

    def record_not_started(self, key: str) -> None:
        """The call stopped before its side effect (it waits for approval): a restart makes it afresh."""
        with self._lock:
            append_line(self.path, {"kind": "not_started", "key": key})
            self._intents.pop(key, None)

    def record_model(self, key: str, message: dict[str, Any], *, model: str = "") -> None:
        self._append({"kind": "model", "key": key, "message": message, "model": model}, self._models)

    def record_tool(self, key: str, content: str, status: str) -> None:
        self._append({"kind": "tool", "key": key, "content": content, "status": status}, self._tools)

    def usage(self, pricing: Any = None) -> Usage:
        """What this attempt's recorded model calls used (and cost)."""
        from langchain_core.messages import messages_from_dict

        from dacrew.models.estimate import ESTIMATED_USAGE
        from dacrew.models.usage import usage_from_message

        total = Usage()
        for entry in self._models.values():
            message = messages_from_dict([entry["message"]])[0]
            estimated = message.response_metadata.get(ESTIMATED_USAGE)
            if isinstance(estimated, dict):
                total = total + Usage.model_validate(estimated)
            else:
                total = total + usage_from_message(message, str(entry.get("model", "")), pricing)
        return total

    def _append(self, entry: dict[str, Any], index: dict[str, dict[str, Any]]) -> None:
        entry = redact_obj(entry)
        with self._lock:
            append_line(self.path, entry)
            index[str(entry["key"])] = entry


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line with a single ``write`` to an ``O_APPEND`` file: whole or not at all."""
    line = (json.dumps(entry, default=str) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    mirror = mirror_of(path)
    if mirror is not None:
        mirror.line_appended(path, entry)
