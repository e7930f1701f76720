"""Segments: which contacts a campaign reaches, as filters on their profile fields.

A segment is a frozen value stored with its campaign, so the audience is what staff previewed;
membership is evaluated when a worker streams the contact registry into the campaign's queue.
Text filters (occupation, area) match a part of what the worker typed, case-insensitively:
"pedagang" finds "pedagang sayur", "genteng" finds "Kel. Ketabang, Kec. Genteng". Within a
filter any value matches; all filters given must match. Only Telegram and WhatsApp contacts can
be reached by a broadcast.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.channels.outbound import within_window
from bot.channels.whatsapp import WINDOW
from bot.contacts import Consent, Contact, ProfileField, RedisContactStore

BROADCAST_CHANNELS = ("telegram", "whatsapp")
# The profile fields `Segment.matches` reads: a segment scan fetches only these.
SEGMENT_FIELDS = (ProfileField.CONSENT, ProfileField.OCCUPATION, ProfileField.AREA,
                  ProfileField.REGENCY, ProfileField.TAGS, ProfileField.REGISTERED,
                  ProfileField.LAST_SEEN)
SAMPLE_SIZE = 5
YES = frozenset({"ya", "y", "yes", "1", "true"})


def tags_of(contact: Contact) -> set[str]:
    """A contact's tags (stored comma-separated)."""
    return {t for t in (contact.get(ProfileField.TAGS) or "").split(",") if t}


def tag_set(text: str) -> set[str]:
    """Tags as typed ("pasar; FGD", "fgd,pasar") in the form they are stored and matched."""
    return {t.strip().lower() for t in re.split(r"[;,]", text) if t.strip()}


def yes_no(text: str | None) -> bool | None:
    """A yes/no filter as typed ("ya", "tidak"); nothing typed matches either."""
    return None if not text else text.strip().lower() in YES


def _contains_any(value: str | None, wanted: tuple[str, ...]) -> bool:
    folded = (value or "").casefold()
    return any(w.casefold() in folded for w in wanted)


@dataclass(frozen=True)
class Segment:
    """Filters on contact fields; an empty filter matches everyone.

    `opted_in` None matches either (for counting), but a campaign requires True.
    `registered` reads the `terdaftar` field ("ya"/"tidak", from an imported list); a contact
    with no value matches neither True nor False.
    """

    channels: tuple[str, ...] = ()
    pekerjaan: tuple[str, ...] = ()
    wilayah: tuple[str, ...] = ()
    kabupaten: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    opted_in: bool | None = True
    active_within_days: int | None = None
    registered: bool | None = None

    def matches(self, contact: Contact, now: datetime) -> bool:
        """Whether a contact belongs to the segment at `now`."""
        if contact.channel not in BROADCAST_CHANNELS or \
                (self.channels and contact.channel not in self.channels):
            return False
        if self.opted_in is not None and (contact.consent is Consent.OPT_IN) != self.opted_in:
            return False
        if self.pekerjaan and not _contains_any(contact.get(ProfileField.OCCUPATION),
                                                self.pekerjaan):
            return False
        if self.wilayah and not _contains_any(contact.get(ProfileField.AREA), self.wilayah):
            return False
        if self.kabupaten and not _contains_any(contact.get(ProfileField.REGENCY), self.kabupaten):
            return False
        if self.tags and not tags_of(contact) & set(self.tags):
            return False
        if self.registered is not None and \
                contact.get(ProfileField.REGISTERED) != ("ya" if self.registered else "tidak"):
            return False
        if self.active_within_days is not None:
            seen = contact.get(ProfileField.LAST_SEEN)
            if seen is None or \
                    now - datetime.fromisoformat(seen) > timedelta(days=self.active_within_days):
                return False
        return True

    def describe(self) -> str:
        """The filters in one line, for listings and reports."""
        parts = [f"{name}={'|'.join(map(str, value)) if isinstance(value, tuple) else value}"
                 for name, value in self.to_dict().items()
                 if value not in ((), None) and name != "opted_in"]
        consent = {True: "opted in", False: "not opted in", None: "any consent"}[self.opted_in]
        return ", ".join([consent, *parts])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        """Inverse of `to_dict` (lists become tuples)."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in data.items()}
        return cls(**values)


async def members(contacts: RedisContactStore, segment: Segment, now: datetime,
                  more_fields: tuple[ProfileField, ...] = ()) -> AsyncIterator[list[Contact]]:
    """The segment's contacts, a batch at a time, streamed from the registry.

    Each has the fields segments read, plus `more_fields`.
    """
    async for page in contacts.scan(fields=SEGMENT_FIELDS + more_fields):
        chosen = [c for c in page if segment.matches(c, now)]
        if chosen:
            yield chosen


# What a preview shows besides: the 24-hour window, and the name for a personalised sample.
PREVIEW_FIELDS = (ProfileField.LAST_INBOUND, ProfileField.NAME, ProfileField.DISPLAY_NAME)


def outside_window(contact: Contact, now: datetime) -> bool:
    """A WhatsApp contact who has not written in 24 hours can only get a template."""
    return contact.channel == "whatsapp" and not within_window(contact, WINDOW, now)


@dataclass(frozen=True)
class Preview:
    """How many contacts a segment reaches now, by channel, and a few of them.

    `estimated`: counted on contacts drawn at random and scaled to the whole registry.
    """

    total: int
    by_channel: dict[str, int]
    outside_window: int  # WhatsApp contacts that need the campaign's template
    sample: tuple[Contact, ...] = field(default=())
    estimated: bool = False


class _Tally:
    """A preview's counts, one matching contact at a time."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.by_channel: Counter[str] = Counter()
        self.outside = 0
        self.sample: list[Contact] = []

    def add(self, contact: Contact) -> None:
        self.by_channel[contact.channel] += 1
        self.outside += outside_window(contact, self.now)
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(contact)

    def preview(self, scale: float | None = None) -> Preview:
        """The counts, multiplied by `scale` when they come from a random draw."""
        by_channel = {channel: round(n * (scale or 1)) for channel, n in self.by_channel.items()}
        return Preview(sum(by_channel.values()), by_channel, round(self.outside * (scale or 1)),
                       tuple(self.sample), estimated=scale is not None)


async def preview(contacts: RedisContactStore, segment: Segment, now: datetime,
                  budget: int | None = None) -> Preview:
    """Count a segment's contacts (one pass over the registry) and keep a small sample.

    With a `budget`, a registry larger than it is not read whole: `budget` contacts drawn at
    random are counted and the counts scaled to the registry (one pass over a million contacts
    takes seconds; a console's live count cannot wait for it).
    """
    tally = _Tally(now)
    if budget is not None:  # a registry within the budget is drawn whole: exact
        size, drawn = await contacts.draw(budget, SEGMENT_FIELDS + PREVIEW_FIELDS)
        for contact in drawn:
            if segment.matches(contact, now):
                tally.add(contact)
        return tally.preview(scale=size / budget if size > budget else None)
    async for page in members(contacts, segment, now, PREVIEW_FIELDS):
        for contact in page:
            tally.add(contact)
    return tally.preview()
