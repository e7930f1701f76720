"""Campaign progress (counters, cheap enough to poll every second) and the full report.

Progress reads only the campaign's counters. The report walks every recipient once, in batches:
its outcome, WhatsApp's delivery status of the message sent (stored per message id by the
adapter), and whether the contact wrote to us, opted out or left a pendataan lead after the send
(and how far staff followed that lead: contacted, registered).
Telegram has no delivery receipts, so delivered and read are counted for WhatsApp only.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TextIO

from redis.asyncio import Redis

from bot.broadcast.campaigns import Campaign, CampaignStatus, CampaignStore
from bot.broadcast.ledger import QUEUED, SENT, STATES, Entry, Ledger
from bot.channels.delivery import RANKS
from bot.contacts import Consent, Contact, ProfileField, RedisContactStore
from bot.keys import Keys
from bot.leads import CONTACTED, LeadStatus, csv_cell


@dataclass(frozen=True)
class Progress:
    """A campaign and its counters."""

    campaign: Campaign
    counts: dict[str, int]

    def count(self, name: str) -> int:
        """One counter (0 when never moved)."""
        return self.counts.get(name, 0)

    @property
    def pending(self) -> int:
        """Queued and not finished yet (or never, for a cancelled campaign)."""
        return self.count("queued") - self.count("finished")

    @property
    def skipped(self) -> dict[str, int]:
        """Skipped recipients by reason."""
        return {name.split(":", 1)[1]: n for name, n in sorted(self.counts.items())
                if name.startswith("skipped:")}


async def progress(store: CampaignStore, ledger: Ledger, campaign_id: str) -> Progress:
    """The campaign's state and counters."""
    return Progress(await store.require(campaign_id), await ledger.counts(campaign_id))


@dataclass(frozen=True)
class Row:
    """One recipient in the CSV report."""

    channel: str
    user_id: str
    nama: str
    status: str
    reason: str
    via: str
    message_id: str
    at: str
    delivery: str
    replied: str
    opted_out_after: str
    lead_after: str
    button: str  # the title of the campaign button the recipient tapped
    lead_status: str  # staff's follow-up of the lead left after the send (bot/leads.py)


REPORT_COLUMNS = tuple(f.name for f in fields(Row))


@dataclass
class Summary:
    """Totals the counters cannot give: what happened after the sends."""

    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    delivered: int = 0
    read: int = 0
    replied: int = 0
    opted_out_after: int = 0
    leads: int = 0
    contacted: int = 0  # of those leads, the ones staff reached
    registered: int = 0  # ... and the ones that registered
    taps: Counter[str] = field(default_factory=Counter)  # button title -> recipients who tapped

    def add(self, row: Row) -> None:
        """Count one recipient's row."""
        self.rows += 1
        self.statuses[row.status] += 1
        rank = RANKS.get(row.delivery, 0)
        self.delivered += RANKS["delivered"] <= rank < RANKS["failed"]
        self.read += rank == RANKS["read"]
        self.replied += row.replied == "yes"
        self.opted_out_after += row.opted_out_after == "yes"
        self.leads += row.lead_after == "yes"
        self.contacted += row.lead_status in CONTACTED
        self.registered += row.lead_status == LeadStatus.REGISTERED
        if row.button:
            self.taps[row.button] += 1


def _after(value: str | None, moment: str) -> bool:
    return bool(value and moment and datetime.fromisoformat(value) > datetime.fromisoformat(moment))


def _row(campaign: Campaign, entry: Entry, contact: Contact | None, delivery: str,
         lead: list[str | None], tapped: str | None) -> Row:
    """A recipient's row; `lead` is their lead's [created_at, status] (None when no lead)."""
    channel, _, user_id = entry.recipient.partition(":")
    status = STATES[entry.state]
    if entry.state == QUEUED and campaign.status == CampaignStatus.CANCELLED:
        status = "cancelled"
    replied = contact is not None and _after(contact.get(ProfileField.LAST_INBOUND), entry.at)
    opted_out = contact is not None and contact.consent is Consent.OPT_OUT and \
        _after(contact.get(ProfileField.CONSENT_AT), entry.at)
    name = (contact.name or "") if contact else ""
    sent = entry.state == SENT
    lead_at, lead_status = lead
    lead_after = sent and _after(lead_at, entry.at)
    return Row(channel, user_id, name, status, entry.detail if not sent else "",
               entry.detail if sent else "", entry.message_id, entry.at,
               delivery, "yes" if replied and sent else "", "yes" if opted_out and sent else "",
               "yes" if lead_after else "", tapped or "",
               (lead_status or LeadStatus.NEW) if lead_after else "")


async def rows(redis: Redis, keys: Keys, ledger: Ledger, contacts: RedisContactStore,
               campaign: Campaign) -> AsyncIterator[Row]:
    """Every recipient's row, read a batch at a time."""
    async for batch in ledger.entries(campaign.id):
        found = await contacts.get_many([e.recipient for e in batch])
        sent_to = [e for e in batch if e.state == SENT]
        on_whatsapp = [e for e in sent_to if e.recipient.startswith("whatsapp:")]
        async with redis.pipeline(transaction=False) as pipe:
            for e in on_whatsapp:
                pipe.hget(keys.delivery_status("whatsapp", e.message_id), "status")
            for e in sent_to:
                pipe.hmget(keys.lead(*e.recipient.split(":", 1)), ["created_at", "status"])
            pipe.hmget(keys.campaign_taps(campaign.id), [e.recipient for e in sent_to] or [""])
            answers = await pipe.execute()
        whatsapp_end, leads_end = len(on_whatsapp), len(on_whatsapp) + len(sent_to)
        statuses = dict(zip([e.recipient for e in on_whatsapp], answers[:whatsapp_end],
                            strict=True))
        leads = dict(zip([e.recipient for e in sent_to], answers[whatsapp_end:leads_end],
                         strict=True))
        taps = dict(zip([e.recipient for e in sent_to], answers[leads_end], strict=False))
        for entry, contact in zip(batch, found, strict=True):
            yield _row(campaign, entry, contact, statuses.get(entry.recipient) or "",
                       leads.get(entry.recipient) or [None, None], taps.get(entry.recipient))


async def summarise(redis: Redis, keys: Keys, ledger: Ledger, contacts: RedisContactStore,
                    campaign: Campaign) -> Summary:
    """The report's totals without writing it (one walk over the recipients)."""
    summary = Summary()
    async for row in rows(redis, keys, ledger, contacts, campaign):
        summary.add(row)
    return summary


async def write_report(redis: Redis, keys: Keys, ledger: Ledger, contacts: RedisContactStore,
                       campaign: Campaign, out: TextIO) -> Summary:
    """Write the CSV report and return its totals."""
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS)
    writer.writeheader()
    summary = Summary()
    async for row in rows(redis, keys, ledger, contacts, campaign):
        writer.writerow({k: csv_cell(v) for k, v in asdict(row).items()})
        summary.add(row)
    return summary
