"""Knowledge-base versions for diff and rollback: a snapshot per saved version, in Redis.

`RedisKnowledgeStore` keeps only the current document and a counter; this keeps the last
`KB_HISTORY_KEEP` documents (zlib-compressed JSON, ~15 KB each) with who saved them and why. A
version saved outside `KnowledgeWrites` (by a release older than 2026-12-01) gets its snapshot
the next time the knowledge base changes, so it can still be diffed and restored. Rolling back
saves the old document as a new version: versions only move forward, which is what every running
process polls for.
"""

from __future__ import annotations

import difflib
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import orjson
import yaml
from redis.asyncio import Redis

from bot.keys import KB_HISTORY_KEEP, Keys
from bot.knowledge.base import (
    AnswerModel,
    BranchModel,
    FactModel,
    KnowledgeBase,
    KnowledgeDocument,
    parse_document,
)


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
                              "versi dari luar konsol (seed atau pembaruan rilis)")

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


# -- what a version changed, as staff read it ------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """A run of words in a changed text: `same`, `del` (only before) or `add` (only after)."""

    kind: str
    text: str


@dataclass(frozen=True)
class ItemChange:
    """One answer, fact, branch or intent's examples, added, changed or removed.

    `text` is the diff of what a reader sees (an answer's text as the worker reads it, a fact's
    statement), word by word; `notes` say in words what else changed (questions, sources ...).
    """

    kind: str  # jawaban, fakta, kantor, contoh
    id: str
    how: str  # baru, diubah, dihapus
    text: tuple[Piece, ...]
    notes: tuple[str, ...]


_WORDS = re.compile(r"\S+\s*|\s+")  # a word with the space after it
REWRITTEN = 0.4  # below this share of words in common, a text reads as replaced whole


def word_diff(old: str, new: str) -> tuple[Piece, ...]:
    """`new` against `old` word by word, whitespace kept, neighbouring runs of a kind joined.

    A text mostly rewritten is shown as the old one struck out and the new one whole: islands
    of common words ("di", "dan") would make it hard to read.
    """
    before, after = _WORDS.findall(old), _WORDS.findall(new)
    pieces: list[Piece] = []

    def put(kind: str, words: Sequence[str]) -> None:
        text = "".join(words)
        if not text:
            return
        if pieces and pieces[-1].kind == kind:
            pieces[-1] = Piece(kind, pieces[-1].text + text)
        else:
            pieces.append(Piece(kind, text))

    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    if matcher.ratio() < REWRITTEN:
        put("del", before)
        put("add", after)
        return tuple(pieces)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            put("same", before[i1:i2])
        else:
            put("del", before[i1:i2])
            put("add", after[j1:j2])
    return tuple(pieces)


def answer_text(answer: AnswerModel) -> str:
    """What the worker reads: the text, its longer version and its buttons."""
    parts = [answer.text]
    if answer.detail:
        parts.append(f"Selengkapnya:\n{answer.detail}")
    if answer.buttons:
        parts.append(" ".join(f"[{b.title}]" for b in answer.buttons))
    return "\n\n".join(parts)


def _listed(name: str, old: Sequence[str], new: Sequence[str]) -> list[str]:
    notes = []
    for how, items in (("ditambah", [x for x in new if x not in old]),
                       ("dihapus", [x for x in old if x not in new])):
        if items:
            notes.append(f"{name} {how}: " + "; ".join(f"\u201c{x}\u201d" for x in items))
    return notes


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return str(value or "-")


def _answer_notes(old: AnswerModel, new: AnswerModel) -> list[str]:
    notes = _listed("Pertanyaan contoh", old.questions, new.questions)
    notes += _listed("Fakta dikutip", old.facts, new.facts)
    notes += _listed("Label", old.tags, new.tags)
    if [b.payload for b in old.buttons] != [b.payload for b in new.buttons]:
        notes.append("Tujuan tombol diubah: " + ", ".join(b.payload for b in new.buttons))
    for field, name in (("intent", "Intent"), ("title", "Judul"), ("next_step", "Langkah lanjut"),
                        ("perlu_petugas", "Perlu petugas")):
        was, now = getattr(old, field), getattr(new, field)
        if was != now:
            notes.append(f"{name}: {_shown(was)} \u2192 {_shown(now)}")
    return notes


def _flat(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, default_flow_style=True,
                          width=10_000).strip()


def _fact_notes(old: FactModel, new: FactModel) -> list[str]:
    notes = []
    if old.values != new.values:
        notes.append(f"Nilai: {_flat(old.values)} \u2192 {_flat(new.values)}")
    if old.confidence != new.confidence:
        notes.append(f"Keyakinan: {old.confidence or '-'} \u2192 {new.confidence or '-'}")
    before, after = old.model_dump(), new.model_dump()
    if before.get("sources") != after.get("sources"):
        notes.append("Sumber diubah")
    others = sorted(k for k in {*before, *after} - {"id", "statement", "values", "confidence",
                                                    "sources", "statement_en"}
                    if before.get(k) != after.get(k))
    if others:
        notes.append("Juga diubah: " + ", ".join(others))
    return notes


def _branch_text(branch: BranchModel) -> str:
    return "\n".join([branch.name, branch.address or "(alamat belum diketahui)",
                      "Wilayah: " + ", ".join(branch.covers)])


def _branch_notes(old: BranchModel, new: BranchModel) -> list[str]:
    return _listed("Fakta dikutip", old.facts, new.facts)


Item = TypeVar("Item", AnswerModel, FactModel, BranchModel)


def _items(kind: str, old: Sequence[Item], new: Sequence[Item], text: Callable[[Item], str],
           notes: Callable[[Item, Item], list[str]]) -> list[ItemChange]:
    before: dict[str, Item] = {i.id: i for i in old}
    after: dict[str, Item] = {i.id: i for i in new}
    found = []
    for item_id in [*before, *(i for i in after if i not in before)]:
        was, now = before.get(item_id), after.get(item_id)
        if now is None and was is not None:
            found.append(ItemChange(kind, item_id, "dihapus", (Piece("del", text(was)),), ()))
        elif was is None and now is not None:
            found.append(ItemChange(kind, item_id, "baru", (Piece("add", text(now)),), ()))
        elif was is not None and now is not None and was != now:
            old_text, new_text = text(was), text(now)
            found.append(ItemChange(
                kind, item_id, "diubah",
                word_diff(old_text, new_text) if old_text != new_text else (),
                tuple(notes(was, now))))
    return found


def item_changes(old: KnowledgeDocument, new: KnowledgeDocument) -> list[ItemChange]:
    """What changed from `old` to `new`, item by item, in the words staff read."""
    found = _items("jawaban", old.answers, new.answers, answer_text, _answer_notes)
    found += _items("fakta", old.facts, new.facts, lambda f: f.statement, _fact_notes)
    found += _items("kantor", old.branches, new.branches, _branch_text, _branch_notes)
    for intent in [*old.examples, *(i for i in new.examples if i not in old.examples)]:
        notes = _listed("Contoh kalimat", old.examples.get(intent, []),
                        new.examples.get(intent, []))
        if notes:
            found.append(ItemChange("contoh", intent, "diubah", (), tuple(notes)))
    return found
