"""The console's logic without HTTP: edits, areas, grouping, charts, retrains, and its stores."""

from __future__ import annotations

import asyncio
import hashlib
import pickle
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.admin import campaigns as campaigns_module
from bot.admin.accounts import RedisUserStore, User
from bot.admin.audit import RedisAuditLog
from bot.admin.bubbles import preview_message
from bot.admin.campaigns import Campaigns, status_text
from bot.admin.changes import (
    Edited,
    KnowledgeWrites,
    Retrainer,
    Training,
    TrainingState,
    TrainingStatus,
)
from bot.admin.dashboard import fallback_rates, funnel_rows, messages_by_channel, top_rows
from bot.admin.drafts import PROBLEM_WORDS, CampaignInput, check, send_time
from bot.admin.editor import (
    add_examples,
    answer_form_values,
    fact_form_values,
    fact_to_form,
    make_answer,
    make_fact,
    put_answer,
    remove_answer,
    search,
)
from bot.admin.history import (
    KnowledgeHistory,
    Piece,
    RedisKnowledgeHistory,
    VersionInfo,
    diff,
    item_changes,
    word_diff,
)
from bot.admin.inbox import Unanswered, group
from bot.admin.leads import Area, LeadFilter, area
from bot.admin.names import training_shown
from bot.admin.sessions import FREE_ATTEMPTS, Attempt, LoginLimiter, RedisSessionStore
from bot.app import connect_redis, current_model
from bot.broadcast.campaigns import JAKARTA, PROBLEMS, Campaign, Message, QuietHours
from bot.broadcast.heartbeat import beat
from bot.broadcast.ledger import sent
from bot.broadcast.segments import Segment
from bot.broadcast.worker import enqueue_campaign
from bot.channels.base import Template
from bot.channels.delivery import DeliveryStatus, DeliveryStatuses
from bot.contacts import Contact, RedisContactStore, profile_fields, stored_fields
from bot.dialogue.counters import DailyCounters, DayCounts
from bot.dialogue.state import RedisConversations
from bot.errors import Invalid
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase, KnowledgeDocument
from bot.knowledge.store import RedisKnowledgeStore, RedisModelStore
from bot.leads import Lead, RedisLeadStore
from bot.memory import MemoryKnowledgeStore, MemoryModelStore
from bot.messages import Button, IncomingMessage
from bot.migrate import migrate_untagged_keys
from bot.nlu.model import NLU
from bot.settings import Settings, load_config
from tests.conftest import TODAY

pytestmark = pytest.mark.redis_cluster  # Redis operations: on a cluster too

DAY = date(2026, 11, 21)


# -- editor ----------------------------------------------------------------------------------

def test_a_new_entry_is_an_faq_named_after_its_first_question(seed_kb: KnowledgeBase) -> None:
    values = answer_form_values({"questions": "Apa itu BSU?\nbsu apa\nbsu cair kapan",
                                 "text": " Bantuan subsidi upah. ", "tags": "bsu, bsu",
                                 "button_title_0": "Menu", "button_payload_0": "/menu"})
    answer = make_answer(values, None, DAY)
    assert answer.id == "apa_itu_bsu"
    assert answer.intent == "faq/apa_itu_bsu"
    assert answer.text == "Bantuan subsidi upah."
    assert answer.tags == ["bsu"]
    assert answer.updated == "2026-11-21"
    assert [b.title for b in answer.buttons] == ["Menu"]


def test_a_core_answer_keeps_its_id_intent_and_has_no_questions(seed_kb: KnowledgeBase) -> None:
    core = seed_kb.answer("sapa")
    changed = make_answer({"id": "lain", "text": "Halo!", "questions": ["a", "b", "c"]}, core,
                          DAY)
    assert (changed.id, changed.intent, changed.questions) == ("sapa", "sapa", [])


def test_field_errors_are_in_indonesian(seed_kb: KnowledgeBase) -> None:
    with pytest.raises(Invalid) as caught:
        make_answer({"id": "Salah Id", "text": "", "buttons": [{"title": "x" * 30,
                                                                "payload": "/menu"}]}, None, DAY)
    assert caught.value.fields == {"id": "hanya huruf kecil, angka dan garis bawah (_)",
                                   "text": "wajib diisi",
                                   "buttons": "terlalu panjang (maks. 20 karakter)",
                                   "questions": "isi paling sedikit 3 contoh pertanyaan, "
                                                "satu per baris"}


def test_document_rules_hold_for_every_edit(seed_kb: KnowledgeBase) -> None:
    document = seed_kb.document
    with pytest.raises(Invalid) as few:  # every problem at once, before the document
        make_answer({"id": "baru", "text": "x", "questions": ["satu", "dua"]}, None, DAY)
    assert few.value.fields == {"questions": "isi paling sedikit 3 contoh pertanyaan, "
                                             "satu per baris"}
    facts = {f.id for f in document.facts}
    with pytest.raises(Invalid) as unknown:  # beside its field, in Indonesian, with the rest
        make_answer({"id": "baru", "text": "x", "questions": ["satu"],
                     "facts": ["bpu_iuran_jkm", "iuran_khayalan"]}, None, DAY, facts)
    assert unknown.value.fields == {
        "questions": "isi paling sedikit 3 contoh pertanyaan, satu per baris",
        "facts": "fakta iuran_khayalan tidak ada; pilih id dari daftar Fakta"}
    taken = make_answer({"id": "sapa", "text": "x", "questions": ["a", "b", "c"]}, None, DAY)
    with pytest.raises(Invalid, match="sudah dipakai"):
        put_answer(document, taken, new=True)
    with pytest.raises(Invalid, match="tidak bisa dihapus"):
        remove_answer(document, "sapa")


def test_examples_go_to_the_faq_or_beside_a_core_intent(seed_kb: KnowledgeBase) -> None:
    faq = next(a for a in seed_kb.document.answers if a.is_faq)
    document = add_examples(seed_kb.document, faq.intent, [faq.questions[0], "  soal  baru "])
    taught = KnowledgeBase(document).for_intent(faq.intent)
    assert taught is not None
    assert taught.questions == [*faq.questions, "soal baru"]
    document = add_examples(document, "cara_daftar", ["piye carane melu", "piye carane melu"])
    assert document.examples == {"cara_daftar": ["piye carane melu"]}
    extra = KnowledgeBase(document).training_examples()
    assert ("piye carane melu", "cara_daftar") in [(e.text, e.intent) for e in extra]


def test_search_needs_every_word(seed_kb: KnowledgeBase) -> None:
    found = search(seed_kb.document.answers, "klaim JHT")
    assert found
    assert all("jht" in f"{a.id} {a.text} {a.questions}".lower() for a in found)


def test_fact_form_reads_sources_and_values() -> None:
    values = fact_form_values({"id": "baru_fakta", "statement": "Sesuatu.",
                               "sources": "https://a.go.id | 2026-01\nhttps://b.id | | catatan",
                               "values": "jumlah: 3", "confidence": "low"})
    fact = make_fact(values, None)
    assert fact.values == {"jumlah": 3}
    assert fact.model_dump()["sources"] == [{"url": "https://a.go.id", "date": "2026-01"},
                                            {"url": "https://b.id", "note": "catatan"}]
    with pytest.raises(Invalid) as caught:
        fact_form_values({"values": "- a\n- b"})
    assert "values" in caught.value.fields


def test_the_research_wording_goes_when_staff_change_a_statement(seed_kb: KnowledgeBase,
                                                                  ) -> None:
    fact = seed_kb.fact("bpu_iuran_jkm")
    assert (fact.model_extra or {}).get("statement_en")
    kept = make_fact(fact_form_values(fact_to_form(fact)), fact)  # saved as it was
    assert kept.model_extra == fact.model_extra
    form = {**fact_to_form(fact), "statement": "Iuran JKM BPU Rp6.800 sebulan."}
    changed = make_fact(fact_form_values(form), fact)
    assert "statement_en" not in (changed.model_extra or {})
    assert (changed.model_extra or {})["legal_basis"] == fact.model_dump()["legal_basis"]


def test_diff_shows_what_changed(seed_kb: KnowledgeBase) -> None:
    before = seed_kb.document
    after = add_examples(before, "sapa", ["met pagi min"])
    lines = diff(before, after, "versi 1", "versi 2")
    assert lines[:2] == ["--- versi 1", "+++ versi 2"]
    assert "+  - met pagi min" in lines
    assert diff(before, before, "a", "b") == []


def test_a_version_shows_the_answer_text_the_worker_reads(seed_kb: KnowledgeBase) -> None:
    before = seed_kb.document
    raw = before.model_dump()
    answer = next(a for a in raw["answers"] if a["id"] == "bayar")
    old_text = answer["text"]
    answer["text"] = old_text.replace("\n", "\nCek dulu kode iuran Anda.\n", 1)
    answer["questions"] = [*answer["questions"], "bayarnya dmn y"]
    fact = next(f for f in raw["facts"] if f["id"] == "bpu_iuran_jkm")
    fact["values"] = {"jkm_monthly": 7000}
    raw["facts"] = [f for f in raw["facts"] if f["id"] != "bpu_covid_relief_2020"]
    after = KnowledgeDocument.model_validate(raw)
    changes = {(c.kind, c.id): c for c in item_changes(before, after)}
    assert set(changes) == {("jawaban", "bayar"), ("fakta", "bpu_iuran_jkm"),
                            ("fakta", "bpu_covid_relief_2020")}
    paid = changes[("jawaban", "bayar")]
    assert paid.how == "diubah"
    assert [p.text for p in paid.text if p.kind == "add"] == ["Cek dulu kode iuran Anda.\n"]
    assert not [p for p in paid.text if p.kind == "del"]
    assert "".join(p.text for p in paid.text if p.kind != "add").startswith(old_text)
    assert paid.notes == ("Pertanyaan contoh ditambah: \u201cbayarnya dmn y\u201d",)
    jkm = changes[("fakta", "bpu_iuran_jkm")]
    assert jkm.text == ()  # the statement stayed
    assert jkm.notes == ("Nilai: {jkm_monthly: 6800} \u2192 {jkm_monthly: 7000}",)
    removed = changes[("fakta", "bpu_covid_relief_2020")]
    assert (removed.how, removed.text[0].kind) == ("dihapus", "del")
    assert item_changes(before, before) == []


def test_word_diff_keeps_the_words_around_a_change() -> None:
    assert word_diff("Iuran JKK dan JKM Rp16.800 sebulan.",
                     "Iuran JKK dan JKM Rp8.400 sebulan.") == (
        Piece("same", "Iuran JKK dan JKM "), Piece("del", "Rp16.800 "), Piece("add", "Rp8.400 "),
        Piece("same", "sebulan."))
    assert word_diff("Buka tiap hari di kantor.", "Tutup di hari Minggu.") == (
        Piece("del", "Buka tiap hari di kantor."), Piece("add", "Tutup di hari Minggu."))


# -- leads -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "kelurahan", "kecamatan"), [
    ("Kel. Ketabang, Kec. Genteng", "Ketabang", "Genteng"),
    ("kelurahan ketabang kecamatan genteng", "Ketabang", "Genteng"),
    ("Desa Sumberejo, kec pakis", "Sumberejo", "Pakis"),
    ("ketabang, genteng, surabaya", "Ketabang", "Genteng"),
    ("genteng", "", ""),
])
def test_area_reads_what_workers_type(typed: str, kelurahan: str, kecamatan: str) -> None:
    assert area(typed) == Area(kelurahan, kecamatan)


def test_lead_filter_falls_back_to_the_whole_text() -> None:
    lead = Lead("rest", "1", "Siti", "pedagang pasar", "genteng", "0812", TODAY.isoformat(),
                TODAY.isoformat())
    assert LeadFilter(kecamatan="Genteng").matches(lead)
    assert LeadFilter(pekerjaan="pedagang", dari=DAY, sampai=DAY).matches(lead)
    assert not LeadFilter(dari=DAY + timedelta(days=1)).matches(lead)
    with pytest.raises(Invalid):
        LeadFilter.from_query({"sampai": "21-11-2026"})


# -- inbox and charts ------------------------------------------------------------------------

def test_similar_messages_group_with_counts(trained_model: NLU) -> None:
    texts = ["harga cabe hari ini", "harga cabe hr ini", "harga cabe hari ini",
             "cuaca besok hujan ga", "cuaca bsk hujan gak", "asdfgh"]
    messages = [Unanswered(f"{i}-0", t, "rest" if i % 2 else "telegram",
                           f"2026-11-21T10:0{i}:00+07:00", "out_of_scope")
                for i, t in enumerate(texts)]
    groups = group(messages, trained_model.normalizer)
    assert [g.count for g in groups] == [3, 2, 1]
    assert groups[0].texts[0] == ("harga cabe hari ini", 2)
    assert groups[0].last_at == "2026-11-21T10:02:00+07:00"
    assert group([], trained_model.normalizer) == []


def test_charts_stack_channels_and_rate_fallbacks() -> None:
    days = [DayCounts(DAY - timedelta(days=1)),
            DayCounts(DAY, Counter({"rest": 3, "telegram": 1}),
                      Counter({"sapa": 3, "nlu_fallback": 1}))]
    chart = messages_by_channel(days)
    assert chart.series == ("rest", "telegram")
    assert chart.peak == 4
    top = chart.columns[1]
    assert sum(s.height for s in top.segments) == pytest.approx(182)
    assert top.segments[-1].y == pytest.approx(0)
    rates = fallback_rates(days)
    assert [p.rate for p in rates.points] == [0.0, 0.25]
    assert top_rows(Counter({"a": 4, "b": 1}))[1].share == 25.0


# -- campaigns -------------------------------------------------------------------------------

CAMPAIGN_FORM = {"name": " FGD pasar ", "channels": "whatsapp", "opted_in": "ya",
                 "pekerjaan": "pedagang, ojol", "wilayah": "genteng", "kabupaten": "surabaya",
                 "tags": "Pasar; FGD", "active_within_days": "30", "registered": "tidak",
                 "text": "Halo {nama}", "button_title_0": "Saya datang",
                 "button_payload_0": "/setuju", "button_title_1": "Menu",
                 "button_payload_1": "", "template": "undangan", "template_language": "",
                 "template_params": "{nama}\n{nama}\n", "quiet": "1", "quiet_start": "21:30",
                 "quiet_end": "06:00", "send": "at", "send_at": "2026-11-22T08:00"}


def test_the_campaign_form_and_the_api_make_the_same_draft() -> None:
    from bot.admin.api import CampaignBody

    from_form = check(CampaignInput.from_form(CAMPAIGN_FORM), "21:00-07:00", TODAY)
    from_json = check(CampaignBody.model_validate({
        "name": "FGD pasar", "segment": {
            "channels": ["whatsapp"], "pekerjaan": ["pedagang", "ojol"], "wilayah": ["genteng"],
            "kabupaten": ["surabaya"], "tags": ["pasar", "FGD"], "active_within_days": 30,
            "registered": False},
        "text": "Halo {nama}", "buttons": [{"title": "Saya datang", "payload": "/setuju"},
                                          {"title": "Menu"}],
        "template": {"name": "undangan", "parameters": ["{nama}", "{nama}"]},
        "quiet_hours": "21:30-06:00", "send_at": "2026-11-22 08:00"}).entered(),
        "21:00-07:00", TODAY)
    assert from_form == from_json
    assert from_form.segment == Segment(("whatsapp",), ("pedagang", "ojol"), ("genteng",),
                                        ("surabaya",), ("fgd", "pasar"), True, 30, False)
    assert from_form.message.buttons == (Button("Saya datang", "/setuju"), Button("Menu", "Menu"))
    assert from_form.message.template == Template("undangan", "id", ("{nama}", "{nama}"))
    assert str(from_form.quiet_hours) == "21:30-06:00"
    assert from_form.send_at == datetime(2026, 11, 22, 8, 0, tzinfo=JAKARTA)


def test_a_campaign_form_defaults_and_refusals() -> None:
    unchecked = CampaignInput.from_form({"name": "x", "text": "y", "send_at": "2026-11-22T08:00"})
    draft = check(unchecked, "21:00-07:00", TODAY)
    assert draft.quiet_hours is None  # the box left unticked: no quiet hours
    assert draft.send_at is None  # a time typed but "now" chosen
    assert draft.segment == Segment()
    assert check(CampaignInput(name="x", text="y"), "21:00-07:00", TODAY).quiet_hours == \
        QuietHours.parse("21:00-07:00")  # the API without quiet_hours: config.yml's
    with pytest.raises(Invalid) as unreadable:
        CampaignInput.from_form({"channels": "sms", "active_within_days": "-3"})
    assert set(unreadable.value.fields) == {"channels", "active_within_days"}
    with pytest.raises(Invalid) as refused:
        check(CampaignInput(text="x" * 901, template_params=("a",), active_within_days=0,
                            buttons=(("", "/menu"),), send_at="besok"), "off", TODAY)
    assert refused.value.fields == {
        "active_within_days": "antara 1 dan 3650 hari", "name": "wajib diisi",
        "text": "901 karakter; maksimal 900", "buttons": 'judul tombol "" harus 1-20 karakter',
        "template": "isi nama template, atau kosongkan parameternya",
        "send_at": "isi tanggal dan jam (WIB)"}
    assert PROBLEM_WORDS.keys() == PROBLEMS.keys()  # every refusal has its Indonesian words


def test_send_time_is_now_or_a_time_to_come() -> None:
    assert send_time(None, TODAY) is None
    assert send_time("2026-11-21 10:30", TODAY) == TODAY + timedelta(minutes=30)
    for typed in ("", "besok pagi", "2026-11-21T10:00"):
        with pytest.raises(Invalid):
            send_time(typed, TODAY)


def test_bubbles_are_what_each_adapter_sends(seed_kb: KnowledgeBase) -> None:
    contact = Contact("telegram", "1", {"nama": "Siti & <Ani>"})
    long_title = Message("Halo {nama}, *FGD* Sabtu", (Button("Saya pasti datang ke FGD", "/ya"),))
    shown = preview_message(long_title, contact, seed_kb)
    assert shown.name == "Siti & <Ani>"
    wa, tg = shown.whatsapp[0], shown.telegram[0]
    assert wa.html.startswith("Halo Siti &amp; &lt;Ani&gt;, <b>FGD</b> Sabtu")
    assert wa.rows == (("Saya pasti datang k…",),)  # WhatsApp cuts titles at 20 characters
    assert tg.html == shown.telegram[0].html
    assert tg.rows == (("Saya pasti datang ke FGD",),)
    many = Message("x " * 600, tuple(Button(f"Pilihan {i}", f"/p{i}") for i in range(4)))
    shown = preview_message(many, None, seed_kb)
    assert shown.name == "Bapak/Ibu"
    assert [b.rows for b in shown.whatsapp] == [(), (("Lihat pilihan",),)]  # text, then a list
    assert shown.whatsapp[1].html == "Silakan pilih:"
    assert shown.whatsapp[1].menu == ("Pilihan 0", "Pilihan 1", "Pilihan 2", "Pilihan 3")
    assert len(shown.telegram) == 1
    assert shown.telegram[0].rows == tuple((f"Pilihan {i}",) for i in range(4))  # a row each


def test_campaign_status_in_words_and_the_funnel_as_bars() -> None:
    draft = Campaign("20261121-abcdef", "FGD", Segment(), Message("Halo"),
                     QuietHours.parse("21:00-07:00"), TODAY)
    running = replace(draft, status="running")
    assert status_text(draft, TODAY) == "draf"
    assert status_text(replace(running, send_at=TODAY + timedelta(hours=2)), TODAY) == \
        "berjalan, terjadwal sampai 21/11/2026 12:00 WIB"
    night = TODAY.replace(hour=22)
    assert status_text(running, night) == "berjalan, jam tenang sampai 22/11/2026 07:00 WIB"
    assert status_text(running, TODAY) == "berjalan"
    assert status_text(replace(draft, status="paused", note="oleh budi"), TODAY) == \
        "dijeda: oleh budi"
    bars = funnel_rows([("Terkirim", 4), ("Dibaca", 1), ("Prospek", 0)])
    assert [b.share for b in bars] == [100.0, 25.0, 0.0]
    assert [b.share for b in funnel_rows([("Terkirim", 0), ("Dibaca", 0)])] == [0.0, 0.0]


async def test_campaign_totals_are_walked_again_when_sends_move_on(
        redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = Keys(prefix)
    contacts = RedisContactStore(redis, keys, 86400)
    conversations = RedisConversations(redis, keys, state_ttl_seconds=3600,
                                       anonymous_ttl_seconds=3600)
    for user in ("6281", "6282"):
        await conversations.touch(IncomingMessage("whatsapp", user, "halo", TODAY))
        await contacts.update("whatsapp", user, {"consent": "opt_in"})
    audit = RedisAuditLog(redis, keys)
    campaigns = Campaigns(redis, keys, contacts, audit, lambda: TODAY, "off")
    draft = check(CampaignInput(name="FGD", text="Halo"), "off", TODAY)
    await beat(redis, keys, "test-worker", ["whatsapp"])  # a worker runs: the start is allowed
    campaign = (await campaigns.create("budi", draft, start=True)).campaign
    await enqueue_campaign(contacts, campaigns.ledger, campaign, lambda: TODAY)
    statuses = DeliveryStatuses(redis, keys, "whatsapp")

    async def send(user: str) -> None:
        await campaigns.ledger.claim(campaign.id, f"whatsapp:{user}", TODAY)
        await campaigns.ledger.finish(campaign.id, f"whatsapp:{user}",
                                      sent(TODAY, "text", f"wamid.{user}"), TODAY)

    async def seen(user: str, status: str) -> None:
        await statuses.record(DeliveryStatus(f"wamid.{user}", status, TODAY, user))

    async def counted() -> tuple[int, int, int]:
        counts = (await campaigns.detail(campaign.id)).counts()
        return counts["sent"], counts["delivered"], counts["read"]

    monkeypatch.setattr(campaigns_module, "TOTALS_SHARE", 0)  # as if walks took no time
    await send("6281")
    assert await counted() == (1, 0, 0)
    await seen("6281", "delivered")
    assert await counted() == (1, 0, 0)  # no send finished since: the totals are reused
    await send("6282")
    assert await counted() == (2, 1, 0)  # a send finished: walked again
    await seen("6282", "delivered")
    assert await counted() == (2, 1, 0)
    monkeypatch.setattr(campaigns_module, "TOTALS_SECONDS", 0.0)  # a few seconds later
    assert await counted() == (2, 2, 0)
    monkeypatch.setattr(campaigns_module, "TOTALS_SHARE", 10**9)  # as if walks were slow
    await seen("6281", "read")
    assert await counted() == (2, 2, 0)  # not walked again that soon, whatever changed
    assert [e.action for e in await audit.recent()] == ["kampanye.mulai", "kampanye.buat"]


# -- retrains --------------------------------------------------------------------------------

async def test_saves_during_a_training_cost_one_more_training(
        redis: Redis, prefix: str, seed_kb: KnowledgeBase, trained_model: NLU) -> None:
    store = MemoryKnowledgeStore(KnowledgeBase(seed_kb.document, 1))
    gate, started = asyncio.Event(), asyncio.Event()
    trained: list[int] = []
    served: list[str] = []

    async def train(kb: KnowledgeBase) -> NLU:
        trained.append(kb.version)
        started.set()
        await gate.wait()
        return trained_model

    retrainer = Retrainer(store, train, TrainingStatus(redis, Keys(prefix)), lambda: TODAY,
                          lambda model: served.append(model.fingerprint))
    loop = asyncio.create_task(retrainer.run())
    retrainer.request()
    await asyncio.wait_for(started.wait(), 5)
    for _ in range(3):  # three saves while the first training runs
        await store.save(seed_kb.document)
        retrainer.request()
    gate.set()
    await asyncio.wait_for(retrainer.settled(), 5)
    loop.cancel()
    assert trained == [1, 4]
    assert len(served) == 2
    status = await TrainingStatus(redis, Keys(prefix)).get()
    assert (status.state, status.kb_version) == (TrainingState.READY, "4")
    assert await redis.hget(Keys(prefix).nlu_training(), "state") == "ready"  # not a UI word


async def test_a_failed_training_is_reported_and_the_loop_goes_on(
        redis: Redis, prefix: str, seed_kb: KnowledgeBase, trained_model: NLU) -> None:
    store = MemoryKnowledgeStore(KnowledgeBase(seed_kb.document, 1))
    attempts: list[int] = []

    async def train(kb: KnowledgeBase) -> NLU:
        attempts.append(kb.version)
        if len(attempts) == 1:
            raise ValueError("data rusak")
        return trained_model

    status = TrainingStatus(redis, Keys(prefix))
    retrainer = Retrainer(store, train, status, lambda: TODAY, lambda model: None)
    loop = asyncio.create_task(retrainer.run())
    retrainer.request()
    await asyncio.wait_for(retrainer.settled(), 5)
    failed = await status.get()
    assert (failed.state, failed.error) == (TrainingState.FAILED, "data rusak")
    retrainer.request()
    await asyncio.wait_for(retrainer.settled(), 5)
    loop.cancel()
    assert (await status.get()).state == TrainingState.READY



def test_the_console_words_a_training_state_it_stores_by_name() -> None:
    shown = training_shown(Training(TrainingState.TRAINING, kb_version="3"))
    assert (shown["state"], shown["state_text"], shown["kb_version"]) == (
        "training", "melatih", "3")
    assert Training.from_fields({"state": "gagal"}).state == TrainingState.FAILED  # older words
    assert training_shown(Training.from_fields({"state": "??"}))["state_text"] == "-"



async def test_start_up_loads_a_model_that_matches_the_data(
        config_path: Path, seed_kb: KnowledgeBase, trained_model: NLU) -> None:
    settings = Settings(sapa_config=config_path)
    store = MemoryModelStore(trained_model)  # published by `nlu train` on the same data
    assert await current_model(settings, load_config(config_path), seed_kb,
                               store) is trained_model

# -- stores on Redis -------------------------------------------------------------------------

class HeldHistory:
    """The Redis history, holding the first write that reaches it (inside the write lock)."""

    def __init__(self, history: RedisKnowledgeHistory) -> None:
        self.history = history
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def record(self, version: int, document: KnowledgeDocument, at: datetime, user: str,
                     summary: str) -> None:
        await self.history.record(version, document, at, user, summary)

    async def keep_current(self, kb: KnowledgeBase, at: datetime) -> None:
        if not self.reached.is_set():
            self.reached.set()
            await self.go.wait()
        await self.history.keep_current(kb, at)

    async def versions(self) -> list[VersionInfo]:
        return await self.history.versions()

    async def document(self, version: int) -> KnowledgeDocument | None:
        return await self.history.document(version)


def release_writes(client: Redis, client_bytes: Redis, prefix: str,
                   history: KnowledgeHistory | None = None) -> KnowledgeWrites:
    keys = Keys(prefix)
    return KnowledgeWrites(client, keys, RedisKnowledgeStore(client, keys),
                           history or RedisKnowledgeHistory(client_bytes, keys),
                           RedisAuditLog(client, keys), lambda: TODAY)


async def test_start_up_seeds_once_in_the_history_and_audit(
        redis: Redis, settings: Settings, prefix: str, seed_kb: KnowledgeBase) -> None:
    client_bytes = connect_redis(settings, decode_responses=False)
    writes = release_writes(redis, client_bytes, prefix)
    kb = await writes.start(seed_kb.document)
    assert (kb.version, kb.document) == (1, seed_kb.document)
    assert (await writes.start(seed_kb.document)).version == 1  # seeded once
    (version,) = await RedisKnowledgeHistory(client_bytes, Keys(prefix)).versions()
    assert (version.version, version.user, version.summary) == (1, "system", "rilis isi awal")
    (entry,) = await RedisAuditLog(redis, Keys(prefix)).recent()
    assert (entry.user, entry.action, entry.detail) == ("system", "rilis", "(versi 1)")
    await client_bytes.aclose()


async def test_a_release_starting_while_an_admin_saves_keeps_both(
        redis: Redis, settings: Settings, prefix: str, seed_kb: KnowledgeBase) -> None:
    """A knowledge base an older release stored lacks a text; an admin's save is in flight."""
    client_bytes = connect_redis(settings, decode_responses=False)
    older = seed_kb.document.model_copy(update={"answers": [
        a for a in seed_kb.document.answers if a.id != "terima_kasih"]})
    await RedisKnowledgeStore(redis, Keys(prefix)).save(older)
    held = HeldHistory(RedisKnowledgeHistory(client_bytes, Keys(prefix)))
    admin = release_writes(redis, client_bytes, prefix, held)
    fact = seed_kb.document.facts[0]
    saving = asyncio.create_task(admin.apply("ani", "fakta.ubah", lambda document: Edited(
        document.model_copy(update={"facts": [
            f.model_copy(update={"statement": "dicek ulang"}) if f.id == fact.id else f
            for f in document.facts]}), fact.id)))
    await held.reached.wait()  # the admin's save holds the lock, its document read
    starting = asyncio.create_task(release_writes(redis, client_bytes, prefix).start(
        seed_kb.document))
    held.go.set()
    await saving
    kb = await starting
    assert kb.version == 3
    assert "terima_kasih" in {a.id for a in kb.document.answers}  # the release's text
    assert next(f for f in kb.document.facts if f.id == fact.id).statement == "dicek ulang"
    summaries = [v.summary for v in await held.versions()]
    assert summaries == ["rilis teks baru: terima_kasih", f"fakta.ubah {fact.id}",
                         "versi dari luar konsol (seed atau pembaruan rilis)"]
    await client_bytes.aclose()



async def test_history_keeps_the_newest_versions(settings: Settings, prefix: str,
                                                 seed_kb: KnowledgeBase) -> None:
    client = connect_redis(settings, decode_responses=False)
    history = RedisKnowledgeHistory(client, Keys(prefix), keep=2)
    at = datetime(2026, 11, 21, 10, tzinfo=TODAY.tzinfo)
    await history.keep_current(KnowledgeBase(seed_kb.document, 1), at)
    for version in (2, 3):
        await history.record(version, seed_kb.document, at, "ani", f"ubah {version}")
    kept = await history.versions()
    assert [v.version for v in kept] == [3, 2]
    assert kept[0].summary == "ubah 3"
    assert await history.document(1) is None
    restored = await history.document(2)
    assert restored is not None
    assert restored.answers == seed_kb.document.answers
    await client.aclose()


async def test_users_are_saved_listed_and_deleted(redis: Redis, prefix: str) -> None:
    users = RedisUserStore(redis, Keys(prefix))
    await users.save(User("ani", "admin", "2026-11-21"), "hash-ani")
    await users.save(User("budi", "staff", "2026-11-21"))
    assert [u.username for u in await users.all()] == ["ani", "budi"]
    assert await users.password_hash("ani") == "hash-ani"
    assert await users.delete("budi")
    assert [u.username for u in await users.all()] == ["ani"]


async def test_knowledge_base_and_model_are_saved_and_versioned(
        settings: Settings, prefix: str, seed_kb: KnowledgeBase, trained_model: NLU) -> None:
    text, raw = connect_redis(settings), connect_redis(settings, decode_responses=False)
    kb_store = RedisKnowledgeStore(text, Keys(prefix))
    model_store = RedisModelStore(raw, Keys(prefix))
    assert await kb_store.load() is None
    assert await kb_store.save(seed_kb.document) == 1
    assert await kb_store.save(seed_kb.document) == 2
    loaded = await kb_store.load()
    assert loaded is not None
    assert loaded.version == 2
    await model_store.publish(trained_model)
    assert await model_store.version() == trained_model.fingerprint
    loaded_model = await model_store.load()
    assert loaded_model is not None
    assert loaded_model.fingerprint == trained_model.fingerprint
    # a model an older release pickled is not loaded: start-up trains a new one instead
    await raw.set(Keys(prefix).model_blob(), pickle.dumps({"format": 2}))
    assert await model_store.load() is None
    await text.aclose()
    await raw.aclose()


async def test_sessions_end_together_and_carry_a_csrf_token(redis: Redis, prefix: str) -> None:
    sessions = RedisSessionStore(redis, Keys(prefix), ttl_seconds=60)
    user = User("ani", "admin", "")
    first, second = await sessions.create(user), await sessions.create(user)
    session = await sessions.get(first)
    assert session is not None
    assert session.can("staff")
    assert len(session.csrf) > 30
    digest = hashlib.sha256(first.encode()).hexdigest()
    assert 0 < await redis.ttl(Keys(prefix).admin_session(digest)) <= 60
    await sessions.end_all("ani")
    assert await sessions.get(first) is None
    assert await sessions.get(second) is None
    assert await sessions.get("tebakan") is None


async def test_limiter_delays_progressively_and_spares_known_ips(redis: Redis,
                                                                 prefix: str) -> None:
    now = [TODAY]
    limiter = LoginLimiter(redis, Keys(prefix), lambda: now[0], window_seconds=900)
    first = await limiter.begin("ani", "10.0.0.1")
    assert isinstance(first, Attempt)
    await limiter.succeeded(first)  # 10.0.0.1 is now a known address of ani
    waits = [await limiter.begin("ani", "10.0.0.9") for _ in range(FREE_ATTEMPTS["user"] + 1)]
    assert all(isinstance(w, Attempt) for w in waits[:-1])
    assert waits[-1] == 1.0  # the third failure costs a second
    assert isinstance(await limiter.begin("ani", "10.0.0.1"), Attempt)  # the owner's address
    now[0] += timedelta(seconds=1)
    assert isinstance(await limiter.begin("ani", "10.0.0.9"), Attempt)
    assert await limiter.begin("ani", "10.0.0.9") == 2.0  # and the fourth two
    await limiter.unlock("ani")
    assert isinstance(await limiter.begin("ani", "10.0.0.9"), Attempt) is False  # pair delay
    assert isinstance(await limiter.begin("ani", "10.0.0.7"), Attempt)


async def test_daily_counters_by_channel_and_intent(redis: Redis, prefix: str) -> None:
    counters = DailyCounters(redis, Keys(prefix))
    counters.count(DAY, "rest", "sapa")
    counters.count(DAY, "telegram", "sapa")
    counters.count(DAY - timedelta(days=2), "rest", "nlu_fallback")
    assert [d.messages for d in await counters.days(DAY, 3)] == [0, 0, 0]  # not written yet
    flusher = asyncio.create_task(counters.run(interval=60))
    await asyncio.sleep(0)  # one pass of the loop, no time: the flusher reaches its first wait
    # (a task cancelled before its first step never runs its `finally`)
    flusher.cancel()  # stopping writes what is left
    await asyncio.gather(flusher, return_exceptions=True)
    days = await counters.days(DAY, 3)
    assert [d.messages for d in days] == [1, 0, 2]
    assert days[-1].intents == Counter({"sapa": 2})
    assert days[-1].channels == Counter({"rest": 1, "telegram": 1})
    assert await redis.ttl(Keys(prefix).daily_counts(DAY.isoformat())) > 0


async def test_a_version_another_process_trained_is_not_trained_again(
        redis: Redis, prefix: str, seed_kb: KnowledgeBase, trained_model: NLU) -> None:
    status = TrainingStatus(redis, Keys(prefix))
    # stored by a release that kept the console's word: still read as ready
    await redis.hset(Keys(prefix).nlu_training(), mapping={"state": "siap", "kb_version": "1"})
    trained: list[int] = []

    async def train(kb: KnowledgeBase) -> NLU:
        trained.append(kb.version)
        return trained_model

    retrainer = Retrainer(MemoryKnowledgeStore(KnowledgeBase(seed_kb.document, 1)), train, status,
                          lambda: TODAY, lambda model: None)
    loop = asyncio.create_task(retrainer.run())
    retrainer.request()
    await asyncio.wait_for(retrainer.settled(), 5)
    loop.cancel()
    assert trained == []


async def test_keys_of_an_earlier_release_move_to_their_hash_tags(
        redis: Redis, prefix: str, settings: Settings) -> None:
    if settings.redis_cluster:
        pytest.skip("earlier releases never ran on a Redis Cluster")
    keys = Keys(prefix)
    await redis.set(f"{prefix}:kb:current", "{}")
    await redis.zadd(f"{prefix}:kb:history", {"3": 3})
    await redis.hset(f"{prefix}:kb:snapshot:3", mapping={"user": "ani"})  # type: ignore[misc]
    await redis.sadd(f"{prefix}:admin:users", "ani")  # type: ignore[misc]
    await redis.hset(f"{prefix}:admin:user:ani", mapping={"role": "admin"})  # type: ignore[misc]
    await redis.zadd(f"{prefix}:contacts", {"telegram:1": 5.0, "rest:2": 0.0})
    await redis.hset(f"{prefix}:{{c:telegram:1}}:profile",  # type: ignore[misc]
                     mapping={"consent": "opt_in", "last_seen": "2026-11-02T08:00:00+07:00"})
    assert await migrate_untagged_keys(redis, keys) == 6
    assert await redis.get(keys.kb_document()) == "{}"
    assert await redis.hget(keys.kb_snapshot(3), "user") == "ani"  # type: ignore[misc]
    assert await redis.hget(keys.admin_user("ani"), "role") == "admin"  # type: ignore[misc]
    shard = keys.contacts_shard("telegram", "1")
    assert shard is not None
    assert await redis.sismember(shard, "1")  # type: ignore[misc]
    assert not await redis.exists(f"{prefix}:contacts", f"{prefix}:kb:current")
    assert await migrate_untagged_keys(redis, keys) == 0


async def test_contacts_of_the_previous_layout_move_to_short_keys_and_fields(
        redis: Redis, prefix: str, settings: Settings) -> None:
    if settings.redis_cluster:
        pytest.skip("earlier releases never ran on a Redis Cluster")
    keys = Keys(prefix)
    contacts = RedisContactStore(redis, keys, 3600)
    old = f"{prefix}:{{c:whatsapp:628123}}"
    fields = {"consent": "opt_in", "consent_at": "2026-11-01T00:00:00+07:00",
              "last_inbound": "2026-11-02T08:00:00.250000+07:00", "pekerjaan": "ojol",
              "consent_channel": "import", "enrolled": "1"}  # a name this release dropped
    await redis.hset(f"{old}:profile", mapping=fields)  # type: ignore[misc]
    await redis.expire(f"{old}:profile", 1000)
    await redis.hset(f"{old}:lead", mapping={"nama": "Ani"})  # type: ignore[misc]
    await redis.set(f"{old}:state", "{}")
    await redis.sadd(f"{prefix}:{{ci:3}}:ids", "whatsapp:628123", "rest:gone")  # type: ignore[misc]
    # This release already wrote a newer last_inbound: the old one does not overwrite it.
    await contacts.update("whatsapp", "628123", {"last_inbound": "2026-11-03T09:00:00+07:00"})
    assert await migrate_untagged_keys(redis, keys) == 3
    contact = await contacts.get("whatsapp", "628123")
    assert contact is not None
    assert dict(contact.fields) == {**fields, "last_inbound": "2026-11-03T09:00:00+07:00"}
    assert 0 < await redis.ttl(keys.profile("whatsapp", "628123")) <= 1000
    assert await redis.hget(keys.lead("whatsapp", "628123"), "nama") == "Ani"  # type: ignore[misc]
    assert await redis.get(keys.state("whatsapp", "628123")) == "{}"
    assert [c.user_id for page in [p async for p in contacts.scan()] for c in page] == ["628123"]
    assert not await redis.exists(f"{old}:profile", f"{old}:lead", f"{old}:state",
                                  f"{prefix}:{{ci:3}}:ids")
    assert await migrate_untagged_keys(redis, keys) == 0


def test_profile_times_are_stored_as_integers_and_read_back_as_written() -> None:
    written = {"consent_at": "2026-11-01T00:00:00+07:00",
               "last_seen": "2026-11-02T08:00:00.250000+07:00",
               "first_seen": "2026-11-02T01:00:00+00:00", "nama": "2026-11-01T00:00:00+07:00"}
    stored = stored_fields(written)
    assert stored == {"ca": "1793466000", "ls": "1793581200250000",
                      "fs": "2026-11-02T01:00:00+00:00", "n": "2026-11-01T00:00:00+07:00"}
    assert profile_fields(stored.items()) == written


def test_fixed_words_are_stored_as_codes_and_an_older_release_s_words_still_read() -> None:
    written = {"consent": "opt_in", "terdaftar": "tidak", "consent_channel": "import",
               "pekerjaan": "ya"}
    stored = stored_fields(written)
    assert stored == {"c": "1", "r": "0", "cc": "i", "p": "ya"}
    assert profile_fields(stored.items()) == written
    older = {"c": "opt_out", "r": "ya", "cc": "whatsapp"}
    assert profile_fields(older.items()) == {"consent": "opt_out", "terdaftar": "ya",
                                             "consent_channel": "whatsapp"}


async def test_leads_are_kept_for_their_retention_and_the_index_with_them(
        redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    leads = RedisLeadStore(redis, keys, retention_days=30)

    def lead(user_id: str, day: str) -> Lead:
        at = f"{day}T10:00:00+07:00"
        return Lead("telegram", user_id, "Ani", "ojol", "Genteng", "0812", at, at)

    await leads.save(lead("1", "2026-09-01"))
    assert 29 * 86400 < await redis.ttl(keys.lead("telegram", "1")) <= 30 * 86400
    await leads.save(lead("2", "2026-11-20"))  # 80 days on: the index forgets lead 1
    await leads.save(lead("3", "2026-11-21"))
    assert await redis.zcard(keys.leads_index()) == 2
    await redis.delete(keys.lead("telegram", "2"))  # as its TTL would
    assert [found.user_id async for found in leads.all()] == ["3"]
    assert await redis.zcard(keys.leads_index()) == 1
