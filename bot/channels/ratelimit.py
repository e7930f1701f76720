"""Outbound pacing: a rate limiter shared in Redis, and bounded retries of transient failures.

The limiter is GCRA (the "generic cell rate algorithm" of ATM networks, as in redis-cell): one key
per bucket holds the theoretical arrival time of the next message, so it costs one small key and
one script call per send, and every process that sends for the same bot or number shares it.
Callers reserve a slot and sleep until it comes, so senders queue fairly instead of polling. The
clock is Redis's own (`TIME`), so processes on machines with skewed clocks still agree.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis

from bot.errors import TransientError
from bot.keys import Keys

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Rate:
    """`count` messages per `seconds`, allowing `burst` messages at once after a quiet spell."""

    count: int
    seconds: float = 1.0
    burst: int = 1


@dataclass(frozen=True)
class Pacing:
    """How long one send may take: waiting for a slot, and retrying transient failures.

    Replies wait a little (the worker is waiting too); a broadcast worker can pass
    `Pacing(max_wait=0, attempts=1)` to get TransientError at once and requeue the job.
    """

    max_wait: float = 30.0
    attempts: int = 3
    backoff: float = 1.0  # first wait when the platform gives no retry_after; doubles each time


REPLY_PACING = Pacing()


# KEYS[1] bucket; ARGV: interval ms, burst tolerance ms, longest acceptable wait ms.
# Returns the wait in ms before the reserved slot (>= 0), or -wait when it would exceed the longest
# acceptable wait (nothing reserved then).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - tonumber(ARGV[2])
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[3]) then return -wait end
local next_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil(next_tat - now) + 1000)
return wait
"""

# KEYS[1] log of send times; ARGV: limit, window ms, a unique member. Returns 0 when counted, or
# the ms until the oldest send leaves the window.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + tonumber(ARGV[2]) - now + 1
"""


class RateLimiter:
    """Named buckets in Redis; `acquire` waits for a slot or says how long to come back after."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._keys = keys
        self._reserve = redis.register_script(_RESERVE)
        self._admit = redis.register_script(_ADMIT)

    async def acquire(self, bucket: str, rate: Rate, max_wait: float) -> None:
        """Wait for a slot in `bucket`; TransientError when it is more than `max_wait` s away."""
        interval_ms = rate.seconds * 1000 / rate.count
        wait_ms = int(await self._reserve(
            keys=[self._keys.rate(bucket)],
            args=[interval_ms, interval_ms * (rate.burst - 1), int(max_wait * 1000)]))
        if wait_ms < 0:
            raise TransientError(f"rate limit of {bucket} reached", retry_after=-wait_ms / 1000)
        if wait_ms:
            await asyncio.sleep(wait_ms / 1000)

    async def admit(self, bucket: str, limit: int, window: float = 1.0) -> None:
        """Wait until fewer than `limit` sends started in the last `window` s, then count one.

        A sliding log beside `acquire`'s pacing, for hard caps: a process that wakes late
        from its reserved slot (a busy CPU) would otherwise send together with the next slots.
        """
        while True:
            wait_ms = int(await self._admit(keys=[self._keys.rate(f"{bucket}:log")],
                                            args=[limit, int(window * 1000), uuid.uuid4().hex]))
            if wait_ms <= 0:
                return
            await asyncio.sleep(wait_ms / 1000)


async def retry_transient(call: Callable[[], Awaitable[T]], pacing: Pacing) -> T:
    """Run `call`, retrying TransientError after its `retry_after` (or the doubling backoff).

    Gives up, re-raising, after `pacing.attempts` tries or when the wait would be longer than
    `pacing.max_wait`: a message that late is better retried by a queue than by a waiting request.
    """
    attempt = 1
    while True:
        try:
            return await call()
        except TransientError as exc:
            wait = exc.retry_after if exc.retry_after is not None else \
                pacing.backoff * 2 ** (attempt - 1)
            if attempt >= pacing.attempts or wait > pacing.max_wait:
                raise
            log.warning("%s; retrying in %.1f s (attempt %d of %d)", exc, wait, attempt,
                        pacing.attempts)
            attempt += 1
            await asyncio.sleep(wait)
