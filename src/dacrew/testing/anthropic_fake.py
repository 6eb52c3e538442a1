"""A loopback server that speaks the Anthropic Messages API to the real clients.

```
with AnthropicFake() as fake:
    fake.reply_tool_use("files_read", {"path": "a.sql"})
    fake.reply_text("done")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    ...
    fake.requests[0].headers["x-api-key"]
```

Replies are served in order; ``fail(429, retry_after=0.2)`` or ``fail(529)`` queue an error in their
place. When the queue is empty, a ``responder`` (a function of the request body returning content blocks)
answers, so that concurrent conversations can each follow their own script. ``inject_faults(0.2)`` makes
that share of requests fail at random (429 with ``retry-after``, 529, 500, or no answer before the
client's read timeout) without using up a reply. Requests with ``"stream": true`` get the
server-sent-event form of the same reply.

Usage is computed from each request (:mod:`dacrew.models.estimate`: characters ÷ 4, prompt-cache
reads and writes at the request's ``cache_control`` breakpoints); ``.usage`` keeps one entry per answered
request. A reply scripted with ``usage=`` reports those figures instead.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from dacrew.models.estimate import DEFAULT_MIN_CACHE_TOKENS, PromptCache, RequestUsage, output_tokens
from dacrew.testing.loopback import LoopbackServer

Responder = Callable[[dict[str, Any]], list[dict[str, Any]]]
FAULT_KINDS = ("429", "529", "500", "timeout")

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class _Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict[str, Any])
    headers: dict[str, str] = field(default_factory=dict[str, str])
    usage: dict[str, int] | None = None
    """Scripted usage figures (else computed from the request)."""
    delay_s: float = 0.0


@dataclass
class ServedUsage:
    """What one answered request cost, by the fake's estimate; ``model`` is the model it asked for."""

    model: str
    request: RequestUsage
    output_tokens: int


class AnthropicFake(LoopbackServer):
    """``POST /v1/messages`` with scripted replies; every request is kept in ``.requests``."""

    name = "AnthropicFake"

    def __init__(
        self,
        model: str = "claude-sonnet-5-5",
        *,
        responder: Responder | None = None,
        min_cache_tokens: int = DEFAULT_MIN_CACHE_TOKENS,
    ) -> None:
        self.model = model
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self.usage: list[ServedUsage] = []
        self.faults_served: list[str] = []
        self.cache = PromptCache(min_cache_tokens)
        self._replies: list[_Reply] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._fault_rate = 0.0
        self._fault_kinds: tuple[str, ...] = FAULT_KINDS
        self._timeout_s = 0.0
        self._random = random.Random(0)
        self._forced: dict[str, list[str]] = {}

    # -- scripting -------------------------------------------------------------------------------

    def reply(
        self,
        content: list[dict[str, Any]],
        *,
        stop_reason: str | None = None,
        usage: dict[str, int] | None = None,
    ) -> None:
        """Queue a message with these content blocks (``text`` / ``tool_use``)."""
        with self._lock:
            self._replies.append(_Reply(body=self._message(content, stop_reason), usage=usage))

    def _message(self, content: list[dict[str, Any]], stop_reason: str | None = None) -> dict[str, Any]:
        has_tool = any(block.get("type") == "tool_use" for block in content)
        return {
            "id": f"msg_fake_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason or ("tool_use" if has_tool else "end_turn"),
            "stop_sequence": None,
        }

    def reply_text(self, text: str, **kwargs: Any) -> None:
        self.reply([{"type": "text", "text": text}], **kwargs)

    def reply_tool_use(
        self, name: str, input: dict[str, Any], *, id: str | None = None, text: str = "", **kwargs: Any
    ) -> None:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        blocks.append({"type": "tool_use", "id": id or f"toolu_fake_{next(self._ids)}", "name": name, "input": input})
        self.reply(blocks, **kwargs)

    def fail(self, status: int, *, retry_after: float | None = None, message: str = "") -> None:
        """Queue an API error (429 rate limit, 529 overloaded, …), with ``retry-after`` if given."""
        headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
        body = {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message or f"fake error {status}"},
        }
        with self._lock:
            self._replies.append(_Reply(status=status, body=body, headers=headers))

    def inject_faults(
        self, rate: float, *, kinds: Sequence[str] = FAULT_KINDS, seed: int = 0, timeout_s: float = 1.0
    ) -> None:
        """Fail ``rate`` of the requests (0 to 1, drawn from a seeded generator) with one of ``kinds``:
        ``429`` (with ``retry-after: 0``), ``529``, ``500``, or ``timeout`` (the answer waits
        ``timeout_s``, longer than the client's read timeout should be). No scripted reply is used up."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        with self._lock:
            self._fault_rate = rate
            self._fault_kinds = tuple(kinds)
            self._random = random.Random(seed)
            self._timeout_s = timeout_s

    def fail_model(self, model: str, kind: str, times: int) -> None:
        """The next ``times`` requests for ``model`` fail with ``kind`` (one of the fault kinds)."""
        with self._lock:
            self._forced.setdefault(model, []).extend([kind] * times)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    # -- serving ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def _fault(self, kind: str) -> _Reply:
        self.faults_served.append(kind)
        if kind == "timeout":
            return _Reply(500, _error_body(500, "fake answer after the read timeout"), delay_s=self._timeout_s)
        status = int(kind)
        headers = {"retry-after": "0"} if status == 429 else {}
        return _Reply(status, _error_body(status, f"injected fault {status}"), headers)

    def _next(self, request: RecordedRequest) -> _Reply:
        with self._lock:
            self.requests.append(request)
            if not request.path.split("?")[0].endswith("/v1/messages"):
                return _Reply(404, {"type": "error", "error": {"type": "not_found_error", "message": request.path}})
            forced = self._forced.get(str(request.body.get("model", "")))
            if forced:
                return self._fault(forced.pop(0))
            if self._fault_rate and self._random.random() < self._fault_rate:
                return self._fault(self._random.choice(self._fault_kinds))
            if self._replies:
                reply = self._replies.pop(0)
            elif self.responder is None:
                return _Reply(500, _error_body(500, "AnthropicFake: no scripted reply left"))
            else:
                reply = None
        if reply is None:
            assert self.responder is not None
            reply = _Reply(body=self._message(self.responder(request.body)))
        if reply.status != 200:
            return reply
        return self._priced(request, reply)

    def _priced(self, request: RecordedRequest, reply: _Reply) -> _Reply:
        """The reply with its usage: scripted figures, or the estimate for this request."""
        counted = self.cache.account(request.body)
        output = output_tokens(reply.body["content"])
        usage = {
            "input_tokens": counted.input_tokens,
            "output_tokens": output,
            "cache_read_input_tokens": counted.cache_read_input_tokens,
            "cache_creation_input_tokens": counted.cache_creation_input_tokens,
        }
        if reply.usage is not None:  # scripted figures replace the estimate (absent keys are 0)
            usage = {**dict.fromkeys(usage, 0), **reply.usage}
        body = {**reply.body, "model": str(request.body.get("model") or self.model), "usage": usage}
        with self._lock:
            self.usage.append(ServedUsage(model=body["model"], request=counted, output_tokens=output))
        return _Reply(body=body, headers=reply.headers)


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}


def _sse(body: dict[str, Any]) -> bytes:
    """The streaming form of a message body: the events the Messages API sends."""
    events: list[tuple[str, dict[str, Any]]] = []
    start = {**body, "content": [], "stop_reason": None, "usage": {**body["usage"], "output_tokens": 0}}
    events.append(("message_start", {"type": "message_start", "message": start}))
    for index, block in enumerate(body["content"]):
        if block["type"] == "tool_use":
            empty = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            empty = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"stop_reason": body["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": body["usage"]["output_tokens"]}
    events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


def _handler(fake: AnthropicFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = fake._next(RecordedRequest("POST", self.path, headers, body))  # pyright: ignore[reportPrivateUsage]
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.status == 200 and body.get("stream"):
                payload, content_type = _sse(reply.body), "text/event-stream"
            else:
                payload, content_type = json.dumps(reply.body).encode(), "application/json"
            self.send_response(reply.status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", f"req_fake_{len(fake.requests)}")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
