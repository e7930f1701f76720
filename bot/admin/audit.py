"""The audit log: who changed what in the console, and when (a capped Redis stream).

Entries are written after the change they describe has been stored, and never edited; the stream
id orders them and pages the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis

from bot.keys import Keys


@dataclass(frozen=True)
class AuditEntry:
    """One change: `action` is a short verb phrase ("faq.ubah"), `target` what it touched."""

    id: str
    at: str
    user: str
    action: str
    target: str
    detail: str


class AuditLog(Protocol):
    """Where console changes are recorded."""

    async def record(self, at: datetime, user: str, action: str, target: str,
                     detail: str = "") -> None:
        """Append one entry."""

    async def recent(self, count: int = 100, before: str | None = None) -> list[AuditEntry]:
        """Newest entries first, optionally older than the entry id `before`."""


class RedisAuditLog:
    """`XADD` with an approximate cap; `XREVRANGE` to read."""

    def __init__(self, redis: Redis, keys: Keys, max_entries: int = 100_000) -> None:
        self._redis = redis
        self._keys = keys
        self._max = max_entries

    async def record(self, at: datetime, user: str, action: str, target: str,
                     detail: str = "") -> None:
        """Append one entry."""
        await self._redis.xadd(
            self._keys.admin_audit(),
            {"at": at.isoformat(timespec="seconds"), "user": user, "action": action,
             "target": target, "detail": detail},
            maxlen=self._max, approximate=True)

    async def recent(self, count: int = 100, before: str | None = None) -> list[AuditEntry]:
        """Newest entries first, optionally older than the entry id `before`."""
        top = f"({before}" if before else "+"
        rows = await self._redis.xrevrange(self._keys.admin_audit(), max=top, count=count)
        return [AuditEntry(entry_id, row.get("at", ""), row.get("user", ""),
                           row.get("action", ""), row.get("target", ""), row.get("detail", ""))
                for entry_id, row in rows]
