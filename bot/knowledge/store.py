"""Shared, versioned storage for the knowledge base and the trained NLU model, in Redis.

Every process keeps an in-memory copy of both and polls a version key; when an admin saves an FAQ
or a new model is published, each process swaps its copy whole, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import orjson
from redis.asyncio import Redis

from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase, KnowledgeDocument, parse_document
from bot.nlu.model import NLU, ModelFormatError
from bot.tasks import pause

log = logging.getLogger(__name__)
T = TypeVar("T")


class KnowledgeStore(Protocol):
    """Where the current knowledge base lives."""

    async def load(self) -> KnowledgeBase | None:
        """The current knowledge base, or None when nothing was ever stored."""

    async def save(self, document: KnowledgeDocument) -> int:
        """Store a new version; returns its number."""

    async def version(self) -> int:
        """The current version number (0 when empty)."""


class RedisKnowledgeStore:
    """The knowledge base as one JSON document plus a version counter."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def load(self) -> KnowledgeBase | None:
        """The current knowledge base, or None when nothing was ever stored."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(self._keys.kb_document())
            pipe.get(self._keys.kb_version())
            raw, version = await pipe.execute()
        if raw is None:
            return None
        return KnowledgeBase(parse_document(orjson.loads(raw), "redis"), int(version or 0))

    async def save(self, document: KnowledgeDocument) -> int:
        """Store a new version; returns its number."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.kb_document(), orjson.dumps(document.model_dump()))
            pipe.incr(self._keys.kb_version())
            _, version = await pipe.execute()
        return int(version)

    async def version(self) -> int:
        """The current version number (0 when empty)."""
        return int(await self._redis.get(self._keys.kb_version()) or 0)


class ModelStore(Protocol):
    """Where the current trained model lives."""

    async def load(self) -> NLU | None:
        """The current model, or None when none was published."""

    async def publish(self, model: NLU) -> None:
        """Make a model current for every process."""

    async def version(self) -> str | None:
        """The current model's fingerprint."""


class RedisModelStore:
    """The model as bytes under one key and its fingerprint under another."""

    def __init__(self, redis_bytes: Redis, keys: Keys) -> None:
        self._redis = redis_bytes
        self._keys = keys

    async def load(self) -> NLU | None:
        """The current model, or None when none was published or it is in an older format.

        A model an older release stored (pickled) is not loaded: start-up then trains a new one,
        and a running process keeps the model it has.
        """
        blob = await self._redis.get(self._keys.model_blob())
        if blob is None:
            return None
        try:
            return await asyncio.to_thread(NLU.loads, blob)
        except ModelFormatError as exc:
            log.warning("%s", exc)
            return None

    async def publish(self, model: NLU) -> None:
        """Make a model current for every process (blob first, then the version they poll)."""
        blob = await asyncio.to_thread(model.dumps)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.model_blob(), blob)
            pipe.set(self._keys.model_version(), model.fingerprint.encode())
            await pipe.execute()

    async def version(self) -> str | None:
        """The current model's fingerprint."""
        raw = await self._redis.get(self._keys.model_version())
        return None if raw is None else bytes(raw).decode()


class Live(Generic[T]):
    """A value every request reads and a background task replaces whole when its version moves.

    Reads are a plain attribute access (the hot path); the swap is a single assignment, so a
    request sees the old or the new value, never a mix.
    """

    def __init__(self, value: T, version: object) -> None:
        self.current = value
        self.version = version
        self._swapped = asyncio.Event()

    async def moved_from(self, version: object) -> None:
        """Return once the value held is no longer the one of `version` (it may be already)."""
        while self.version == version:
            await self._swapped.wait()

    async def follow(
        self,
        read_version: Callable[[], Awaitable[object]],
        load: Callable[[], Awaitable[T | None]],
        interval: float,
    ) -> None:
        """Poll `read_version` every `interval` seconds and load the new value when it changes."""
        while True:
            await pause(interval)
            try:
                version = await read_version()
                if version != self.version:
                    value = await load()
                    if value is not None:
                        self.current, self.version = value, version
                        self._swapped.set()
                        self._swapped = asyncio.Event()
                        log.info("reloaded %s version %s", type(value).__name__, version)
            except Exception:  # keep serving the old value; log and retry next tick
                log.exception("reload failed; keeping version %s", self.version)
