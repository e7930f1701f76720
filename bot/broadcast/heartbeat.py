"""Broadcast workers say they are alive, so staff cannot start a campaign nobody will send.

Each worker process writes its name and the time into one sorted set every few seconds, and the
channels it can send on into a hash, renewing both keys' TTL; with no worker running they
expire. Two keys, two single-key commands (never one operation across slots). Wall-clock time on
both sides: liveness is about the machines now, not the date the bot answers as (SAPA_TODAY).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from typing import cast

from redis.asyncio import Redis

from bot.keys import WORKER_SEEN_SECONDS, Keys


async def beat(redis: Redis, keys: Keys, worker: str, channels: Iterable[str]) -> None:
    """Report `worker` alive now with the channels it sends on (forgetting long-gone ones)."""
    now = time.time()
    seen, sends = keys.workers_seen(), keys.workers_channels()
    # Workers gone long ago leave both keys (every restart brings a new name).
    gone = await redis.zrangebyscore(seen, "-inf", now - 10 * WORKER_SEEN_SECONDS)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(seen, {worker: now})
        if gone:
            pipe.zrem(seen, *gone)
            pipe.hdel(sends, *gone)
        pipe.hset(sends, worker, ",".join(sorted(channels)))
        for key in (seen, sends):
            pipe.expire(key, 2 * WORKER_SEEN_SECONDS)
        await pipe.execute()


async def sending_channels(redis: Redis, keys: Keys) -> set[str] | None:
    """The channels of the workers heard from in the last WORKER_SEEN_SECONDS; None: no worker."""
    alive = await redis.zrangebyscore(keys.workers_seen(), time.time() - WORKER_SEEN_SECONDS,
                                      "+inf")
    if not alive:
        return None
    by_worker = await cast(Awaitable[dict[str, str]], redis.hgetall(keys.workers_channels()))
    return {ch for worker in alive for ch in by_worker.get(worker, "").split(",") if ch}
