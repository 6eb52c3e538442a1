"""Cassette v1: recorded (or scripted) model turns and tool results, one JSON object a line.

```
{"type": "header", "version": 1, "source": "scripted" | "recorded", "model": "…", "created": "…"}
{"type": "model", "task": "T004", "attempt": 1, "step": 0, "request_digest": "sha256:…" | null,
 "delay_s": 0.0, "response": {"content": "…", "tool_calls": [{"id": "c1", "name": "…", "args": {…}}],
 "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0}}}
{"type": "tool", "task": "T004", "attempt": 1, "step": 0, "call_id": "c1", "name": "…", "args": {…},
 "result": …, "error": null}
```

A model turn may also carry ``request`` — a short summary of the request (one line per message, the
tool names) — so that strict replay can show *what* drifted, not only that the digest differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dacrew.errors import UserError
from dacrew.findings.format import now_iso
from dacrew.findings.redact import redact_obj

CASSETTE_VERSION = 1
M = TypeVar("M", bound=BaseModel)


class CassetteHeader(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["header"] = "header"
    version: Literal[1] = 1
    source: Literal["scripted", "recorded"] = "scripted"
    model: str = ""
    created: str = ""


class RecordedToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict[str, Any])


class TurnUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class TurnResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = ""
    tool_calls: list[RecordedToolCall] = Field(default_factory=list[RecordedToolCall])
    usage: TurnUsage = Field(default_factory=TurnUsage)


class ModelTurn(BaseModel):
    """One model response, keyed by task, attempt and step (the number of earlier AI messages)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["model"] = "model"
    task: str
    attempt: int = Field(default=1, ge=1)
    step: int = Field(ge=0)
    request_digest: str | None = None
    delay_s: float = Field(default=0.0, ge=0)
    response: TurnResponse = Field(default_factory=TurnResponse)
    request: list[str] | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.task, self.attempt, self.step)


class ToolRecord(BaseModel):
    """One tool call's result, for full replay."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["tool"] = "tool"
    task: str
    attempt: int = Field(default=1, ge=1)
    step: int = Field(ge=0)
    call_id: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict[str, Any])
    result: Any = None
    error: str | None = None


class Cassette:
    """A loaded cassette: its header, model turns by (task, attempt, step), and tool records."""

    def __init__(self, header: CassetteHeader, turns: Sequence[ModelTurn], tools: Sequence[ToolRecord], path: str):
        self.header = header
        self.path = path
        self.turns: dict[tuple[str, int, int], ModelTurn] = {t.key: t for t in turns}
        self.tools: list[ToolRecord] = list(tools)

    def turn(self, task: str, attempt: int, step: int) -> ModelTurn | None:
        return self.turns.get((task, attempt, step))

    def tool(self, task: str, attempt: int, call_id: str) -> ToolRecord | None:
        for record in self.tools:
            if (record.task, record.attempt, record.call_id) == (task, attempt, call_id):
                return record
        return None

    def tasks(self) -> list[str]:
        return sorted({task for task, _, _ in self.turns})

    def __repr__(self) -> str:
        return f"Cassette({self.path!r}, {len(self.turns)} turns, {len(self.tools)} tool records)"


def load_cassette(path: Path | str) -> Cassette:
    """Read a cassette; anything wrong is a :class:`UserError` at ``path:line``."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("cassette not found", path=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read cassette: {exc}", path=shown) from None
    header: CassetteHeader | None = None
    turns: dict[tuple[str, int, int], ModelTurn] = {}
    tools: list[ToolRecord] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=shown, line=number) from None
        if not isinstance(obj, dict):
            raise UserError("each line must be a JSON object", path=shown, line=number)
        kind = obj.get("type")  # pyright: ignore[reportUnknownMemberType]
        if header is None:
            if kind != "header":
                raise UserError('the first line must be the header ({"type": "header", …})', path=shown, line=number)
            header = _validate(CassetteHeader, obj, shown, number)
            continue
        if kind == "model":
            turn = _validate(ModelTurn, obj, shown, number)
            if turn.key in turns:
                task, attempt, step = turn.key
                raise UserError(
                    f"duplicate model turn for task {task} attempt {attempt} step {step}", path=shown, line=number
                )
            turns[turn.key] = turn
        elif kind == "tool":
            tools.append(_validate(ToolRecord, obj, shown, number))
        else:
            raise UserError(f"unknown record type {kind!r} (expected model or tool)", path=shown, line=number)
    if header is None:
        raise UserError("empty cassette: no header line", path=shown, line=1)
    return Cassette(header, list(turns.values()), tools, shown)


def _validate(model: type[M], obj: Any, path: str, line: int) -> M:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(record)"
        raise UserError(f"{where}: {err['msg']}", path=path, line=line) from None


# -- digests ---------------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    """A message's text: a plain string, or the text blocks of a list (cache markers are not content)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(block.get("text", "")) if isinstance(block, dict) else str(block)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
            for block in content  # pyright: ignore[reportUnknownVariableType]
            if not isinstance(block, dict) or block.get("type", "text") == "text"  # pyright: ignore[reportUnknownMemberType]
        )
    return json.dumps(content, default=str, sort_keys=True)


def _message_view(message: Any) -> dict[str, Any]:
    role = getattr(message, "type", type(message).__name__)
    if role == "tool":
        # A tool result is compared on its own (replay's tool-result check): measured times differ from
        # run to run, so the request digest names the result, not its text.
        return {"role": role, "name": getattr(message, "name", None)}
    view: dict[str, Any] = {"role": role, "content": _text_of(message.content)}
    calls = getattr(message, "tool_calls", None)
    if calls:
        view["tool_calls"] = [{"name": c["name"], "args": c["args"]} for c in calls]
    return view


def _tool_view(tool: Any) -> dict[str, Any]:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    spec = convert_to_openai_tool(tool)
    function = spec.get("function", spec)
    return {
        "name": function.get("name"),
        "description": function.get("description"),
        "parameters": function.get("parameters"),
    }


def _short_digest(obj: Any) -> str:
    data = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:12]


def request_digest(messages: Sequence[Any], tools: Sequence[Any] = ()) -> str:
    """A stable digest of a model request: the messages (role, text, tool calls without ids; a tool
    result by its tool's name) and the tools' names, descriptions and schemas."""
    blob = {"messages": [_message_view(m) for m in messages], "tools": [_tool_view(t) for t in tools]}
    data = json.dumps(blob, sort_keys=True, default=str, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


SUMMARY_LINE_CHARS = 200


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_LINE_CHARS else text[: SUMMARY_LINE_CHARS - 3] + "..."


def request_summary(messages: Sequence[Any], tools: Sequence[Any] = ()) -> list[str]:
    """What a strict-replay diff shows: the system prompt and the user's messages line by line
    (``system: <line>``), one line per model turn (its text and the tools it called), one per tool
    result (``tool result: <tool>``), and one per tool (``tool NAME(parameters) <digest of its schema>``)."""
    lines: list[str] = []
    for message in messages:
        view = _message_view(message)
        role = str(view["role"])
        if role == "tool":
            lines.append(f"tool result: {view['name']}")
        elif role in ("system", "human"):
            lines.extend(
                f"{role}: {_clip(line.rstrip())}" for line in str(view["content"]).splitlines() if line.strip()
            )
        else:
            calls = ",".join(c["name"] for c in view.get("tool_calls", []))
            text = _clip(" ".join(str(view["content"]).split()))
            lines.append(f"{role}: {text}" + (f" [calls {calls}]" if calls else ""))
    for tool in sorted((_tool_view(t) for t in tools), key=lambda v: str(v["name"])):
        parameters = tool.get("parameters") or {}
        names = ", ".join(sorted((parameters.get("properties") or {}).keys()))
        lines.append(f"tool {tool['name']}({names}) {_short_digest(tool)}")
    return lines


# -- writing ---------------------------------------------------------------------------------------


class CassetteWriter:
    """Append model turns and tool records to a cassette (a new one gets the header; an existing one
    is appended to); secrets are redacted as written."""

    def __init__(self, path: Path | str, source: Literal["scripted", "recorded"] = "recorded", model: str = ""):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._keys: set[tuple[str, int, int]] = set()
        if self.path.exists() and self.path.stat().st_size > 0:
            # Resuming a recording: keep what is there; a turn already recorded is not recorded twice.
            self._keys = set(load_cassette(self.path).turns)
            self._handle = self.path.open("a", encoding="utf-8")
            if not self.path.read_bytes().endswith(b"\n"):
                self._handle.write("\n")
        else:
            self._handle = self.path.open("w", encoding="utf-8")
            self._line(CassetteHeader(source=source, model=model, created=now_iso()).model_dump())

    def _line(self, obj: dict[str, Any]) -> None:
        line = json.dumps(redact_obj(obj), ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self._handle.write(line)
            self._handle.flush()

    def model_turn(
        self,
        task: str,
        attempt: int,
        step: int,
        response: Any,
        *,
        messages: Sequence[Any] | None = None,
        tools: Sequence[Any] = (),
        delay_s: float = 0.0,
    ) -> ModelTurn:
        """Record a response (an ``AIMessage`` or a ``TurnResponse``); with ``messages`` the turn gets
        the request's digest and summary, otherwise it matches any request. A key already in the
        cassette is not written again."""
        body = response if isinstance(response, TurnResponse) else response_from_message(response)
        turn = ModelTurn(
            task=task,
            attempt=attempt,
            step=step,
            delay_s=delay_s,
            response=body,
            request_digest=request_digest(messages, tools) if messages is not None else None,
            request=request_summary(messages, tools) if messages is not None else None,
        )
        with self._lock:
            if turn.key in self._keys:
                return turn
            self._keys.add(turn.key)
        self._line(turn.model_dump(exclude_none=False))
        return turn

    def tool_record(
        self,
        task: str,
        attempt: int,
        step: int,
        call_id: str,
        name: str,
        args: dict[str, Any],
        result: Any = None,
        error: str | None = None,
    ) -> ToolRecord:
        record = ToolRecord(
            task=task, attempt=attempt, step=step, call_id=call_id, name=name, args=args, result=result, error=error
        )
        self._line(record.model_dump())
        return record

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def response_from_message(message: Any) -> TurnResponse:
    """A cassette response from an ``AIMessage`` (content text, tool calls, usage with cache details)."""
    content = message.content
    if not isinstance(content, str):
        content = "".join(
            block.get("text", "") if isinstance(block, dict) else str(block)
            for block in content
            if not isinstance(block, dict) or block.get("type") == "text"
        )
    calls = [
        RecordedToolCall(id=str(c.get("id") or f"call_{i}"), name=c["name"], args=dict(c["args"]))
        for i, c in enumerate(getattr(message, "tool_calls", None) or [])
    ]
    meta = getattr(message, "usage_metadata", None) or {}
    details = meta.get("input_token_details") or {}
    usage = TurnUsage(
        input_tokens=int(meta.get("input_tokens") or 0),
        output_tokens=int(meta.get("output_tokens") or 0),
        cache_read_tokens=int(details.get("cache_read") or 0),
        cache_write_tokens=int(details.get("cache_creation") or 0),
    )
    return TurnResponse(content=content, tool_calls=calls, usage=usage)
