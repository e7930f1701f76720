"""The shipped knowledge base: valid, and every figure it states traces to a cited fact."""

import re
from typing import Any

import pytest

from actions.answers import ONLINE_BY_TOPIC, PROGRAM_ANSWERS
from actions.registry import registry
from bot.dialogue.policy import INTENT_ACTIONS
from bot.knowledge.base import KnowledgeBase

_RUPIAH = re.compile(r"Rp\s?(\d{1,3}(?:\.\d{3})*(?:,\d+)?)(\s?(?:juta|miliar|ribu))?")
_PERCENT = re.compile(r"(\d+(?:,\d+)?)\s?%")
_STATEMENT_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)(\s?(?:juta|miliar))?")
_SCALE = {"juta": 1e6, "miliar": 1e9, "ribu": 1e3}


def _numbers_in(value: Any) -> set[float]:
    if isinstance(value, bool):
        return set()
    if isinstance(value, (int, float)):
        return {float(value)}
    if isinstance(value, dict):
        return set().union(*(_numbers_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_numbers_in(v) for v in value)) if value else set()
    if isinstance(value, str):
        found = set()
        for m in _STATEMENT_NUMBER.finditer(value):
            number = float(m.group(1).replace(",", ""))
            found.add(number * _SCALE.get((m.group(2) or "").strip(), 1))
        return found
    return set()


def _cited_numbers(kb: KnowledgeBase, fact_ids: list[str]) -> set[float]:
    numbers: set[float] = set()
    for fact_id in fact_ids:
        fact = kb.fact(fact_id)
        numbers |= _numbers_in(fact.values) | _numbers_in(fact.statement)
        numbers |= _numbers_in(getattr(fact, "note", "") or "")
    return numbers


def test_seed_knowledge_base_is_valid(seed_kb: KnowledgeBase) -> None:
    assert len(seed_kb.document.answers) >= 30
    assert all(len(a.questions) >= 25 for a in seed_kb.document.answers if a.is_faq)


def test_every_rupiah_figure_and_percentage_traces_to_a_cited_fact(seed_kb: KnowledgeBase) -> None:
    untraced = []
    for answer in seed_kb.document.answers:
        cited = _cited_numbers(seed_kb, answer.facts)
        for m in _RUPIAH.finditer(answer.text):
            amount = float(m.group(1).replace(".", "").replace(",", "."))
            amount *= _SCALE.get((m.group(2) or "").strip(), 1)
            if amount not in cited:
                untraced.append(f"{answer.id}: {m.group(0)}")
        for m in _PERCENT.finditer(answer.text):
            if float(m.group(1).replace(",", ".")) not in cited:
                untraced.append(f"{answer.id}: {m.group(0)}")
    assert untraced == []


@pytest.mark.parametrize("outdated", ["24 juta", "1500910", "Rp24", "hanya usia 56"])
def test_outdated_figures_are_never_stated(seed_kb: KnowledgeBase, outdated: str) -> None:
    assert not [a.id for a in seed_kb.document.answers if outdated in a.text]


def test_answers_the_actions_use_exist(seed_kb: KnowledgeBase) -> None:
    needed = {"sapa", "terima_kasih", "menu", "minta_petugas", "fallback", "out_of_scope",
              "bpjs_kesehatan", "iuran_pu", "kepesertaan", "daftar", "bayar", "telat_bayar",
              "cek_saldo", "kantor_umum", "pendataan_persetujuan", "manfaat_umum", "klaim_umum"}
    needed |= set(ONLINE_BY_TOPIC.values())
    needed |= {f"{kind}_{p.lower()}" for kind in ("manfaat", "klaim") for p in PROGRAM_ANSWERS}
    assert sorted(needed - {a.id for a in seed_kb.document.answers}) == []


def test_policy_names_only_registered_actions() -> None:
    assert set(INTENT_ACTIONS.values()) <= set(registry())


def test_button_payloads_name_known_intents(seed_kb: KnowledgeBase) -> None:
    intents = set(INTENT_ACTIONS) | {a.intent for a in seed_kb.document.answers if a.is_faq}
    bad = [(a.id, b.payload) for a in seed_kb.document.answers for b in a.buttons
           if b.payload.split("{")[0].lstrip("/") not in intents]
    assert bad == []
