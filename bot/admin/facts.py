"""The console's facts resource: the figures answers cite, with their sources and citers.

Changes go through `KnowledgeChanges.apply` like every edit of the knowledge base; a fact an
answer or branch still cites cannot be deleted (`editor.remove_fact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.admin.changes import Edited, KnowledgeChanges
from bot.admin.editor import changed_fields, make_fact, put_fact, remove_fact, unchanged_since
from bot.errors import NotFound
from bot.knowledge.base import FactModel, KnowledgeBase, KnowledgeDocument


def fact_in(kb: KnowledgeBase, fact_id: str) -> FactModel:
    """A fact of the knowledge base, or NotFound naming it."""
    found = next((f for f in kb.document.facts if f.id == fact_id), None)
    if found is None:
        raise NotFound(f"Fakta {fact_id} tidak ada.")
    return found


def citations(document: KnowledgeDocument) -> dict[str, list[str]]:
    """Each cited fact's id with the answers and branches that cite it."""
    cited: dict[str, list[str]] = {}
    for cited_by, fact_ids in [*((a.id, a.facts) for a in document.answers),
                               *((b.id, b.facts) for b in document.branches)]:
        for fact_id in fact_ids:
            cited.setdefault(fact_id, []).append(cited_by)
    return cited


def matching(document: KnowledgeDocument, query: str) -> list[FactModel]:
    """Facts whose id or statement contains `query` (any case)."""
    query = query.casefold()
    return [f for f in document.facts if query in f"{f.id} {f.statement}".casefold()]


class Facts:
    """The knowledge base's facts: read, added, changed, deleted."""

    def __init__(self, changes: KnowledgeChanges) -> None:
        self._changes = changes

    async def knowledge(self) -> KnowledgeBase:
        """The latest stored knowledge base."""
        return await self._changes.latest()

    async def save(self, user: str, values: Mapping[str, Any], fact_id: str | None,
                   base: str | None) -> FactModel:
        """Add (no `fact_id`) or change a fact, refusing to overwrite a parallel edit."""
        saved: list[FactModel] = []

        def edit(document: KnowledgeDocument) -> Edited:
            existing = next((f for f in document.facts if f.id == fact_id), None)
            unchanged_since(existing, fact_id, base, "Fakta")
            fact = make_fact(values, existing)
            saved.append(fact)
            return Edited(put_fact(document, fact, new=existing is None), fact.id,
                          changed_fields(existing, fact))

        await self._changes.apply(user, "fakta.ubah" if fact_id else "fakta.tambah", edit)
        return saved[0]

    async def delete(self, user: str, fact_id: str) -> None:
        """Remove a fact nothing cites."""
        await self._changes.apply(user, "fakta.hapus", lambda document: Edited(
            remove_fact(document, fact_id), fact_id))
