"""Erasure ("hapus data saya"): every key and stream entry tied to one person, in one place.

The conversation store, contacts and leads forget their own records; this module removes what
other paths wrote about the person: the not-understood messages in the admin inbox, the delivery
statuses of messages sent to them, their handoffs to staff (open or closed), their flood notice,
per-chat send pacing and unsent replies, and their place in campaign ledgers, taps and queues. A
ledger keeps a tombstone (`erased:<digest>` with the outcome, and the tapped button) so a
campaign's counts still add up without the phone number. The contact's per-person indexes
(`Keys.contact_inbox`, `contact_deliveries`, `contact_handoffs`) make those O(own entries);
ledgers are visited per campaign (tens, not millions).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from typing import Protocol, cast

from redis.asyncio import Redis

from bot.keys import Keys

QUEUE_PAGE = 1000


def tombstone(channel: str, user_id: str) -> str:
    """What a campaign ledger keeps instead of an erased recipient."""
    return f"erased:{hashlib.sha256(f'{channel}:{user_id}'.encode()).hexdigest()[:16]}"


class HandoffRecords(Protocol):
    """Where handoffs are kept (bot/handoffs.py `HandoffStore`), as erasure sees it."""

    async def forget(self, handoff_id: str) -> None:
        """Delete a handoff and its messages."""


class Eraser(Protocol):
    """Removes what the message, inbox and broadcast paths wrote about one person."""

    async def erase(self, channel: str, user_id: str) -> None:
        """Forget the person's inbox entries, delivery statuses and campaign places."""


# KEYS: outcomes hash, taps hash (one campaign's slot); ARGV: recipient, tombstone. Moves the
# recipient's outcome and tapped button to the tombstone; 1 when the campaign had them.
_TOMBSTONE = """
local found = 0
for _, key in ipairs(KEYS) do
  local value = redis.call('HGET', key, ARGV[1])
  if value then
    redis.call('HDEL', key, ARGV[1])
    redis.call('HSET', key, ARGV[2], value)
    found = 1
  end
end
return found
"""


class RedisEraser:
    """Erasure over the shared Redis (a `decode_responses` client)."""

    def __init__(self, redis: Redis, keys: Keys, handoffs: HandoffRecords) -> None:
        self._redis = redis
        self._keys = keys
        self._handoffs = handoffs
        self._tombstone = redis.register_script(_TOMBSTONE)

    async def erase(self, channel: str, user_id: str) -> None:
        """Forget the person's inbox entries, delivery statuses and campaign places."""
        await self._redis.delete(self._keys.busy_notice(channel, user_id),
                                 self._keys.chat_pace(channel, user_id),
                                 self._keys.unsent(channel, user_id))
        await self._inbox(channel, user_id)
        await self._deliveries(channel, user_id)
        await self._handoff_records(channel, user_id)
        await self._campaigns(channel, user_id)

    async def _handoff_records(self, channel: str, user_id: str) -> None:
        index = self._keys.contact_handoffs(channel, user_id)
        for handoff_id in await cast(Awaitable[set[str]], self._redis.smembers(index)):
            await self._handoffs.forget(handoff_id)
        await self._redis.delete(index)

    async def _inbox(self, channel: str, user_id: str) -> None:
        index = self._keys.contact_inbox(channel, user_id)
        ids = await cast(Awaitable[set[str]], self._redis.smembers(index))
        if ids:
            await self._redis.xdel(self._keys.fallbacks(), *ids)
        await self._redis.delete(index)

    async def _deliveries(self, channel: str, user_id: str) -> None:
        index = self._keys.contact_deliveries(channel, user_id)
        if await self._redis.type(index) == "set":  # kept by a release before 2026-12
            ids = await cast(Awaitable[set[str]], self._redis.smembers(index))
        else:
            ids = set(await self._redis.zrange(index, 0, -1))
        keys = [self._keys.delivery_status(channel, message_id) for message_id in ids]
        await self._redis.delete(index, *keys)

    async def _campaigns(self, channel: str, user_id: str) -> None:
        recipient = f"{channel}:{user_id}"
        grave = tombstone(channel, user_id)
        campaign_ids: list[str] = await self._redis.zrange(self._keys.campaigns_index(), 0, -1)
        for campaign_id in campaign_ids:
            found = await self._tombstone(keys=[self._keys.campaign_outcomes(campaign_id),
                                                self._keys.campaign_taps(campaign_id)],
                                          args=[recipient, grave])
            if found:
                await self._queue(campaign_id, recipient)

    async def _queue(self, campaign_id: str, recipient: str) -> None:
        """Drop the recipient's entries from a campaign's queue (a paged walk)."""
        queue = self._keys.campaign_queue(campaign_id)
        start = "-"
        while True:
            page = await self._redis.xrange(queue, start, "+", count=QUEUE_PAGE)
            mine = [entry_id for entry_id, fields in page if fields.get("r") == recipient]
            if mine:
                await self._redis.xdel(queue, *mine)
            if len(page) < QUEUE_PAGE:
                return
            start = "(" + page[-1][0]
