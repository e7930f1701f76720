"""The broadcast worker (`python -m bot worker`): processes share campaign queues in Redis Streams.

Each started campaign has a stream read through one consumer group, so an entry is in one
worker's hands at a time (XREADGROUP). A worker that dies leaves its entries pending; after
`claim_idle_seconds` another takes them over (XAUTOCLAIM), and the ledger says what to do: a
recipient still "queued" is sent, one left "sending" is recorded as unknown. A live worker
refreshes the entries it holds (XCLAIM JUSTID) so that waiting for a rate slot or a slow platform
never looks like death.

The first entry of a campaign is a job: stream the segment into the queue. A worker does it in
batches while the others (and its own other slots) already send, and a worker killed halfway is
replaced by another that runs the job again (the ledger admits each recipient once).

Only sendable campaigns are read: running, past their scheduled time and outside their quiet
hours. The list is re-read every `refresh_seconds`, which is also how soon a pause reaches all
workers; an entry in hand is checked again just before its send. Pacing is one GCRA bucket per
channel in Redis (`bot.channels.ratelimit`), shared by every worker, a little under the
configured rate with no burst; the send pipeline (`bot.channels.outbound`) then paces with the
platform's own buckets and caps the requests that reach it in any one second, so a worker that
wakes late cannot push a second over the limit.

One retry level: each send is one attempt (ONE_ATTEMPT); a transient failure puts the recipient
back for a later round, at most `max_attempts` rounds, and a round comes no sooner than the
platform's retry_after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.broadcast.campaigns import (
    FINAL,
    GROUP,
    Campaign,
    CampaignStatus,
    CampaignStore,
    Wording,
)
from bot.broadcast.heartbeat import beat
from bot.broadcast.ledger import QUEUED, Ledger, Outcome, failed, retry, sent, skipped
from bot.broadcast.segments import members
from bot.channels.base import Wire
from bot.channels.outbound import Outbox
from bot.channels.ratelimit import ONE_ATTEMPT, Rate, RateLimiter
from bot.contacts import Consent, Contact, ProfileField, RedisContactStore
from bot.errors import REDIS_AWAY, ConfigError, RecipientError, TransientError
from bot.keys import WORKER_SEEN_SECONDS, Keys
from bot.settings import BroadcastConfig
from bot.tasks import pause

log = logging.getLogger(__name__)

MAX_SLOT_WAIT = 60.0  # longer than this for a rate slot: leave the entry for a later round
# Pacing spaces sends a little under the configured rate, so the channels' hard cap
# (RateLimiter.capped: every one-second window at the platform within its limit) seldom waits.
HEADROOM = 0.96


# What a round meets while a Redis node is away: bot.errors.REDIS_AWAY, and an AttributeError
# from redis-py's asyncio connection when a command is written on a connection that another task
# closed because its node died ("'NoneType' object has no attribute 'writelines'", seen in
# tests/test_failover.py: it killed the worker with exit code 1).
ROUND_AWAY: tuple[type[Exception], ...] = (*REDIS_AWAY, AttributeError)


@dataclass(frozen=True)
class SendingContext:
    """What a worker sends with (built by the composition root, `bot.app`)."""

    redis: Redis
    keys: Keys
    contacts: RedisContactStore
    channels: Mapping[str, Wire[Any]]
    limiter: RateLimiter  # the broadcast buckets; the channels' own pacing is the outbox's
    outbox: Outbox
    config: BroadcastConfig
    clock: Callable[[], datetime]
    texts: Callable[[str], str]  # the current knowledge base's texts, by answer id


def skip_reason(contact: Contact | None) -> str | None:
    """Why a recipient must not get the message now, checked just before sending."""
    if contact is None:
        return "deleted"  # the worker asked us to forget their data
    if contact.consent is not Consent.OPT_IN:
        return "opted_out"
    return contact.get(ProfileField.UNREACHABLE)  # "blocked", "undeliverable"


async def enqueue_campaign(contacts: RedisContactStore, ledger: Ledger, campaign: Campaign,
                           clock: Callable[[], datetime]) -> bool:
    """Stream the segment into the campaign's queue, a batch per script call; safe to repeat.

    Returns whether the campaign is already done (an empty audience).
    """
    now = clock()
    total = 0
    async for batch in members(contacts, campaign.segment, now):
        added, _ = await ledger.enqueue(campaign.id, [f"{c.channel}:{c.user_id}" for c in batch],
                                        now, last=False)
        if added < 0:
            return False  # cancelled meanwhile
        total += added
    _, done = await ledger.enqueue(campaign.id, [], clock(), last=True)
    log.info("campaign %s: %d recipients queued", campaign.id, total)
    return done


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


class Worker:
    """One worker process's share of the campaigns."""

    def __init__(self, ctx: SendingContext, consumer: str | None = None) -> None:
        self._ctx = ctx
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._campaigns = CampaignStore(ctx.redis, ctx.keys, ctx.config.outcome_days)
        self._ledger = Ledger(ctx.redis, ctx.keys, ctx.config.replica_wait_ms)
        self._held: defaultdict[str, set[str]] = defaultdict(set)  # campaign -> entry ids
        self._busy = 0
        self._freed = asyncio.Event()
        self._cursors: dict[str, str] = {}  # XAUTOCLAIM position per campaign
        self._next_reclaim = 0.0
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event, *, drain: bool = False,
                  ready: Callable[[], None] = lambda: None) -> None:
        """Work until `stop` is set, then finish the sends in hand.

        `drain`: also stop once no campaign can be sent now and no send is in hand (every
        running campaign finished, or held by quiet hours or a later start). `ready` is called
        once the first heartbeat is written: from then on staff can start campaigns.
        """
        self._stop = stop
        heartbeat = asyncio.create_task(self._heartbeat(ready))
        try:
            async with asyncio.TaskGroup() as tasks:
                while not stop.is_set():
                    try:
                        await self._round(tasks, stop, drain)
                    except ROUND_AWAY as exc:  # a failover or a restart: the sends in hand
                        # go on, and the next round asks again (the client finds the new master)
                        log.warning("Redis unavailable, trying again: %r", exc)
                        await _wait(stop, self._ctx.config.refresh_seconds)
        finally:
            heartbeat.cancel()
            # Waited for, not awaited: a cancellation of this task itself must not be taken
            # for the heartbeat's and swallowed with it.
            await asyncio.wait([heartbeat])
            if not heartbeat.cancelled() and heartbeat.exception() is not None:
                log.error("heartbeat stopped", exc_info=heartbeat.exception())

    async def _round(self, tasks: asyncio.TaskGroup, stop: asyncio.Event, drain: bool) -> None:
        config = self._ctx.config
        queues = await self._sendable()
        if not queues:
            if drain and not self._busy:
                stop.set()
                return
            await _wait(stop, config.refresh_seconds)
            return
        free = config.concurrency - self._busy
        if free <= 0:
            self._freed.clear()
            await _wait(self._freed, config.refresh_seconds)
            return
        entries = await self._reclaim(queues, free) or await self._read(queues, free)
        for campaign_id, entry_id, fields in entries:
            self._held[campaign_id].add(entry_id)
            self._busy += 1
            tasks.create_task(self._handle(queues[campaign_id], entry_id, fields))

    async def _sendable(self) -> dict[str, Campaign]:
        now = self._ctx.clock()
        queues = {}
        for campaign_id in await self._campaigns.active():
            campaign = await self._campaigns.get(campaign_id)
            if campaign is None or campaign.status in FINAL:
                await self._campaigns.retire(campaign_id)
            elif campaign.status == CampaignStatus.RUNNING and campaign.held_until(now) is None:
                queues[campaign_id] = campaign
        return queues

    async def _read(self, queues: Mapping[str, Campaign],
                    free: int) -> list[tuple[str, str, dict[str, str]]]:
        # One XREADGROUP per campaign: each queue is in its campaign's slot, and one command
        # over several keys would be refused on a Redis Cluster. The reads run side by side, each
        # taking a share of the free slots: first without blocking, so a busy campaign is not
        # held back by an idle one; only when every queue is empty do they block (at most one
        # refresh period) for new entries.
        share = max(1, free // len(queues))
        for block in (None, int(self._ctx.config.refresh_seconds * 1000)):
            replies = await asyncio.gather(*(self._read_one(campaign_id, share, block)
                                             for campaign_id in queues))
            entries = [entry for reply in replies for entry in reply]
            if entries:
                return entries
        return []

    async def _read_one(self, campaign_id: str, count: int,
                        block: int | None) -> list[tuple[str, str, dict[str, str]]]:
        try:
            reply = await self._ctx.redis.xreadgroup(
                GROUP, self.consumer, {self._ctx.keys.campaign_queue(campaign_id): ">"},
                count=count, block=block)
        except ResponseError as exc:  # the queue retired meanwhile (finished, cancelled)
            log.debug("read interrupted: %s", exc)
            return []
        return [(campaign_id, entry_id, fields)
                for _, messages in reply or [] for entry_id, fields in messages]

    async def _reclaim(self, queues: Mapping[str, Campaign],
                       free: int) -> list[tuple[str, str, dict[str, str]]]:
        """Entries idle longer than claim_idle_seconds: their worker died, or they wait to retry."""
        if time.monotonic() < self._next_reclaim:
            return []
        self._next_reclaim = time.monotonic() + self._ctx.config.refresh_seconds
        idle_ms = int(self._ctx.config.claim_idle_seconds * 1000)
        found = []
        for campaign_id in queues:
            try:
                cursor, entries, _ = await self._ctx.redis.xautoclaim(
                    self._ctx.keys.campaign_queue(campaign_id), GROUP, self.consumer, idle_ms,
                    self._cursors.get(campaign_id, "0-0"), count=free)
            except ResponseError:
                continue
            self._cursors[campaign_id] = cursor
            found += [(campaign_id, entry_id, fields) for entry_id, fields in entries if fields]
        if found:
            log.info("took over %d recipients left by stopped workers or waiting to retry",
                     len(found))
        return found

    async def _heartbeat(self, ready: Callable[[], None]) -> None:
        """Say this worker is alive (`ready` once it first is), keep entries in hand claimed."""
        heard = False
        while True:
            with contextlib.suppress(*ROUND_AWAY):
                await beat(self._ctx.redis, self._ctx.keys, self.consumer, self._ctx.channels)
                if not heard:
                    heard = True
                    ready()
            await pause(min(self._ctx.config.claim_idle_seconds / 3, WORKER_SEEN_SECONDS / 4))
            for campaign_id, ids in list(self._held.items()):
                if not ids:
                    continue
                with contextlib.suppress(*ROUND_AWAY):  # retired queue, or Redis away a moment
                    await self._ctx.redis.xclaim(self._ctx.keys.campaign_queue(campaign_id),
                                                 GROUP, self.consumer, 0, list(ids),
                                                 justid=True)

    async def _handle(self, campaign: Campaign, entry_id: str, fields: dict[str, str]) -> None:
        """One entry: the enqueue job or one recipient. Never raises (it runs in a TaskGroup)."""
        try:
            if fields.get("job") == "enqueue":
                await self._enqueue(campaign)
                done = True
            else:
                done = await self._deliver(campaign, fields["r"])
            if done:
                await self._ctx.redis.xack(self._ctx.keys.campaign_queue(campaign.id), GROUP,
                                           entry_id)
        except Exception:
            log.exception("campaign %s, entry %s: left for another round", campaign.id,
                          entry_id)
        finally:
            self._held[campaign.id].discard(entry_id)
            self._busy -= 1
            self._freed.set()

    async def _enqueue(self, campaign: Campaign) -> None:
        done = await enqueue_campaign(self._ctx.contacts, self._ledger, campaign,
                                      self._ctx.clock)
        await self._settle(campaign.id, done)

    async def _settle(self, campaign_id: str, done: bool) -> None:
        if done:
            log.info("campaign %s: every recipient has an outcome", campaign_id)
            await self._campaigns.retire(campaign_id)

    async def _deliver(self, campaign: Campaign, recipient: str) -> bool:
        """Send to one recipient unless the ledger says otherwise; False leaves it queued."""
        channel_name, _, user_id = recipient.partition(":")
        if campaign.held_until(self._ctx.clock()) is not None:
            return False  # quiet hours began while it waited
        channel = self._ctx.channels.get(channel_name)
        rate = self._ctx.config.rates.get(channel_name)
        if channel is None or not rate:
            await self._campaigns.pause(campaign.id, f"{channel_name} is off in the workers (or "
                                        "has no broadcast rate): set it up, restart, resume")
            return False
        try:
            await self._ctx.limiter.acquire(f"broadcast:{channel_name}",
                                            Rate(1, 1 / (rate * HEADROOM)), MAX_SLOT_WAIT)
        except TransientError:
            return False
        claim = await self._ledger.claim(campaign.id, recipient, self._ctx.clock())
        if claim.kind == "held":
            return False
        if claim.kind != "go":  # "unknown" (recorded now), "done", "gone"
            await self._settle(campaign.id, claim.done)
            return True
        outcome, hold = await self._send(campaign, channel, user_id, claim.attempts)
        _, done = await self._ledger.finish(campaign.id, recipient, outcome, self._ctx.clock())
        await self._settle(campaign.id, done)
        if hold:  # queued again; kept in hand so the next round waits as the platform asked
            await _wait(self._stop, hold)
        return not outcome.value.startswith(QUEUED)

    async def _send(self, campaign: Campaign, channel: Wire[Any], user_id: str,
                    attempts: int) -> tuple[Outcome, float]:
        """One attempt; the outcome, and how long to hold a recipient queued again."""
        contact = await self._ctx.contacts.get(channel.name, user_id)
        clock, outbox = self._ctx.clock, self._ctx.outbox
        reason = skip_reason(contact)
        if reason is not None or contact is None:
            return skipped(clock(), reason or "deleted"), 0
        wording = Wording.read(self._ctx.texts)
        try:
            try:
                ids = await outbox.send(channel, user_id,
                                        [campaign.message.reply(contact, wording, campaign.id)],
                                        pacing=ONE_ATTEMPT, contact=contact)
                return sent(clock(), "text", ids[0]), 0
            except RecipientError as exc:
                template = campaign.message.template_for(contact, wording)
                if exc.reason != "outside_window" or template is None:
                    raise
                message_id = await outbox.send_template(channel, user_id, template,
                                                        pacing=ONE_ATTEMPT)
                return sent(clock(), "template", message_id), 0
        except RecipientError as exc:
            return skipped(clock(), exc.reason), 0
        except TransientError as exc:
            if attempts + 1 >= self._ctx.config.max_attempts:
                return failed(clock(), f"gave up after {attempts + 1} rounds: {exc}"), 0
            log.info("campaign %s: %s:%s will be retried: %s", campaign.id, channel.name,
                     user_id, exc)
            # A round comes claim_idle_seconds after the entry is let go: hold it for the rest
            # of the platform's retry_after, so that round is not refused again.
            return retry(attempts + 1), max(
                0.0, (exc.retry_after or 0.0) - self._ctx.config.claim_idle_seconds)
        except ConfigError as exc:
            log.error("campaign %s paused: %s", campaign.id, exc)
            await self._campaigns.pause(campaign.id, str(exc))
            return retry(attempts), 0
