"""The console's campaign use cases, over the broadcast API the CLI drives too.

Campaigns are created, started, paused, resumed and cancelled by `CampaignStore`, counted by
`segments.preview` and reported by `report`; this adds the audit log and the console's words.
Progress counters are cheap enough to poll every two seconds; what happened after the sends
(delivered, read, replied, opted out, left a lead) needs a walk over every recipient, so each
campaign's totals are walked again only when sends have moved on or a few seconds have passed,
and never more often than ten times the walk's own length (a large campaign's walk is slow).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO

from redis.asyncio import Redis

from bot.admin.audit import AuditLog
from bot.admin.drafts import CampaignInput, Draft, check, send_time
from bot.broadcast.campaigns import JAKARTA, Campaign, CampaignStatus, CampaignStore
from bot.broadcast.heartbeat import sending_channels
from bot.broadcast.ledger import Ledger
from bot.broadcast.report import Progress, Row, Summary, rows, summarise, write_report
from bot.broadcast.segments import Preview, Segment, preview
from bot.contacts import RedisContactStore
from bot.errors import Conflict, NotFound
from bot.keys import OUTCOME_DAYS, Keys

CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp"}

STATUS_WORDS = {CampaignStatus.DRAFT: "draf", CampaignStatus.RUNNING: "berjalan",
                CampaignStatus.PAUSED: "dijeda", CampaignStatus.CANCELLED: "dibatalkan",
                CampaignStatus.DONE: "selesai"}
HOLD_WORDS = {"scheduled": "terjadwal", "quiet_hours": "jam tenang"}
SKIP_WORDS = {"opted_out": "berhenti langganan", "blocked": "memblokir bot",
              "outside_window": "di luar jendela 24 jam WhatsApp", "invalid_user": "akun tidak ada",
              "undeliverable": "nomor tidak terjangkau", "deleted": "datanya dihapus",
              "rejected": "ditolak WhatsApp"}
# The campaign funnel, in order: each stage's key and label. Every stage counts recipients of the
# campaign only: a lead is one left after the send, contacted and registered are those leads.
FUNNEL = (("sent", "Terkirim"), ("delivered", "Diterima (WhatsApp)"),
          ("read", "Dibaca (WhatsApp)"), ("replied", "Membalas"), ("lead", "Jadi prospek"),
          ("contacted", "Prospek sudah dihubungi"), ("registered", "Prospek terdaftar"))
# The detail page's bars, in order (skipped recipients are listed apart, by reason).
BARS = (("pending", "Belum diproses"), ("sent", "Terkirim"),
        ("delivered", "Diterima (WhatsApp)"), ("read", "Dibaca (WhatsApp)"), ("failed", "Gagal"),
        ("unknown", "Tidak pasti (pengirim terhenti saat mengirim)"), ("replied", "Membalas"),
        ("opted_out", "Berhenti langganan sesudahnya"), ("lead", "Jadi prospek sesudahnya"),
        ("contacted", "Prospek sudah dihubungi petugas"), ("registered", "Prospek terdaftar"))
TOTALS_SECONDS = 5.0  # totals are reused this long while no send finishes
TOTALS_SHARE = 10  # ... and at least this many times as long as their walk took
LIST_SIZE = 50
# Contacts a live count reads at most (about a quarter of a second); beyond, it estimates.
LIVE_BUDGET = 20_000


def status_text(campaign: Campaign, now: datetime) -> str:
    """The status in words: held until when and why, paused and why."""
    status, why, until = campaign.situation(now)
    words = STATUS_WORDS[status]
    if until is not None:
        return f"{words}, {HOLD_WORDS[why]} sampai {until.astimezone(JAKARTA):%d/%m/%Y %H:%M} WIB"
    return f"{words}: {why}" if why else words


def funnel_counts(summary: Summary) -> dict[str, int]:
    """The funnel's stages from report totals."""
    return {"sent": summary.statuses["sent"], "delivered": summary.delivered,
            "read": summary.read, "replied": summary.replied, "lead": summary.leads,
            "contacted": summary.contacted, "registered": summary.registered}


@dataclass(frozen=True)
class Change:
    """What a start, pause, resume or cancel did: the status before and the campaign now."""

    before: str
    campaign: Campaign

    @property
    def changed(self) -> bool:
        """Whether the status moved (a repeated or refused action leaves it as it was)."""
        return self.campaign.status != self.before


@dataclass(frozen=True)
class Detail:
    """A campaign's counters and report totals, as the detail page and its poll show them."""

    progress: Progress
    totals: Summary
    totals_at: datetime

    @property
    def campaign(self) -> Campaign:
        """The campaign."""
        return self.progress.campaign

    def counts(self) -> dict[str, int]:
        """Every number the page shows, by name (BARS, and the totals beside them)."""
        p, t = self.progress, self.totals
        return {"queued": p.count("queued"), "finished": p.count("finished"),
                "pending": p.pending, "sent": p.count("sent"),
                "sent_template": p.count("sent:template"), "failed": p.count("failed"),
                "unknown": p.count("unknown"), "skipped": p.count("skipped"),
                "delivered": t.delivered, "read": t.read, "replied": t.replied,
                "opted_out": t.opted_out_after, "lead": t.leads, "contacted": t.contacted,
                "registered": t.registered}

    def taps(self) -> list[tuple[str, str, int]]:
        """Each campaign button: its title, the reply it gets, how many recipients tapped it."""
        message = self.campaign.message
        return [(b.title, message.answer(i), self.totals.taps[b.title])
                for i, b in enumerate(message.buttons)]

    def skipped(self) -> list[tuple[str, str, int]]:
        """Skipped recipients by reason: (reason, in words, how many)."""
        return [(reason, SKIP_WORDS.get(reason, reason), n)
                for reason, n in self.progress.skipped.items()]


class Campaigns:
    """Campaign use cases for staff."""

    def __init__(self, redis: Redis, keys: Keys, contacts: RedisContactStore, audit: AuditLog,
                 clock: Callable[[], datetime], default_quiet_hours: str,
                 outcome_days: int = OUTCOME_DAYS) -> None:
        self.store = CampaignStore(redis, keys, outcome_days)
        self.ledger = Ledger(redis, keys)
        self.default_quiet_hours = default_quiet_hours
        self._redis = redis
        self._keys = keys
        self._contacts = contacts
        self._audit = audit
        self._clock = clock
        # campaign id -> (when walked, seconds it took, finished sends then, clock time, totals)
        self._totals: dict[str, tuple[float, float, int, datetime, Summary]] = {}

    def draft(self, entered: CampaignInput) -> Draft:
        """What staff entered, checked whole: every problem at once as `Invalid`."""
        return check(entered, self.default_quiet_hours, self._clock())

    def when(self, text: str | None) -> datetime | None:
        """When to start sending: None for now, else the WIB time typed, still to come."""
        return send_time(text, self._clock())

    async def campaign(self, campaign_id: str) -> Campaign:
        """A campaign, or NotFound naming it."""
        found = await self.store.get(campaign_id)
        if found is None:
            raise NotFound(f"Kampanye {campaign_id} tidak ada.")
        return found

    async def recent(self) -> list[Progress]:
        """The newest campaigns with their counters."""
        return [await self._progress(c) for c in await self.store.recent(LIST_SIZE)]

    async def _progress(self, campaign: Campaign) -> Progress:
        return Progress(campaign, await self.ledger.counts(campaign.id))

    async def preview(self, segment: Segment, *, exact: bool = False) -> Preview:
        """How many contacts a segment reaches now, and a few of them.

        Counted on LIVE_BUDGET contacts drawn at random (and scaled) when the registry is
        larger, unless `exact`: every keystroke of the segment builder asks.
        """
        return await preview(self._contacts, segment, self._clock(),
                             None if exact else LIVE_BUDGET)

    async def create(self, user: str, draft: Draft, *, start: bool) -> Change:
        """Store a draft campaign, and start it (now or at its time) if asked."""
        now = self._clock()
        if start:
            await self.check_ready(draft.segment)
        campaign = await self.store.create(draft.name, draft.segment, draft.message,
                                           quiet_hours=draft.quiet_hours, now=now,
                                           created_by=user)
        await self._audit.record(now, user, "kampanye.buat", campaign.id, campaign.name)
        if start:
            return await self.start(user, campaign.id, draft.send_at)
        return Change(campaign.status, campaign)

    async def start(self, user: str, campaign_id: str, send_at: datetime | None) -> Change:
        """Start sending now or at `send_at`; starting twice starts once.

        A draft is refused, with what to do, when nothing would send it (check_ready).
        """
        campaign = await self.campaign(campaign_id)
        if campaign.status == CampaignStatus.DRAFT:
            await self.check_ready(campaign.segment)
        result = await self.store.start(campaign_id, self._clock(), send_at)
        detail = f"dijadwalkan {send_at.isoformat(timespec='minutes')}" if send_at else "sekarang"
        return await self._changed(user, campaign_id,
                                   CampaignStatus.DRAFT if result == "started" else result,
                                   "kampanye.mulai", detail)

    async def check_ready(self, segment: Segment) -> None:
        """Refuse a start that would silently stall: no worker, or a channel not set up."""
        configured = await sending_channels(self._redis, self._keys)
        if configured is None:
            raise Conflict(
                "Kampanye belum dimulai: layanan pengirim pesan kampanye sedang tidak berjalan "
                "(tidak ada kabar darinya dalam satu menit terakhir). Minta admin teknis "
                "menyalakannya, lalu tekan Mulai kirim lagi.")
        audience = await self.preview(segment)
        missing = [ch for ch, n in audience.by_channel.items() if n and ch not in configured]
        if missing:
            names = " dan ".join(CHANNEL_NAMES.get(ch, ch) for ch in sorted(missing))
            raise Conflict(
                f"Kampanye belum dimulai: kanal {names} belum disiapkan di server ini, jadi "
                f"kontaknya tidak bisa dikirimi. Batasi penerima ke kanal yang siap "
                f"({', '.join(CHANNEL_NAMES.get(c, c) for c in sorted(configured)) or 'tidak ada'}"
                f"), atau minta admin teknis menyiapkan {names}.")

    async def pause(self, user: str, campaign_id: str) -> Change:
        """Hold a running campaign."""
        await self.campaign(campaign_id)
        before = await self.store.pause(campaign_id, f"oleh {user}")
        return await self._changed(user, campaign_id, before, "kampanye.jeda")

    async def resume(self, user: str, campaign_id: str) -> Change:
        """Let a paused campaign go on."""
        await self.campaign(campaign_id)
        before = await self.store.resume(campaign_id)
        return await self._changed(user, campaign_id, before, "kampanye.lanjut")

    async def cancel(self, user: str, campaign_id: str) -> Change:
        """Stop a campaign for good."""
        await self.campaign(campaign_id)
        before = await self.store.cancel(campaign_id, self._clock())
        return await self._changed(user, campaign_id, before, "kampanye.batal")

    async def _changed(self, user: str, campaign_id: str, before: str, action: str,
                       detail: str = "") -> Change:
        change = Change(before, await self.store.require(campaign_id))
        if change.changed:
            await self._audit.record(self._clock(), user, action, campaign_id,
                                     f"{before} -> {change.campaign.status}"
                                     + (f", {detail}" if detail else ""))
        return change

    async def detail(self, campaign_id: str) -> Detail:
        """Counters now, and report totals at most a few seconds old."""
        current = await self._progress(await self.campaign(campaign_id))
        at, totals = await self._totals_of(current)
        return Detail(current, totals, at)

    async def _totals_of(self, progress: Progress) -> tuple[datetime, Summary]:
        """Report totals, walked again when sends moved on or they are a few seconds old."""
        campaign, finished = progress.campaign, progress.count("finished")
        kept = self._totals.get(campaign.id)
        if kept is not None:
            done, took, seen, at, totals = kept
            age = time.monotonic() - done
            if age < took * TOTALS_SHARE or (age < TOTALS_SECONDS and seen == finished):
                return at, totals
        began = time.monotonic()
        totals = await summarise(self._redis, self._keys, self.ledger, self._contacts, campaign)
        done, at = time.monotonic(), self._clock()
        self._totals[campaign.id] = (done, done - began, finished, at, totals)
        return at, totals

    async def first_rows(self, campaign: Campaign, limit: int) -> list[Row]:
        """The report's first rows, a recipient each (the CSV has them all)."""
        found: list[Row] = []
        async for row in rows(self._redis, self._keys, self.ledger, self._contacts, campaign):
            found.append(row)
            if len(found) == limit:
                break
        return found

    async def write_report(self, campaign: Campaign, out: TextIO) -> Summary:
        """The CSV report."""
        return await write_report(self._redis, self._keys, self.ledger, self._contacts,
                                  campaign, out)

    async def funnel(self, days: int) -> dict[str, int]:
        """The funnel of the campaigns created in the last `days` days and started."""
        since = self._clock() - timedelta(days=days)
        total: Counter[str] = Counter()
        for campaign in await self.store.recent(LIST_SIZE * 10, since):
            if campaign.started_at is not None:
                _, totals = await self._totals_of(await self._progress(campaign))
                total.update(funnel_counts(totals))
        return {key: total[key] for key, _ in FUNNEL}
