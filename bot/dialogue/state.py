"""Conversation state: what the bot remembers between two messages of one contact.

Kept in Redis as a small JSON string with an idle TTL: a conversation left alone for longer than
`dialogue.session_ttl_minutes` starts fresh.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.contacts import Contact, RedisContactStore
from bot.keys import Keys
from bot.messages import IncomingMessage


@dataclass(frozen=True)
class ConversationState:
    """The context of a conversation.

    topic: what the last answer was about (iuran, manfaat, daftar, bayar, klaim, saldo, kantor),
        so follow-ups like "kalau JHT-nya?" or "lewat hp bisa?" are understood.
    form: a form being filled (iuran waiting for an income, pendataan collecting a lead).
    requested: the slot the form asked for last.
    offer: a yes/no question the bot asked ("pendataan", "langganan").
    slots: values given so far (penghasilan, bulan, program, nama, ...).
    """

    topic: str | None = None
    form: str | None = None
    requested: str | None = None
    offer: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)

    def with_slots(self, **values: Any) -> ConversationState:
        """A copy with slots added or replaced (None removes a slot)."""
        merged = {**self.slots, **values}
        return replace(self, slots={k: v for k, v in merged.items() if v is not None})

    def to_json(self) -> str:
        """Compact JSON for Redis."""
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def from_json(raw: str | None) -> ConversationState:
        """Parse stored state; anything unreadable starts a fresh conversation."""
        if not raw:
            return ConversationState()
        try:
            data = json.loads(raw)
            return ConversationState(**{k: data[k] for k in data if k in _FIELDS})
        except (ValueError, TypeError):
            return ConversationState()


_FIELDS = {"topic", "form", "requested", "offer", "slots"}


class StateStore(Protocol):
    """Where conversation state lives."""

    async def load(self, channel: str, user_id: str) -> ConversationState:
        """The state of a conversation (a fresh one when none or expired)."""

    async def save(self, channel: str, user_id: str, state: ConversationState) -> None:
        """Store the state and restart its idle timer."""

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a conversation."""


class RedisStateStore:
    """State as `SET key json EX ttl`."""

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def load(self, channel: str, user_id: str) -> ConversationState:
        """The state of a conversation (a fresh one when none or expired)."""
        raw = await self._redis.get(self._keys.state(channel, user_id))
        return ConversationState.from_json(raw)

    async def save(self, channel: str, user_id: str, state: ConversationState) -> None:
        """Store the state and restart its idle timer."""
        await self._redis.set(self._keys.state(channel, user_id), state.to_json(), ex=self._ttl)

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a conversation."""
        await self._redis.delete(self._keys.state(channel, user_id))


class ConversationOpener(Protocol):
    """Starts handling a message: records the contact and reads the conversation state."""

    async def open(self, message: IncomingMessage) -> tuple[Contact, ConversationState]:
        """The contact (touched) and its conversation state."""


class RedisConversationOpener:
    """Both in one round trip.

    The profile and the state share the contact's hash tag, so one script touches the profile
    and reads the state (still one slot in a Redis Cluster).
    """

    def __init__(self, contacts: RedisContactStore, keys: Keys) -> None:
        self._contacts = contacts
        self._keys = keys

    async def open(self, message: IncomingMessage) -> tuple[Contact, ConversationState]:
        """The contact (touched) and its conversation state."""
        contact, raw = await self._contacts.touch_reading(
            message, self._keys.state(message.channel, message.user_id))
        return contact, ConversationState.from_json(raw)
