"""The console's answers resource: FAQ entries and core texts, the try box, and `faq import`.

Every change goes through `KnowledgeChanges.apply` (bot/admin/changes.py), the one write path
to the knowledge base, so a console edit and `python -m bot faq import` are locked, guarded,
versioned, audited and retrained alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.admin.changes import Edited, KnowledgeChanges
from bot.admin.editor import (
    changed_fields,
    make_answer,
    put_answer,
    remove_answer,
    unchanged_since,
)
from bot.admin.inbox import UnansweredStore
from bot.dialogue.engine import Engine
from bot.errors import Invalid, NotFound
from bot.knowledge.base import AnswerModel, KnowledgeBase, KnowledgeDocument, merge_answers
from bot.messages import Reply


def what_if_day(text: str) -> date | None:
    """The console's "coba" date (YYYY-MM-DD); empty means today."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("Tanggal harus ditulis TTTT-BB-HH, misalnya 2027-01-01.") from None


def answer_in(kb: KnowledgeBase, answer_id: str) -> AnswerModel:
    """An answer of the knowledge base, or NotFound naming it."""
    if not kb.has_answer(answer_id):
        raise NotFound(f"Jawaban {answer_id} tidak ada.")
    return kb.answer(answer_id)


@dataclass(frozen=True)
class TryResult:
    """How the bot answers a question right now."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    replies: tuple[Reply, ...]
    on: str = ""  # the what-if date asked for (YYYY-MM-DD), empty for today


class Answers:
    """What the bot answers: read, tried, added, changed, deleted, imported."""

    def __init__(self, changes: KnowledgeChanges, unanswered: UnansweredStore, engine: Engine,
                 clock: Callable[[], datetime]) -> None:
        self._changes = changes
        self._unanswered = unanswered
        self._engine = engine
        self._clock = clock

    async def knowledge(self) -> KnowledgeBase:
        """The latest stored knowledge base (what the next reload of every process serves)."""
        return await self._changes.latest()

    async def save(self, user: str, values: Mapping[str, Any], answer_id: str | None,
                   base: str | None, inbox_ids: Sequence[str] = ()) -> AnswerModel:
        """Add (no `answer_id`) or change an answer, and mark the inbox messages it answers.

        `base` is the entry's fingerprint when the form was opened: a parallel edit is refused,
        never overwritten.
        """
        today = self._clock().date()
        saved: list[AnswerModel] = []

        def edit(document: KnowledgeDocument) -> Edited:
            existing = next((a for a in document.answers if a.id == answer_id), None)
            unchanged_since(existing, answer_id, base, "Jawaban")
            answer = make_answer(values, existing, today, {f.id for f in document.facts})
            saved.append(answer)
            return Edited(put_answer(document, answer, new=existing is None), answer.id,
                          changed_fields(existing, answer))

        await self._changes.apply(user, "faq.ubah" if answer_id else "faq.tambah", edit)
        await self._unanswered.handled(inbox_ids)
        return saved[0]

    async def delete(self, user: str, answer_id: str) -> None:
        """Remove an FAQ entry."""
        await self._changes.apply(user, "faq.hapus", lambda document: Edited(
            remove_answer(document, answer_id), answer_id))

    async def merge(self, user: str, source: str, answers: Iterable[AnswerModel]) -> int:
        """Add or replace answers by id from a file (`faq import`); returns the new version."""
        imported = list(answers)
        return await self._changes.apply(user, "faq.impor", lambda document: Edited(
            merge_answers(document, imported, self._clock().date()), source,
            f"{len(imported)} jawaban"))

    async def try_text(self, text: str, on: date | None = None) -> TryResult:
        """How the bot answers `text` now (or on the day `on`), touching no conversation."""
        parse, replies = await self._engine.preview(text, on)
        return TryResult(text, parse.intent.name, parse.intent.confidence,
                         tuple((r.name, r.confidence) for r in parse.ranking), tuple(replies),
                         on.isoformat() if on else "")
