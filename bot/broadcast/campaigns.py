"""Campaigns: what staff send, to which segment, and when; created, started, paused, cancelled.

This is the Python API the CLI (`python -m bot broadcast ...`) and the admin console call.
A campaign is a draft until started. Starting is one Lua script: the status moves from draft to
running, the campaign's queue stream gets its consumer group and one "enqueue" job, so starting
twice (two clicks, two terminals) starts once. A worker takes the job and streams the segment
into the queue, so the console's request returns at once even for a million recipients; the
audience is therefore fixed when sending begins (a scheduled campaign includes contacts who opt
in before its time). Times are Asia/Jakarta (WIB); quiet hours hold sends back until they end.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from redis.asyncio import Redis

from bot.broadcast.segments import Segment
from bot.channels import telegram, whatsapp
from bot.channels.base import Template
from bot.contacts import Contact
from bot.errors import Invalid, NotFound
from bot.keys import OUTCOME_DAYS, Keys
from bot.messages import TAP_PREFIX, Button, Reply

# bot.app's zone too; not imported from there, which would load the NLU into every worker.
JAKARTA = ZoneInfo("Asia/Jakarta")
MAX_TEXT = 900  # a WhatsApp interactive body holds 1024: room for a name and the footer
MAX_BUTTONS, MAX_BUTTON_TITLE = whatsapp.MAX_BUTTONS, whatsapp.BUTTON_TITLE_LIMIT  # reply buttons
MAX_PAYLOAD_BYTES = telegram.CALLBACK_DATA_LIMIT
GROUP = "workers"  # the consumer group every worker joins


class CampaignStatus(StrEnum):
    """A campaign's status, stored as its value.

    The Lua scripts here and in ledger.py use the same words; the console shows
    admin/campaigns.STATUS_WORDS.
    """

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


FINAL = (CampaignStatus.DONE, CampaignStatus.CANCELLED)  # nothing is sent any more


@dataclass(frozen=True)
class Wording:
    """What a broadcast adds to staff's text, in the knowledge base's words (texts.yml).

    `footer` goes under every message (kampanye_berhenti, how to opt out); `no_name` is
    `{nama}` for a contact who gave no name (kampanye_tanpa_nama).
    """

    footer: str
    no_name: str

    @staticmethod
    def read(text: Callable[[str], str]) -> Wording:
        """The words from the knowledge base's texts (`text`: an answer id to its text)."""
        return Wording(text("kampanye_berhenti"), text("kampanye_tanpa_nama"))


@dataclass(frozen=True)
class Message:
    """Text with optional buttons; `{nama}` becomes the contact's name.

    The template, if any, goes to WhatsApp contacts outside the 24-hour window; its parameters
    may use `{nama}` too.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    template: Template | None = None
    answers: tuple[str, ...] = ()  # the reply each button gets when tapped ("" for none)

    def reply(self, contact: Contact, wording: Wording, campaign_id: str = "") -> Reply:
        """The personalised message for one contact, with the opt-out footer.

        Sent for a campaign, each button carries the campaign and its place, so the tap is
        recorded and answered with the button's own reply.
        """
        buttons = self.buttons if not campaign_id else tuple(
            Button(b.title, tap_payload(campaign_id, i)) for i, b in enumerate(self.buttons))
        return Reply(f"{personalise(self.text, contact, wording.no_name)}\n\n{wording.footer}",
                     buttons)

    def answer(self, index: int) -> str:
        """The reply staff gave the button at `index` ("" for none)."""
        return self.answers[index] if index < len(self.answers) else ""

    def template_for(self, contact: Contact, wording: Wording) -> Template | None:
        """The personalised template for one contact, if the campaign has one."""
        if self.template is None:
            return None
        return replace(self.template, parameters=tuple(
            personalise(p, contact, wording.no_name) for p in self.template.parameters))


def tap_payload(campaign_id: str, index: int) -> str:
    """`/kampanye:20261121-a1b2c3:0`: 30-odd bytes, under Telegram's 64 for callback data."""
    return f"{TAP_PREFIX}{campaign_id}:{index}"


def parse_tap(text: str) -> tuple[str, int] | None:
    """The campaign id and button index of a tap payload, or None for any other text."""
    if not text.startswith(TAP_PREFIX):
        return None
    campaign_id, _, index = text[len(TAP_PREFIX):].strip().rpartition(":")
    return (campaign_id, int(index)) if campaign_id and index.isdigit() else None


def personalise(text: str, contact: Contact, no_name: str) -> str:
    """Put the contact's name in for `{nama}`; other braces stay as typed.

    The name is the one the worker gave (pendataan, an imported list), else their profile name,
    else `no_name` ("Bapak/Ibu", `Wording.no_name`).
    """
    return text.replace("{nama}", contact.name or no_name)


@dataclass(frozen=True)
class QuietHours:
    """A daily window (WIB) without sends; it may cross midnight (21:00-07:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """"21:00-07:00" or "off" (None)."""
        if text.strip().lower() == "off":
            return None
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise Invalid(f"quiet hours must look like 21:00-07:00 or off, not {text!r}") \
                from exc
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def holds(self, moment: datetime) -> bool:
        """Whether `moment` (an aware time, read in WIB) falls in the window."""
        now = moment.astimezone(JAKARTA).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """When the window holding `moment` ends."""
        local = moment.astimezone(JAKARTA)
        end = datetime.combine(local.date(), self.end, JAKARTA)
        return end if end > local else end + timedelta(days=1)


@dataclass(frozen=True)
class Campaign:
    """A campaign's definition (fixed once created) and its current state."""

    id: str
    name: str
    segment: Segment
    message: Message
    quiet_hours: QuietHours | None
    created_at: datetime
    created_by: str = ""
    status: CampaignStatus = CampaignStatus.DRAFT
    send_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    note: str = ""  # why it was paused, when a worker paused it
    enqueued: bool = False  # the whole segment is in the queue

    def hold(self, now: datetime) -> tuple[str, datetime] | None:
        """Why sends must wait and until when ("scheduled" or "quiet_hours"), else None."""
        if self.send_at is not None and now < self.send_at:
            return "scheduled", self.send_at
        if self.quiet_hours is not None and self.quiet_hours.holds(now):
            return "quiet_hours", self.quiet_hours.ends_after(now)
        return None

    def situation(self, now: datetime) -> tuple[CampaignStatus, str, datetime | None]:
        """The status, why and until when, as staff are told it.

        A running campaign held back gives "scheduled" or "quiet_hours" and when it goes on; a
        paused one its note; any other just its status.
        """
        hold = self.hold(now)
        if self.status == CampaignStatus.RUNNING and hold is not None:
            return self.status, *hold
        return self.status, self.note if self.status == CampaignStatus.PAUSED else "", None

    def held_until(self, now: datetime) -> datetime | None:
        """When sends may start if they must wait (scheduled time, quiet hours), else None."""
        hold = self.hold(now)
        return hold[1] if hold else None


def wib(text: str) -> datetime:
    """A wall-clock time staff typed ("2026-11-22 08:00", "2026-11-22T08:00") as WIB.

    Raises ValueError for anything else.
    """
    return datetime.fromisoformat(text.strip()).replace(tzinfo=JAKARTA)


def button(title: str, payload: str = "") -> Button:
    """A campaign button; without a payload it sends its title, which the NLU reads as typed."""
    return Button(title.strip(), payload.strip() or title.strip())


# What a platform would refuse, by code, in English for the CLI; the console words the same
# codes in Indonesian.
PROBLEMS = {
    "name_empty": "a campaign needs a name",
    "text_empty": "the message text is empty",
    "text_too_long": "the text has {value} characters; at most {limit}",
    "too_many_buttons": "at most {limit} buttons (WhatsApp's limit)",
    "button_title": "button title {value!r} must have 1-{limit} characters",
    "button_payload": "button payload {value!r} is over {limit} bytes",
    "button_reply": "the reply to button {value!r} has over {limit} characters",
    "template_name": "the template needs its approved name",
}


@dataclass(frozen=True)
class Problem:
    """One reason a campaign is refused: the part it concerns, a code of PROBLEMS, the numbers."""

    field: str  # "name", "text", "buttons" or "template"
    code: str
    value: str = ""
    limit: int = 0

    def __str__(self) -> str:
        return PROBLEMS[self.code].format(value=self.value, limit=self.limit)


def problems(name: str, message: Message) -> list[Problem]:
    """Everything a platform would refuse in a campaign, in the order of the form."""
    found = []
    if not name.strip():
        found.append(Problem("name", "name_empty"))
    if not message.text.strip():
        found.append(Problem("text", "text_empty"))
    if len(message.text) > MAX_TEXT:
        found.append(Problem("text", "text_too_long", str(len(message.text)), MAX_TEXT))
    if len(message.buttons) > MAX_BUTTONS:
        found.append(Problem("buttons", "too_many_buttons", limit=MAX_BUTTONS))
    for b in message.buttons:
        if not b.title.strip() or len(b.title) > MAX_BUTTON_TITLE:
            found.append(Problem("buttons", "button_title", b.title, MAX_BUTTON_TITLE))
        if len(b.payload.encode()) > MAX_PAYLOAD_BYTES:
            found.append(Problem("buttons", "button_payload", b.payload, MAX_PAYLOAD_BYTES))
    for b, answer in zip(message.buttons, message.answers, strict=False):
        if len(answer) > MAX_TEXT:
            found.append(Problem("buttons", "button_reply", b.title, MAX_TEXT))
    if message.template is not None and not message.template.name.strip():
        found.append(Problem("template", "template_name"))
    return found


def validate(name: str, message: Message) -> None:
    """Refuse what a platform would refuse, with a message staff can act on."""
    found = problems(name, message)
    if found:
        raise Invalid("; ".join(map(str, found)))


def _encode(campaign: Campaign) -> bytes:
    message = campaign.message
    template = message.template
    return orjson.dumps({
        "name": campaign.name, "segment": campaign.segment.to_dict(),
        "text": message.text, "buttons": [[b.title, b.payload] for b in message.buttons],
        "answers": list(message.answers),
        "template": None if template is None else
        [template.name, template.language, list(template.parameters)],
        "quiet_hours": str(campaign.quiet_hours) if campaign.quiet_hours else "off",
        "created_at": campaign.created_at.isoformat(), "created_by": campaign.created_by})


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _decode(campaign_id: str, fields: dict[str, str]) -> Campaign:
    data: dict[str, Any] = orjson.loads(fields["definition"])
    template = data["template"]
    message = Message(data["text"], tuple(Button(t, p) for t, p in data["buttons"]),
                      None if template is None else
                      Template(template[0], template[1], tuple(template[2])),
                      tuple(data.get("answers") or ()))
    return Campaign(
        campaign_id, data["name"], Segment.from_dict(data["segment"]), message,
        QuietHours.parse(data["quiet_hours"]), datetime.fromisoformat(data["created_at"]),
        data["created_by"], CampaignStatus(fields["status"]), _time(fields.get("send_at")),
        _time(fields.get("started_at")), _time(fields.get("finished_at")), fields.get("note", ""),
        fields.get("enqueued") == "1")


# KEYS: campaign, queue. ARGV: now, send_at (or ""), group.
# Returns "started", or the status that prevented it ("missing" for no such campaign).
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'draft' then return status or 'missing' end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1], 'send_at', ARGV[2])
redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[3], '0', 'MKSTREAM')
redis.call('XADD', KEYS[2], '*', 'job', 'enqueue')
return 'started'
"""

# KEYS: campaign. ARGV: new status, note, time field ("" for none), now, allowed statuses...
# Returns the status before (the change was made only if it was allowed).
_MOVE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
for i = 5, #ARGV do
  if status == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'note', ARGV[2])
    if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
    return status
  end
end
return status
"""


class CampaignStore:
    """Campaign definitions and states in Redis (a `decode_responses` client)."""

    def __init__(self, redis: Redis, keys: Keys, outcome_days: int = OUTCOME_DAYS) -> None:
        self._redis = redis
        self._keys = keys
        self._keep_seconds = outcome_days * 86400
        self._start = redis.register_script(_START)
        self._move = redis.register_script(_MOVE)

    async def create(self, name: str, segment: Segment, message: Message, *,
                     quiet_hours: QuietHours | None, now: datetime,
                     created_by: str = "") -> Campaign:
        """Store a draft; refuses a segment that would include contacts who did not opt in."""
        validate(name, message)
        if segment.opted_in is not True:
            raise Invalid("broadcasts go only to contacts who opted in")
        campaign_id = f"{now.astimezone(JAKARTA):%Y%m%d}-{secrets.token_hex(3)}"
        campaign = Campaign(campaign_id, name.strip(), segment, message, quiet_hours, now,
                            created_by)
        # Two slots (the campaign's, the index's), so two steps: the id first, so a process that
        # dies between them leaves an id without a campaign, which `recent` skips, rather than
        # a campaign nobody can find.
        await self._redis.zadd(self._keys.campaigns_index(), {campaign_id: now.timestamp()})
        await self._redis.hset(self._keys.campaign(campaign_id),  # type: ignore[misc]
                               mapping={"definition": _encode(campaign),
                                        "status": CampaignStatus.DRAFT.value})
        return campaign

    async def get(self, campaign_id: str) -> Campaign | None:
        """A campaign, or None."""
        fields: dict[str, str] = await self._redis.hgetall(  # type: ignore[misc]
            self._keys.campaign(campaign_id))
        return _decode(campaign_id, fields) if fields else None

    async def require(self, campaign_id: str) -> Campaign:
        """A campaign, or NotFound naming the id."""
        campaign = await self.get(campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id!r}")
        return campaign

    async def recent(self, limit: int = 20, since: datetime | None = None) -> list[Campaign]:
        """The newest campaigns first (only those created at `since` or later, if given)."""
        ids = await self._redis.zrevrangebyscore(
            self._keys.campaigns_index(), "+inf", since.timestamp() if since else "-inf",
            start=0, num=limit)
        found = [await self.get(i) for i in ids]
        gone = [i for i, campaign in zip(ids, found, strict=True) if campaign is None]
        if gone:  # expired after their retention, or a create cut short
            await self._redis.zrem(self._keys.campaigns_index(), *gone)
        return [c for c in found if c is not None]

    async def active(self) -> set[str]:
        """Ids of started campaigns that are not finished (what workers watch)."""
        return set(await self._redis.smembers(self._keys.campaigns_active()))  # type: ignore[misc]

    async def start(self, campaign_id: str, now: datetime,
                    send_at: datetime | None = None) -> str:
        """Start sending now or at `send_at`; safe to repeat.

        Returns "started", or the status that kept it from starting ("running", "done" ...).
        """
        result = await self._start(
            keys=[self._keys.campaign(campaign_id), self._keys.campaign_queue(campaign_id)],
            args=[now.isoformat(), send_at.isoformat() if send_at else "", GROUP])
        if result == "missing":
            raise NotFound(f"no campaign {campaign_id!r}")
        if result in ("started", CampaignStatus.RUNNING, CampaignStatus.PAUSED):  # heals a start
            # cut off before this
            await self._redis.sadd(self._keys.campaigns_active(), campaign_id)  # type: ignore[misc]
        return str(result)

    async def pause(self, campaign_id: str, note: str = "") -> str:
        """Hold a running campaign; returns the status before."""
        return await self._change(campaign_id, CampaignStatus.PAUSED, note, "",
                                  (CampaignStatus.RUNNING,))

    async def resume(self, campaign_id: str) -> str:
        """Let a paused campaign go on; returns the status before."""
        return await self._change(campaign_id, CampaignStatus.RUNNING, "", "",
                                  (CampaignStatus.PAUSED,))

    async def cancel(self, campaign_id: str, now: datetime) -> str:
        """Stop for good: recipients not yet sent to stay unsent. Returns the status before."""
        unfinished = (CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED)
        before = await self._change(campaign_id, CampaignStatus.CANCELLED, "", "finished_at",
                                    unfinished, now)
        if before in unfinished:
            await self.retire(campaign_id)
        return before

    async def retire(self, campaign_id: str) -> None:
        """Drop a finished or cancelled campaign's queue; the rest stays `outcome_days` more.

        The definition, outcomes, counters and taps then expire together (the campaigns index
        drops the id when it next lists it).
        """
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.srem(k.campaigns_active(), campaign_id)
            pipe.delete(k.campaign_queue(campaign_id))
            for key in (k.campaign(campaign_id), k.campaign_outcomes(campaign_id),
                        k.campaign_counts(campaign_id), k.campaign_taps(campaign_id)):
                pipe.expire(key, self._keep_seconds)
            await pipe.execute()

    async def _change(self, campaign_id: str, status: CampaignStatus, note: str,
                      time_field: str, allowed: tuple[CampaignStatus, ...],
                      now: datetime | None = None) -> str:
        before = str(await self._move(
            keys=[self._keys.campaign(campaign_id)],
            args=[status, note, time_field, now.isoformat() if now else "", *allowed]))
        if before == "missing":
            raise NotFound(f"no campaign {campaign_id!r}")
        return before
