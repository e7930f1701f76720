"""The publishing guard: no unsourced figure, expired fact or dead button reaches a worker.

Pure checks of `publishing_problems`, the shipped knowledge base under the same check, and the
issue's example refused on every write path: the console form, the JSON API and `faq import`.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
import yaml
from redis.asyncio import Redis
from starlette.testclient import TestClient

from bot.__main__ import main
from bot.dialogue.policy import INTENT_ACTIONS
from bot.keys import Keys
from bot.knowledge.base import AnswerModel, KnowledgeDocument, load_seed
from bot.knowledge.guard import publishing_problems, stated_figures
from bot.nlu.model import NLU
from tests.conftest import login, page_csrf, publish_model

DAY = date(2026, 11, 30)
INVENTED = {"id": "iuran_pasar", "intent": "faq/iuran_pasar",
            "text": "Iuran di pasar cukup Rp25.000 sebulan, diskon 30%",
            "buttons": [{"title": "Daftar di pasar", "payload": "/daftar_pasar"}],
            "questions": ["iuran di pasar berapa", "bayar iuran pasar", "iuran pedagang pasar"],
            "facts": []}


def problems(answer: dict[str, object], document: KnowledgeDocument | None = None) -> list[str]:
    return publishing_problems(AnswerModel.model_validate(answer), document or load_seed(),
                               DAY, INTENT_ACTIONS)


def test_the_issue_example_is_refused_with_every_problem() -> None:
    found = problems(INVENTED)
    assert len(found) == 3
    assert any("Rp25.000" in p for p in found)
    assert any("30%" in p for p in found)
    assert any("/daftar_pasar" in p for p in found)


def test_the_shipped_knowledge_base_passes() -> None:
    document = load_seed()
    refused = {a.id: publishing_problems(a, document, DAY, INTENT_ACTIONS)
               for a in document.answers}
    assert {k: v for k, v in refused.items() if v} == {}


def test_figures_match_by_value_across_ways_of_writing() -> None:
    ok = {**INVENTED, "text": "Santunan Rp42 juta, dibayar sekaligus.", "buttons": [],
          "facts": ["jkm_benefit_total"]}
    assert problems(ok) == []
    report = {**ok, "text": "Lapor paling lambat 2x24 jam.", "facts": ["klaim_jkk_bpu"]}
    assert problems(report) == []
    assert stated_figures("usia 56 tahun, 0,24% dan Rp1,5 juta") == [
        ("Rp1,5 juta", 1_500_000), ("0,24%", 0.24), ("usia 56", 56), ("56 tahun", 56)]


def test_an_outdated_figure_in_a_facts_note_is_not_a_source() -> None:
    old = {**INVENTED, "text": "Santunan JKM Rp24 juta.", "buttons": [],
           "facts": ["jkm_benefit_total"]}
    assert any("Rp24 juta" in p for p in problems(old))


def test_a_missing_or_expired_fact_is_refused() -> None:
    missing = {**INVENTED, "text": "Info di kantor.", "buttons": [], "facts": ["tidak_ada"]}
    assert problems(missing) == ["Fakta tidak_ada tidak ada."]
    document = load_seed()
    raw = document.model_dump()
    for fact in raw["facts"]:
        if fact["id"] == "bpu_discount_pp50_2025":
            assert fact["valid_until"] == "2027-03-31"
    cites = {**INVENTED, "text": "Diskon 50%.", "buttons": [],
             "facts": ["bpu_discount_pp50_2025"]}
    assert problems(cites) == []
    late = publishing_problems(AnswerModel.model_validate(cites), document, date(2027, 4, 1),
                               INTENT_ACTIONS)
    assert late[0] == ("Fakta bpu_discount_pp50_2025 sudah tidak berlaku sejak 2027-03-31; "
                       "kutip fakta yang berlaku.")
    assert "50%" in late[1]  # its figure has no valid source left either


def test_buttons_may_lead_to_core_intents_faqs_and_answer_units() -> None:
    ok = {**INVENTED, "text": "Lihat menu.", "facts": [],
          "buttons": [{"title": "Menu", "payload": "/menu"},
                      {"title": "Ahli waris", "payload": "/faq/ahli_waris"},
                      {"title": "Kecelakaan", "payload": '/tanya_manfaat{"program":"JKK"}'}]}
    assert problems(ok) == []


# -- every write path ------------------------------------------------------------------------

def test_the_console_form_refuses_it(console_client: TestClient) -> None:
    client = console_client
    login(client)
    csrf = page_csrf(client, "/admin/faq/new")
    response = client.post("/admin/faq/new", data={
        "csrf": csrf, "id": INVENTED["id"], "questions": "\n".join(INVENTED["questions"]),
        "text": INVENTED["text"], "button_title_0": "Daftar di pasar",
        "button_payload_0": "/daftar_pasar", "facts": "", "tags": ""})
    assert response.status_code == 422
    for needle in ("Belum bisa diterbitkan", "Rp25.000", "30%", "/daftar_pasar"):
        assert needle in response.text
    assert client.get("/admin/api/faqs/iuran_pasar").status_code == 404


def test_the_json_api_refuses_it(console_client: TestClient) -> None:
    client = console_client
    csrf = login(client)
    body = {k: v for k, v in INVENTED.items() if k not in ("id", "intent")}
    response = client.put("/admin/api/faqs/iuran_pasar", json=body,
                          headers={"x-csrf-token": csrf})
    assert response.status_code == 422
    error = response.json()["error"]
    for needle in ("Rp25.000", "30%", "/daftar_pasar"):
        assert needle in error
    assert client.get("/admin/api/faqs/iuran_pasar").status_code == 404


def test_faq_import_refuses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], redis_url: str, prefix: str,
                               config_path: Path, model_blob: bytes,
                               trained_model: NLU) -> None:
    asyncio.run(publish_model(redis_url, prefix, model_blob, trained_model.fingerprint))
    for name, value in (("REDIS_URL", redis_url), ("SAPA_KEY_PREFIX", prefix),
                        ("SAPA_CONFIG", str(config_path))):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SAPA_TODAY", raising=False)
    path = tmp_path / "pasar.yml"
    path.write_text(yaml.safe_dump({"answers": [INVENTED]}, allow_unicode=True),
                    encoding="utf-8")
    assert main(["faq", "import", str(path)]) == 2
    err = capsys.readouterr().err
    for needle in ("Rp25.000", "30%", "/daftar_pasar"):
        assert needle in err

    async def stored_version() -> int:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            return int(await redis.get(Keys(prefix).kb_version()) or 0)
        finally:
            await redis.aclose()

    assert asyncio.run(stored_version()) == 1  # the seed only: nothing was imported
