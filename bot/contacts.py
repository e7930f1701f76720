"""The contact registry: one record per channel identity, shared by the chat and broadcasts.

A profile is a Redis hash: channel, user id, display name, first/last seen, last inbound time (for
WhatsApp's 24-hour window), occupation and area when the worker gives them, and consent to
receive broadcasts with its time and channel. A channel that finds the contact unreachable (blocked
the bot, number undeliverable) marks it; the next message from the worker clears the mark.
Inbound messages touch the profile through the conversation store (bot/dialogue/state.py),
which owns a message's turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.keys import Keys


class Consent(StrEnum):
    """The worker's answer about broadcasts, stored as the profile's `consent` field."""

    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"


@dataclass(frozen=True)
class Contact:
    """A contact's profile as stored."""

    channel: str
    user_id: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """One profile field, or None."""
        return self.fields.get(name) or None

    @property
    def consent(self) -> Consent | None:
        """Whether the worker opted in or out of broadcasts; None when never asked."""
        stored = self.fields.get("consent")
        return next((c for c in Consent if c == stored), None)


class ContactStore(Protocol):
    """Where contact profiles live."""

    async def update(self, channel: str, user_id: str, values: Mapping[str, str]) -> None:
        """Set profile fields."""

    async def get(self, channel: str, user_id: str) -> Contact | None:
        """A profile, or None for an unknown contact."""

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a contact entirely."""

    async def mark_unreachable(self, channel: str, user_id: str, reason: str,
                               at: datetime) -> None:
        """Record that messages cannot reach a known contact ("blocked", "undeliverable")."""

    async def keep_only_for_sending(self, channel: str, user_id: str) -> None:
        """Strip a profile to what a reply needs (the 24-hour window), briefly; unindex it."""


# An erased contact's profile keeps only what sending the confirmation reads, this long at most.
ERASE_GRACE_SECONDS = 600
SENDING_FIELDS = ("channel", "user_id", "last_inbound")

# KEYS[1]: the profile; ARGV: ttl, the fields to keep...
_KEEP_ONLY = """
local values = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
redis.call('DEL', KEYS[1])
for i, value in ipairs(values) do
  if value then redis.call('HSET', KEYS[1], ARGV[i + 1], value) end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
"""

# Sets the mark only on an existing profile, so a contact deleted meanwhile is not re-created.
_MARK_UNREACHABLE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'unreachable', ARGV[1], 'unreachable_at', ARGV[2])
end
"""

# Fields that mean the worker gave data (or a choice to remember, like an opt-out): a profile
# with none of them is anonymous, lives only as long as a conversation and is not indexed.
DATA_FIELDS = ("consent", "nama", "pekerjaan", "wilayah", "imported_at")

# KEYS: profiles; ARGV: the fields wanted (none: all, as name, value, name, value ...).
_GET_MANY = """
local profiles = {}
for i, key in ipairs(KEYS) do
  if #ARGV == 0 then profiles[i] = redis.call('HGETALL', key)
  else profiles[i] = redis.call('HMGET', key, unpack(ARGV)) end
end
return profiles
"""


class RedisContactStore:
    """Profiles as hashes, plus an index of the contacts who gave data, in set shards.

    A sender enters the index when their profile gets one of DATA_FIELDS (`update`, `enrol`),
    never by writing: an anonymous sender's profile expires with the conversation and leaves
    no index entry behind. A profile and its index entry live in different slots (the
    contact's and the shard's), so they are written in one pipeline but not atomically: an
    index entry can outlive its profile (the profile expired, or a process died between the
    two), and every reader skips ids whose profile is gone (`get_many` returns None) and drops
    them from the index (`forget_stale`).
    """

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._mark_unreachable = redis.register_script(_MARK_UNREACHABLE)
        self._get_many = redis.register_script(_GET_MANY)
        self._keep_only = redis.register_script(_KEEP_ONLY)

    async def update(self, channel: str, user_id: str, values: Mapping[str, str]) -> None:
        """Set profile fields; data given makes the profile long-lived and indexes it."""
        if not values:
            return
        key = self._keys.profile(channel, user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=dict(values))
            if any(name in values for name in DATA_FIELDS):
                pipe.expire(key, self._ttl)
                contact_id = f"{channel}:{user_id}"
                pipe.sadd(self._keys.contacts_shard(contact_id), contact_id)
            await pipe.execute()

    async def get(self, channel: str, user_id: str) -> Contact | None:
        """A profile, or None for an unknown contact."""
        key = self._keys.profile(channel, user_id)
        fields = await cast(Awaitable[dict[str, str]], self._redis.hgetall(key))
        return Contact(channel, user_id, fields) if fields else None

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a contact entirely."""
        contact_id = f"{channel}:{user_id}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._keys.profile(channel, user_id))
            pipe.srem(self._keys.contacts_shard(contact_id), contact_id)
            await pipe.execute()

    async def mark_unreachable(self, channel: str, user_id: str, reason: str,
                               at: datetime) -> None:
        """Record that messages cannot reach a known contact ("blocked", "undeliverable")."""
        await self._mark_unreachable(keys=[self._keys.profile(channel, user_id)],
                                     args=[reason, at.isoformat()])

    async def keep_only_for_sending(self, channel: str, user_id: str) -> None:
        """Strip a profile to what a reply needs (the 24-hour window), briefly; unindex it."""
        await self._keep_only(keys=[self._keys.profile(channel, user_id)],
                              args=[ERASE_GRACE_SECONDS, *SENDING_FIELDS])
        contact_id = f"{channel}:{user_id}"
        await self._redis.srem(self._keys.contacts_shard(contact_id), contact_id)  # type: ignore[misc]

    async def enrol(self, channel: str, user_id: str, values: Mapping[str, str]) -> None:
        """Create or complete a profile from an imported list.

        The contact is indexed (an imported list is data given) and expires like any profile.
        """
        key = self._keys.profile(channel, user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=dict(values) or {"enrolled": "1"})
            pipe.expire(key, self._ttl)
            contact_id = f"{channel}:{user_id}"
            pipe.sadd(self._keys.contacts_shard(contact_id), contact_id)
            await pipe.execute()

    async def scan(self, batch: int = 1000,
                   fields: tuple[str, ...] = ()) -> AsyncIterator[list[Contact]]:
        """Every contact, a batch of profiles at a time (only `fields`, if given).

        ZSCAN keeps memory flat and still sees a contact who writes meanwhile; one may come
        twice, so callers that care dedupe.
        """
        for shard in self._keys.contacts_shards():
            cursor = 0
            while True:
                cursor, ids = await self._redis.sscan(shard, cursor, count=batch)
                found = await self.get_many(ids, fields)
                await self.forget_stale(ids, found)
                yield [contact for contact in found if contact is not None]
                if cursor == 0:
                    break

    async def forget_stale(self, contact_ids: list[str],
                           found: list[Contact | None]) -> None:
        """Drop index entries whose profile is gone (expired, or deleted halfway).

        A contact who gave data between the read and the removal is indexed again: the profile
        is read once more after the removal, so `update`'s index entry is never lost to it.
        """
        stale = [contact_id for contact_id, contact in zip(contact_ids, found, strict=True)
                 if contact is None]
        if not stale:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for contact_id in stale:
                pipe.srem(self._keys.contacts_shard(contact_id), contact_id)
            await pipe.execute()
        back = [contact_id for contact_id, contact in
                zip(stale, await self.get_many(stale, DATA_FIELDS), strict=True) if contact]
        if back:
            async with self._redis.pipeline(transaction=False) as pipe:
                for contact_id in back:
                    pipe.sadd(self._keys.contacts_shard(contact_id), contact_id)
                await pipe.execute()

    async def draw(self, count: int, fields: tuple[str, ...] = ()) -> tuple[int, list[Contact]]:
        """`count` contacts drawn at random (only `fields`), and how many the registry holds.

        Every contact when the registry holds no more than `count`; fewer than `count` when
        some ids outlived their profiles.
        """
        shards = self._keys.contacts_shards()
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in shards:
                pipe.scard(shard)
            sizes = [int(n) for n in await pipe.execute()]
        size = sum(sizes)
        ids: list[str] = []
        if size:
            # Each shard gives its share of the draw (the shards are near equal in size).
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard, shard_size in zip(shards, sizes, strict=True):
                    pipe.srandmember(shard, min(shard_size, -(-count * shard_size // size)))
                ids = [member for drawn in await pipe.execute() for member in drawn or []]
            ids = ids[:count]
        found: list[Contact | None] = []
        for start in range(0, len(ids), 1000):
            found += await self.get_many(ids[start:start + 1000], fields)
        return size, [contact for contact in found if contact is not None]

    async def get_many(self, contact_ids: list[str],
                       fields: tuple[str, ...] = ()) -> list[Contact | None]:
        """Profiles of `channel:user_id` ids (only `fields`, if given), None for unknown ones.

        One script call rather than a pipeline: redis-py packs each pipelined command in
        Python, which made reading a million profiles take minutes. Asking only for the fields
        a segment reads halves what Redis sends back. On a Redis Cluster the profiles are in as
        many slots as contacts and a script may touch only one, so there it is a pipeline, which
        the cluster client splits by node and sends to the nodes at once.
        """
        ids = [contact_id.partition(":")[::2] for contact_id in contact_ids]
        if not ids:
            return []
        keys = [self._keys.profile(channel, user_id) for channel, user_id in ids]
        replies: list[Any]
        if isinstance(self._redis, RedisCluster):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    if fields:
                        pipe.hmget(key, list(fields))
                    else:
                        pipe.hgetall(key)
                replies = await pipe.execute()
            replies = [r if fields else [x for pair in r.items() for x in pair] for r in replies]
        else:
            replies = await self._get_many(keys=keys, args=list(fields))
        found: list[Contact | None] = []
        for (channel, user_id), reply in zip(ids, replies, strict=True):
            pairs = zip(fields, reply, strict=True) if fields else zip(
                reply[::2], reply[1::2], strict=True)
            values = {name: value for name, value in pairs if value is not None}
            found.append(Contact(channel, user_id, values) if values else None)
        return found
