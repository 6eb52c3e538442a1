"""What every loopback fake shares: a threaded HTTP server on 127.0.0.1 (a free port), started and
stopped as a context manager, quiet about clients that hang up on purpose (timeout tests)."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) closes the socket: that is the test, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Base of the fakes: subclasses give :meth:`handler_class` and may extend :attr:`url`."""

    name = "fake"
    _server: QuietServer | None = None
    _thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> None:
        self._server = QuietServer(("127.0.0.1", 0), self.handler_class())
        # A short poll interval keeps shutdown (each test's teardown) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
