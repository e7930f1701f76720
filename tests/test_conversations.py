"""Whole conversations through the engine: on in-memory stores (`worker`, `bot`), and on real
Redis (`Conversation(runtime)`) where the Redis stores are what is tested (TTLs, turns, keys)."""

import asyncio
from datetime import datetime

import pytest

from bot.app import JAKARTA, Runtime
from bot.contacts import Consent, Contact
from bot.dialogue.state import ConversationState, Form, Offer, RedisConversations
from bot.knowledge.base import KnowledgeBase
from bot.leads import write_csv
from bot.messages import IncomingMessage
from bot.nlu.model import NLU
from tests.conftest import TODAY, Conversation, MemoryBot, memory_bot


async def test_fee_for_an_ojol_shows_discount_and_normal_amount(worker: Conversation) -> None:
    text = await worker.text("brp iuran bpjs tk buat ojol")
    assert "Rp16.800" in text
    assert "Rp8.400" in text
    assert "Maret 2027" in text
    assert "penghasilan" in text.lower()  # asks for the income


async def test_calculator_asks_for_income_then_computes(worker: Conversation) -> None:
    await worker.text("iurane piro sak wulan")
    text = await worker.text("2jt")
    assert "Rp2.000.000" in text
    assert "Rp26.800" in text
    assert "perkiraan" in text.lower()


async def test_income_in_words_and_with_thousand_separators(worker: Conversation) -> None:
    await worker.text("berapa iurannya")
    assert "Rp2.500.000" in await worker.text("dua juta setengah")
    assert "Rp1.500.000" in await worker.text("eh, 1,5 jt maksudnya")


async def test_correction_replaces_the_income(worker: Conversation) -> None:
    first = await worker.text("kalau penghasilan 2 juta iurannya berapa")
    assert "Rp2.000.000" in first
    corrected = await worker.text("eh, 3 juta maksudnya")
    assert "Rp3.000.000" in corrected
    assert "Rp2.000.000" not in corrected


async def test_follow_up_about_jht_after_a_fee(worker: Conversation) -> None:
    await worker.text("iuran bpjs tk kalau gaji 2 juta")
    text = await worker.text("kalau JHT-nya?")
    assert "JHT" in text
    assert "Rp40.000" in text


async def test_follow_up_lewat_hp_after_registration(worker: Conversation) -> None:
    await worker.text("gimana cara daftar bpjs ketenagakerjaan")
    text = await worker.text("lewat hp bisa?")
    assert "JMO" in text


async def test_bpjs_kesehatan_is_redirected_to_165(worker: Conversation) -> None:
    text = await worker.text("kartu kis saya tidak aktif buat berobat ke puskesmas")
    assert "165" in text
    assert "Rp" not in text


async def test_gibberish_gets_the_fallback_reply_and_reaches_the_inbox(
        bot: MemoryBot, worker: Conversation, seed_kb: KnowledgeBase) -> None:
    text = await worker.text("qwx zzkj vbnm")
    assert text == seed_kb.answer("fallback").text
    assert [e.text for e in bot.fallbacks.entries] == ["qwx zzkj vbnm"]


async def test_out_of_scope_never_gets_a_fee(worker: Conversation) -> None:
    text = await worker.text("harga cabe rawit di pasar hari ini berapa ya")
    assert "Rp" not in text


async def test_jp_is_not_open_to_informal_workers(worker: Conversation) -> None:
    text = await worker.text("sy pedagang pasar, bisa ikut jaminan pensiun gak")
    assert "JP" in text or "pensiun" in text.lower()
    assert "tidak" in text.lower()


async def test_menu_resets_the_conversation(worker: Conversation, bot: MemoryBot) -> None:
    await worker.text("berapa iurannya")
    assert (await bot.conversations.load("rest", worker.user_id)).form == Form.IURAN
    await worker.text("menu")
    state = await bot.conversations.load("rest", worker.user_id)
    assert (state.topic, state.form, state.requested, state.offer, state.slots) == (
        None, None, None, None, {})
    assert state.choices[4] == "/cara_klaim"  # the menu's numbered items, for "5"


def test_a_stored_state_reads_forms_and_offers_by_name() -> None:
    state = ConversationState.from_json('{"form": "iuran", "offer": "petugas", "topic": "x"}')
    assert (state.form, state.offer, state.topic) == (Form.IURAN, Offer.PETUGAS, "x")
    assert ConversationState.from_json(state.to_json()) == state
    gone = ConversationState.from_json('{"form": "survei", "offer": "kuis", "topic": "iuran"}')
    assert (gone.form, gone.offer, gone.topic) == (None, None, "iuran")  # forgotten, no error


async def test_state_expires_after_the_idle_ttl(runtime: Runtime) -> None:
    worker = Conversation(runtime)
    await worker.text("berapa iurannya")
    key = runtime.keys.state("rest", worker.user_id)
    ttl = await runtime.redis.ttl(key)
    assert 0 < ttl <= runtime.config.dialogue.session_ttl_minutes * 60


@pytest.mark.redis_cluster
async def test_profile_keeps_channel_times_and_occupation(runtime: Runtime) -> None:
    worker = Conversation(runtime)
    await worker.text("saya ojol, iurannya berapa")
    contact = await runtime.contacts.get("rest", worker.user_id)
    assert contact is not None
    assert contact.channel == "rest"  # in the key; the hash does not store it twice
    assert contact.get("first_seen")
    assert contact.get("pekerjaan") == "ojol"


async def test_nik_is_never_stored_or_echoed(runtime: Runtime) -> None:
    worker = Conversation(runtime)
    nik = "3578012345670001"
    replies = await worker.text(f"nik saya {nik} sudah terdaftar belum")
    assert nik not in replies
    assert "NIK" in replies
    binary = {runtime.keys.model_blob(), *(runtime.keys.kb_snapshot(v.version)
                                           for v in await runtime.history.versions())}
    keys = [k async for k in runtime.redis.scan_iter(match=f"{runtime.keys.prefix}:*")
            if k not in binary]
    for key in keys:
        kind = await runtime.redis.type(key)
        if kind == "string":
            assert nik not in (await runtime.redis.get(key) or "")
        elif kind == "hash":
            assert nik not in str(await runtime.redis.hgetall(key))
        elif kind == "stream":
            assert nik not in str(await runtime.redis.xrange(key))


async def test_pendataan_with_consent_then_export_and_delete(bot: MemoryBot,
                                                             worker: Conversation) -> None:
    consent = await worker.text("saya mau ikut, tolong didata")
    assert "27 Tahun 2022" in consent
    assert "setuju" in consent.lower()
    await worker.text("setuju")
    await worker.text("Siti Aminah")
    await worker.text("pedagang sayur")
    await worker.text("Kel. Ketabang, Kec. Genteng")
    done = await worker.text("081234567890")
    assert "Siti Aminah" in done
    assert "hapus data saya" in done

    import io

    out = io.StringIO()
    assert await write_csv(bot.leads.all(), out) == 1
    assert "Siti Aminah" in out.getvalue()
    assert "6281234567890" in out.getvalue()  # stored normalised

    confirm = await worker.text("hapus data saya")
    assert "hapus" in confirm.lower()
    assert await bot.contacts.get("rest", worker.user_id) is None
    assert [lead async for lead in bot.leads.all()] == []
    assert set(bot.eraser.erased) == {("rest", worker.user_id)}  # inbox, deliveries, campaigns


async def test_refusing_consent_stores_nothing(bot: MemoryBot, worker: Conversation) -> None:
    await worker.text("saya mau didaftarkan")
    await worker.text("tidak")
    assert [lead async for lead in bot.leads.all()] == []


async def test_cancel_in_the_middle_of_pendataan(bot: MemoryBot, worker: Conversation) -> None:
    await worker.text("saya mau didaftarkan")
    await worker.text("setuju")
    await worker.text("Budi")
    assert "dibatalkan" in await worker.text("batal")
    assert [lead async for lead in bot.leads.all()] == []


async def test_stop_opts_out_with_time_and_channel(bot: MemoryBot, worker: Conversation) -> None:
    await worker.text("stop")
    contact = await bot.contacts.get("rest", worker.user_id)
    assert contact is not None
    assert (contact.get("consent"), contact.consent) == ("opt_out", Consent.OPT_OUT)
    assert Contact("rest", "x", {"consent": "mungkin"}).consent is None  # not a known answer
    assert contact.get("consent_at")
    assert contact.get("consent_channel") == "rest"


async def test_two_workers_keep_separate_state(bot: MemoryBot) -> None:
    ani, budi = Conversation(bot, "ani"), Conversation(bot, "budi")
    await ani.text("berapa iurannya")
    await budi.text("gimana cara klaim jht")
    assert "Rp2.000.000" in await ani.text("2 juta")
    assert (await bot.conversations.load("rest", "budi")).topic == "klaim"


async def test_branch_office_for_a_city(worker: Conversation) -> None:
    text = await worker.text("kantor bpjs ketenagakerjaan di blitar dimana")
    assert "Blitar" in text
    assert "Jl. Palem" in text


async def test_the_discount_ends_on_the_date_in_the_facts(trained_model: NLU,
                                                          seed_kb: KnowledgeBase) -> None:
    later = datetime(2027, 4, 2, 9, 0, tzinfo=JAKARTA)
    bot = memory_bot(trained_model, seed_kb, lambda: later)
    text = await Conversation(bot, "ojol-2027").text("brp iuran bpjs tk buat ojol")
    assert "Rp16.800" in text
    assert "Rp8.400" not in text


async def test_concurrent_messages_from_many_workers(runtime: Runtime) -> None:
    workers = [Conversation(runtime, f"w{i}") for i in range(50)]
    texts = await asyncio.gather(*(w.text("brp iuran bpjs tk") for w in workers))
    assert all("Rp16.800" in t for t in texts)


async def test_corrupted_state_starts_fresh(bot: MemoryBot, worker: Conversation) -> None:
    bot.conversations.states[("rest", worker.user_id)] = "{not json"
    assert "Rp" in await worker.text("brp iuran bpjs tk")


@pytest.mark.redis_cluster
async def test_a_second_message_of_one_sender_waits_for_the_first(runtime: Runtime) -> None:
    conversations = RedisConversations(runtime.redis, runtime.keys, state_ttl_seconds=3600,
                                       anonymous_ttl_seconds=3600)
    message = IncomingMessage("rest", "628222", "halo", TODAY)
    first = await conversations.open(message)
    # a save by the first would otherwise be overwritten
    assert await conversations.try_open(message) is None
    second = asyncio.create_task(conversations.open(message))
    await conversations.close(first, ConversationState(topic="klaim"))
    turn = await asyncio.wait_for(second, 2)
    assert turn.state.topic == "klaim"
    await conversations.close(turn, None)
    assert not await runtime.redis.exists(runtime.keys.turn("rest", "628222"))
    assert (await runtime.conversations.load("rest", "628222")).topic == "klaim"


async def test_a_turn_its_process_never_ended_expires(runtime: Runtime) -> None:
    conversations = RedisConversations(runtime.redis, runtime.keys, state_ttl_seconds=3600,
                                       anonymous_ttl_seconds=3600)
    conversations.TURN_MS = 300
    message = IncomingMessage("rest", "628333", "halo", TODAY)
    await conversations.open(message)  # its process "dies": never closed
    turn = await asyncio.wait_for(conversations.open(message), 2)
    await conversations.close(turn, None)


async def test_one_senders_burst_is_answered_in_full(runtime: Runtime) -> None:
    worker = Conversation(runtime, "628444")
    texts = await asyncio.gather(*(worker.text("brp iuran bpjs tk") for _ in range(5)))
    assert all("Rp16.800" in t for t in texts)
    assert not await runtime.redis.exists(runtime.keys.turn("rest", "628444"))
