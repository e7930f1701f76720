"""The write path to the knowledge base, and the background retrain that follows.

Every write goes through `KnowledgeWrites`: the console's and `faq import`'s through
`KnowledgeChanges.apply`, and what a release brings at start-up through `KnowledgeWrites.start`.
Under a Redis lock (so two admins, even on two web processes, or a process starting while an
admin saves, never overwrite each other), the edit is applied to the latest stored document,
validated, checked by the publishing guard (bot/knowledge/guard.py: no unsourced figure, no
expired fact, no dead button), saved as a new version, kept in the history and written to the
audit log. The NLU then retrains in the background: a save only sets a flag; one task per
process trains on the newest knowledge base while the flag is set, so a burst of saves costs one
or two trainings, and after publishing it checks the version again, so the last model published
always matches the last knowledge base even when another process saved meanwhile. Every process
swaps in the new model when it polls the model version (`Live.follow`), without a restart; the
process that saved swaps its new knowledge base and model in at once (`serve`), so it never
waits for its own poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from bot.admin.audit import AuditLog
from bot.admin.history import KnowledgeHistory
from bot.dialogue.policy import INTENT_ACTIONS
from bot.errors import REDIS_AWAY, Invalid
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase, KnowledgeDocument, missing_core_answers
from bot.knowledge.guard import document_problems
from bot.knowledge.store import KnowledgeStore
from bot.nlu.model import NLU
from bot.tasks import stop_if_cancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Edited:
    """What an edit made: the new document, the item it touched and what changed in it."""

    document: KnowledgeDocument
    target: str
    detail: str = ""


Edit = Callable[[KnowledgeDocument], Edited]


class Unpublishable(Invalid):
    """A change the publishing guard refuses, with every problem (Indonesian, one per item)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__({"": "Belum bisa diterbitkan: " + " ".join(problems)})
        self.problems = problems


class TrainingState(StrEnum):
    """Where the last retrain is, as stored (the console words it: names.TRAINING_WORDS)."""

    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"


# Releases before 2026-11-30 stored the console's words; still read.
_OLD_WORDS = {"melatih": TrainingState.TRAINING, "siap": TrainingState.READY,
              "gagal": TrainingState.FAILED}


@dataclass(frozen=True)
class Training:
    """The last or running retrain: state, knowledge base version, model, start, seconds, error.

    `state` is None when no retrain ever ran here (or one was stored under a state this release
    does not know).
    """

    state: TrainingState | None = None
    kb_version: str = ""
    model: str = ""
    at: str = ""
    seconds: str = ""
    error: str = ""

    @staticmethod
    def from_fields(fields: dict[str, str]) -> Training:
        """Read the stored hash."""
        raw = fields.get("state", "")
        state = _OLD_WORDS.get(raw) or next((s for s in TrainingState if s == raw), None)
        return Training(state, fields.get("kb_version", ""), fields.get("model", ""),
                        fields.get("at", ""), fields.get("seconds", ""), fields.get("error", ""))


class TrainingStatus:
    """The last or running retrain, shared by processes: its status and a lock.

    The lock makes processes train one at a time (two trainings at once on two cores take as
    long as both in a row); the status tells a process that waited whether the version it
    wanted is already trained.
    """

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    def lock(self) -> Lock:
        """Held while this process trains (expires if the process dies)."""
        return self._redis.lock(self._keys.nlu_training_lock(), timeout=600,
                                blocking_timeout=660)

    async def set(self, state: TrainingState, **values: str) -> None:
        """Record the state and replace the other fields given (`Training`'s names)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._keys.nlu_training(), mapping={"state": state.value, **values})
            await pipe.execute()

    async def get(self) -> Training:
        """The last or running retrain."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.nlu_training())
            (values,) = await pipe.execute()
        return Training.from_fields(dict(values))


class Retrainer:
    """Retrains on the latest knowledge base whenever asked, one training at a time."""

    def __init__(self, store: KnowledgeStore, train: Callable[[KnowledgeBase], Awaitable[NLU]],
                 status: TrainingStatus, clock: Callable[[], datetime],
                 serve: Callable[[NLU], None]) -> None:
        self._store = store
        self._train = train
        self._status = status
        self._clock = clock
        self._serve = serve
        self._wanted = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def request(self) -> None:
        """Ask for a retrain; returns at once."""
        self._idle.clear()
        self._wanted.set()

    async def run(self) -> None:
        """The background loop (cancelled when the process stops)."""
        while True:
            stop_if_cancelled()
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self._train_latest()
            except REDIS_AWAY:  # Redis went away mid-way: the next save asks again
                log.exception("retraining skipped")
            finally:
                if not self._wanted.is_set():
                    self._idle.set()

    async def settled(self) -> None:
        """Wait until no retrain is running or wanted (tests wait here before cleaning up)."""
        await self._idle.wait()

    async def _train_latest(self) -> None:
        async with self._status.lock():
            kb = await self._store.load()
            done = await self._status.get()
            if kb is None or (done.state == TrainingState.READY
                              and done.kb_version == str(kb.version)):
                return  # another process trained this version while we waited
            await self._train_one(kb)

    async def _train_one(self, kb: KnowledgeBase) -> None:
        started = time.perf_counter()
        await self._status.set(TrainingState.TRAINING, kb_version=str(kb.version),
                               at=self._clock().isoformat(timespec="seconds"), error="")
        try:
            model = await self._train(kb)
        except Exception as exc:  # keep the loop and the old model; the console shows why
            log.exception("retraining for knowledge base version %s failed", kb.version)
            await self._status.set(TrainingState.FAILED, error=str(exc)[:500])
            return
        self._serve(model)
        await self._status.set(TrainingState.READY, model=model.fingerprint,
                               seconds=f"{time.perf_counter() - started:.1f}")
        if await self._store.version() != kb.version:
            self._wanted.set()


# Who the audit and the history name for what a release writes at start-up.
SYSTEM_USER = "system"
WRITE_LOCK_SECONDS = 30


class KnowledgeWrites:
    """Every write to the knowledge base: locked, versioned, kept in the history and audited.

    The lock is Redis's (two admins, even on two web processes, or a process starting while an
    admin saves, never overwrite each other): each write edits the latest stored document.
    """

    def __init__(self, redis: Redis, keys: Keys, store: KnowledgeStore,
                 history: KnowledgeHistory, audit: AuditLog,
                 clock: Callable[[], datetime]) -> None:
        self._redis = redis
        self._keys = keys
        self._store = store
        self._history = history
        self._audit = audit
        self._clock = clock

    async def latest(self) -> KnowledgeBase:
        """The latest stored knowledge base (what every process serves after its next poll)."""
        kb = await self._store.load()
        if kb is None:
            raise RuntimeError("the knowledge base was never stored; start the bot once")
        return kb

    async def apply(self, user: str, action: str, edit: Edit) -> KnowledgeBase:
        """Edit the latest document, check it with the publishing guard and store it.

        `edit` raises `Invalid` to refuse (invalid input, or an entry changed meanwhile).
        """
        async with self._lock():
            kb = await self.latest()
            edited = edit(kb.document)
            problems = document_problems(kb.document, edited.document, self._clock().date(),
                                         INTENT_ACTIONS)
            if problems:  # the publishing guard: nothing unsourced reaches a worker
                raise Unpublishable(problems)
            return await self._save(kb, edited, user, action)

    async def start(self, seed: KnowledgeDocument) -> KnowledgeBase:
        """At start-up: the stored knowledge base, after storing what this release brings.

        The seed on the very first start; on a knowledge base an older release stored, the texts
        this release's code reads and the stored one lacks (`missing_core_answers`; answers an
        admin edited are never touched). The publishing guard is not asked: the shipped texts
        pass it (tests/test_guard.py), and a refusal here would keep the bot from starting.
        """
        kb = await self._store.load()
        if kb is not None and not missing_core_answers(kb.document, seed):
            return kb  # the usual start: nothing to write, no lock taken
        # A start waits out even a dead holder's lock: failing here would stop the process.
        async with self._lock(wait=WRITE_LOCK_SECONDS + 10):
            kb = await self._store.load()  # an admin may have saved while this waited
            if kb is None:
                edited = Edited(seed, "isi awal")
            elif missing := missing_core_answers(kb.document, seed):
                edited = Edited(
                    kb.document.model_copy(update={"answers": [*kb.document.answers, *missing]}),
                    "teks baru", ", ".join(a.id for a in missing))
            else:
                return kb
            saved = await self._save(kb, edited, SYSTEM_USER, "rilis")
        log.info("stored the texts this release brings (version %s)", saved.version)
        return saved

    def _lock(self, wait: float = 10) -> Lock:
        """The write lock, held 30 s at most (a holder that died lets go by then)."""
        return self._redis.lock(self._keys.kb_write_lock(), timeout=WRITE_LOCK_SECONDS,
                                blocking_timeout=wait)

    async def _save(self, kb: KnowledgeBase | None, edited: Edited, user: str,
                    action: str) -> KnowledgeBase:
        """Store an edit of `kb` (held under the lock) with its history entry and audit."""
        now = self._clock()
        if kb is not None:
            await self._history.keep_current(kb, now)
        version = await self._store.save(edited.document)
        summary = f"{action} {edited.target}" + (f": {edited.detail}" if edited.detail else "")
        await self._history.record(version, edited.document, now, user, summary)
        await self._audit.record(now, user, action, edited.target,
                                 f"{edited.detail} (versi {version})".strip())
        return KnowledgeBase(edited.document, version)


class KnowledgeChanges:
    """The one write path for the console and `faq import` alike.

    A write (`KnowledgeWrites.apply`: locked, validated, versioned, kept in the history,
    audited), then this process serves it at once and the NLU retrains in the background.
    """

    def __init__(self, writes: KnowledgeWrites, retrainer: Retrainer,
                 serve: Callable[[KnowledgeBase], None]) -> None:
        self._writes = writes
        self._retrainer = retrainer
        self._serve = serve

    async def latest(self) -> KnowledgeBase:
        """The latest stored knowledge base (what every process serves after its next poll)."""
        return await self._writes.latest()

    async def apply(self, user: str, action: str, edit: Edit) -> int:
        """Edit the latest document and store it as a new version; returns the version.

        `edit` raises `Invalid` to refuse (invalid input, or an entry changed meanwhile).
        """
        saved = await self._writes.apply(user, action, edit)
        self._serve(saved)
        self._retrainer.request()
        return saved.version
