"""The unanswered inbox: recent fallback messages, grouped by similarity, with counts.

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

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from redis.asyncio import Redis

from bot.keys import Keys

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


class Inbox:
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
