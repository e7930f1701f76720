"""Moves keys written by releases before hash tags to where bot/keys.py puts them now.

Earlier releases kept the knowledge base, the model, console users, the campaigns index, the
leads index and the contacts index under untagged names (`sp:kb:current`, `sp:contacts` ...).
On start-up every process renames whatever it finds of them, on a standalone server only (on a
Redis Cluster those releases never ran). Each step is idempotent (RENAMENX, ZADD then DEL), so
processes starting together, or one dying halfway, leave nothing half-moved for good: the next
start finishes the job. Sessions and rate-limit keys are short-lived and are left to expire.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from bot.keys import Keys

log = logging.getLogger(__name__)


def _renames(keys: Keys) -> dict[str, str]:
    p = keys.prefix
    return {f"{p}:kb:current": keys.kb_document(), f"{p}:kb:version": keys.kb_version(),
            f"{p}:kb:history": keys.kb_history(), f"{p}:nlu:model": keys.model_blob(),
            f"{p}:nlu:model_version": keys.model_version(),
            f"{p}:nlu:training": keys.nlu_training(), f"{p}:admin:users": keys.admin_users(),
            f"{p}:admin:audit": keys.admin_audit(), f"{p}:campaigns": keys.campaigns_index(),
            f"{p}:campaigns:active": keys.campaigns_active(), f"{p}:leads": keys.leads_index()}


async def migrate_untagged_keys(redis: Redis, keys: Keys) -> int:
    """Rename pre-hash-tag keys on a standalone server; returns how many keys moved."""
    renames = _renames(keys)
    old_index = f"{keys.prefix}:contacts"
    if not await redis.exists(*renames, old_index):
        return 0  # the usual start: one EXISTS
    moved = 0
    # Snapshots and users first, listed by the old history and users set, which move last: a
    # process dying in between finds the old set at the next start and goes on.
    p = keys.prefix
    for version in await redis.zrange(f"{p}:kb:history", 0, -1):
        old = f"{p}:kb:snapshot:{version}"
        if await redis.exists(old):
            moved += int(await redis.renamenx(old, keys.kb_snapshot(int(version))))
    for username in await redis.smembers(f"{p}:admin:users"):  # type: ignore[misc]
        old = f"{p}:admin:user:{username}"
        if await redis.exists(old):
            moved += int(await redis.renamenx(old, keys.admin_user(str(username))))
    for old, new in renames.items():
        if await redis.exists(old):
            moved += int(await redis.renamenx(old, new))
    if await redis.exists(old_index):
        cursor = 0
        while True:  # into the shards first, then drop the old index: safe to repeat
            cursor, page = await redis.zscan(old_index, cursor, count=1000)
            async with redis.pipeline(transaction=False) as pipe:
                for member, _ in page:
                    pipe.sadd(keys.contacts_shard(member), member)
                await pipe.execute()
            moved += len(page)
            if cursor == 0:
                break
        await redis.delete(old_index)
    if moved:
        log.info("moved %d keys to their hash-tagged names", moved)
    return moved
