"""Conversations: what the bot remembers between two messages of one contact, and who owns a turn.

`RedisConversations` is the one owner of a conversation turn: it touches the profile, reads the
state and takes the turn on open, and saves the state and releases the turn on close. State is a
small JSON string with an idle TTL: a conversation left alone for longer than
`dialogue.session_ttl_minutes` starts fresh.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import orjson
from redis.asyncio import Redis

from bot.contacts import (
    DATA_FIELDS,
    Contact,
    ProfileField,
    profile_fields,
    stored_fields,
    stored_name,
)
from bot.errors import TransientError
from bot.keys import Keys
from bot.messages import IncomingMessage


class Form(StrEnum):
    """A form the bot is filling with the worker (the value is stored)."""

    IURAN = "iuran"  # waiting for an income to compute the fee
    PENDATAAN = "pendataan"  # collecting a registration lead
    KANTOR = "kantor"  # waiting for a place to find the branch office


class Offer(StrEnum):
    """A yes/no question the bot asked; a "yes" (or "no") answers it."""

    PENDATAAN = "pendataan"  # "Mau dibantu petugas untuk mendaftar?"
    LANGGANAN = "langganan"  # "Mau menerima info ...?"
    PENGHASILAN = "penghasilan"  # "Rp50.000 sehari itu sekitar Rp1.500.000 sebulan, betul?"
    PETUGAS = "petugas"  # "Mau saya sambungkan dengan petugas?" (bot/handoffs.py)
    TINGGALKAN = "tinggalkan"  # "Pendataan belum selesai. Tinggalkan?"


@dataclass(frozen=True)
class Situation:
    """What the worker told about themself, used by every later answer of the conversation.

    pekerjaan: canonical occupation (`ojol`, `nelayan`): fees show only that group's discount,
        the pendataan does not ask it again.
    penghasilan: monthly income in rupiah, as confirmed.
    anggota: True when already a member (peserta), False when not yet, None when not said.
    wilayah: the place named last (kelurahan, kecamatan or city).
    """

    pekerjaan: str | None = None
    penghasilan: int | None = None
    anggota: bool | None = None
    wilayah: str | None = None

    @staticmethod
    def from_dict(data: Any) -> Situation:
        """Rebuild from stored JSON, keeping only known fields of the right type."""
        if not isinstance(data, dict):
            return Situation()
        return Situation(
            pekerjaan=data.get("pekerjaan") if isinstance(data.get("pekerjaan"), str) else None,
            penghasilan=data.get("penghasilan") if isinstance(data.get("penghasilan"), int)
            else None,
            anggota=data.get("anggota") if isinstance(data.get("anggota"), bool) else None,
            wilayah=data.get("wilayah") if isinstance(data.get("wilayah"), str) else None)


@dataclass(frozen=True)
class ConversationState:
    """The context of a conversation.

    topic: what the last answer was about (iuran, manfaat, daftar, bayar, klaim, saldo, kantor),
        so follow-ups like "kalau JHT-nya?" or "lewat hp bisa?" are understood.
    form: a form being filled (a `Form`: iuran waiting for an income, pendataan collecting a
        lead, kantor waiting for a place).
    requested: the slot the pendataan form asked for last (the other forms ask for one thing).
    offer: a yes/no question the bot asked (an `Offer`).
    slots: values given so far (penghasilan, bulan, program, nama, ...).
    situation: what the worker said about themself (occupation, income, member, area).
    choices: the payloads of the last numbered list the bot sent: "5" picks the fifth.
    said: the paragraphs of the last reply, so the next one does not repeat them.
    next_step: the answer to "trus aku kudu piye?" after the last reply ("" for none).
    recent: the last messages both ways as [who, text, time], so staff who take the
        conversation over see it from the start.
    """

    topic: str | None = None  # an answer's topic, data in the knowledge base: not an enum
    form: Form | None = None
    requested: str | None = None
    offer: Offer | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    situation: Situation = field(default_factory=Situation)
    choices: tuple[str, ...] = ()
    said: tuple[str, ...] = ()
    next_step: str = ""
    recent: list[list[str]] = field(default_factory=list)

    def with_slots(self, **values: Any) -> ConversationState:
        """A copy with slots added or replaced (None removes a slot)."""
        merged = {**self.slots, **values}
        return replace(self, slots={k: v for k, v in merged.items() if v is not None})

    def to_json(self) -> str:
        """Compact JSON for Redis (orjson writes the dataclass without copying it to a dict)."""
        return orjson.dumps(self).decode()

    @staticmethod
    def from_json(raw: str | None) -> ConversationState:
        """Parse stored state; anything unreadable starts a fresh conversation."""
        if not raw:
            return ConversationState()
        try:
            data = orjson.loads(raw)
            values = {k: data[k] for k in data if k in _FIELDS}
            values["form"] = _named(Form, data.get("form"))
            values["offer"] = _named(Offer, data.get("offer"))
            values["situation"] = Situation.from_dict(data.get("situation"))
            for name in ("choices", "said"):
                values[name] = tuple(str(v) for v in data.get(name) or ())
            return ConversationState(**values)
        except (ValueError, TypeError):
            return ConversationState()


_FIELDS = {"topic", "requested", "slots", "next_step", "recent"}
E = TypeVar("E", Form, Offer)


def _named(kind: type[E], value: Any) -> E | None:
    """A stored form or offer; one this release no longer knows is forgotten, not an error."""
    try:
        return kind(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Turn:
    """One message's hold on its conversation: the contact, the state, the holder's token."""

    channel: str
    user_id: str
    contact: Contact
    state: ConversationState
    token: str


class Conversations(Protocol):
    """The one owner of a conversation: its turn, its state and the touch of its profile.

    Two messages of one sender that arrive together (a double tap, a webhook retried while the
    first is answered) would otherwise both read the same state and the later save would drop
    what the earlier one learned. `open` waits until the contact's previous message is done.
    """

    async def open(self, message: IncomingMessage) -> Turn:
        """Take the contact's turn: the contact (touched) and its conversation state."""

    async def close(self, turn: Turn, state: ConversationState | None) -> None:
        """Save the new state (None: leave it as it is) and give the turn back."""

    async def touch(self, message: IncomingMessage) -> Contact:
        """Record a message answered without a turn (a photo): first/last seen, the profile."""

    async def load(self, channel: str, user_id: str) -> ConversationState:
        """The state of a conversation outside a turn (a fresh one when none or expired)."""

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a conversation's state."""


# One call per inbound message (the hot path): first/last seen, display name, clear the
# unreachable mark; returns the profile and, when a second key is given, that key's string
# value (the state, under the same hash tag, so in the same slot).
# With a third key (the conversation's turn) it first takes the turn with `SET NX PX`; when
# another message of the contact holds it, it returns false and changes nothing.
# KEYS[1]: the profile, KEYS[2], KEYS[3] (optional): the state, the turn;
# ARGV: seen, anonymous ttl, turn token, turn ms, then field, value pairs. A profile with
# none of DATA_FIELDS (the worker gave nothing) gets the anonymous ttl, renewed: it goes with
# the conversation. One with data has none (an older release's TTL is removed): the last seen
# written here keeps it from the contacts sweep (bot/contacts.py). Field names and times are
# the hash's (stored_name, stored_fields).
_TOUCH = """
if #KEYS > 2 and not redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', ARGV[4]) then
  return false
end
redis.call('HSETNX', KEYS[1], 'FIRST_SEEN', ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('HDEL', KEYS[1], 'UNREACHABLE', 'UNREACHABLE_AT')
local gave = false
for _, name in ipairs({DATA_FIELDS}) do
  if redis.call('HEXISTS', KEYS[1], name) == 1 then gave = true break end
end
if gave then redis.call('PERSIST', KEYS[1]) else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local extra = false
if #KEYS > 1 then extra = redis.call('GET', KEYS[2]) end
return {redis.call('HGETALL', KEYS[1]), extra}
""".replace("DATA_FIELDS", ", ".join(f"'{stored_name(name)}'" for name in DATA_FIELDS)).replace(
    "FIRST_SEEN", stored_name(ProfileField.FIRST_SEEN)).replace(
    "UNREACHABLE_AT", stored_name(ProfileField.UNREACHABLE_AT)).replace(
    "UNREACHABLE", stored_name(ProfileField.UNREACHABLE))

# KEYS[1]: the turn, KEYS[2]: the state; ARGV: holder token, state JSON ('' to keep), ttl.
# The turn is deleted only by its holder: one that outlived TURN_MS must not end another's.
_CLOSE = """
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""


class RedisConversations:
    """A turn is a short-lived key taken and released in the round trips a message makes anyway.

    Opening touches the profile, reads the state and takes the turn in one script (the three
    keys share the contact's hash tag: one slot in a Redis Cluster); closing saves the state
    (a JSON string with the idle TTL) and releases the turn in another. A process that dies
    mid-turn holds it for TURN_MS at most.
    """

    TURN_MS = 5000
    WAIT_SECONDS = (0.005, 0.01, 0.02, 0.05)  # between tries while another message holds it

    def __init__(self, redis: Redis, keys: Keys, *, state_ttl_seconds: int,
                 anonymous_ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._state_ttl = state_ttl_seconds
        self._anonymous_ttl = anonymous_ttl_seconds
        self._touch = redis.register_script(_TOUCH)
        self._close = redis.register_script(_CLOSE)

    async def open(self, message: IncomingMessage) -> Turn:
        """Take the contact's turn, waiting for the message before it to be answered."""
        deadline = time.monotonic() + 2 * self.TURN_MS / 1000
        waits = 0
        while (turn := await self.try_open(message)) is None:
            if time.monotonic() > deadline:  # only if turns keep coming faster than TURN_MS
                raise TransientError(
                    f"conversation {message.channel}:{message.user_id} stayed busy")
            await asyncio.sleep(self.WAIT_SECONDS[min(waits, len(self.WAIT_SECONDS) - 1)])
            waits += 1
        return turn

    async def try_open(self, message: IncomingMessage) -> Turn | None:
        """Take the contact's turn now; None, touching nothing, while another message holds it."""
        channel, user = message.channel, message.user_id
        keys = [self._keys.profile(channel, user), self._keys.state(channel, user),
                self._keys.turn(channel, user)]
        token = secrets.token_hex(8)
        opened = await self._touch_keys(message, keys, token)
        if opened is None:
            return None
        contact, raw = opened
        return Turn(channel, user, contact, ConversationState.from_json(raw), token)

    async def close(self, turn: Turn, state: ConversationState | None) -> None:
        """Save the new state (None: leave it as it is) and give the turn back."""
        await self._close(
            keys=[self._keys.turn(turn.channel, turn.user_id),
                  self._keys.state(turn.channel, turn.user_id)],
            args=[turn.token, state.to_json() if state is not None else "", self._state_ttl])

    async def touch(self, message: IncomingMessage) -> Contact:
        """Record a message answered without a turn (a photo): first/last seen, the profile."""
        touched = await self._touch_keys(
            message, [self._keys.profile(message.channel, message.user_id)])
        assert touched is not None  # no turn asked for, so nothing can refuse it
        return touched[0]

    async def load(self, channel: str, user_id: str) -> ConversationState:
        """The state of a conversation outside a turn (a fresh one when none or expired)."""
        return ConversationState.from_json(await self._redis.get(self._keys.state(channel,
                                                                                  user_id)))

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a conversation's state."""
        await self._redis.delete(self._keys.state(channel, user_id))

    async def _touch_keys(self, message: IncomingMessage, keys: list[str],
                          token: str = "") -> tuple[Contact, str | None] | None:
        written = {ProfileField.LAST_SEEN: message.received_at.isoformat(),
                   ProfileField.LAST_INBOUND: message.received_at.isoformat()}
        if message.display_name:
            written[ProfileField.DISPLAY_NAME] = message.display_name
        stored = stored_fields(written)
        # The channel and the user id are in the profile's key: not stored again in the hash.
        args = [stored[stored_name(ProfileField.LAST_SEEN)], str(self._anonymous_ttl), token,
                str(self.TURN_MS), *(x for pair in stored.items() for x in pair)]
        # The contacts index is not touched: a sender enters it when they give data
        # (bot/contacts.py), so an anonymous one leaves nothing behind their profile.
        touched = await self._touch(keys=keys, args=args)
        if not touched:
            return None
        flat, extra = touched
        fields = profile_fields(zip(flat[::2], flat[1::2], strict=True))
        return Contact(message.channel, message.user_id, fields), extra
