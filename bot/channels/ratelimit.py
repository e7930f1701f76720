"""Outbound pacing: a rate limiter shared in Redis, and bounded retries of transient failures.

The limiter is GCRA (the "generic cell rate algorithm" of ATM networks, as in redis-cell): one key
per bucket holds the theoretical arrival time of the next message, so it costs one small key and
one script call per send, and every process that sends for the same bot or number shares it.
Callers reserve a slot and sleep until it comes, so senders queue fairly instead of polling. The
clock is Redis's own (`TIME`), so processes on machines with skewed clocks still agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis

from bot.errors import REDIS_AWAY, TransientError
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

    Replies wait a little and retry a few times (the worker is waiting too); the broadcast
    worker sends ONE_ATTEMPT and retries in its own rounds.
    """

    max_wait: float = 30.0
    attempts: int = 3
    backoff: float = 1.0  # first wait when the platform gives no retry_after; doubles each time


REPLY_PACING = Pacing()
ONE_ATTEMPT = Pacing(attempts=1)  # a slot may still be waited for; a failure is raised at once
# Longer than a request can take (the channels' HTTP timeouts are 10-15 s): the place under a
# cap that a killed process held frees after it.
LONGEST_REQUEST = 60.0
# How soon after its send a request reaches the platform, at most, when the answer is slower
# (see RateLimiter.capped): the way there, not the platform's work or the way back.
ARRIVAL_ALLOWANCE = 0.04
# How soon a sender waiting under a full cap looks again when the place that frees first is held
# by a request slower than ARRIVAL_ALLOWANCE plus the window: it frees when that is answered.
SLOW_ANSWER_RECHECK = 0.05


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

# The cap's log: one member per request, scored (µs) with the time from which it counts for one
# more window: while in flight, its send plus the longest a request may take, so a dead
# sender's place comes back eventually; once answered, the latest it reached the platform.
# KEYS[1] the log, KEYS[2] the waiting senders (member -> when it first found the cap full);
# ARGV: limit, window µs, longest flight µs, a unique member, arrival allowance µs, recheck µs.
# Returns 0 when taken, or the ms until the place this sender waits for can first free. Each
# place's earliest: an answered request's a window after its score; one in flight a window
# after the earlier of now (it may be answered at once) and its send plus the allowance (when
# it is answered, it counts from there). A request in flight longer than allowance and window
# frees its place the moment it is answered, which nothing can foresee: look again after
# `recheck`. The n-th waiting sender waits for the n-th place to free, so one freed place does
# not wake them all; a waiter not seen for the longest flight is forgotten.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window, flight = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + flight, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil((window + flight) / 1000))
  redis.call('ZREM', KEYS[2], ARGV[4])
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - flight)
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[4])
redis.call('PEXPIRE', KEYS[2], math.ceil(flight / 1000))
local turn = redis.call('ZRANK', KEYS[2], ARGV[4]) + 1
local frees = {}
local held = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 2, #held, 2 do
  local score = tonumber(held[i])
  local at = score + window
  if score > now then
    at = math.min(now, score - flight + tonumber(ARGV[5])) + window
    if at <= now then at = now + tonumber(ARGV[6]) end
  end
  frees[#frees + 1] = at
end
table.sort(frees)
return math.max(1, math.ceil((frees[math.min(turn, #frees)] - now) / 1000))
"""

# KEYS[1] the log; ARGV: the member, longest flight µs, arrival allowance µs. Answered now: the
# request reached the platform by now, and (if it was slower) by its send plus the allowance.
_ANSWERED = """
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not held then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local reached = tonumber(held) - tonumber(ARGV[2]) + tonumber(ARGV[3])
return redis.call('ZADD', KEYS[1], 'XX', math.min(now, reached), ARGV[1])
"""


class RateLimiter:
    """Named buckets in Redis; `acquire` waits for a slot or says how long to come back after."""

    def __init__(self, redis: Redis, keys: Keys, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._redis = redis
        self._keys = keys
        self._sleep = sleep  # how a slot or a place is waited for (tests record the decisions)
        self._reserve = redis.register_script(_RESERVE)
        self._take = redis.register_script(_TAKE)
        self._answered = redis.register_script(_ANSWERED)

    async def acquire(self, bucket: str, rate: Rate, max_wait: float, *,
                      key: str | None = None) -> None:
        """Wait for a slot in `bucket`; TransientError when it is more than `max_wait` s away.

        `key`: where the bucket lives when it is not `Keys.rate(bucket)` (a chat's pacing lives
        under the contact's tag, so erasure finds it).
        """
        interval_ms = rate.seconds * 1000 / rate.count
        wait_ms = int(await self._reserve(
            keys=[key or self._keys.rate(bucket)],
            args=[interval_ms, interval_ms * (rate.burst - 1), int(max_wait * 1000)]))
        if wait_ms < 0:
            raise TransientError(f"rate limit of {bucket} reached", retry_after=-wait_ms / 1000)
        if wait_ms:
            await self._sleep(wait_ms / 1000)

    @asynccontextmanager
    async def capped(self, bucket: str, limit: int, *, longest_flight: float = LONGEST_REQUEST,
                     arrival_allowance: float = ARRIVAL_ALLOWANCE, window: float = 1.0,
                     ) -> AsyncIterator[None]:
        """Hold one of `limit` places from before a request until a `window` after it arrived.

        A hard cap beside `acquire`'s pacing. A platform counts a request when it arrives, some
        time between the send and the answer: an answer within `arrival_allowance` bounds it;
        a slower one is taken to have arrived within the allowance (the rest is the platform's
        work and the way back). So every `window` of arrivals holds `limit` or fewer whenever
        requests reach the platform within `arrival_allowance` of their send, and always when
        the answers come sooner. A send whose retries wait a `window` or more between attempts
        still counts once a window.

        When every place is taken, the log says how long until the place this sender waits for
        can first free, and it sleeps that long: one script call per look, not a poll, and the
        waiting senders take turns.
        """
        key, waiting = self._keys.cap_log(bucket), self._keys.cap_waiting(bucket)
        member = uuid.uuid4().hex
        window_us, flight_us = int(window * 1_000_000), int(longest_flight * 1_000_000)
        allowance_us = int(arrival_allowance * 1_000_000)
        recheck_us = int(SLOW_ANSWER_RECHECK * 1_000_000)
        try:
            while wait_ms := int(await self._take(
                    keys=[key, waiting], args=[limit, window_us, flight_us, member,
                                               allowance_us, recheck_us])):
                await self._sleep(wait_ms / 1000)
        except BaseException:  # cancelled while waiting: give the turn up (else it lapses)
            with contextlib.suppress(*REDIS_AWAY):
                await self._redis.zrem(waiting, member)
            raise
        try:
            yield
        finally:  # if this fails, the place frees itself after `longest_flight`
            await self._answered(keys=[key], args=[member, flight_us, allowance_us])


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
