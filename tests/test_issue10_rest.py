"""Issue 10 through the engine on in-memory stores, with the clock fixed on chosen days.

One test (or a few) per numbered item of the issue: every rupiah right on every day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from bot.app import JAKARTA
from bot.knowledge.base import KnowledgeBase
from bot.nlu.model import NLU
from tests.conftest import Conversation, memory_bot

OnDay = Callable[[date], Conversation]


@pytest.fixture
def on_day(trained_model: NLU, seed_kb: KnowledgeBase) -> OnDay:
    """`on_day(date(2026, 11, 30))`: a worker talking to a bot whose clock is on that day."""

    def open_on(day: date) -> Conversation:
        now = datetime(day.year, day.month, day.day, 10, 0, tzinfo=JAKARTA)
        return Conversation(memory_bot(trained_model, seed_kb, lambda: now))

    return open_on


# 1. Multi-month totals follow each month's rule.
async def test_1_pedagang_twelve_months_on_30_november_2026(on_day: OnDay) -> None:
    worker = on_day(date(2026, 11, 30))
    await worker.text("saya pedagang, bayar 12 bulan berapa")
    text = await worker.text("1 juta")
    assert "Des 2026 Rp8.400 + Jan-Nov 2027 11 x Rp16.800 = *Rp193.200*" in text
    assert "mulai Des 2026" in text
    assert "Rp100.800" not in text


async def test_1_pedagang_twelve_months_on_15_march_2026(on_day: OnDay) -> None:
    text = await on_day(date(2026, 3, 15)).text("iuran pedagang 12 bulan kalau penghasilan 1 juta")
    assert "*Rp126.000*" in text
    assert "Rp201.600" not in text


async def test_1_ojol_six_months_on_31_december_2026(on_day: OnDay) -> None:
    text = await on_day(date(2026, 12, 31)).text("iuran ojol 6 bulan penghasilan 1 juta")
    assert "Jan-Mar 2027 3 x Rp8.400 + Apr-Jun 2027 3 x Rp16.800 = *Rp75.600*" in text


# 2. A death in a work accident is JKK, computed from the bracket.
async def test_2_death_in_a_work_accident_is_jkk(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 30)).text("ojol meninggal kecelakaan pas narik")
    assert "kecelakaan kerja" in text
    assert "48 kali" in text
    assert "Rp70 juta" in text
    assert "Beasiswa 2 anak (tanpa syarat)" in text
    assert "Rp42 juta" not in text
    assert "3 tahun" not in text


async def test_2_jkk_death_amount_for_the_workers_own_bracket(on_day: OnDay,
                                                        ) -> None:
    worker = on_day(date(2026, 11, 30))
    await worker.text("penghasilan saya 25 juta sebulan, iurannya berapa")
    text = await worker.text("ojol meninggal kecelakaan pas narik")
    # 48 x Rp20.700.000 (top bracket) + Rp12.000.000 + Rp10.000.000
    assert "*Rp1.015.600.000*" in text


# 3. A named month gets that month's rule.
async def test_3_named_month(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 21)).text("iuran pedagang Januari 2027")
    assert "Januari 2027" in text
    assert "*Rp16.800*" in text
    assert "*Rp8.400*" not in text


# 4. The worker's own group.
async def test_4_no_occupation_in_2027_is_told_who_still_gets_the_discount(
        on_day: OnDay) -> None:
    text = await on_day(date(2027, 2, 10)).text("brp iuran bpjs tk")
    assert "hanya ojol, ojek, sopir, kurir" in text
    assert "*Rp8.400*" not in text


async def test_4_an_ojol_sees_only_the_transport_period(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 21)).text("saya ojol, iurannya berapa")
    assert "Maret 2027" in text
    assert "Desember 2026" not in text
    assert "Des 2026" not in text


# 5. Contribution figures are not incomes.
@pytest.mark.parametrize("message", ["16.800 itu sebulan apa setahun", "36rb", "15.600"])
async def test_5_fee_figures_are_not_incomes(on_day: OnDay, message: str) -> None:
    worker = on_day(date(2026, 11, 21))
    await worker.text("berapa iurannya")
    text = await worker.text(message)
    assert "penghasilan Rp16.800" not in text
    assert "penghasilan Rp36.000" not in text
    assert "15.600" not in text
    assert "Penghasilan Rp" not in text


async def test_5_sebulan_apa_setahun_is_answered(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 21)).text("16.800 itu sebulan apa setahun")
    assert "Rp16.800 itu iuran *per bulan*" in text


# 6. Late payment never implies cover during arrears.
async def test_6_arrears_then_an_accident(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 30)).text("nunggak 2 bulan terus kecelakaan, ditanggung?")
    assert "belum tentu ditanggung" in text
    assert "175" in text
    assert not text.lower().startswith("ya")


# 7. Smaller corrections.
async def test_7_jp_monthly_benefit_gives_no_amount(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 30)).text("manfaat JP berapa sebulan")
    assert "Rp" not in text
    assert "175" in text
    assert "tidak bisa ikut JP" in text


async def test_7_jp_is_closed_to_bpu(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 30)).text("iuran JP buat BPU")
    assert "JP" in text
    assert "tidak" in text.lower()
    assert "Rp16.800" not in text


async def test_7_an_employer_pays_a_fine(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 30)).text("perusahaan telat bayar iuran kena denda?")
    assert "2% per bulan" in text


async def test_7_old_addresses_show_their_age(on_day: OnDay) -> None:
    text = await on_day(date(2026, 11, 30)).text("kantor bpjs tuban dimana")
    assert "Jl. Dr. Wahidin Sudiro Husodo" in text
    assert "menurut berita 2014" in text
    assert "175" in text
