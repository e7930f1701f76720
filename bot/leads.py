"""Registration interest ("pendataan"): workers who want to join and agreed to be contacted.

Stored only after explicit consent (UU 27/2022); a NIK is never part of a lead. Staff export leads
as CSV; "hapus data saya" removes the record.
"""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TextIO, cast

from redis.asyncio import Redis

from bot.keys import LEAD_RETENTION_DAYS, Keys


class LeadStatus(StrEnum):
    """Staff's follow-up of a lead, stored (and exported as the CSV's `status`) as staff read it."""

    NEW = "baru"
    CONTACTED = "dihubungi"
    REGISTERED = "terdaftar"
    UNREACHABLE = "tidak bisa dihubungi"

    @classmethod
    def read(cls, stored: str) -> LeadStatus | None:
        """The status a stored or submitted word names, or None."""
        return next((s for s in cls if s == stored), None)


@dataclass(frozen=True)
class Lead:
    """One worker's registration interest."""

    channel: str
    user_id: str
    nama: str
    pekerjaan: str
    wilayah: str
    telepon: str
    consent_at: str
    created_at: str
    # Staff's follow-up: its status, who set it and when, and who should call.
    status: LeadStatus = LeadStatus.NEW
    status_by: str = ""
    status_at: str = ""
    petugas: str = ""


LEAD_COLUMNS = tuple(f.name for f in fields(Lead))
TEXT_COLUMNS = tuple(name for name in LEAD_COLUMNS if name != "status")
CONTACTED = frozenset({LeadStatus.CONTACTED, LeadStatus.REGISTERED})  # staff reached the worker
FOLLOW_UP = ("status", "status_by", "status_at", "petugas")


class LeadStore(Protocol):
    """Where leads live."""

    async def save(self, lead: Lead) -> None:
        """Store or replace a contact's lead."""

    async def delete(self, channel: str, user_id: str) -> bool:
        """Remove a contact's lead; whether there was one."""

    def all(self) -> AsyncIterator[Lead]:
        """Every lead, oldest first."""


# Only on an existing lead, so one deleted meanwhile is not re-created. KEYS[1]: the lead.
_FOLLOW_UP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


class RedisLeadStore:
    """A hash per lead plus a sorted set index by creation time."""

    def __init__(self, redis: Redis, keys: Keys,
                 retention_days: int = LEAD_RETENTION_DAYS) -> None:
        self._redis = redis
        self._keys = keys
        self._keep_seconds = retention_days * 86400
        self._follow_up = redis.register_script(_FOLLOW_UP)

    async def save(self, lead: Lead) -> None:
        """Store or replace a contact's lead; it is kept `retention_days` after this change.

        The lead (the contact's slot) and its index entry (the index's) are two steps; the
        index also forgets entries past the retention here, and `all` drops any whose lead is
        gone, so neither outgrows the leads kept.
        """
        created = datetime.fromisoformat(lead.created_at).timestamp()
        key = self._keys.lead(lead.channel, lead.user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            # staff's follow-up survives the worker filling the pendataan again
            pipe.hset(key, mapping={k: v for k, v in asdict(lead).items() if k not in FOLLOW_UP})
            pipe.hsetnx(key, "status", lead.status)
            pipe.expire(key, self._keep_seconds)
            pipe.zadd(self._keys.leads_index(), {f"{lead.channel}:{lead.user_id}": created})
            pipe.zremrangebyscore(self._keys.leads_index(), "-inf",
                                  f"({created - self._keep_seconds}")
            await pipe.execute()

    async def follow_up(self, channel: str, user_id: str, values: dict[str, str]) -> bool:
        """Set staff's follow-up fields (FOLLOW_UP) of an existing lead; whether there was one."""
        key = self._keys.lead(channel, user_id)
        return bool(await self._follow_up(keys=[key], args=[
            item for name in FOLLOW_UP if name in values for item in (name, values[name])]))

    async def delete(self, channel: str, user_id: str) -> bool:
        """Remove a contact's lead; whether there was one."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._keys.lead(channel, user_id))
            pipe.zrem(self._keys.leads_index(), f"{channel}:{user_id}")
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def all(self) -> AsyncIterator[Lead]:
        """Every lead, oldest first, read in pages so memory stays flat."""
        start = 0
        while True:
            ids = await self._redis.zrange(self._keys.leads_index(), start, start + 499)
            if not ids:
                return
            gone = []
            for contact_id in ids:
                channel, _, user_id = contact_id.partition(":")
                key = self._keys.lead(channel, user_id)
                raw = await cast(Awaitable[dict[str, str]], self._redis.hgetall(key))
                if raw:
                    yield Lead(status=LeadStatus.read(raw.get("status", "")) or LeadStatus.NEW,
                               **{c: raw.get(c, "") for c in TEXT_COLUMNS})
                else:
                    gone.append(contact_id)
            if gone:  # expired: the index forgets them too
                await self._redis.zrem(self._keys.leads_index(), *gone)
            start += len(ids) - len(gone)


# A cell that starts a formula: at the start of the text, or after any character a spreadsheet
# may split on (Indonesian-locale Excel splits on ";", others on "," "\t" "|").
_FORMULA_START = re.compile(r"(^|[,;\t|\r\n])(\s*)([=+\-@\t\r])")


def csv_cell(value: str) -> str:
    """A worker's text as a CSV cell that no spreadsheet will run as a formula.

    Whatever delimiter the spreadsheet splits on, every piece that would start with = + - @ (or
    a tab or carriage return) gets a leading apostrophe.
    """
    return _FORMULA_START.sub(r"\1\2'\3", value)


async def write_csv(leads: AsyncIterator[Lead], out: TextIO) -> int:
    """Write leads as CSV with a header; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=LEAD_COLUMNS)
    writer.writeheader()
    count = 0
    async for lead in leads:
        writer.writerow({k: csv_cell(v) for k, v in asdict(lead).items()})
        count += 1
    return count
