"""What both channels share: the Redis rate limiter, bounded retries, message splitting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.channels.ratelimit import Pacing, Rate, RateLimiter, retry_transient
from bot.channels.split import split_text
from bot.errors import TransientError
from bot.keys import Keys


@pytest.fixture
async def two_processes(redis_url: str, prefix: str,
                        ) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    """Two limiters on two connections, as two processes would have."""
    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    yield RateLimiter(one, Keys(prefix)), RateLimiter(two, Keys(prefix))
    await one.aclose()
    await two.aclose()


async def test_processes_share_one_bucket(two_processes: tuple[RateLimiter, RateLimiter]
                                          ) -> None:
    rate = Rate(20, 1.0)  # one every 50 ms
    started = time.monotonic()
    await asyncio.gather(*(two_processes[i % 2].acquire("wa:1", rate, 5) for i in range(10)))
    assert time.monotonic() - started >= 0.42  # nine intervals of 50 ms, less timer slack


async def test_a_burst_goes_at_once_then_the_rate_applies(
        two_processes: tuple[RateLimiter, RateLimiter]) -> None:
    limiter = two_processes[0]
    rate = Rate(10, 1.0, burst=5)
    started = time.monotonic()
    for _ in range(5):
        await limiter.acquire("tg:1", rate, 5)
    assert time.monotonic() - started < 0.08
    await limiter.acquire("tg:1", rate, 5)
    assert time.monotonic() - started >= 0.08


async def test_too_long_a_wait_is_transient_and_reserves_nothing(
        two_processes: tuple[RateLimiter, RateLimiter]) -> None:
    limiter = two_processes[0]
    rate = Rate(1, 10.0)
    await limiter.acquire("slow", rate, 0)
    for _ in range(3):
        with pytest.raises(TransientError) as caught:
            await limiter.acquire("slow", rate, 1)
        assert 9 < (caught.value.retry_after or 0) <= 10  # not pushed further by the refusals


async def test_retries_are_bounded() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientError("busy", retry_after=0.01)
        return "ok"

    assert await retry_transient(flaky, Pacing(attempts=3)) == "ok"
    calls = -10
    with pytest.raises(TransientError):
        await retry_transient(flaky, Pacing(attempts=3))
    with pytest.raises(TransientError):  # the platform asks for longer than we may wait
        await retry_transient(_wait_a_minute, Pacing(max_wait=30))


async def _wait_a_minute() -> str:
    raise TransientError("flood control", retry_after=60)


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    first, second = "a" * 60, "b" * 30
    assert split_text(f"{first}\n\n{second}", 100) == [f"{first}\n\n{second}"]
    assert split_text(f"{first}\n\n{second}", 80) == [first, second]
    assert split_text(f"{first}\n{second} {second}", 80) == [first, f"{second} {second}"]
    assert split_text("kata " * 30, 24) == ["kata kata kata kata kata"] * 6
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("  \n ", 10) == []
