"""Conversations through the engine on in-memory stores, as a worker on the REST channel has
them: the worker's situation, forms that hold, phone numbers, numbered menus, greetings and
repeats. (The REST contract itself is tests/test_rest.py's.)"""

import uuid

import pytest

from bot.__main__ import chat_pick, chat_shown
from bot.knowledge.base import KnowledgeBase
from bot.messages import phone_lines
from tests.conftest import Conversation, MemoryBot

MAX_LINES = 12


class Chat:
    """One worker on the REST channel: each reply's text, joined as a REST client shows them."""

    def __init__(self, bot: MemoryBot) -> None:
        self.bot = bot
        self.sender = f"w{uuid.uuid4().hex[:8]}"
        self.worker = Conversation(bot, self.sender, "rest")

    async def say(self, text: str, max_lines: int = MAX_LINES) -> str:
        texts = [reply.text for reply in await self.worker.say(text)]
        # every reply fits 12 lines of a 34-column phone (no worker here asked for detail)
        assert [phone_lines(t) for t in texts if phone_lines(t) > max_lines] == [], texts
        return "\n".join(texts)


@pytest.fixture
def chat(bot: MemoryBot) -> Chat:
    return Chat(bot)


def text_of(kb: KnowledgeBase, answer_id: str) -> str:
    return kb.answer(answer_id).text


# --- 4. the worker's situation ------------------------------------------------------------

async def test_daily_takings_are_confirmed_as_a_monthly_figure(chat: Chat) -> None:
    asked = await chat.say("iuran bpjs tk brp, penghasilan 50rb sehari")
    assert "Rp1.500.000 sebulan" in asked
    assert "betul" in asked.lower()
    fee = await chat.say("betul")
    assert "Rp1.500.000" in fee
    assert "Rp50.000/bulan" not in fee


async def test_a_no_to_the_estimate_asks_the_monthly_income(chat: Chat) -> None:
    await chat.say("iurane piro? sehari oleh 50rb")
    assert "sebulan" in await chat.say("bukan")
    assert "Rp2.000.000" in await chat.say("2 juta")


async def test_weekly_takings(chat: Chat) -> None:
    assert "Rp1.200.000 sebulan" in await chat.say("brp iurannya kalau seminggu dapat 300rb")


async def test_occupation_said_once_is_used_by_the_fee_and_not_asked_again(chat: Chat) -> None:
    await chat.say("aku nelayan")
    fee = await chat.say("iurane piro")
    assert "pekerja transportasi" not in fee  # only the fisherman's group
    await chat.say("/minta_didata")
    await chat.say("/setuju")
    asked = await chat.say("Pak Darto")
    assert "nelayan" in asked
    assert "pekerjaan bapak/ibu?" not in asked.lower()
    assert "kelurahan" in asked.lower()


async def test_income_given_once_is_used_later(chat: Chat) -> None:
    await chat.say("penghasilanku 3 juta sebulan, iurane piro")
    await chat.say("menu")
    assert "Rp3.000.000" in await chat.say("berapa iurannya")


async def test_a_member_is_not_offered_the_pendataan(chat: Chat, seed_kb: KnowledgeBase) -> None:
    offer = text_of(seed_kb, "daftar_tawaran")
    assert offer in await chat.say("/cara_daftar")
    await chat.say("aku wis dadi peserta kok")
    assert offer not in await chat.say("/cara_daftar")



@pytest.mark.parametrize("told", ["sy udah terdaftar jd peserta kok",
                                  "aku tukang becak, wis melu bpjs tk"])
async def test_a_member_who_says_so_is_not_told_how_to_join(
        chat: Chat, seed_kb: KnowledgeBase, told: str) -> None:
    reply = await chat.say(told)
    assert reply == text_of(seed_kb, "anggota_dicatat")
    assert "Daftar cukup" not in reply
    asked = await chat.say("aku udah jadi peserta, klaim jkk gimana?")  # a question: answered
    assert asked != text_of(seed_kb, "anggota_dicatat")
    assert "kecelakaan" in asked.lower()


@pytest.mark.parametrize(("before", "claim"), [
    ("suamiku meninggal kecelakaan kerja, santunannya brp", "klaim_jkk"),
    ("jkm itu santunan apa", "klaim_jkm"),
    ("jht bisa dicairkan kapan", "klaim_jht"),
])
async def test_requirements_after_a_program_are_that_claim_s_documents(
        chat: Chat, seed_kb: KnowledgeBase, before: str, claim: str) -> None:
    await chat.say(before)
    assert await chat.say("syarat e apa wae") == text_of(seed_kb, claim)
    # asked about registering, it is still registration's
    assert text_of(seed_kb, "daftar_syarat") in await chat.say("syarat ndaftar apa aja")


async def test_registering_in_jmo_that_fails_gets_help_and_the_offer_to_be_called(
        chat: Chat, seed_kb: KnowledgeBase) -> None:
    reply = await chat.say("sy mau daftar bpjs tk di jmo tapi gagal terus")
    assert text_of(seed_kb, "jmo_tidak_bisa_login") in reply
    assert "Tinggalkan nama dan nomor HP" in reply  # REST: staff call back instead


async def test_a_damaged_motorbike_is_not_said_to_be_covered(
        chat: Chat, seed_kb: KnowledgeBase) -> None:
    reply = await chat.say("aku kurir, tabrakan pas antar barang, motorku rusak parah, diganti?")
    assert not reply.startswith("Ya,")
    assert reply == text_of(seed_kb, "motor_rusak")
    # the accident itself still is; asked together, the answer says the bike is not
    accident = await chat.say("kalo jatuh pas lagi ngojek ditanggung?")
    assert accident.startswith("Ya, ditanggung")
    both = await chat.say("pas nganter order aku keserempet, motor penyok, ditanggung gak")
    assert both.startswith("Ya, ditanggung")
    assert "Kerusakan motor tidak ditanggung" in both

# --- 5. forms that hold -------------------------------------------------------------------

async def _start_pendataan(chat: Chat) -> None:
    await chat.say("/minta_didata")
    await chat.say("/setuju")


async def test_a_question_inside_the_pendataan_is_answered_and_the_form_resumes(chat: Chat) -> None:
    await _start_pendataan(chat)
    await chat.say("Slamet")
    reply = await chat.say("lho iurane nelayan piro?")
    assert "Rp" in reply  # the fee question got its answer
    assert "lanjutkan pendataan" in reply
    assert "nelayan" in reply  # the occupation he just gave is not asked again
    assert "kelurahan" in reply.lower()
    assert "nomor hp" in (await chat.say("Kel. Ketabang, Kec. Genteng")).lower()
    done = await chat.say("0812 3344 556")
    assert "Slamet" in done
    assert "0812-3344-556" in done


async def test_an_occupation_given_for_the_area_is_not_stored_as_the_area(chat: Chat) -> None:
    await _start_pendataan(chat)
    await chat.say("Slamet")
    await chat.say("petani")
    again = await chat.say("aku nelayan")  # answers the question before, not "where"
    assert "Pekerjaan saya catat: nelayan" in again
    assert "kelurahan dan kecamatan mana?" in again  # (the question itself said just before)
    assert "nomor hp" in (await chat.say("Kampung Nelayan, Kec. Puger")).lower()
    done = await chat.say("0812 3344 5566")
    assert "Wilayah: Kampung Nelayan, Kec. Puger" in done
    lead = chat.bot.leads.leads[("rest", chat.sender)]
    assert (lead.pekerjaan, lead.wilayah) == ("nelayan", "Kampung Nelayan, Kec. Puger")


@pytest.mark.parametrize("shape", ["0812-3344-5566", "0812.3344.5566", "+62 812 3344 5566",
                                   "6281233445566", "08123344 5566"])
async def test_phone_shapes_are_accepted_and_stored_normalised(
        chat: Chat, shape: str) -> None:
    await _start_pendataan(chat)
    await chat.say("Siti")
    await chat.say("pedagang pasar")
    await chat.say("Kel. Ketabang")
    assert "0812-3344-5566" in await chat.say(shape)
    assert chat.bot.leads.leads[("rest", chat.sender)].telepon == "6281233445566"


async def test_a_refused_phone_number_says_why(chat: Chat) -> None:
    await _start_pendataan(chat)
    await chat.say("Siti")
    await chat.say("petani")
    await chat.say("Desa Sumberejo")
    short = await chat.say("0812 3344")
    assert "8 angka" in short
    assert "10 sampai 13" in short
    assert "diawali 08" in await chat.say("031 5678 9012")
    assert "Siti" in await chat.say("0812 3344 5566")


@pytest.mark.parametrize("word", ["batal", "gak jadi", "ojo wes"])
async def test_cancel_words_end_the_form_and_keep_nothing(chat: Chat, word: str) -> None:
    await _start_pendataan(chat)
    await chat.say("Siti")
    assert "dibatalkan" in await chat.say(word)
    assert "Siti" not in await chat.say("petani")


async def test_leaving_the_form_is_confirmed_first(chat: Chat, seed_kb: KnowledgeBase) -> None:
    await _start_pendataan(chat)
    await chat.say("Siti")
    assert await chat.say("menu") == text_of(seed_kb, "pendataan_tinggalkan_tanya")
    reply = await chat.say("/setuju")  # "Ya, tinggalkan"
    assert text_of(seed_kb, "pendataan_ditinggalkan") in reply
    assert "1. Iuran" in reply
    assert "nama" not in (await chat.say("petani")).lower()  # the form is gone


@pytest.mark.parametrize("carry_on", ["/tidak_setuju", "lanjut", "gak, lanjutkan aja"])
async def test_carrying_on_after_the_leave_question_resumes_the_form(
        chat: Chat, seed_kb: KnowledgeBase, carry_on: str) -> None:
    await _start_pendataan(chat)
    await chat.say("Siti")
    await chat.say("menu")
    reply = await chat.say(carry_on)
    assert text_of(seed_kb, "pendataan_lanjut") in reply
    assert text_of(seed_kb, "pendataan_pekerjaan") in reply  # the pending question again
    await chat.say("petani")
    await chat.say("Desa Sumberejo")
    assert "Siti" in await chat.say("0812 3344 5566")  # the lead is complete


async def test_answering_the_form_instead_keeps_it(chat: Chat, seed_kb: KnowledgeBase) -> None:
    await _start_pendataan(chat)
    await chat.say("Siti")
    await chat.say("menu")
    assert text_of(seed_kb, "pendataan_wilayah") in await chat.say("pedagang pasar")
    await chat.say("Kel. Ketabang")
    assert "Siti" in await chat.say("0812 3344 5566")


async def test_a_cancel_word_at_the_leave_question_cancels(chat: Chat) -> None:
    await _start_pendataan(chat)
    await chat.say("Siti")
    await chat.say("menu")
    assert "dibatalkan" in await chat.say("ojo wes")


@pytest.mark.parametrize(("step", "question", "pending"), [
    (["Slamet"], "lho iurane nelayan piro?", "pendataan_wilayah"),
    (["Slamet"], "iuran petani sebulan brp?", "pendataan_wilayah"),
    (["Slamet", "nelayan"], "lha iuran jkk jkm piro to?", "pendataan_wilayah"),
    (["Slamet", "nelayan", "Kel. Puger"], "bayar iurannya dimana?", "pendataan_telepon"),
])
async def test_a_fee_question_at_any_step_is_answered_and_the_form_resumes(
        chat: Chat, seed_kb: KnowledgeBase, step: list[str], question: str,
        pending: str) -> None:
    await _start_pendataan(chat)
    for answer in step:
        await chat.say(answer)
    reply = await chat.say(question)
    assert text_of(seed_kb, "pendataan_lanjut") in reply
    assert text_of(seed_kb, pending) in reply
    assert reply.index(text_of(seed_kb, "pendataan_lanjut")) > 0  # the answer comes first


async def test_minta_dihubungi_petugas_offers_the_pendataan(chat: Chat, seed_kb: KnowledgeBase,
                                                      ) -> None:
    reply = await chat.say("minta dihubungi petugas")
    assert reply == text_of(seed_kb, "pendataan_persetujuan")
    assert "nama" in (await chat.say("setuju")).lower()


# --- 6. numbered lists --------------------------------------------------------------------

async def test_menu_numbers_answer_the_menu(chat: Chat, seed_kb: KnowledgeBase) -> None:
    await chat.say("menu")
    assert await chat.say("5") == text_of(seed_kb, "klaim_umum")
    await chat.say("menu")
    assert text_of(seed_kb, "kantor_umum") in await chat.say("7")
    # the menu is still the last list
    assert text_of(seed_kb, "minta_petugas") in await chat.say("8")


async def test_a_number_without_a_list_is_not_a_menu_pick(chat: Chat,
                                                          seed_kb: KnowledgeBase) -> None:
    assert await chat.say("5") != text_of(seed_kb, "klaim_umum")


async def test_in_the_terminal_chat_menu_numbers_stay_the_menu_and_buttons_follow_it(
        chat: Chat, seed_kb: KnowledgeBase) -> None:
    lines, first, buttons = chat_shown(await chat.worker.say("menu"))
    assert first == 9  # after the menu's 8 items
    assert "   [9] " + seed_kb.answer("menu").buttons[0].title in lines
    assert chat_pick("2", first, buttons) == "2"  # the menu's item, not the second button
    assert await chat.say("2") == text_of(seed_kb, "manfaat_umum")
    assert chat_pick("9", first, buttons) == seed_kb.answer("menu").buttons[0].payload
    lines, first, buttons = chat_shown(await chat.worker.say("jkm itu apa"))  # no list
    assert first == 1
    assert chat_pick(" 1 ", first, buttons) == buttons[0]


# --- 8. tone ------------------------------------------------------------------------------

async def test_salam_gets_its_answer(chat: Chat) -> None:
    assert (await chat.say("assalamualaikum")).startswith("Waalaikumsalam")


async def test_salam_before_a_question_is_answered_too(chat: Chat) -> None:
    reply = await chat.say("Assalamualaikum min, iuran ojol brp?")
    assert reply.startswith("Waalaikumsalam")
    assert "Rp" in reply


async def test_no_paragraph_repeated_in_consecutive_fee_replies(chat: Chat) -> None:
    first = await chat.say("brp iuran ojol kalau penghasilan 2 juta")
    second = await chat.say("eh 3 juta maksudnya")
    repeated = [line for line in second.split("\n")
                if len(line) >= 40 and not line.startswith("•") and line in first.split("\n")]
    assert repeated == []
    assert "Rp3.000.000" in second


async def test_trus_aku_kudu_piye_after_the_scam_warning(chat: Chat,
                                                        seed_kb: KnowledgeBase) -> None:
    warning = await chat.say(
        "ada orang ngaku petugas bpjs minta aku transfer duit, iku penipuan ta?")
    assert warning == text_of(seed_kb, "penipuan")
    assert await chat.say("trus aku kudu piye") == text_of(seed_kb, "penipuan_langkah")


@pytest.mark.parametrize("before", [[], ["halo"], ["/cara_bayar"]])
@pytest.mark.parametrize("vague", ["trus aku kudu piye", "terus saya harus gimana?"])
async def test_what_now_without_a_next_step_is_asked_back(
        chat: Chat, seed_kb: KnowledgeBase, before: list[str], vague: str) -> None:
    for message in before:
        await chat.say(message)
    assert await chat.say(vague) == text_of(seed_kb, "tanya_maksud")
