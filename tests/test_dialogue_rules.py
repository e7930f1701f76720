"""Pure dialogue rules as plain functions: phone numbers, picks, cancel words, takings, tone."""

from dataclasses import replace

import pytest

from bot.dialogue.choices import picked
from bot.dialogue.policy import carries_on, is_cancel, is_what_now, next_action
from bot.dialogue.situation import membership
from bot.dialogue.state import ConversationState, Form, Offer
from bot.dialogue.tone import is_salam, said, without_repeats
from bot.knowledge.base import KnowledgeBase, fill
from bot.messages import IntentScore, ParseResult, Reply, phone_lines
from bot.nlu.numbers import Period, earning_period, find_money, per_month
from bot.nlu.phone import PhoneProblem, check_phone, find_phone


@pytest.mark.parametrize("written", [
    "0812 3344 5566", "0812-3344-5566", "0812.3344.5566", "+62 812 3344 5566",
    "6281233445566", "+62-812-3344-5566", "(0812) 33445566", "081233445566", "812 3344 5566",
])
def test_every_common_shape_is_one_number(written: str) -> None:
    assert check_phone(written).international == "6281233445566"


def test_eleven_digits_is_a_telkomsel_number() -> None:
    # 0812 numbers issued before ~2005 have 11 digits; mobile numbers have 10 to 13
    phone = check_phone("0812 3344 556")
    assert phone.international == "628123344556"
    assert phone.local == "0812-3344-556"


@pytest.mark.parametrize(("written", "problem"), [
    ("0812 3344", PhoneProblem.TOO_SHORT), ("0812 3344 5566 778", PhoneProblem.TOO_LONG),
    ("031 5678 901", PhoneProblem.NOT_MOBILE), ("0800 1234 567", PhoneProblem.NOT_MOBILE),
    ("0861 2345 6789", PhoneProblem.NOT_MOBILE),
])
def test_a_refused_number_has_its_reason(written: str, problem: PhoneProblem) -> None:
    phone = check_phone(written)
    assert (phone.international, phone.problem) == (None, problem)


def test_phone_found_in_a_sentence_but_money_is_not_a_phone() -> None:
    found = find_phone("nomer ku 0812-3344-5566 mas")
    assert found is not None
    assert found.international == "6281233445566"
    assert find_phone("iuran Rp16.800 sebulan") is None
    assert find_phone("Rp 25.000.000") is None


@pytest.mark.parametrize(("text", "payload"), [
    ("5", "/e"), ("7", "/g"), (" 5. ", "/e"), ("no 5", "/e"), ("pilih 2", "/b"),
    ("nomor 8 aja", "/h"), ("9", None), ("0", None), ("5 juta", None), ("halo", None),
])
def test_a_number_picks_from_the_last_list(text: str, payload: str | None) -> None:
    assert picked(text, ("/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h")) == payload


def test_a_number_without_a_list_is_just_text() -> None:
    assert picked("5", ()) is None


@pytest.mark.parametrize("text", ["batal", "Batal!", "gak jadi", "ga jadi deh", "ojo wes",
                                  "ora sido", "nggak jadi mas", "ya batal aja", "tidak usah"])
def test_cancel_words(text: str) -> None:
    assert is_cancel(text)


@pytest.mark.parametrize("text", ["jadi", "batal bayar bisa?", "nelayan", "saya tidak tahu"])
def test_not_cancel(text: str) -> None:
    assert not is_cancel(text)


@pytest.mark.parametrize(("text", "period"), [
    ("50rb sehari", Period.DAY), ("sehari dapet 50rb", Period.DAY),
    ("penghasilan 300 ribu per minggu", Period.WEEK), ("sak dino 75rb", Period.DAY),
    ("seminggu 400rb", Period.WEEK), ("2 juta sebulan", None), ("2 juta", None),
    ("50rb per bulan", None),
])
def test_takings_period(text: str, period: Period | None) -> None:
    money = find_money(text)[0]
    assert earning_period(text, money.start, money.end) == period


def test_daily_takings_make_a_monthly_estimate() -> None:
    assert per_month(50_000, Period.DAY) == 1_500_000
    assert per_month(300_000, Period.WEEK) == 1_200_000


@pytest.mark.parametrize(("text", "member"), [
    ("aku wis dadi peserta", True), ("sy sudah terdaftar", True),
    ("saya belum daftar bpjs", False), ("durung melu", False), ("iuran berapa", None),
])
def test_membership(text: str, member: bool | None) -> None:
    assert membership(text) is member


@pytest.mark.parametrize("text", ["assalamualaikum", "Assalamu'alaikum min", "asalamualaikum",
                                  "ass wr wb", "Assalamualaikum, iuran ojol brp?"])
def test_salam(text: str) -> None:
    assert is_salam(text)


def test_not_salam() -> None:
    assert not is_salam("halo min")


def test_phone_lines_wrap_at_34_columns() -> None:
    assert phone_lines("a") == 1
    assert phone_lines("kata " * 14) == 2  # 70 characters
    assert phone_lines("satu\n\ndua") == 3


def test_a_paragraph_is_not_repeated_in_the_next_reply() -> None:
    discount = "Diskon berlaku untuk pekerja transportasi sampai Maret 2027."
    first = [Reply(f"Iuran untuk penghasilan Rp2.000.000 sebulan ada di bawah ini:\n{discount}")]
    second = [Reply(f"Iuran untuk penghasilan Rp3.000.000 sebulan ada di bawah ini:\n{discount}")]
    again = without_repeats(second, said(first))
    assert discount not in again[0].text
    assert "Rp3.000.000" in again[0].text


def test_the_same_question_again_gets_the_whole_answer() -> None:
    reply = [Reply("Iuran termurah pekerja mandiri Rp16.800 sebulan untuk JKK dan JKM.\n• x")]
    assert without_repeats(reply, said(reply)) == reply


def test_placeholders_are_filled_and_unknown_ones_stay() -> None:
    assert fill("Terima kasih, {nama}. {lain}", {"nama": "Siti"}) == "Terima kasih, Siti. {lain}"


def test_every_dialogue_text_fits_a_phone_screen(seed_kb: KnowledgeBase) -> None:
    texts = [a for a in seed_kb.document.answers if a.intent == "teks"]
    assert len(texts) > 20
    too_long = [a.id for a in texts if phone_lines(a.text) > 8]
    assert too_long == []


@pytest.mark.parametrize(("text", "asks"), [
    ("trus aku kudu piye", True), ("terus harus gimana?", True), ("lha sy hrs ngapain", True),
    ("kudu piye saiki", True), ("apa", False), ("apa itu jkm", False), ("iuran piye", False),
])
def test_what_now(text: str, asks: bool) -> None:
    assert is_what_now(text) is asks


@pytest.mark.parametrize(("text", "carries"), [
    ("lanjut", True), ("lanjutkan", True), ("gak, lanjutkan aja", True), ("terus aja", True),
    ("gak", True), ("tidak dulu", True), ("ya", False), ("menu", False), ("lanjut kerja", False),
])
def test_carry_on_words(text: str, carries: bool) -> None:
    assert carries_on(text) is carries


def _parse(intent: str, text: str = "teks") -> ParseResult:
    return ParseResult(text, IntentScore(intent, 1.0), (), (IntentScore(intent, 1.0),))


def test_leaving_the_pendataan_is_asked_but_erasure_and_opt_out_never_wait() -> None:
    form = ConversationState(form=Form.PENDATAAN, requested="pekerjaan")
    assert next_action(form, _parse("menu")) == "action_tinggalkan"
    asked = replace(form, offer=Offer.TINGGALKAN)
    assert next_action(asked, _parse("setuju")) == "action_menu"
    assert next_action(asked, _parse("menu")) == "action_menu"
    assert next_action(asked, _parse("tidak_setuju")) == "action_tinggalkan"
    assert next_action(asked, _parse("inform", "petani")) == "action_pendataan"
    assert next_action(form, _parse("hapus_data")) == "action_hapus_data"
    assert next_action(form, _parse("berhenti_langganan")) == "action_berhenti"


def test_what_now_with_no_step_is_asked_back_whatever_the_classifier_says() -> None:
    vague = _parse("telat_bayar", "trus aku kudu piye")
    assert next_action(ConversationState(), vague) == "action_tanya_maksud"
    after = ConversationState(next_step="penipuan_langkah")
    assert next_action(after, vague) == "action_langkah"
