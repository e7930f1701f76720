"""Moves keys written by earlier releases to where bot/keys.py puts them now.

Earlier releases kept the knowledge base, the model, console users, the campaigns index, the
leads index and the contacts index under untagged names (`sp:kb:current`, `sp:contacts` ...),
and then the contacts index in 64 sets of `channel:user_id` (`sp:{ci:<n>}:ids`), contact keys
under the channel's full name (`sp:{c:whatsapp:<id>}:...`) and profiles with long field names
and ISO times (`sp:{c:whatsapp:<id>}:profile`). On start-up every process moves whatever it
finds of them, on a standalone server only (on a Redis Cluster those releases never ran). Each
step is idempotent (RENAMENX, a profile copied field by field without overwriting, then the old
key deleted; an index entry added for every moved profile before the old index goes), so
processes starting together, or one dying halfway, leave nothing half-moved for good: the next
start finishes the job. Sessions, turns, rate-limit and pacing keys are short-lived and are left to
expire, as are the profiles of erased contacts (stripped and unindexed, gone within minutes).
A process of the earlier release still running writes under the old names: stop them first.
"""

from __future__ import annotations

import logging
import zlib

from redis.asyncio import Redis

from bot.contacts import stored_profile
from bot.keys import Keys

_OLD_INDEX_SHARDS = 64

# KEYS[1]: the old key, KEYS[2]: the new one. Moves the key unless the new one exists (written
# by this release meanwhile: newer), then the old one goes.
_MOVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1
"""

# KEYS[1]: the old profile, KEYS[2]: the new one; ARGV: its TTL in ms (-1: none), then the old
# profile's fields in the new form, as name, value pairs. A field this release wrote meanwhile
# is newer and kept. Returns whether the new profile exists.
_MOVE_PROFILE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 2, #ARGV, 2 do redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) end
  local ttl = tonumber(ARGV[1])
  if ttl > 0 and redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
  redis.call('DEL', KEYS[1])
end
return redis.call('EXISTS', KEYS[2])
"""

log = logging.getLogger(__name__)


def _old_shards(keys: Keys) -> list[str]:
    return [f"{keys.prefix}:{{ci:{shard}}}:ids" for shard in range(_OLD_INDEX_SHARDS)]


def _old_contact(keys: Keys, contact_id: str, suffix: str) -> str:
    return f"{keys.prefix}:{{c:{contact_id}}}:{suffix}"


async def _move_contacts(redis: Redis, keys: Keys, old_shards: list[str]) -> int:
    """Every contact of the old index (and every one with a lead) to the new keys.

    Profiles in the new form, indexed anew; each old shard goes once its contacts have moved.
    """
    move, move_profile = await redis.script_load(_MOVE), await redis.script_load(_MOVE_PROFILE)
    # The contact keys earlier releases wrote beside the profile, by suffix.
    builders = {"state": keys.state, "lead": keys.lead, "busy": keys.busy_notice,
                "inbox": keys.contact_inbox, "deliveries": keys.contact_deliveries,
                "handoffs": keys.contact_handoffs, "unsent": keys.unsent}
    moved = 0
    leads = await redis.zrange(keys.leads_index(), 0, -1)
    for old_shard in [*old_shards, None]:
        ids = leads if old_shard is None else list(await redis.smembers(old_shard))  # type: ignore[misc]
        for start in range(0, len(ids), 500):
            batch = [contact_id.partition(":")[::2] for contact_id in ids[start:start + 500]]
            async with redis.pipeline(transaction=False) as pipe:
                for channel, user_id in batch:
                    pipe.hgetall(_old_contact(keys, f"{channel}:{user_id}", "profile"))
                    pipe.pttl(_old_contact(keys, f"{channel}:{user_id}", "profile"))
                read = await pipe.execute()
            async with redis.pipeline(transaction=False) as pipe:
                for (channel, user_id), profile, ttl in zip(batch, read[::2], read[1::2],
                                                            strict=True):
                    old = f"{channel}:{user_id}"
                    pipe.evalsha(move_profile, 2, _old_contact(keys, old, "profile"),
                                 keys.profile(channel, user_id), ttl,
                                 *(x for pair in stored_profile(profile).items() for x in pair))
                    for suffix, new in builders.items():
                        pipe.evalsha(move, 2, _old_contact(keys, old, suffix),
                                     new(channel, user_id))
                replies = await pipe.execute()
            per_contact = 1 + len(builders)
            async with redis.pipeline(transaction=False) as pipe:
                for n, (channel, user_id) in enumerate(batch):
                    found = replies[n * per_contact:(n + 1) * per_contact]
                    moved += sum(int(x) for x in found[1:]) + bool(read[2 * n])
                    shard = keys.contacts_shard(channel, user_id)
                    if found[0] and shard is not None:
                        pipe.sadd(shard, user_id)
                await pipe.execute()
        if old_shard is not None:
            await redis.delete(old_shard)
    return moved


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
    old_shards = _old_shards(keys)
    if not await redis.exists(*renames, old_index, *old_shards):
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
        while True:  # into the old shards first, then drop the old index: safe to repeat
            cursor, page = await redis.zscan(old_index, cursor, count=1000)
            async with redis.pipeline(transaction=False) as pipe:
                for member, _ in page:
                    pipe.sadd(old_shards[zlib.crc32(member.encode()) % _OLD_INDEX_SHARDS],
                              member)
                await pipe.execute()
            if cursor == 0:
                break
        await redis.delete(old_index)
    if await redis.exists(*old_shards):
        moved += await _move_contacts(redis, keys, old_shards)
    if moved:
        log.info("moved %d keys to their hash-tagged names", moved)
    return moved
