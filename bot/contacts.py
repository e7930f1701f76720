"""The contact registry: one record per channel identity, shared by the chat and broadcasts.

A profile is a Redis hash: channel, user id, display name, first/last seen, last inbound time (for
WhatsApp's 24-hour window), occupation and area when the worker gives them, and consent to
receive broadcasts with its time and channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis

from bot.keys import Keys
from bot.messages import IncomingMessage

PROFILE_FIELDS = ("pekerjaan", "wilayah", "consent", "consent_at", "consent_channel")


@dataclass(frozen=True)
class Contact:
    """A contact's profile as stored."""

    channel: str
    user_id: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """One profile field, or None."""
        return self.fields.get(name) or None


class ContactStore(Protocol):
    """Where contact profiles live."""

    async def touch(self, message: IncomingMessage) -> Contact:
        """Record an inbound message (first/last seen) and return the profile."""

    async def update(self, channel: str, user_id: str, values: Mapping[str, str]) -> None:
        """Set profile fields."""

    async def get(self, channel: str, user_id: str) -> Contact | None:
        """A profile, or None for an unknown contact."""

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a contact entirely."""


class RedisContactStore:
    """Profiles as hashes, plus a sorted set of every contact by last seen."""

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def touch(self, message: IncomingMessage) -> Contact:
        """Record an inbound message (first/last seen) and return the profile."""
        key = self._keys.profile(message.channel, message.user_id)
        seen = message.received_at.isoformat()
        fresh = {"channel": message.channel, "user_id": message.user_id,
                 "last_seen": seen, "last_inbound": seen}
        if message.display_name:
            fresh["display_name"] = message.display_name
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hsetnx(key, "first_seen", seen)
            pipe.hset(key, mapping=fresh)
            pipe.expire(key, self._ttl)
            pipe.zadd(self._keys.contacts_index(),
                      {f"{message.channel}:{message.user_id}": message.received_at.timestamp()})
            pipe.hgetall(key)
            results = await pipe.execute()
        return Contact(message.channel, message.user_id, results[-1])

    async def update(self, channel: str, user_id: str, values: Mapping[str, str]) -> None:
        """Set profile fields."""
        if values:
            await self._redis.hset(self._keys.profile(channel, user_id), mapping=dict(values))

    async def get(self, channel: str, user_id: str) -> Contact | None:
        """A profile, or None for an unknown contact."""
        fields = await self._redis.hgetall(self._keys.profile(channel, user_id))
        return Contact(channel, user_id, fields) if fields else None

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a contact entirely."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._keys.profile(channel, user_id))
            pipe.zrem(self._keys.contacts_index(), f"{channel}:{user_id}")
            await pipe.execute()


def now_iso(moment: datetime) -> str:
    """Timestamps in profiles are ISO 8601 with their offset."""
    return moment.isoformat()
