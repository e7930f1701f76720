"""The console's versions resource: the kept knowledge-base versions, their diffs, rollback.

Rolling back stores the old document as a new version through `KnowledgeChanges.apply`, so
versions only move forward and every process picks the rollback up like any edit. `status`
tells whether every process serves what was stored and how the last retrain went.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.admin.changes import Edited, KnowledgeChanges, TrainingStatus
from bot.admin.history import ItemChange, KnowledgeHistory, VersionInfo, diff, item_changes
from bot.admin.names import training_shown
from bot.errors import NotFound
from bot.knowledge.base import KnowledgeBase, KnowledgeDocument
from bot.knowledge.store import KnowledgeStore, Live, ModelStore
from bot.nlu.model import NLU


class Versions:
    """Knowledge-base versions and the model trained on them."""

    def __init__(self, changes: KnowledgeChanges, history: KnowledgeHistory,
                 knowledge_store: KnowledgeStore, model_store: ModelStore,
                 knowledge: Live[KnowledgeBase], nlu: Live[NLU], training: TrainingStatus,
                 clock: Callable[[], datetime]) -> None:
        self._changes = changes
        self._history = history
        self._knowledge_store = knowledge_store
        self._model_store = model_store
        self._knowledge = knowledge
        self._nlu = nlu
        self._training = training
        self._clock = clock

    async def all(self) -> list[VersionInfo]:
        """Kept versions, newest first (the current one always among them)."""
        await self._history.keep_current(await self._changes.latest(), self._clock())
        return await self._history.versions()

    async def pair(self, version: int,
                   ) -> tuple[int | None, KnowledgeDocument, KnowledgeDocument]:
        """The kept version before `version` (None when it is the oldest kept), both documents."""
        await self._history.keep_current(await self._changes.latest(), self._clock())
        document = await self._kept(version)
        older = [v.version for v in await self._history.versions() if v.version < version]
        previous = older[0] if older else None
        before = await self._history.document(previous) if previous else None
        return previous, before or KnowledgeDocument(answers=[], facts=[]), document

    async def compare(self, version: int) -> tuple[int | None, list[str]]:
        """A version against the kept version before it, as a unified diff of the YAML."""
        previous, before, document = await self.pair(version)
        return previous, diff(before, document, f"versi {previous or '-'}", f"versi {version}")

    async def changes(self, version: int) -> tuple[int | None, list[ItemChange]]:
        """A version against the kept version before it, item by item, as staff read it."""
        previous, before, document = await self.pair(version)
        return previous, item_changes(before, document)

    async def restore(self, user: str, version: int) -> int:
        """Restore a kept version as a new version; returns the new version number."""
        document = await self._kept(version)
        return await self._changes.apply(user, "versi.kembalikan", lambda _: Edited(
            document, f"versi {version}"))

    async def status(self) -> dict[str, Any]:
        """Stored and served versions of the knowledge base and model, and the last retrain."""
        return {"knowledge_version": await self._knowledge_store.version(),
                "model_version": await self._model_store.version(),
                "serving": {"knowledge_version": self._knowledge.version,
                            "model_version": self._nlu.version},
                "training": training_shown(await self._training.get())}

    async def _kept(self, version: int) -> KnowledgeDocument:
        document = await self._history.document(version)
        if document is None:
            raise NotFound(f"Versi {version} tidak disimpan.")
        return document
