"""Answer units: the policy's choice between a unit and its topic's overview, the unit actions,
and issue 11's conversations (on in-memory stores, replies in the REST channel's shape)."""

from datetime import datetime
from typing import Any

import pytest

from actions.answers import DetailAction, TopicAction, UnitAction
from actions.kantor import KantorAction
from bot.contacts import Contact
from bot.dialogue.action import ActionContext
from bot.dialogue.policy import next_action, unclear_topic
from bot.dialogue.state import ConversationState
from bot.knowledge.base import KnowledgeBase
from bot.messages import IncomingMessage, IntentScore, ParseResult, phone_lines
from bot.nlu.model import FALLBACK_INTENT, NLU
from bot.web import rest_payload
from tests.conftest import Conversation, MemoryBot


def parsed(*ranking: tuple[str, float], intent: str | None = None) -> ParseResult:
    scores = tuple(IntentScore(name, p) for name, p in ranking)
    top = IntentScore(intent, scores[0].confidence) if intent else scores[0]
    return ParseResult("teks", top, (), scores)


def context(kb: KnowledgeBase, parse: ParseResult,
            state: ConversationState | None = None) -> ActionContext:
    now = datetime(2026, 11, 21, 10, 0)
    return ActionContext(IncomingMessage("rest", "u", parse.text, now), parse,
                         state or ConversationState(), Contact("rest", "u"), kb, now)


def test_a_clear_unit_is_answered() -> None:
    parse = parsed(("jkk/perjalanan", 0.8), ("jkk/berobat", 0.1))
    assert unclear_topic(parse) is None
    assert next_action(ConversationState(), parse) == "action_unit"


def test_a_question_spread_over_units_of_one_topic_gets_the_overview() -> None:
    parse = parsed(("jkk/upah", 0.35), ("jkk/cacat", 0.3), ("jkk/berobat", 0.1),
                   ("cara_klaim", 0.1), intent=FALLBACK_INTENT)
    assert unclear_topic(parse) == "jkk"
    assert next_action(ConversationState(), parse) == "action_topic"


def test_units_of_different_topics_are_not_one_topic() -> None:
    parse = parsed(("jkk/upah", 0.35), ("jkm/jumlah", 0.3), ("cara_klaim", 0.2),
                   intent=FALLBACK_INTENT)
    assert unclear_topic(parse) is None
    assert next_action(ConversationState(), parse) == "action_fallback"


def test_a_core_intent_on_top_is_never_an_unclear_unit() -> None:
    assert unclear_topic(parsed(("cara_bayar", 0.4), ("bayar/sekaligus", 0.3),
                                ("bayar/autodebet", 0.3))) is None


async def test_the_overview_offers_the_likeliest_units(seed_kb: KnowledgeBase) -> None:
    parse = parsed(("jkk/upah", 0.35), ("jkk/cacat", 0.3), ("cara_klaim", 0.15),
                   ("jkk/berobat", 0.1), intent=FALLBACK_INTENT)
    result = await TopicAction().run(context(seed_kb, parse))
    (reply,) = result.replies
    assert reply.text == seed_kb.overview("jkk").text  # type: ignore[union-attr]
    assert [b.payload for b in reply.buttons] == ["/jkk/upah", "/jkk/cacat", "/jkk/berobat"]
    assert result.state.slots["program"] == "JKK"


async def test_a_unit_frames_the_follow_ups(seed_kb: KnowledgeBase) -> None:
    result = await UnitAction().run(context(seed_kb, parsed(("jht/kapan_cair", 0.9))))
    assert result.replies[0].text == seed_kb.answer("jht_kapan_cair").text
    assert (result.state.topic, result.state.slots["program"]) == ("klaim", "JHT")
    assert result.state.slots["answer"] == "jht_kapan_cair"


async def test_selengkapnya_shows_the_longer_version_of_the_last_answer(
        seed_kb: KnowledgeBase) -> None:
    state = ConversationState(slots={"answer": "jkk_beasiswa"})
    result = await DetailAction().run(context(seed_kb, parsed(("selengkapnya", 1.0)), state))
    (reply,) = result.replies
    assert reply.text == seed_kb.answer("jkk_beasiswa").detail
    assert "/selengkapnya" not in [b.payload for b in reply.buttons]
    nothing = await DetailAction().run(context(seed_kb, parsed(("selengkapnya", 1.0))))
    assert nothing.replies[0].text == seed_kb.answer("selengkapnya_tidak_ada").text


async def say(bot: MemoryBot, sender: str, text: str) -> list[dict[str, Any]]:
    """One message, the replies in the REST channel's shape (bot/web.py `rest_payload`)."""
    return rest_payload(sender, await Conversation(bot, sender).say(text))


def first_text(body: list[dict[str, object]]) -> str:
    return str(body[0]["text"])


@pytest.mark.parametrize(("message", "starts"), [
    ("klo jatuh dr motor pas nganter orderan ditanggung gak",
     "Ya, ditanggung JKK, termasuk perjalanan kerja"),
    ("aku bakul sayur nang pasar, iso melu bpjs tk ta?", "Iya, bisa"),
    ("lupa no kartu peserta", "Tidak apa-apa. Nomor kartu peserta (KPJ)"),
    ("mau tny jkm itu apa", "JKM (Jaminan Kematian) adalah santunan Rp42 juta"),
])
async def test_issue_examples_get_the_answer_to_what_was_asked(bot: MemoryBot, message: str,
                                                         starts: str) -> None:
    body = await say(bot, "pak_a", message)
    assert first_text(body).startswith(starts)
    assert phone_lines(first_text(body)) <= 8
    assert 1 <= len(body[0].get("buttons", [])) <= 3


async def test_joining_after_an_accident_is_not_cover_for_it(bot: MemoryBot) -> None:
    await say(bot, "nelayan", "kemarin sy kecelakaan pas nyari ikan, belum ikut bpjs")
    text = first_text(await say(bot, "nelayan", "klo daftar skrg trus bs diklaim gk"))
    assert text.startswith("Tidak, kecelakaan yang terjadi sebelum jadi peserta")


async def test_daftar_dong_starts_registration(bot: MemoryBot) -> None:
    body = await say(bot, "bu_b", "daftar dong")
    assert "JMO" in first_text(body)
    assert any(b["payload"] == "/minta_didata"  # type: ignore[index]
               for item in body for b in item.get("buttons", []))


async def test_a_unit_button_and_selengkapnya(bot: MemoryBot) -> None:
    overview = await say(bot, "ojol_c", '/tanya_manfaat{"program":"JKK"}')
    payloads = [b["payload"] for b in overview[0]["buttons"]]
    assert "/jkk/perjalanan" in payloads
    unit = first_text(await say(bot, "ojol_c", "/jkk/berobat"))
    assert unit.startswith("Ya, biaya berobat karena kecelakaan kerja ditanggung")
    detail = first_text(await say(bot, "ojol_c", "selengkapnya"))
    assert "Rp20 juta" in detail
    assert phone_lines(detail) > phone_lines(unit)


async def test_a_follow_up_after_a_unit_keeps_its_program(bot: MemoryBot) -> None:
    await say(bot, "pedagang_d", "jht bisa cair kapan")
    text = first_text(await say(bot, "pedagang_d", "lewat hp bisa?"))
    assert "Lapak Asik" in text  # the online claim answer, not registration


@pytest.mark.parametrize(("asks", "answer_id"), [
    (["/faq/penipuan"], "penipuan"), (["/telat_bayar"], "telat_bayar"),
    (["/tanya_iuran_pu"], "iuran_pu"), (["/cara_bayar", "lewat hp bisa?"], "bayar_online"),
])
async def test_a_long_answer_comes_short_and_selengkapnya_gives_the_rest(
        bot: MemoryBot, seed_kb: KnowledgeBase, asks: list[str], answer_id: str) -> None:
    sender = f"panjang_{answer_id}"
    for message in asks:
        body = await say(bot, sender, message)
    short = seed_kb.answer(answer_id)
    assert first_text(body) == short.text
    assert phone_lines(first_text(body)) <= 12
    assert "/selengkapnya" in [b["payload"] for b in body[0]["buttons"]]
    assert first_text(await say(bot, sender, "selengkapnya")) == short.detail


async def test_the_offices_found_are_worded_by_the_knowledge_base(
        seed_kb: KnowledgeBase, trained_model: NLU) -> None:
    edited = [a.model_copy(update={"text": "Kantor di {wilayah}:\n{kantor}"})
              if a.id == "kantor_ditemukan" else a for a in seed_kb.document.answers]
    kb = KnowledgeBase(seed_kb.document.model_copy(update={"answers": edited}))
    parse = trained_model.parse("kantor bpjs di blitar dimana")
    (reply,) = (await KantorAction().run(context(kb, parse))).replies
    assert reply.text.startswith("Kantor di ")
    assert "\n• *" in reply.text  # one `kantor_baris` line per office


# Claims per program, the JHT balance and offices are answers chosen by intent and program
# (klaim_<program>, cek_saldo, the offices found), not retrieval units.
@pytest.mark.parametrize(("message", "answer_id"), [
    ("cara klaim jkm buat ahli waris gimana", "klaim_jkm"),
    ("klaim jp karyawan gimana caranya", "klaim_jp"),
    ("ngurus klaim kecelakaan kerja mulai dari mana", "klaim_jkk"),
    ("cara klaim jht bpu", "klaim_jht"),
    ("cek saldo jht dimana", "cek_saldo"),
])
async def test_claims_per_program_and_the_balance(bot: MemoryBot, seed_kb: KnowledgeBase,
                                                  message: str, answer_id: str) -> None:
    body = await say(bot, f"klaim_{answer_id}", message)
    assert first_text(body) == seed_kb.answer(answer_id).text


# A worker often first says who and where they are, then asks (nlu_data/cerita.yml). None of
# these is a training sentence; the first is the message that got "belum paham".
@pytest.mark.parametrize(("message", "answer_id"), [
    ("aku nelayan nang Puger, wingi nyoba daftar nang jmo gak iso", "jmo_tidak_bisa_login"),
    ("aku sopir truk nang Gresik, bulan wingi kecelakaan pas nyetir, klaime piye", "klaim_jkk"),
    ("sy tukang cukur di Lumajang, klaim sy udah sebulan blm cair jg", "lama_klaim"),
    ("aku sopir angkot nang Malang wis 2 taun melok, kartune ilang, nomere lali",
     "jht_lupa_kartu"),
    ("saya penjual es keliling di Sumenep, mau tanya saldo jht saya sekarang berapa",
     "cek_saldo"),
    ("aku penjahit nang Tulungagung, wis rong wulan telat bayar iuran, kenek denda ta",
     "telat_bayar"),
    ("sy petani jagung di Kepanjen, mau tanya cara bayar iuran bpjs tk lewat mana ya", "bayar"),
    ("aku nelayan nang Puger, harga ikan tongkol saiki piro", "out_of_scope"),
])
async def test_the_question_after_who_and_where_is_answered(
        bot: MemoryBot, seed_kb: KnowledgeBase, message: str, answer_id: str) -> None:
    body = await say(bot, f"cerita_{answer_id}", message)
    assert first_text(body) == seed_kb.answer(answer_id).text


def test_who_and_where_alone_is_still_an_occupation_and_a_place(trained_model: NLU) -> None:
    parse = trained_model.parse("saya nelayan di Puger")
    assert parse.intent.name == "inform"
    assert {e.entity for e in parse.entities} >= {"pekerjaan", "wilayah"}
