"""One rate limiter shared by every agent, and bounded retries that honour ``retry-after``.

When any call is told to slow down (429 rate limited, 529 overloaded), the whole crew waits out the
``retry-after`` the server gave, not only the caller: the limit belongs to the API key, not the task.
Errors that remain after the last attempt are raised; the task fails, not the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
OVERLOADED = 529
DEFAULT_ATTEMPTS = 4
DEFAULT_BASE_DELAY = 1.0
DEFAULT_MAX_DELAY = 60.0


class RateLimiter:
    """At most ``max_concurrent`` model calls at once, and a crew-wide pause after a 429/529."""

    def __init__(self, max_concurrent: int = 8) -> None:
        self.max_concurrent = max_concurrent
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def pause(self, seconds: float) -> None:
        """No call starts for ``seconds`` from now (extends, never shortens, a pause under way)."""
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def wait_s(self) -> float:
        with self._lock:
            return max(0.0, self._resume_at - time.monotonic())

    def _semaphore(self) -> asyncio.Semaphore:
        # asyncio primitives belong to one event loop; tests and CLI commands may run several.
        loop = asyncio.get_running_loop()
        with self._lock:
            if loop not in self._sems:
                self._sems[loop] = asyncio.Semaphore(self.max_concurrent)
            return self._sems[loop]

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore():
            while (wait := self.wait_s()) > 0:
                await asyncio.sleep(wait)
            yield


_SHARED = RateLimiter()


def shared_limiter() -> RateLimiter:
    """The process-wide limiter every model call goes through."""
    return _SHARED


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an API error (anthropic's ``APIStatusError``, httpx's ``HTTPStatusError``)."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``), if it said."""
    headers: Any = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(millis) / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, overload and transient server or connection errors; never a 4xx we caused."""
    status = status_of(exc)
    if status is not None:
        return status in RETRY_STATUSES
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"APIConnectionError", "APITimeoutError", "TransportError", "TimeoutException"})


def _delay(exc: BaseException, attempt: int, base_delay: float, max_delay: float) -> float:
    told = retry_after_s(exc)
    return min(told if told is not None else base_delay * 2**attempt, max_delay)


async def with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
    limiter: RateLimiter | None = None,
) -> T:
    """Call ``fn`` inside a limiter slot, retrying retryable errors up to ``attempts`` times in all;
    a server's ``retry-after`` pauses every caller of the limiter, else back off exponentially."""
    limiter = limiter or shared_limiter()
    for attempt in range(attempts):
        try:
            async with limiter.slot():
                return await fn()
        except Exception as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise
            limiter.pause(_delay(exc, attempt, base_delay, max_delay))
    raise AssertionError("unreachable: the last attempt returns or raises")


def with_retries_sync(
    fn: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
    limiter: RateLimiter | None = None,
) -> T:
    """:func:`with_retries` for synchronous calls (no concurrency slot; the shared pause applies)."""
    limiter = limiter or shared_limiter()
    for attempt in range(attempts):
        while (wait := limiter.wait_s()) > 0:
            time.sleep(wait)
        try:
            return fn()
        except Exception as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise
            limiter.pause(_delay(exc, attempt, base_delay, max_delay))
    raise AssertionError("unreachable: the last attempt returns or raises")
