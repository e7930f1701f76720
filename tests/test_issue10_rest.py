"""Issue 10 over the REST channel (Rasa's contract), with the clock fixed on chosen days.

One test (or a few) per numbered item of the issue: every rupiah right on every day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date, datetime

import pytest
from starlette.testclient import TestClient

from bot.app import JAKARTA, open_runtime
from bot.nlu.model import NLU
from bot.settings import Settings
from bot.web import create_app
from tests.conftest import publish_model

URL = "/webhooks/rest/webhook"


class Worker:
    """One sender talking to the REST channel of a bot whose clock is on one day."""

    def __init__(self, client: TestClient, sender: str) -> None:
        self.client = client
        self.sender = sender

    def say(self, text: str) -> str:
        response = self.client.post(URL, json={"sender": self.sender, "message": text})
        assert response.status_code == 200, response.text
        return "\n".join(m.get("text", "") for m in response.json())


@pytest.fixture
def on_day(settings: Settings, redis_url: str, prefix: str, model_blob: bytes,
           trained_model: NLU) -> Iterator[Callable[[date], Worker]]:
    """`on_day(date(2026, 11, 30))`: a worker talking to a bot whose clock is on that day."""
    asyncio.run(publish_model(redis_url, prefix, model_blob, trained_model.fingerprint))
    clients: list[TestClient] = []

    def open_on(day: date) -> Worker:
        now = datetime(day.year, day.month, day.day, 10, 0, tzinfo=JAKARTA)
        client = TestClient(create_app(settings, runtime=lambda s: open_runtime(
            s, clock=lambda: now)))
        client.__enter__()
        clients.append(client)
        return Worker(client, f"w{len(clients)}")

    yield open_on
    for client in clients:
        client.__exit__(None, None, None)


# 1. Multi-month totals follow each month's rule.
def test_1_pedagang_twelve_months_on_30_november_2026(on_day: Callable[[date], Worker]) -> None:
    worker = on_day(date(2026, 11, 30))
    worker.say("saya pedagang, bayar 12 bulan berapa")
    text = worker.say("1 juta")
    assert "Des 2026 Rp8.400 + Jan-Nov 2027 11 x Rp16.800 = *Rp193.200*" in text
    assert "mulai Des 2026" in text
    assert "Rp100.800" not in text


def test_1_pedagang_twelve_months_on_15_march_2026(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 3, 15)).say("iuran pedagang 12 bulan kalau penghasilan 1 juta")
    assert "*Rp126.000*" in text
    assert "Rp201.600" not in text


def test_1_ojol_six_months_on_31_december_2026(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 12, 31)).say("iuran ojol 6 bulan penghasilan 1 juta")
    assert "Jan-Mar 2027 3 x Rp8.400 + Apr-Jun 2027 3 x Rp16.800 = *Rp75.600*" in text


# 2. A death in a work accident is JKK, computed from the bracket.
def test_2_death_in_a_work_accident_is_jkk(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 30)).say("ojol meninggal kecelakaan pas narik")
    assert "kecelakaan kerja" in text
    assert "48 kali" in text
    assert "Rp70 juta" in text
    assert "Beasiswa 2 anak (tanpa syarat)" in text
    assert "Rp42 juta" not in text
    assert "3 tahun" not in text


def test_2_jkk_death_amount_for_the_workers_own_bracket(on_day: Callable[[date], Worker],
                                                        ) -> None:
    worker = on_day(date(2026, 11, 30))
    worker.say("penghasilan saya 25 juta sebulan, iurannya berapa")
    text = worker.say("ojol meninggal kecelakaan pas narik")
    # 48 x Rp20.700.000 (top bracket) + Rp12.000.000 + Rp10.000.000
    assert "*Rp1.015.600.000*" in text


# 3. A named month gets that month's rule.
def test_3_named_month(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 21)).say("iuran pedagang Januari 2027")
    assert "Januari 2027" in text
    assert "*Rp16.800*" in text
    assert "*Rp8.400*" not in text


# 4. The worker's own group.
def test_4_no_occupation_in_2027_is_told_who_still_gets_the_discount(
        on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2027, 2, 10)).say("brp iuran bpjs tk")
    assert "hanya ojol, ojek, sopir, kurir" in text
    assert "*Rp8.400*" not in text


def test_4_an_ojol_sees_only_the_transport_period(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 21)).say("saya ojol, iurannya berapa")
    assert "Maret 2027" in text
    assert "Desember 2026" not in text
    assert "Des 2026" not in text


# 5. Contribution figures are not incomes.
@pytest.mark.parametrize("message", ["16.800 itu sebulan apa setahun", "36rb", "15.600"])
def test_5_fee_figures_are_not_incomes(on_day: Callable[[date], Worker], message: str) -> None:
    worker = on_day(date(2026, 11, 21))
    worker.say("berapa iurannya")
    text = worker.say(message)
    assert "penghasilan Rp16.800" not in text
    assert "penghasilan Rp36.000" not in text
    assert "15.600" not in text
    assert "Penghasilan Rp" not in text


def test_5_sebulan_apa_setahun_is_answered(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 21)).say("16.800 itu sebulan apa setahun")
    assert "Rp16.800 itu iuran *per bulan*" in text


# 6. Late payment never implies cover during arrears.
def test_6_arrears_then_an_accident(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 30)).say("nunggak 2 bulan terus kecelakaan, ditanggung?")
    assert "belum tentu ditanggung" in text
    assert "175" in text
    assert not text.lower().startswith("ya")


# 7. Smaller corrections.
def test_7_jp_monthly_benefit_gives_no_amount(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 30)).say("manfaat JP berapa sebulan")
    assert "Rp" not in text
    assert "175" in text
    assert "tidak bisa ikut JP" in text


def test_7_jp_is_closed_to_bpu(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 30)).say("iuran JP buat BPU")
    assert "JP" in text
    assert "tidak" in text.lower()
    assert "Rp16.800" not in text


def test_7_an_employer_pays_a_fine(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 30)).say("perusahaan telat bayar iuran kena denda?")
    assert "2% per bulan" in text


def test_7_old_addresses_show_their_age(on_day: Callable[[date], Worker]) -> None:
    text = on_day(date(2026, 11, 30)).say("kantor bpjs tuban dimana")
    assert "Jl. Dr. Wahidin Sudiro Husodo" in text
    assert "menurut berita 2014" in text
    assert "175" in text
