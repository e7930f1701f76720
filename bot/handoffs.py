"""Conversations handed from the bot to a person ("Percakapan"): the queue, the replies, the end.

A worker on a channel that can receive later messages (Telegram, WhatsApp) who accepts the bot's
offer of a person gets a handoff in the queue of their branch. The contact's profile carries the
handoff's id (field `handoff`), which the engine reads for free with every message: while it is
there the bot relays the worker's messages to the handoff and stays silent, except for opt-out
and "hapus data saya". Staff take it, reply (sent on the worker's channel) and close it; a
handoff nobody writes in for `handoff.idle_minutes` returns to the bot. Either way the worker is
told, and every step is audited.

Keys: a handoff's hash and its messages share the `{h:<id>}` hash tag; the profile field lives
under the contact's tag; the status indexes are one sorted set per status. Moving a handoff is one
script on its own hash (so two staff cannot both take it, and two processes cannot both close it);
the index and profile writes that follow are separate commands, never one multi-slot operation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import cast

import orjson
from redis.asyncio import Redis

from actions.kantor import branches_for
from bot.admin.audit import AuditLog
from bot.channels.base import OutboundChannel, Template
from bot.contacts import Contact, ContactStore, ProfileField
from bot.errors import (
    ConfigError,
    Conflict,
    Invalid,
    NotFound,
    RecipientError,
    Refused,
    TransientError,
    Unavailable,
)
from bot.keys import HANDOFF_KEEP_DAYS, Keys
from bot.knowledge.base import BranchModel, KnowledgeBase
from bot.messages import IncomingMessage, Reply
from bot.nlu.entities import mask_nik
from bot.settings import HandoffConfig, OfficeHours

log = logging.getLogger(__name__)

STATUSES = ("open", "taken", "closed")
STATUS_NAMES = {"open": "menunggu", "taken": "ditangani", "closed": "selesai"}
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
# Who wrote a message of a handoff.
WORKER, BOT, SYSTEM = "pekerja", "bot", "sistem"
STAFF = "petugas:"  # + the staff member's username
MAX_REPLY = 3000


@dataclass(frozen=True)
class Handoff:
    """One conversation handed to staff."""

    id: str
    channel: str
    user_id: str
    name: str
    branch: str
    reason: str
    status: str
    created_at: str
    last_activity: str
    taken_by: str = ""
    taken_at: str = ""
    closed_by: str = ""
    closed_at: str = ""

    @property
    def status_name(self) -> str:
        """The status in Indonesian."""
        return STATUS_NAMES.get(self.status, self.status)


_FIELDS = tuple(f.name for f in fields(Handoff))


@dataclass(frozen=True)
class HandoffMessage:
    """A message of a handoff: `who` is pekerja, bot, sistem or petugas:<username>."""

    who: str
    text: str
    at: str

    @property
    def by_staff(self) -> bool:
        """Whether a staff member wrote it."""
        return self.who.startswith(STAFF)

    @property
    def who_name(self) -> str:
        """Who wrote it, as the console labels it."""
        if self.by_staff:
            return f"Petugas {self.who[len(STAFF):]}"
        return {WORKER: "Pekerja", BOT: "Bot"}.get(self.who, "Catatan")


def is_open_at(moment: datetime, hours: OfficeHours) -> bool:
    """Whether staff work at `moment` (in the bot's time zone)."""
    start, end = time.fromisoformat(hours.open), time.fromisoformat(hours.close)
    return moment.isoweekday() in hours.days and start <= moment.time() < end


def next_opening(moment: datetime, hours: OfficeHours) -> datetime | None:
    """When staff next start work after `moment`; None while they are at work (or never)."""
    if is_open_at(moment, hours) or not hours.days:
        return None
    start = time.fromisoformat(hours.open)
    for ahead in range(8):
        day = (moment + timedelta(days=ahead)).date()
        opening = datetime.combine(day, start, moment.tzinfo)
        if opening > moment and opening.isoweekday() in hours.days:
            return opening
    return None


def when_answered(moment: datetime, hours: OfficeHours) -> str:
    """An honest sentence on when a person will answer, for the worker."""
    days = sorted(hours.days)
    span = (f"{DAYS[days[0] - 1]}–{DAYS[days[-1] - 1]}" if len(days) > 1 else
            DAYS[days[0] - 1]) if days else ""
    clock = f"{hours.open.replace(':', '.')}–{hours.close.replace(':', '.')} WIB"
    opening = next_opening(moment, hours)
    if opening is None:
        return f"Petugas sedang bertugas ({span} {clock}) dan akan membalas di chat ini."
    if opening.date() == moment.date():
        day = "hari ini"
    elif opening.date() == moment.date() + timedelta(days=1):
        day = "besok"
    else:
        day = f"hari {DAYS[opening.weekday()]}"
    return (f"Kantor sedang tutup (jam kerja {span} {clock}). Petugas akan membalas di chat ini "
            f"{day} mulai pukul {opening:%H.%M} WIB.")


def branch_for(kb: KnowledgeBase, contact: Contact, default: str, said: str | None = None) -> str:
    """The branch whose queue a worker's handoff joins: from the area they gave, else default.

    The same matching as the "kantor cabang" answer (kabupaten first, it is what branches cover);
    `said`: the place named in the conversation ("aku ojol di Genteng"), when no profile has one.
    """
    for place in (contact.get(ProfileField.REGENCY), contact.get(ProfileField.AREA), said):
        found: list[BranchModel] = branches_for(kb, place) if place else []
        if found:
            return found[0].name
    return default


def fill(text: str, **values: str) -> str:
    """Put values in a knowledge-base text's `{name}` slots (other braces are left alone)."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


# KEYS[1]: the handoff hash; ARGV[1]: allowed current statuses (comma-separated), ARGV[2]: the
# new status, then field/value pairs. Returns the old status, or false when not allowed.
_MOVE = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return false end
for allowed in string.gmatch(ARGV[1], '[^,]+') do
  if allowed == current then
    redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 3))
    return current
  end
end
return false
"""


# Closed ids looked at on each close for handoffs that have expired.
EXPIRED_LOOKS = 20


class HandoffStore:
    """Handoffs in Redis (a `decode_responses` client)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._move = redis.register_script(_MOVE)

    def _index(self, status: str) -> str:
        return f"{self._keys.handoffs_index()}:{status}"

    async def create(self, handoff: Handoff, messages: Sequence[HandoffMessage]) -> Handoff:
        """Store a new handoff (its id is assigned here) with the conversation so far."""
        number = int(await self._redis.incr(self._keys.handoff_counter()))
        stored = Handoff(**{**_as_dict(handoff), "id": str(number)})
        key = self._keys.handoff(stored.id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=_as_dict(stored))
            if messages:
                pipe.rpush(self._keys.handoff_messages(stored.id),
                           *(_encode(m) for m in messages))
            pipe.zadd(self._index("open"), {stored.id: number})
            mine = self._keys.contact_handoffs(stored.channel, stored.user_id)
            pipe.sadd(mine, stored.id)
            # Outlives its handoffs: closed within days, kept HANDOFF_KEEP_DAYS after.
            pipe.expire(mine, 2 * HANDOFF_KEEP_DAYS * 86400)
            await pipe.execute()
        return stored

    async def get(self, handoff_id: str) -> Handoff | None:
        """A handoff, or None."""
        raw = await cast(Awaitable[dict[str, str]],
                         self._redis.hgetall(self._keys.handoff(handoff_id)))
        return Handoff(**{f: raw.get(f, "") for f in _FIELDS}) if raw else None

    async def messages(self, handoff_id: str) -> list[HandoffMessage]:
        """A handoff's messages, oldest first."""
        raw = await cast(Awaitable[list[str]],
                         self._redis.lrange(self._keys.handoff_messages(handoff_id), 0, -1))
        return [HandoffMessage(**orjson.loads(item)) for item in raw]

    async def add(self, handoff_id: str, message: HandoffMessage) -> None:
        """Append a message and mark the handoff active now."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(self._keys.handoff_messages(handoff_id), _encode(message))
            pipe.hset(self._keys.handoff(handoff_id), "last_activity", message.at)
            await pipe.execute()

    async def move(self, handoff_id: str, allowed: Sequence[str], status: str,
                   values: Mapping[str, str]) -> str | None:
        """Change the status if it is one of `allowed`; the old status, or None when refused."""
        flat = [item for pair in values.items() for item in pair]
        before = await self._move(keys=[self._keys.handoff(handoff_id)],
                                  args=[",".join(allowed), status, *flat])
        if not before:
            return None
        number = int(handoff_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrem(self._index(before), handoff_id)
            pipe.zadd(self._index(status), {handoff_id: number})
            if status == "closed":
                for key in (self._keys.handoff(handoff_id),
                            self._keys.handoff_messages(handoff_id)):
                    pipe.expire(key, HANDOFF_KEEP_DAYS * 86400)
            await pipe.execute()
        if status == "closed":
            await self._forget_expired()
        return str(before)

    async def _forget_expired(self) -> None:
        """Drop from the closed index the oldest ids whose handoff has expired.

        Ids grow with time and closed handoffs expire HANDOFF_KEEP_DAYS after closing, so the
        expired ones gather at the low end; looking at a few there on every close keeps the
        index as long as what it lists.
        """
        oldest = await self._redis.zrange(self._index("closed"), 0, EXPIRED_LOOKS - 1)
        if not oldest:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for handoff_id in oldest:
                pipe.exists(self._keys.handoff(handoff_id))
            found = await pipe.execute()
        expired = [handoff_id for handoff_id, there in zip(oldest, found, strict=True)
                   if not there]
        if expired:
            await self._redis.zrem(self._index("closed"), *expired)

    async def ids(self, status: str, limit: int = 200) -> list[str]:
        """Ids with a status, newest first."""
        return list(await self._redis.zrevrange(self._index(status), 0, limit - 1))

    async def count(self, status: str) -> int:
        """How many handoffs have a status."""
        return int(await self._redis.zcard(self._index(status)))

    async def forget(self, handoff_id: str) -> None:
        """Delete a handoff and its messages ("hapus data saya")."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._keys.handoff(handoff_id), self._keys.handoff_messages(handoff_id))
            for status in STATUSES:
                pipe.zrem(self._index(status), handoff_id)
            await pipe.execute()


def _as_dict(handoff: Handoff) -> dict[str, str]:
    return {f: getattr(handoff, f) for f in _FIELDS}


def _encode(message: HandoffMessage) -> str:
    return orjson.dumps({"who": message.who, "text": message.text, "at": message.at}).decode()


Outbound = Callable[[], Mapping[str, OutboundChannel]]


class Handoffs:
    """The handoff desk: what the engine, the console and the idle sweep do with handoffs."""

    def __init__(self, store: HandoffStore, contacts: ContactStore, audit: AuditLog,
                 config: HandoffConfig, clock: Callable[[], datetime],
                 knowledge: Callable[[], KnowledgeBase]) -> None:
        self.store = store
        self._contacts = contacts
        self._audit = audit
        self.config = config
        self._clock = clock
        self._kb = knowledge
        self.outbound: Outbound = dict
        self.staff_chat: str | None = None  # a Telegram group told about new handoffs
        self._notices: set[asyncio.Task[None]] = set()

    # -- the worker's side (called by the engine) ------------------------------------------

    async def start(self, message: IncomingMessage, contact: Contact,
                    recent: Sequence[tuple[str, str, str]], reason: str,
                    place: str | None = None) -> Reply:
        """Queue the conversation for the worker's branch; the reply says when staff answer.

        `place`: the area the worker named in the conversation, for a contact without one.
        """
        now = self._clock()
        kb = self._kb()
        branch = branch_for(kb, contact, self.config.default_branch, place)
        name = contact.name or message.display_name or ""
        stamp = now.isoformat(timespec="seconds")
        handoff = await self.store.create(
            Handoff("", message.channel, message.user_id, name, branch, reason, "open",
                    stamp, stamp),
            [HandoffMessage(who, mask_nik(text), at) for who, text, at in recent])
        await self._contacts.update(message.channel, message.user_id,
                                    {ProfileField.HANDOFF: handoff.id})
        await self._audit.record(now, SYSTEM, "percakapan.baru", f"#{handoff.id}",
                                 f"{branch}; {reason}")
        self._notify_staff(handoff)
        text = fill(kb.answer("petugas_antre").text, cabang=branch,
                    kapan=when_answered(now, self.config.office_hours))
        return Reply(text)

    async def relay(self, handoff_id: str, message: IncomingMessage) -> bool:
        """Pass a worker's message to the person holding the conversation.

        False when the handoff has ended meanwhile (the profile field was left behind): the
        field is cleared and the bot answers again.
        """
        handoff = await self.store.get(handoff_id)
        if handoff is None or handoff.status == "closed":
            await self._release(message.channel, message.user_id, handoff_id)
            return False
        await self.store.add(handoff_id, HandoffMessage(
            WORKER, message.text, message.received_at.isoformat(timespec="seconds")))
        return True

    async def forget(self, handoff_id: str) -> None:
        """The worker asked to erase their data: the handoff and its messages go too."""
        await self.store.forget(handoff_id)
        await self._audit.record(self._clock(), SYSTEM, "percakapan.hapus", f"#{handoff_id}",
                                 "pekerja meminta hapus data")

    async def opted_out(self, handoff_id: str, message: IncomingMessage) -> None:
        """An opt-out keeps the conversation with staff; it is noted for them."""
        await self.store.add(handoff_id, HandoffMessage(
            SYSTEM, "Pekerja berhenti berlangganan info kampanye.",
            message.received_at.isoformat(timespec="seconds")))

    # -- the console's side ----------------------------------------------------------------

    async def listing(self, status: str, branch: str = "") -> list[Handoff]:
        """Handoffs with a status, newest first; only one branch's when `branch` is given."""
        if status not in STATUSES:
            raise Invalid("status harus open, taken atau closed")
        found = [await self.store.get(i) for i in await self.store.ids(status)]
        wanted = branch.strip().casefold()
        return [h for h in found
                if h is not None and (not wanted or h.branch.casefold() == wanted)]

    def branches(self) -> list[str]:
        """Every queue a handoff can join: the branch offices, then the default."""
        names = [b.name for b in self._kb().document.branches]
        return [*names, *([] if self.config.default_branch in names
                          else [self.config.default_branch])]

    async def detail(self, handoff_id: str) -> tuple[Handoff, list[HandoffMessage]]:
        """A handoff and its messages (NIKs masked)."""
        handoff = await self._existing(handoff_id)
        messages = [HandoffMessage(m.who, mask_nik(m.text), m.at)
                    for m in await self.store.messages(handoff_id)]
        return handoff, messages

    async def take(self, user: str, handoff_id: str) -> Handoff:
        """A staff member takes a waiting conversation (or takes over a colleague's)."""
        await self._existing(handoff_id)
        now = self._stamp()
        if await self.store.move(handoff_id, ("open", "taken"), "taken",
                                 {"taken_by": user, "taken_at": now, "last_activity": now}) is None:
            raise Conflict("Percakapan ini sudah selesai.")
        await self._audit.record(self._clock(), user, "percakapan.ambil", f"#{handoff_id}")
        return await self._existing(handoff_id)

    async def reply(self, user: str, handoff_id: str, text: str) -> HandoffMessage:
        """Send staff's text to the worker on their channel, and keep it in the conversation."""
        text = text.strip()
        if not text:
            raise Invalid("Tulis balasan dulu.")
        if len(text) > MAX_REPLY:
            raise Invalid(f"Balasan terlalu panjang (paling banyak {MAX_REPLY} huruf).")
        handoff = await self._existing(handoff_id)
        if handoff.status == "closed":
            raise Conflict("Percakapan ini sudah selesai; balasan tidak dikirim.")
        if handoff.status == "open":
            handoff = await self.take(user, handoff_id)
        elif handoff.taken_by != user:
            raise Conflict(f"Percakapan ini sedang ditangani {handoff.taken_by}. Ambil alih "
                           "dulu bila perlu.")
        await self._send(handoff, text)
        message = HandoffMessage(STAFF + user, text, self._stamp())
        await self.store.add(handoff_id, message)
        await self._audit.record(self._clock(), user, "percakapan.balas", f"#{handoff_id}",
                                 f"{len(text)} huruf")
        return message

    async def close(self, user: str, handoff_id: str) -> Handoff:
        """Staff end the conversation; the bot answers again and the worker is told."""
        await self._existing(handoff_id)
        if not await self._end(handoff_id, user, "petugas_selesai"):
            raise Conflict("Percakapan ini sudah selesai.")
        return await self._existing(handoff_id)

    async def waiting(self) -> int:
        """Conversations waiting for someone (the console's badge)."""
        return await self.store.count("open")

    async def counts(self, branch: str = "") -> dict[str, int]:
        """How many handoffs have each status (only one branch's when `branch` is given)."""
        if branch:
            return {status: len(await self.listing(status, branch)) for status in STATUSES}
        return {status: await self.store.count(status) for status in STATUSES}

    # -- the idle sweep --------------------------------------------------------------------

    async def sweep(self) -> int:
        """Return idle handoffs to the bot; how many were returned."""
        limit = self._clock() - timedelta(minutes=self.config.idle_minutes)
        returned = 0
        for status in ("open", "taken"):
            for handoff in await self.listing(status):
                if datetime.fromisoformat(handoff.last_activity) < limit and await self._end(
                        handoff.id, SYSTEM, "petugas_kembali"):
                    returned += 1
        return returned

    # -- helpers ---------------------------------------------------------------------------

    def _stamp(self) -> str:
        return self._clock().isoformat(timespec="seconds")

    async def _existing(self, handoff_id: str) -> Handoff:
        handoff = await self.store.get(handoff_id) if handoff_id.isdigit() else None
        if handoff is None:
            raise NotFound(f"Percakapan #{handoff_id} tidak ada.")
        return handoff

    async def _end(self, handoff_id: str, user: str, notice: str) -> bool:
        """Close, release the contact and tell the worker; False when it was already closed."""
        now = self._stamp()
        if await self.store.move(handoff_id, ("open", "taken"), "closed",
                                 {"closed_by": user, "closed_at": now}) is None:
            return False
        handoff = await self._existing(handoff_id)
        await self._release(handoff.channel, handoff.user_id, handoff_id)
        text = self._kb().answer(notice).text
        await self.store.add(handoff_id, HandoffMessage(SYSTEM, text, now))
        await self._audit.record(self._clock(), user, "percakapan.tutup", f"#{handoff_id}",
                                 "kembali ke bot" + (" (tidak ada kabar)" if user == SYSTEM
                                                     else ""))
        try:
            await self._send(handoff, text)
        except Refused as exc:  # the worker cannot be reached: the close stands
            log.info("closing notice for handoff %s not sent: %s", handoff_id, exc)
        return True

    async def _release(self, channel: str, user_id: str, handoff_id: str) -> None:
        contact = await self._contacts.get(channel, user_id)
        if contact is not None and contact.get(ProfileField.HANDOFF) == handoff_id:
            await self._contacts.update(channel, user_id, {ProfileField.HANDOFF: ""})

    async def _send(self, handoff: Handoff, text: str) -> None:
        """Deliver on the worker's channel; WhatsApp outside 24 hours needs the template."""
        channel = self.outbound().get(handoff.channel)
        if channel is None:
            raise Conflict(f"Kanal {handoff.channel} tidak aktif di server ini, jadi pesan "
                           "tidak bisa dikirim.")
        try:
            try:
                await channel.send(handoff.user_id, [Reply(text)])
            except RecipientError as exc:
                if exc.reason != "outside_window":
                    raise
                if not self.config.whatsapp_template:
                    raise Conflict(
                        "Pekerja ini terakhir menulis lebih dari 24 jam lalu. WhatsApp hanya "
                        "mengizinkan templat yang disetujui, dan belum ada templat untuk "
                        "balasan petugas (handoff.whatsapp_template di config.yml). Hubungi "
                        "pekerja lewat telepon.") from exc
                await channel.send_template(handoff.user_id, Template(
                    self.config.whatsapp_template, self.config.whatsapp_template_language,
                    (text,)))
        except RecipientError as exc:
            raise Conflict(f"Pesan tidak sampai: pekerja tidak bisa dihubungi lewat "
                           f"{handoff.channel} ({exc.reason}).") from exc
        except (TransientError, ConfigError) as exc:
            log.warning("handoff %s: send failed: %s", handoff.id, exc)
            raise Unavailable(f"Pesan belum terkirim: {handoff.channel} sedang bermasalah. "
                              "Coba lagi sebentar lagi.") from exc

    def _notify_staff(self, handoff: Handoff) -> None:
        """Tell the staff group about a new handoff, without making the worker wait."""
        telegram, chat = self.outbound().get("telegram"), self.staff_chat
        if not chat or telegram is None:
            return
        text = (f"Percakapan baru #{handoff.id} menunggu petugas ({handoff.branch}, "
                f"{handoff.channel}). Buka konsol: Percakapan.")

        async def send() -> None:
            try:
                await telegram.send(chat, [Reply(text)])
            except Exception:
                log.exception("could not tell the staff chat about handoff %s", handoff.id)

        task = asyncio.create_task(send())
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)
