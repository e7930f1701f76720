"""Delivery statuses of sent messages (WhatsApp's sent, delivered, read, failed), for broadcasts.

Meta sends statuses out of order and more than once, so a status only ever moves a message
forward: sent < delivered < read, and failed is terminal. The ranks live here; the Redis script
only compares numbers, so the comparison is atomic even with several web processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from bot.keys import DELIVERY_STATUS_TTL, Keys

RANKS = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}

# KEYS[1] status hash; ARGV: status, rank, time, recipient, error, ttl. Returns 1 if it moved.
_ADVANCE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or 0)
if current >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'rank', ARGV[2], 'at', ARGV[3],
           'recipient', ARGV[4], 'error', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
"""

# KEYS[1] the contact's index of message ids; ARGV: the message id, the statuses' TTL. Each id
# is scored by when its status last moved (its hash expires a TTL after that), so ids whose
# status is gone leave the index and a contact messaged every month does not grow it forever.
# An index an earlier release kept as a plain set becomes a sorted set on its first write.
_INDEX = """
local now = tonumber(redis.call('TIME')[1])
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  local ids = redis.call('SMEMBERS', KEYS[1])
  redis.call('DEL', KEYS[1])
  for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], now, id) end
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class DeliveryStatus:
    """The furthest status of one message; `error` is the platform's code and title on failure."""

    message_id: str
    status: str
    at: datetime
    recipient: str
    error: str = ""


class DeliveryStatuses:
    """Statuses per sent message id, kept for DELIVERY_STATUS_TTL (a `decode_responses` client)."""

    def __init__(self, redis: Redis, keys: Keys, channel: str) -> None:
        self._redis = redis
        self._keys = keys
        self._channel = channel
        self._advance = redis.register_script(_ADVANCE)
        self._index = redis.register_script(_INDEX)

    async def record(self, status: DeliveryStatus) -> bool:
        """Store a status unless the message is already as far or further; True if it moved."""
        rank = RANKS.get(status.status)
        if rank is None:
            return False
        moved = await self._advance(
            keys=[self._keys.delivery_status(self._channel, status.message_id)],
            args=[status.status, rank, status.at.isoformat(), status.recipient, status.error,
                  DELIVERY_STATUS_TTL])
        if moved and status.recipient:  # indexed under the person, so erasure finds it
            await self._index(
                keys=[self._keys.contact_deliveries(self._channel, status.recipient)],
                args=[status.message_id, DELIVERY_STATUS_TTL])
        return bool(moved)

    async def get(self, message_id: str) -> DeliveryStatus | None:
        """The furthest status of a message, or None when none arrived (or it expired)."""
        key = self._keys.delivery_status(self._channel, message_id)
        # redis-py types hash commands as "sync or async"; this client is async.
        fields: dict[str, str] = await self._redis.hgetall(key)  # type: ignore[misc]
        if not fields:
            return None
        return DeliveryStatus(message_id, fields["status"], datetime.fromisoformat(fields["at"]),
                              fields["recipient"], fields["error"])
