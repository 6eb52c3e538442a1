"""Every question and approval of one plan task, asked through LangGraph's ``interrupt()``.

LangGraph matches answers to a task's interrupts by their order within the task, and a resumed task
runs again from its top. A resumed task may skip work it already did (a finished attempt, a replayed
delegate), so asking "in the same order" cannot be left to the code path. The asker keeps its own
record of the answers by a stable key (task/attempt/step/call) and, when a task restarts, first
consumes LangGraph's stored answers — one ``interrupt()`` per recorded answer — so the next real
question gets the next answer, whatever the code path replays.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from dacrew.agents.journal import append_line
from dacrew.findings.redact import redact_obj


class TaskAsker:
    def __init__(self, path: Path, task_id: str) -> None:
        self.path = path
        self.task_id = task_id
        self._answers: dict[str, Any] = {}
        self._lock = threading.Lock()
        if path.exists():
            for raw in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # torn last line: LangGraph still holds that answer; it is asked for again
                self._answers[str(entry["key"])] = entry["answer"]
        self._primed = False

    def prime(self) -> None:
        """Consume the answers LangGraph holds for this task's earlier interrupts (call before asking)."""
        from langgraph.types import interrupt

        if self._primed:
            return
        self._primed = True
        for _ in range(len(self._answers)):
            # Returns at once with the stored answer; asks only if the checkpoint lost it (then any
            # answer goes on: the recorded one is what the task uses).
            interrupt({"kind": "replay", "task": self.task_id, "text": "confirm to go on with the recorded answer"})

    def answered(self, key: str) -> bool:
        return key in self._answers

    def ask(self, key: str, payload: dict[str, Any]) -> Any:
        """The person's answer to ``payload`` (recorded, or asked now through an interrupt)."""
        from langgraph.types import interrupt

        if key in self._answers:
            return self._answers[key]
        self.prime()
        answer = interrupt(redact_obj(payload))
        self._record(key, answer)
        return answer

    def _record(self, key: str, answer: Any) -> None:
        with self._lock:
            append_line(self.path, {"key": key, "answer": redact_obj(answer)})
            self._answers[key] = answer
