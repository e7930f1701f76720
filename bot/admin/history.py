"""Knowledge-base versions for diff and rollback: a snapshot per saved version, in Redis.

`RedisKnowledgeStore` keeps only the current document and a counter; this keeps the last
`KB_HISTORY_KEEP` documents (zlib-compressed JSON, ~15 KB each) with who saved them and why. A
version saved outside the console (`faq import`, the first seed) gets its snapshot the next time
the console changes the knowledge base, so it can still be diffed and restored. Rolling back
saves the old document as a new version: versions only move forward, which is what every running
process polls for.
"""

from __future__ import annotations

import difflib
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
import yaml
from redis.asyncio import Redis

from bot.keys import KB_HISTORY_KEEP, Keys
from bot.knowledge.base import KnowledgeBase, KnowledgeDocument, parse_document


@dataclass(frozen=True)
class VersionInfo:
    """A stored version: when, by whom, and a one-line summary of the change."""

    version: int
    at: str
    user: str
    summary: str


class KnowledgeHistory(Protocol):
    """Where past knowledge-base versions live."""

    async def record(self, version: int, document: KnowledgeDocument, at: datetime, user: str,
                     summary: str) -> None:
        """Keep a version."""

    async def keep_current(self, kb: KnowledgeBase, at: datetime) -> None:
        """Keep the current version if it was saved outside the console."""

    async def versions(self) -> list[VersionInfo]:
        """Kept versions, newest first."""

    async def document(self, version: int) -> KnowledgeDocument | None:
        """One kept version's document, or None."""


class RedisKnowledgeHistory:
    """A hash per version (document, who, when, summary) and a sorted set of version numbers."""

    def __init__(self, redis_bytes: Redis, keys: Keys, keep: int = KB_HISTORY_KEEP) -> None:
        self._redis = redis_bytes
        self._keys = keys
        self._keep = keep

    async def record(self, version: int, document: KnowledgeDocument, at: datetime, user: str,
                     summary: str) -> None:
        """Keep a version and forget the oldest beyond `keep`."""
        blob = zlib.compress(orjson.dumps(document.model_dump()), 6)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.kb_snapshot(version), mapping={
                "document": blob, "at": at.isoformat(timespec="seconds"), "user": user,
                "summary": summary})
            pipe.zadd(self._keys.kb_history(), {str(version): version})
            pipe.zrange(self._keys.kb_history(), 0, -self._keep - 1)
            *_, old = await pipe.execute()
        if old:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(*(self._keys.kb_snapshot(int(v)) for v in old))
                pipe.zrem(self._keys.kb_history(), *old)
                await pipe.execute()

    async def keep_current(self, kb: KnowledgeBase, at: datetime) -> None:
        """Keep the current version if it was saved outside the console."""
        kept = await self._redis.zscore(self._keys.kb_history(), str(kb.version))
        if kb.version and kept is None:
            await self.record(kb.version, kb.document, at, "-",
                              "versi dari luar konsol (seed atau faq import)")

    async def versions(self) -> list[VersionInfo]:
        """Kept versions, newest first."""
        numbers = [int(v) for v in await self._redis.zrevrange(self._keys.kb_history(), 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.hmget(self._keys.kb_snapshot(number), ["at", "user", "summary"])
            rows = await pipe.execute()
        return [VersionInfo(number, *(bytes(v or b"").decode() for v in row))
                for number, row in zip(numbers, rows, strict=True)]

    async def document(self, version: int) -> KnowledgeDocument | None:
        """One kept version's document, or None."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.kb_snapshot(version), "document")
            (blob,) = await pipe.execute()
        if blob is None:
            return None
        return parse_document(orjson.loads(zlib.decompress(blob)), f"history version {version}")


def as_text(document: KnowledgeDocument) -> list[str]:
    """The document as YAML lines, the form admins already know from `faq export`."""
    body: dict[str, Any] = document.model_dump(exclude_defaults=True)
    return yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100).splitlines()


def diff(old: KnowledgeDocument, new: KnowledgeDocument, old_name: str, new_name: str,
         ) -> list[str]:
    """A unified diff of two versions (empty when they are the same)."""
    return list(difflib.unified_diff(as_text(old), as_text(new), old_name, new_name, n=3,
                                     lineterm=""))
