"""The contact registry: one record per channel identity, shared by the chat and broadcasts.

A profile is a Redis hash: channel, user id, display name, first/last seen, last inbound time (for
WhatsApp's 24-hour window), occupation and area when the worker gives them, and consent to
receive broadcasts with its time and channel. A channel that finds the contact unreachable (blocked
the bot, number undeliverable) marks it; the next message from the worker clears the mark.
Inbound messages touch the profile through the conversation store (bot/dialogue/state.py),
which owns a message's turn.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.keys import CONTACT_SWEEP_EVERY, Keys
from bot.tasks import stop_if_cancelled

log = logging.getLogger(__name__)


class ProfileField(StrEnum):
    """A profile field, by the name the code reads (`Contact.get`).

    The hash stores each under a shorter name (`STORED_NAMES`); times as integers.
    """

    CONSENT = "consent"  # a Consent
    CONSENT_AT = "consent_at"
    CONSENT_CHANNEL = "consent_channel"
    CONSENT_SOURCE = "consent_source"  # where an imported list's consent came from
    NAME = "nama"  # the name the worker or an imported list gave
    OCCUPATION = "pekerjaan"
    AREA = "wilayah"  # kelurahan/kecamatan
    REGENCY = "kabupaten"  # kabupaten/kota
    TAGS = "tags"  # comma-separated, from imported lists
    REGISTERED = "terdaftar"  # "ya"/"tidak", from imported lists
    FIRST_SEEN = "first_seen"
    LAST_SEEN = "last_seen"
    LAST_INBOUND = "last_inbound"  # WhatsApp's 24-hour window starts here
    DISPLAY_NAME = "display_name"  # the platform's
    UNREACHABLE = "unreachable"  # "blocked", "undeliverable"
    UNREACHABLE_AT = "unreachable_at"
    HANDOFF = "handoff"  # the open handoff's id
    IMPORTED_AT = "imported_at"  # the last import that listed the contact


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

    def get(self, name: ProfileField) -> str | None:
        """One profile field, or None."""
        return self.fields.get(name) or None

    @property
    def name(self) -> str | None:
        """The name the worker (or an imported list) gave, else the platform's; None."""
        return self.get(ProfileField.NAME) or self.get(ProfileField.DISPLAY_NAME)

    @property
    def consent(self) -> Consent | None:
        """Whether the worker opted in or out of broadcasts; None when never asked."""
        stored = self.fields.get(ProfileField.CONSENT)
        return next((c for c in Consent if c == stored), None)


class ContactStore(Protocol):
    """Where contact profiles live."""

    async def update(self, channel: str, user_id: str,
                     values: Mapping[ProfileField, str]) -> None:
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
SENDING_FIELDS = (ProfileField.LAST_INBOUND,)

# There is one profile per contact, millions of them, so the hash stores each field under a
# short name and each time as an integer (a listpack holds 1761930000 in 5 bytes, its ISO form
# in 26): 408 -> 264 bytes for an imported contact.
_F = ProfileField
STORED_NAMES: dict[ProfileField, str] = {
    _F.CONSENT: "c", _F.CONSENT_AT: "ca", _F.CONSENT_CHANNEL: "cc", _F.CONSENT_SOURCE: "cs",
    _F.NAME: "n", _F.OCCUPATION: "p", _F.AREA: "w", _F.REGENCY: "k", _F.TAGS: "t",
    _F.REGISTERED: "r", _F.FIRST_SEEN: "fs", _F.LAST_SEEN: "ls", _F.LAST_INBOUND: "li",
    _F.DISPLAY_NAME: "d", _F.UNREACHABLE: "u", _F.UNREACHABLE_AT: "ua", _F.HANDOFF: "h",
    _F.IMPORTED_AT: "ia"}
_PROFILE_NAMES = {short: name for name, short in STORED_NAMES.items()}
# A field with a fixed vocabulary stores each word as a one-character code (a listpack holds
# "1" in 2 bytes, "opt_in" in 8); a stored value that is not a code (written by an older
# release) is read as it is.
STORED_CODES: dict[ProfileField, dict[str, str]] = {
    _F.CONSENT: {"opt_in": "1", "opt_out": "0"},
    _F.REGISTERED: {"ya": "1", "tidak": "0"},
    _F.CONSENT_CHANNEL: {"whatsapp": "w", "telegram": "t", "import": "i"}}
_CODE_WORDS = {name: {code: word for word, code in codes.items()}
               for name, codes in STORED_CODES.items()}
_TIME_FIELDS = frozenset({_F.CONSENT_AT, _F.FIRST_SEEN, _F.LAST_SEEN, _F.LAST_INBOUND,
                          _F.UNREACHABLE_AT, _F.IMPORTED_AT})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The times the bot writes are Jakarta's; a time in another zone is stored as written.
_ZONE = ZoneInfo("Asia/Jakarta")


def stored_name(name: ProfileField) -> str:
    """The name a profile field has in the hash."""
    return STORED_NAMES[name]


def _stored_micros(stored: str) -> int:
    """Microseconds since the epoch from a stored time.

    Whole seconds, or microseconds when it has them (seconds stay below 10**12 until 33658).
    """
    number = int(stored)
    return number * 1_000_000 if number < 10**12 else number


def _is_stored_time(value: str) -> bool:
    """Whether a stored value is a time's integer form (ASCII digits only)."""
    return value.isascii() and value.isdigit()


def _profile_time(stored: str) -> str:
    """An ISO time in Jakarta from its stored integer."""
    return (_EPOCH + _stored_micros(stored) * _MICROSECOND).astimezone(_ZONE).isoformat()


def _stored_time(value: str) -> str:
    """The integer form of an ISO time when it reads back the same; else the value itself."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    if at.tzinfo is None:
        return value
    micros = (at - _EPOCH) // _MICROSECOND
    stored = str(micros // 1_000_000 if micros % 1_000_000 == 0 else micros)
    return stored if _profile_time(stored) == value else value


def stored_value(name: ProfileField, value: str) -> str:
    """A profile field's value as the hash stores it."""
    if name in _TIME_FIELDS:
        return _stored_time(value)
    return STORED_CODES.get(name, {}).get(value, value)


def _read_value(name: ProfileField, value: str) -> str:
    """A profile field's value as the code reads it, from the hash's."""
    if name in _TIME_FIELDS:
        return _profile_time(value) if _is_stored_time(value) else value
    return _CODE_WORDS.get(name, {}).get(value, value)


def stored_fields(values: Mapping[ProfileField, str]) -> dict[str, str]:
    """Profile fields as the hash stores them."""
    return {stored_name(name): stored_value(name, value) for name, value in values.items()}


def stored_profile(fields: Mapping[str, str]) -> dict[str, str]:
    """A profile an older release wrote under long names, as the hash stores it now.

    A name this release does not know (`enrolled`, `channel` ...) is kept as it is, as
    `profile_fields` reads it.
    """
    known = {name.value for name in ProfileField}
    return {**{name: value for name, value in fields.items() if name not in known},
            **stored_fields({ProfileField(name): value for name, value in fields.items()
                             if name in known})}


def profile_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Profile fields as the code reads them, from the hash's name, value pairs.

    A name the hash holds and `STORED_NAMES` does not know (written by an older release) is
    kept under that name.
    """
    fields: dict[str, str] = {}
    for short, value in pairs:
        name = _PROFILE_NAMES.get(short)
        if name is None:
            fields[short] = value
        else:
            fields[name] = _read_value(name, value)
    return fields

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
# ARGV: field, value pairs.
_MARK_UNREACHABLE = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
"""

# What keeps a profile that gave data: a message (last seen) or an import.
ACTIVITY_FIELDS = (_F.LAST_SEEN, _F.IMPORTED_AT)

# Deletes a profile that saw no activity since the cutoff; checked here, atomically, so a
# message that arrived after the sweep read the profile keeps it. One with a TTL (an older
# release's, longer than a retention lowered since) goes too once idle for the retention. A
# profile with no activity time and no TTL (none is written without one) gets the retention as
# a TTL instead; one with a TTL and no time (an erased contact's grace) is left to its TTL.
# KEYS[1]: the profile; ARGV: cutoff (epoch seconds), retention seconds, ACTIVITY_FIELDS...
_FORGET_IDLE = """
local ttl = redis.call('TTL', KEYS[1])
if ttl == -2 then return 0 end
local latest = nil
for _, value in ipairs(redis.call('HMGET', KEYS[1], unpack(ARGV, 3))) do
  local seen = value and tonumber(value)
  if seen then
    if seen >= 1e12 then seen = seen / 1e6 end
    if not latest or seen > latest then latest = seen end
  end
end
if not latest then
  if ttl == -1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
  return 0
end
if latest < tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# Index shards read in one pipeline by a scan.
SHARDS_PER_READ = 32

# Fields that mean the worker gave data (or a choice to remember, like an opt-out): a profile
# with none of them is anonymous, lives only as long as a conversation and is not indexed.
DATA_FIELDS = (_F.CONSENT, _F.NAME, _F.OCCUPATION, _F.AREA, _F.IMPORTED_AT)

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

    Only the channels a broadcast reaches (Telegram, WhatsApp) are indexed: nothing else reads it.

    A profile that gave data has no TTL: `sweep` deletes it `retention_seconds` after its last
    message or import, once a day. Millions of profiles each with a TTL would cost each an
    entry in Redis's expiry table (about 40 bytes, a tenth of a contact); an anonymous profile
    keeps its short TTL.

    A sender enters the index when their profile gets one of DATA_FIELDS (`update`, `enrol`),
    never by writing: an anonymous sender's profile expires with the conversation and leaves
    no index entry behind. A profile and its index entry live in different slots (the
    contact's and the shard's), so they are written in one pipeline but not atomically: an
    index entry can outlive its profile (the profile expired, or a process died between the
    two), and every reader skips ids whose profile is gone (`get_many` returns None) and drops
    them from the index (`forget_stale`).
    """

    def __init__(self, redis: Redis, keys: Keys, retention_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._retention = retention_seconds
        self._mark_unreachable = redis.register_script(_MARK_UNREACHABLE)
        self._get_many = redis.register_script(_GET_MANY)
        self._keep_only = redis.register_script(_KEEP_ONLY)
        self._forget_idle = redis.register_script(_FORGET_IDLE)

    async def update(self, channel: str, user_id: str,
                     values: Mapping[ProfileField, str]) -> None:
        """Set profile fields; data given makes the profile long-lived and indexes it."""
        if not values:
            return
        key = self._keys.profile(channel, user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=stored_fields(values))
            if any(name in values for name in DATA_FIELDS):
                pipe.persist(key)  # kept until `sweep` finds it idle
                self._index(pipe, channel, user_id)
            await pipe.execute()

    async def get(self, channel: str, user_id: str) -> Contact | None:
        """A profile, or None for an unknown contact."""
        key = self._keys.profile(channel, user_id)
        stored = await cast(Awaitable[dict[str, str]], self._redis.hgetall(key))
        return Contact(channel, user_id, profile_fields(stored.items())) if stored else None

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a contact entirely."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._keys.profile(channel, user_id))
            self._unindex(pipe, channel, user_id)
            await pipe.execute()

    async def mark_unreachable(self, channel: str, user_id: str, reason: str,
                               at: datetime) -> None:
        """Record that messages cannot reach a known contact ("blocked", "undeliverable")."""
        await self._mark_unreachable(
            keys=[self._keys.profile(channel, user_id)],
            args=[x for pair in stored_fields({_F.UNREACHABLE: reason,
                                               _F.UNREACHABLE_AT: at.isoformat()}).items()
                  for x in pair])

    async def keep_only_for_sending(self, channel: str, user_id: str) -> None:
        """Strip a profile to what a reply needs (the 24-hour window), briefly; unindex it."""
        await self._keep_only(keys=[self._keys.profile(channel, user_id)],
                              args=[ERASE_GRACE_SECONDS, *map(stored_name, SENDING_FIELDS)])
        async with self._redis.pipeline(transaction=False) as pipe:
            self._unindex(pipe, channel, user_id)
            await pipe.execute()

    async def enrol(self, channel: str, user_id: str, values: Mapping[ProfileField, str],
                    at: datetime) -> None:
        """Create or complete a profile from a list imported `at`.

        The contact is indexed (an imported list is data given) and kept the retention from
        `at`, or from a later message.
        """
        key = self._keys.profile(channel, user_id)
        stamped = {**values, _F.IMPORTED_AT: at.isoformat(timespec="seconds")}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=stored_fields(stamped))
            pipe.persist(key)  # kept until `sweep` finds it idle
            self._index(pipe, channel, user_id)
            await pipe.execute()

    async def sweep_when_due(self, now: datetime) -> int | None:
        """`sweep`, unless a process took the turn within CONTACT_SWEEP_EVERY; None then.

        A sweep that fails (a failover under it) or is stopped gives the turn back, so the
        next try sweeps.
        """
        turn = self._keys.contacts_sweep()
        if not await self._redis.set(turn, now.isoformat(), nx=True, ex=CONTACT_SWEEP_EVERY):
            return None
        try:
            removed = await self.sweep(now)
        except BaseException:  # a failover, or a stop: the next check (here or elsewhere) sweeps
            with suppress(Exception):  # Redis may still be away: the turn then lapses
                await self._redis.delete(turn)
            raise
        if removed:
            log.info("contacts sweep: %d idle profiles deleted", removed)
        return removed

    async def sweep(self, now: datetime, batch: int = 1000) -> int:
        """Delete the profiles idle for the retention (no message, no import); how many.

        Every profile is found by SCAN on every master, not through the index, so one that
        lost its index entry (a process died between the two writes) is swept too. Only the
        idle ones are checked again, and deleted, one script each; their index entries go
        after them.
        """
        cutoff = now.timestamp() - self._retention
        removed = 0
        page: list[str] = []
        async for key in self._redis.scan_iter(match=self._keys.profiles(), count=batch,
                                               _type="hash"):
            page.append(key)
            if len(page) == batch:
                removed += await self._sweep_page(page, cutoff)
                page = []
                stop_if_cancelled()  # a long sweep stops with its process
        return removed + await self._sweep_page(page, cutoff)

    async def _sweep_page(self, keys: list[str], cutoff: float) -> int:
        names = [stored_name(name) for name in ACTIVITY_FIELDS]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key, names)
            seen = await pipe.execute()
        gone = []
        for key, times in zip(keys, seen, strict=True):
            latest = max((_stored_micros(t) / 1e6 for t in times if t and _is_stored_time(t)),
                         default=None)
            if (latest is None or latest < cutoff) and await self._forget_idle(
                    keys=[key], args=[cutoff, self._retention, *names]):
                gone.append(key)
        # As for any profile found gone: a contact enrolled again since its deletion (an
        # import meanwhile) is indexed again, not lost to the index.
        await self.forget_stale([":".join(self._keys.profile_owner(key)) for key in gone],
                                [None] * len(gone))
        return len(gone)

    def _index(self, pipe: Any, channel: str, user_id: str) -> None:
        shard = self._keys.contacts_shard(channel, user_id)
        if shard is not None:  # a channel no broadcast reaches is not indexed
            pipe.sadd(shard, user_id)

    def _unindex(self, pipe: Any, channel: str, user_id: str) -> None:
        shard = self._keys.contacts_shard(channel, user_id)
        if shard is not None:
            pipe.srem(shard, user_id)

    async def scan(self, batch: int = 1000,
                   fields: tuple[ProfileField, ...] = ()) -> AsyncIterator[list[Contact]]:
        """Every indexed contact, a batch of profiles at a time (only `fields`, if given).

        The shards are read a few dozen at a time in one pipeline (most hold a few hundred
        ids); a contact who writes meanwhile is still seen, and may come twice, so callers that
        care dedupe.
        """
        shards = self._keys.contacts_shards()
        for start in range(0, len(shards), SHARDS_PER_READ):
            chunk = shards[start:start + SHARDS_PER_READ]
            async with self._redis.pipeline(transaction=False) as pipe:
                for _, shard in chunk:
                    pipe.smembers(shard)
                members = await pipe.execute()
            ids = [f"{channel}:{user_id}" for (channel, _), users in zip(chunk, members,
                                                                          strict=True)
                   for user_id in users]
            for first in range(0, len(ids), batch):
                page = ids[first:first + batch]
                found = await self.get_many(page, fields)
                await self.forget_stale(page, found)
                yield [contact for contact in found if contact is not None]

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
                channel, _, user_id = contact_id.partition(":")
                self._unindex(pipe, channel, user_id)
            await pipe.execute()
        back = [contact_id for contact_id, contact in
                zip(stale, await self.get_many(stale, DATA_FIELDS), strict=True) if contact]
        if back:
            async with self._redis.pipeline(transaction=False) as pipe:
                for contact_id in back:
                    channel, _, user_id = contact_id.partition(":")
                    self._index(pipe, channel, user_id)
                await pipe.execute()

    async def draw(self, count: int,
                   fields: tuple[ProfileField, ...] = ()) -> tuple[int, list[Contact]]:
        """`count` contacts drawn at random (only `fields`), and how many the index holds.

        Every contact when the index holds no more than `count`; fewer than `count` when
        some ids outlived their profiles.
        """
        shards = self._keys.contacts_shards()
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, shard in shards:
                pipe.scard(shard)
            sizes = [int(n) for n in await pipe.execute()]
        size = sum(sizes)
        ids: list[str] = []
        if size:
            # Each shard gives its share of the draw (the shards are near equal in size).
            drawn_from = [(channel, shard, min(shard_size, -(-count * shard_size // size)))
                          for (channel, shard), shard_size in zip(shards, sizes, strict=True)
                          if shard_size]
            async with self._redis.pipeline(transaction=False) as pipe:
                for _, shard, share in drawn_from:
                    pipe.srandmember(shard, share)
                ids = [f"{channel}:{user_id}"
                       for (channel, _, _), drawn in zip(drawn_from, await pipe.execute(),
                                                         strict=True)
                       for user_id in drawn or []]
            ids = ids[:count]
        found: list[Contact | None] = []
        for start in range(0, len(ids), 1000):
            found += await self.get_many(ids[start:start + 1000], fields)
        return size, [contact for contact in found if contact is not None]

    async def get_many(self, contact_ids: list[str],
                       fields: tuple[ProfileField, ...] = ()) -> list[Contact | None]:
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
        names = [stored_name(name) for name in fields]
        replies: list[Any]
        if isinstance(self._redis, RedisCluster):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    if names:
                        pipe.hmget(key, names)
                    else:
                        pipe.hgetall(key)
                replies = await pipe.execute()
            replies = [r if names else [x for pair in r.items() for x in pair] for r in replies]
        else:
            replies = await self._get_many(keys=keys, args=names)
        found: list[Contact | None] = []
        for (channel, user_id), reply in zip(ids, replies, strict=True):
            pairs = zip(names, reply, strict=True) if names else zip(
                reply[::2], reply[1::2], strict=True)
            values = profile_fields((name, value) for name, value in pairs if value is not None)
            found.append(Contact(channel, user_id, values) if values else None)
        return found
