"""Flood control on the message path: which messages of a sender this process answers.

A sender is flooding when more than MAX_WAITING of their messages wait for their turn here, or
when they send faster than a person can type for longer than a burst (FLOOD_BURST messages at
once, then one each FLOOD_INTERVAL seconds). A flooding sender's extra messages are refused
before anything is parsed or read from Redis, from this process's memory alone: one dict lookup
and no I/O, so 500 simultaneous messages cost the other senders little. The sender is told to
wait once per BUSY_NOTICE_TTL (first in this process's memory, then across processes through
`BusyNotices`) and the rest get no answer, never an error.

The counts are per process: with N web processes a sender may get N bursts answered. That keeps
the refusal free of I/O, which is the point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from bot.keys import Keys

MAX_WAITING = 10  # a double tap or a burst of a few is answered in full
FLOOD_BURST = 50.0  # messages one sender may send at once before the pace counts
FLOOD_INTERVAL = 0.2  # seconds per message after the burst: 5 a second, no typist's pace
BUSY_NOTICE_TTL = 30  # seconds between two "tunggu sebentar" to one sender
PRUNE_ABOVE = 10_000  # senders remembered before idle ones are forgotten


class BusyNotices(Protocol):
    """Whether a flooding sender was told to wait lately, by any process."""

    async def first(self, channel: str, user_id: str) -> bool:
        """True for the first notice of the period (and records it); False after."""


class RedisBusyNotices:
    """One key per sender under the contact's tag (erasure deletes it), SET NX EX."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def first(self, channel: str, user_id: str) -> bool:
        """True for the first notice of the period (and records it); False after."""
        key = self._keys.busy_notice(channel, user_id)
        return bool(await self._redis.set(key, "1", nx=True, ex=BUSY_NOTICE_TTL))


@dataclass
class _Sender:
    waiting: int = 0  # messages of the sender being answered here now
    due: float = 0.0  # when the sender's pace is back to nothing (a GCRA arrival time)
    told_until: float = 0.0  # no notice from this process before then


class FloodGate:
    """Per-process state of the senders who wrote lately; no I/O."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._senders: dict[tuple[str, str], _Sender] = {}

    def admit(self, who: tuple[str, str]) -> bool:
        """Whether to answer a message of `who` now; True counts it as waiting until `leave`."""
        now = self._clock()
        sender = self._senders.get(who)
        if sender is None:
            if len(self._senders) > PRUNE_ABOVE:
                self._prune(now)
            sender = self._senders[who] = _Sender()
        due = max(sender.due, now)
        if sender.waiting >= MAX_WAITING or due - now > (FLOOD_BURST - 1) * FLOOD_INTERVAL:
            return False
        sender.due = due + FLOOD_INTERVAL
        sender.waiting += 1
        return True

    def leave(self, who: tuple[str, str]) -> None:
        """An admitted message of `who` is answered (or failed)."""
        self._senders[who].waiting -= 1

    def tell(self, who: tuple[str, str]) -> bool:
        """Whether this process may tell `who` to wait now (once per BUSY_NOTICE_TTL)."""
        now = self._clock()
        sender = self._senders.setdefault(who, _Sender())
        if now < sender.told_until:
            return False
        sender.told_until = now + BUSY_NOTICE_TTL
        return True

    def _prune(self, now: float) -> None:
        self._senders = {who: s for who, s in self._senders.items()
                         if s.waiting or s.due > now or s.told_until > now}
