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
place. Requests with ``"stream": true`` get the server-sent-event form of the same reply.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from dacrew.testing.loopback import LoopbackServer

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


class AnthropicFake(LoopbackServer):
    """``POST /v1/messages`` with scripted replies; every request is kept in ``.requests``."""

    name = "AnthropicFake"

    def __init__(self, model: str = "claude-sonnet-5-5") -> None:
        self.model = model
        self.requests: list[RecordedRequest] = []
        self._replies: list[_Reply] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- scripting -------------------------------------------------------------------------------

    def reply(
        self,
        content: list[dict[str, Any]],
        *,
        stop_reason: str | None = None,
        usage: dict[str, int] | None = None,
    ) -> None:
        """Queue a message with these content blocks (``text`` / ``tool_use``)."""
        has_tool = any(block.get("type") == "tool_use" for block in content)
        body = {
            "id": f"msg_fake_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason or ("tool_use" if has_tool else "end_turn"),
            "stop_sequence": None,
            "usage": {
                "input_tokens": 100,
                "output_tokens": 20,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
                **(usage or {}),
            },
        }
        with self._lock:
            self._replies.append(_Reply(body=body))

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

    def _next(self, request: RecordedRequest) -> _Reply:
        with self._lock:
            self.requests.append(request)
            if not request.path.split("?")[0].endswith("/v1/messages"):
                return _Reply(404, {"type": "error", "error": {"type": "not_found_error", "message": request.path}})
            if not self._replies:
                message = "AnthropicFake: no scripted reply left"
                return _Reply(500, {"type": "error", "error": {"type": "api_error", "message": message}})
            return self._replies.pop(0)


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
