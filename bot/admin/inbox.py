"""The console's inbox resource: unanswered messages grouped by similarity, dropped or taught.

Messages are read from the capped fallback stream the engine writes, one page (`window`) at a
time, newest first, and
normalized with the live model's normalizer (slang and typos folded), so "gmn klaim jkm" and
"gimana klaim jkm" land together. Identical normalized texts are merged first; the distinct ones
are grouped by average-linkage agglomerative clustering on the cosine distance of character
2-4-gram TF-IDF vectors, cut at `threshold`. That costs O(n^2) in distinct texts, so at most
`window` (2,000) of them, a few hundred milliseconds, run in a thread. Handled messages are deleted
from the stream.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from redis.asyncio import Redis

from bot.admin.audit import AuditLog
from bot.admin.changes import Edited, KnowledgeChanges
from bot.admin.editor import add_examples
from bot.errors import Invalid
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.store import Live
from bot.nlu.model import FALLBACK_INTENT, NLU

STREAM_ID = r"^\d{1,20}-\d{1,20}$"


@dataclass(frozen=True)
class Unanswered:
    """One message the bot did not understand."""

    id: str
    text: str
    channel: str
    at: str
    guess: str


@dataclass(frozen=True)
class Group:
    """Similar messages: distinct texts with their counts, most frequent first."""

    texts: tuple[tuple[str, int], ...]
    ids: tuple[str, ...]
    channels: tuple[tuple[str, int], ...]
    last_at: str
    guess: str

    @property
    def count(self) -> int:
        """How many messages the group holds."""
        return len(self.ids)

    @property
    def title(self) -> str:
        """The group's most frequent text."""
        return self.texts[0][0]


class UnansweredStore:
    """Reads and clears the fallback stream."""

    def __init__(self, redis: Redis, keys: Keys, window: int = 2000) -> None:
        self._redis = redis
        self._keys = keys
        self._window = window

    async def recent(self, before: str | None = None) -> tuple[list[Unanswered], str | None]:
        """A page of messages, newest first (older than `before`), and the next page's cursor.

        The cursor is None on the last page. XREVRANGE with a count: a page costs the same
        however long the stream is.
        """
        newest = f"({before}" if before else "+"
        rows = await self._redis.xrevrange(self._keys.fallbacks(), newest, "-",
                                           count=self._window + 1)
        page = [self._entry(entry_id, row) for entry_id, row in rows[:self._window]]
        return page, page[-1].id if len(rows) > self._window else None

    async def get(self, ids: Sequence[str]) -> list[Unanswered]:
        """The messages with these stream ids that are still in the inbox."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xrange(self._keys.fallbacks(), entry_id, entry_id)
            found = await pipe.execute()
        return [self._entry(entry_id, row) for rows in found for entry_id, row in rows]

    async def handled(self, ids: Sequence[str]) -> int:
        """Remove messages from the inbox; returns how many were there."""
        return int(await self._redis.xdel(self._keys.fallbacks(), *ids)) if ids else 0

    async def size(self) -> int:
        """How many messages wait in the inbox."""
        return int(await self._redis.xlen(self._keys.fallbacks()))

    @staticmethod
    def _entry(entry_id: str, row: dict[str, str]) -> Unanswered:
        return Unanswered(entry_id, row.get("text", ""), row.get("channel", ""),
                          row.get("at", ""), row.get("intent", ""))


def group(messages: Sequence[Unanswered], normalize: Callable[[str], str],
          threshold: float = 0.6) -> list[Group]:
    """Similar messages together, biggest groups first."""
    # Imported here, when a console user opens the inbox: a serving process that is never
    # asked for it does not carry scikit-learn (about 80 MB).
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    by_text: dict[str, list[Unanswered]] = {}
    for message in messages:
        by_text.setdefault(normalize(message.text) or message.text.strip().lower(),
                           []).append(message)
    keys = list(by_text)
    if len(keys) > 1:
        vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(keys)
        distances = np.clip(1.0 - (vectors @ vectors.T).toarray(), 0.0, 1.0)
        labels = AgglomerativeClustering(n_clusters=None, metric="precomputed",
                                         linkage="average",
                                         distance_threshold=threshold).fit_predict(distances)
    else:
        labels = np.zeros(len(keys), dtype=int)
    clusters: dict[int, list[Unanswered]] = {}
    for key, label in zip(keys, labels, strict=True):
        clusters.setdefault(int(label), []).extend(by_text[key])
    groups = [_group(members) for members in clusters.values()]
    return sorted(groups, key=lambda g: (-g.count, g.title))


def _group(members: list[Unanswered]) -> Group:
    texts = Counter(m.text for m in members)
    guesses = Counter(m.guess for m in members if m.guess)
    return Group(
        texts=tuple(texts.most_common()),
        ids=tuple(m.id for m in members),
        channels=tuple(Counter(m.channel for m in members).most_common()),
        last_at=max(m.at for m in members),
        guess=guesses.most_common(1)[0][0] if guesses else "",
    )


class Inbox:
    """What staff do with unanswered messages: read them grouped, drop them, teach the bot."""

    def __init__(self, store: UnansweredStore, changes: KnowledgeChanges, nlu: Live[NLU],
                 audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._changes = changes
        self._nlu = nlu
        self._audit = audit
        self._clock = clock

    async def groups(self, before: str | None = None) -> tuple[list[Group], str | None]:
        """A page of unanswered messages grouped by similarity, and the next page's cursor."""
        messages, older = await self._store.recent(before)
        groups = await asyncio.to_thread(group, messages, self._nlu.current.normalizer)
        return groups, older

    async def texts(self, ids: Sequence[str]) -> list[str]:
        """The distinct texts of the messages still in the inbox, in their order."""
        return list(dict.fromkeys(m.text for m in await self._store.get(ids)))

    async def handled(self, user: str, ids: Sequence[str]) -> int:
        """Remove messages from the inbox without changing the bot."""
        removed = await self._store.handled(ids)
        await self._audit.record(self._clock(), user, "kotak_masuk.selesai", f"{removed} pesan")
        return removed

    def intents(self, kb: KnowledgeBase) -> list[str]:
        """Intents a group can teach: the model's core intents and every FAQ."""
        core = [i for i in self._nlu.current.intents
                if i != FALLBACK_INTENT and not i.startswith("faq/")]
        return sorted({*core, *(a.intent for a in kb.document.answers if a.is_faq)})

    async def teach(self, user: str, intent: str, ids: Sequence[str]) -> int:
        """Add inbox messages as training examples of an intent and mark them handled."""
        if intent not in self.intents(await self._changes.latest()):
            raise Invalid({"intent": f"intent {intent} tidak dikenal"})
        texts = await self.texts(ids)
        if not texts:
            raise Invalid({"": "Pesan-pesan ini sudah ditangani."})
        await self._changes.apply(user, "contoh.tambah", lambda document: Edited(
            add_examples(document, intent, texts), intent,
            f"{len(texts)} contoh dari kotak masuk"))
        await self._store.handled(ids)
        return len(texts)
