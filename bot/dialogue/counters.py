"""Per-day message counters for the dashboard: messages by channel and by intent.

One Redis hash per day with fields `m:<channel>` and `i:<intent>`; the fallback rate is
`i:nlu_fallback` over all messages. The engine's `count` only adds to an in-memory tally (a
round trip per message would cost the REST channel a sixth of its throughput); a background task
writes the tally with one pipelined `HINCRBY` per field every second, and once more when the
process stops, so a crash loses at most a second of counts. The day is the bot's clock's
(Western Indonesia), so a day's chart matches the branch's day.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from redis.asyncio import Redis

from bot.errors import REDIS_AWAY
from bot.keys import DAILY_COUNTS_TTL, Keys
from bot.tasks import pause

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayCounts:
    """One day's counters."""

    day: date
    channels: Counter[str] = field(default_factory=Counter)
    intents: Counter[str] = field(default_factory=Counter)

    @property
    def messages(self) -> int:
        """Messages received that day, all channels."""
        return sum(self.channels.values())


class DailyCounters:
    """Tallies messages in memory, writes them to per-day hashes, and reads them back."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._pending: Counter[tuple[str, str]] = Counter()

    def count(self, day: date, channel: str, intent: str) -> None:
        """Count one message (memory only; `flush` writes)."""
        key = self._keys.daily_counts(day.isoformat())
        self._pending[(key, f"m:{channel}")] += 1
        self._pending[(key, f"i:{intent}")] += 1

    async def flush(self) -> None:
        """Write the tally in one round trip; on a Redis error keep it for the next try."""
        pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (key, name), amount in pending.items():
                    pipe.hincrby(key, name, amount)
                for key in {key for key, _ in pending}:
                    pipe.expire(key, DAILY_COUNTS_TTL)
                await pipe.execute()
        except REDIS_AWAY as exc:
            self._pending.update(pending)
            log.warning("message counters not written yet (%s); retrying", exc)

    async def run(self, interval: float = 1.0) -> None:
        """Flush every `interval` seconds until cancelled, then flush what is left."""
        try:
            while True:
                await pause(interval)
                await self.flush()
        finally:
            await self.flush()

    async def days(self, last: date, count: int) -> list[DayCounts]:
        """The `count` days ending with `last`, oldest first (days without messages are empty)."""
        days = [last - timedelta(days=offset) for offset in range(count - 1, -1, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self._keys.daily_counts(day.isoformat()))
            raw: list[dict[str, str]] = await pipe.execute()
        out = []
        for day, values in zip(days, raw, strict=True):
            counts = DayCounts(day)
            for name, value in values.items():
                kind, _, label = name.partition(":")
                target = counts.channels if kind == "m" else counts.intents
                target[label] += int(value)
            out.append(counts)
        return out
