"""`python -m bot faq import` takes the console's path: locked, kept, audited, retrained.

That path (`KnowledgeChanges.apply`) holds a write lock, so racing edits each land.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from redis.asyncio import Redis

import bot.app as app_module
from bot.__main__ import main
from bot.admin.audit import RedisAuditLog
from bot.admin.console import open_console
from bot.admin.history import RedisKnowledgeHistory
from bot.app import Runtime
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.store import RedisKnowledgeStore
from bot.nlu.model import NLU
from bot.settings import Settings
from tests.conftest import publish_model

ENTRY = {"id": "lomba_foto", "intent": "faq/lomba_foto",
         "text": "Lomba foto peserta dibuka tiap Agustus; info di kantor cabang.",
         "questions": ["ada lomba foto bpjs?", "lomba foto peserta bpjs kapan",
                       "info lomba foto bpjs ketenagakerjaan"]}


async def stored(redis_url: str, prefix: str) -> tuple[KnowledgeBase | None, list[Any],
                                                       list[Any]]:
    redis, raw = Redis.from_url(redis_url, decode_responses=True), Redis.from_url(redis_url)
    keys = Keys(prefix)
    try:
        return (await RedisKnowledgeStore(redis, keys).load(),
                await RedisKnowledgeHistory(raw, keys).versions(),
                await RedisAuditLog(redis, keys).recent())
    finally:
        await redis.aclose()
        await raw.aclose()


def test_import_is_versioned_audited_and_retrained(
        settings: Settings, redis_url: str, prefix: str, model_blob: bytes, trained_model: NLU,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    retrained: list[int] = []

    async def stand_in(settings: Settings, config: Any, kb: KnowledgeBase, store: Any) -> NLU:
        retrained.append(kb.version)
        return trained_model

    monkeypatch.setattr(app_module, "current_model", stand_in)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SAPA_KEY_PREFIX", prefix)
    asyncio.run(publish_model(redis_url, prefix, model_blob, trained_model.fingerprint))
    file = tmp_path / "faq.yml"
    file.write_text(yaml.safe_dump({"answers": [ENTRY]}), encoding="utf-8")

    assert main(["faq", "import", str(file)]) == 0

    kb, versions, audit = asyncio.run(stored(redis_url, prefix))
    assert kb is not None
    assert kb.answer("lomba_foto") is not None
    assert retrained[-1] == kb.version  # after start-up, the retrain ran on the import
    assert [v.version for v in versions][:2] == [kb.version, kb.version - 1]
    assert versions[0].user == "cli"
    assert "faq.impor faq.yml" in versions[0].summary
    assert (audit[0].user, audit[0].action, audit[0].target) == ("cli", "faq.impor", "faq.yml")
    assert "published" in capsys.readouterr().out


async def test_edits_racing_each_other_all_land(runtime: Runtime) -> None:
    """The write lock: edits sent at once (two admins, two processes) each become a version."""
    facts = open_console(runtime).facts
    before = await runtime.knowledge_store.version()
    await asyncio.gather(*(facts.save("ani", {
        "id": f"uji_serentak_{i}", "statement": "Fakta uji tanpa angka.",
        "sources": [{"url": "https://www.bpjsketenagakerjaan.go.id"}]}, None, None)
        for i in range(6)))
    kb = await runtime.knowledge_store.load()
    assert kb is not None
    assert {f"uji_serentak_{i}" for i in range(6)} <= {f.id for f in kb.document.facts}
    assert kb.version == before + 6
    assert [e.action for e in await runtime.audit.recent(6)] == ["fakta.tambah"] * 6
    await runtime.retrainer.settled()
