"""A retrained model and a new FAQ reach a running process without a restart."""

import asyncio
from datetime import date

from bot.app import Runtime, train_and_publish
from bot.knowledge.base import AnswerModel, merge_answers
from tests.conftest import Conversation

QUESTIONS = ["kapan ada jadwal sosialisasi di pasar", "sosialisasi bpjs tk di pasar kapan",
             "jadwal penyuluhan bpjs ketenagakerjaan ke pasar", "kapan petugas datang ke pasar",
             "ada acara sosialisasi di pasar minggu ini?", "sosialisasi pasar jadwalnya kapan min"]


async def test_saved_faq_is_answered_without_restart(runtime: Runtime) -> None:
    runtime.follow_changes()
    before = runtime.nlu.version
    entry = AnswerModel(id="jadwal_sosialisasi", intent="faq/jadwal_sosialisasi",
                        text="Jadwal sosialisasi di pasar diumumkan oleh kantor cabang.",
                        questions=QUESTIONS, facts=["contact_channels"])
    document = merge_answers(runtime.knowledge.current.document, [entry], date(2026, 11, 21))
    await runtime.knowledge_store.save(document)
    kb = await runtime.knowledge_store.load()
    assert kb is not None
    await train_and_publish(runtime.settings, runtime.config, kb, runtime.model_store)

    await asyncio.wait_for(runtime.nlu.moved_from(before), timeout=60)
    text = await Conversation(runtime, "pasar").text("kapan ada sosialisasi bpjs di pasar saya")
    assert "Jadwal sosialisasi" in text


async def test_a_broadcast_worker_follows_the_texts_it_sends(runtime: Runtime) -> None:
    tasks = len(runtime.tasks)
    runtime.follow_changes(answering=False)  # as `python -m bot worker` does
    assert len(runtime.tasks) == tasks + 1  # the knowledge base only: no model, no handoffs
    before = runtime.knowledge.version
    document = runtime.knowledge.current.document
    footer = "Balas BERHENTI kalau tidak mau dikirimi lagi."
    answers = [a.model_copy(update={"text": footer}) if a.id == "kampanye_berhenti" else a
               for a in document.answers]
    await runtime.knowledge_store.save(document.model_copy(update={"answers": answers}))
    await asyncio.wait_for(runtime.knowledge.moved_from(before), timeout=60)
    assert runtime.sending.texts("kampanye_berhenti") == footer
