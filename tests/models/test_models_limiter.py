from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from dacrew.models.limiter import RateLimiter, is_retryable, retry_after_s, with_retries


def _status_error(status: int, headers: dict[str, str] | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/messages")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return httpx.HTTPStatusError(f"status {status}", request=request, response=response)


def test_retry_after_forms() -> None:
    assert retry_after_s(_status_error(429, {"retry-after": "2"})) == 2.0
    assert retry_after_s(_status_error(429, {"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after_s(_status_error(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_s(_status_error(429)) is None
    assert retry_after_s(ValueError("x")) is None


def test_what_is_retryable() -> None:
    assert is_retryable(_status_error(429))
    assert is_retryable(_status_error(529))
    assert not is_retryable(_status_error(400))
    assert not is_retryable(_status_error(401))
    assert is_retryable(httpx.ConnectError("refused"))
    assert not is_retryable(ValueError("bug"))


def test_with_retries_backs_off_then_returns() -> None:
    calls: list[float] = []

    async def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise _status_error(529)
        return "ok"

    result = asyncio.run(with_retries(flaky, attempts=4, base_delay=0.05, limiter=RateLimiter()))
    assert result == "ok"
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.05  # base_delay * 2**0
    assert calls[2] - calls[1] >= 0.1  # base_delay * 2**1


def test_retry_after_is_capped_by_max_delay() -> None:
    calls: list[float] = []

    async def limited() -> str:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise _status_error(429, {"retry-after": "3600"})
        return "ok"

    assert asyncio.run(with_retries(limited, max_delay=0.1, limiter=RateLimiter())) == "ok"
    assert 0.1 <= calls[1] - calls[0] < 1.0


def test_non_retryable_errors_raise_at_once() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise _status_error(400)

    with pytest.raises(httpx.HTTPStatusError):
        asyncio.run(with_retries(broken, limiter=RateLimiter()))
    assert calls == 1


def test_concurrency_is_bounded() -> None:
    limiter = RateLimiter(max_concurrent=2)
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1

    async def main() -> None:
        await asyncio.gather(*(with_retries(work, limiter=limiter) for _ in range(6)))

    asyncio.run(main())
    asyncio.run(main())  # a second event loop gets its own semaphore
    assert peak == 2
