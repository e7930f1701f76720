"""SAPA_TODAY, `--today` and the console's what-if date: every path answers as on that day."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date

import pytest
from starlette.testclient import TestClient

from bot.__main__ import build_parser, main
from bot.app import JAKARTA, clock_on, open_runtime
from bot.nlu.model import NLU
from bot.settings import Settings
from bot.web import create_app
from tests.conftest import login, publish_model

REST = "/webhooks/rest/webhook"


def test_sapa_today_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAPA_TODAY", "2027-01-05")
    assert Settings().sapa_today == date(2027, 1, 5)
    monkeypatch.delenv("SAPA_TODAY")
    assert Settings().sapa_today is None


def test_the_clock_is_that_day_in_wib() -> None:
    now = clock_on(date(2027, 1, 5))()
    assert now.date() == date(2027, 1, 5)
    assert now.tzinfo == JAKARTA


def test_today_flag_on_serve_and_chat() -> None:
    assert build_parser().parse_args(["chat", "--today", "2027-01-01"]).today == date(2027, 1, 1)
    assert build_parser().parse_args(["serve", "--today", "2026-03-15"]).today == date(2026, 3,
                                                                                        15)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chat", "--today", "1 Januari"])


def test_a_bad_sapa_today_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAPA_TODAY", "2027-13-01")
    assert main(["faq", "list"]) == 2
    assert "SAPA_TODAY" in capsys.readouterr().err


@pytest.fixture
def rest_2027(settings: Settings, redis_url: str, prefix: str, model_blob: bytes,
              trained_model: NLU) -> Iterator[TestClient]:
    """The REST channel of a process started with SAPA_TODAY=2027-01-05 (no clock injected)."""
    asyncio.run(publish_model(redis_url, prefix, model_blob, trained_model.fingerprint))
    on_day = settings.model_copy(update={"sapa_today": date(2027, 1, 5)})
    with TestClient(create_app(on_day, runtime=open_runtime)) as test_client:
        yield test_client


def test_a_process_answers_as_on_sapa_today(rest_2027: TestClient) -> None:
    body = rest_2027.post(REST, json={"sender": "sari", "message":
                                      "sy pedagang, iurannya berapa"}).json()
    text = "\n".join(m["text"] for m in body)
    assert "*Rp16.800*" in text
    assert "berakhir Desember 2026" in text
    assert "*Rp8.400*" not in text


def test_the_console_try_box_takes_a_date(console_client: TestClient) -> None:
    client = console_client
    login(client)
    question = {"q": "saya ojol, iurannya berapa"}
    during = client.get("/admin/api/try", params={**question, "tanggal": "2027-03-01"}).json()
    after = client.get("/admin/api/try", params={**question, "tanggal": "2027-04-02"}).json()
    assert "Rp8.400" in during["replies"][0]["text"]
    assert "Rp8.400" not in after["replies"][0]["text"]
    assert after["on"] == "2027-04-02"
    page = client.get("/admin/faq", params={"coba": question["q"], "tanggal": "2027-04-02"})
    assert 'value="2027-04-02"' in page.text
    bad = client.get("/admin/api/try", params={**question, "tanggal": "besok"})
    assert bad.status_code == 422
    assert "TTTT-BB-HH" in bad.json()["error"]
