"""Tool results against a cassette: recorded for every run, compared in model-replay, served in full replay.

A tool record's ``result`` is the tool's typed result as JSON; a call that did not produce one (a guard
refusal, a denial, invalid arguments, an error) keeps what the model read in ``error`` and its status in
``result`` (``{"status": "refused"}``). What the model reads is rendered from the record by the same
function as from a live result, so a full replay hands the model exactly what the recording did.

The parent's acceptance checks are recorded too, as tool records named ``check`` (call ids ``check:1``,
``check:2`` … per attempt, arguments ``{kind, argument}``, result the check's outcome): full replay
verifies a task from the recording, with no warehouse.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dacrew.findings.format import CheckResult
from dacrew.models.cassette import Cassette, ToolRecord
from dacrew.models.replay import ReplayError

CHECK_TOOL = "check"
_MEASURED_SUFFIXES = ("_s", "_ms", "_hours", "_seconds")
_MEASURED_NAMES = frozenset({"elapsed", "execution_time", "timing", "duration", "age_hours"})


def result_json(result: Any) -> Any:
    """A tool result as JSON data (a pydantic result dumped in JSON mode)."""
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return json.loads(json.dumps(result, default=str))


def render_result(data: Any) -> str:
    """A result as compact JSON (the agent loop cuts long ones into pages the model reads on with
    ``result_page``)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def record_content(record: ToolRecord) -> tuple[str, str]:
    """What the model reads for a recorded call, and the call's status."""
    if record.error is not None:
        status = record.result.get("status", "error") if isinstance(record.result, dict) else "error"
        return record.error, str(status)  # pyright: ignore[reportUnknownArgumentType]
    ok = record.result.get("ok", True) if isinstance(record.result, dict) else True
    return render_result(record.result), "ok" if ok else "failed"


def without_measurements(data: Any) -> Any:
    """The data with measured values (times, ages: keys like ``elapsed_s``, ``execution_time``) left out:
    they differ from run to run without anything having changed."""
    if isinstance(data, dict):
        return {
            key: without_measurements(value)
            for key, value in data.items()  # pyright: ignore[reportUnknownVariableType]
            if not (str(key) in _MEASURED_NAMES or str(key).endswith(_MEASURED_SUFFIXES))  # pyright: ignore[reportUnknownArgumentType]
        }
    if isinstance(data, list):
        return [without_measurements(item) for item in data]  # pyright: ignore[reportUnknownVariableType]
    return data


def _lines(data: Any) -> list[str]:
    return json.dumps(without_measurements(data), indent=1, sort_keys=True, default=str).splitlines()


@dataclass
class ToolReplay:
    """A run's view of its replayed cassette's tool records.

    ``full``: tool calls and checks are answered from the cassette (nothing runs). Otherwise each live
    result is compared with the recorded one. A difference (or, in full replay, a call with no record)
    is drift: ``on_drift`` hears of it; ``strict`` makes it a :class:`ReplayError` that fails the task.
    """

    cassette: Cassette
    full: bool = False
    strict: bool = False
    on_drift: Callable[[ReplayError], None] | None = None

    def recorded(self, task: str, attempt: int, call_id: str) -> ToolRecord | None:
        return self.cassette.tool(task, attempt, call_id)

    def drift(self, message: str, *, task: str, attempt: int, step: int, what: str, diff: str = "") -> None:
        """Report drift; raises :class:`ReplayError` when strict."""
        error = ReplayError(
            message + (f"\n{diff}" if diff else ""), task=task, attempt=attempt, step=step, what=what, diff=diff
        )
        if self.on_drift is not None:
            self.on_drift(error)
        if self.strict:
            raise error

    def serve(self, task: str, attempt: int, step: int, call_id: str, name: str) -> tuple[str, str] | None:
        """Full replay: the recorded content and status of a call (None: no record; drift reported)."""
        record = self.recorded(task, attempt, call_id)
        if record is None or record.name != name:
            self.drift(
                f"task {task} attempt {attempt} step {step}: {self.cassette.path} has no recorded result for "
                f"{name} call {call_id}; the call runs for real",
                task=task,
                attempt=attempt,
                step=step,
                what="missing",
            )
            return None
        return record_content(record)

    def compare(
        self, task: str, attempt: int, step: int, call_id: str, name: str, result: Any, error: str | None
    ) -> None:
        """Model replay: compare a live result with the recorded one (if the cassette has it)."""
        record = self.recorded(task, attempt, call_id)
        if record is None or record.name != name:
            return
        recorded = {"error": record.error} if record.error is not None else record.result
        now = {"error": error} if error is not None else result
        before, after = _lines(recorded), _lines(now)
        if before == after:
            return
        lines = list(difflib.unified_diff(before, after, "recorded", "now", n=1, lineterm=""))
        diff = "\n".join(lines[:16] + (["…"] if len(lines) > 16 else []))
        self.drift(
            f"task {task} attempt {attempt} step {step}: the result of {name} (call {call_id}) differs from "
            f"{self.cassette.path}",
            task=task,
            attempt=attempt,
            step=step,
            what="tool result",
            diff=diff,
        )

    def checks(self, task: str, attempt: int, specs: list[tuple[str, str]]) -> list[CheckResult]:
        """Full replay: each check's recorded outcome, in order (a check with no record fails, saying so);
        with no checks in the plan, whatever the parent recorded for the attempt."""
        recorded = sorted(
            (r for r in self.cassette.tools if (r.task, r.attempt, r.name) == (task, attempt, CHECK_TOOL)),
            key=lambda r: _check_number(r.call_id),
        )
        if not specs:
            return [CheckResult.model_validate(r.result) for r in recorded if isinstance(r.result, dict)]
        by_id = {r.call_id: r for r in recorded}
        out: list[CheckResult] = []
        for number, (kind, argument) in enumerate(specs, start=1):
            record = by_id.get(f"check:{number}")
            wanted = {"kind": kind.strip().lower(), "argument": argument}
            if record is not None and record.args == wanted and isinstance(record.result, dict):
                out.append(CheckResult.model_validate(record.result))
                continue
            self.drift(
                f"task {task} attempt {attempt}: {self.cassette.path} has no recorded outcome for check "
                f"{kind}: {argument}",
                task=task,
                attempt=attempt,
                step=0,
                what="missing",
            )
            out.append(
                CheckResult(
                    kind=kind,
                    argument=argument,
                    passed=False,
                    output="full replay: the cassette has no outcome for this check",
                )
            )
        return out


def _check_number(call_id: str) -> int:
    _, _, number = call_id.partition(":")
    return int(number) if number.isdigit() else 0
