"""The shipped knowledge base: valid, and every figure it states traces to a cited fact."""

import re
from typing import Any

import pytest

from actions.answers import ONLINE_BY_TOPIC, PROGRAM_ANSWERS
from actions.registry import registry
from bot.dialogue.policy import INTENT_ACTIONS
from bot.knowledge.base import AnswerModel, KnowledgeBase, KnowledgeDocument
from bot.messages import phone_lines
from bot.nlu.data import load_nlu_data
from bot.settings import PROJECT_ROOT

_RUPIAH = re.compile(r"Rp\s?(\d{1,3}(?:\.\d{3})*(?:,\d+)?)(\s?(?:juta|miliar|ribu))?")
_PERCENT = re.compile(r"(\d+(?:,\d+)?)\s?%")
# Numbers as the research writes them (English: 1,099,999 and 0.24) and as statements do
# (Indonesian: 1.099.999 and 0,24), each with an optional scale word.
_ENGLISH_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)(\s?(?:juta|miliar|million))?")
_INDONESIAN_NUMBER = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d+(?:,\d+)?)(\s?(?:juta|miliar|ribu))?")
_SCALE = {"juta": 1e6, "miliar": 1e9, "ribu": 1e3, "million": 1e6}


def _english(text: str) -> set[float]:
    return {float(m.group(1).replace(",", "")) * _SCALE.get((m.group(2) or "").strip(), 1)
            for m in _ENGLISH_NUMBER.finditer(text)}


def _indonesian(text: str) -> set[float]:
    return {float(m.group(1).replace(".", "").replace(",", "."))
            * _SCALE.get((m.group(2) or "").strip(), 1) for m in _INDONESIAN_NUMBER.finditer(text)}


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
        return _english(value)
    return set()


def _cited_numbers(kb: KnowledgeBase, fact_ids: list[str]) -> set[float]:
    numbers: set[float] = set()
    for fact_id in fact_ids:
        fact = kb.fact(fact_id)
        numbers |= _numbers_in(fact.values) | _indonesian(fact.statement)
        numbers |= _numbers_in(getattr(fact, "note", "") or "")
    return numbers


def test_facts_are_stated_in_indonesian_with_the_research_s_figures(
        seed_kb: KnowledgeBase) -> None:
    """Staff read a fact's statement in Indonesian; it says no figure the research did not."""
    changed = []
    for fact in seed_kb.document.facts:
        english = str((fact.model_extra or {}).get("statement_en", ""))
        assert english, f"{fact.id} has no research wording to compare with"
        if _indonesian(fact.statement) != _english(english):
            changed.append(f"{fact.id}: {sorted(_indonesian(fact.statement) ^ _english(english))}")
        assert not re.search(r"\b(?:the|and|of|is|for)\b", fact.statement), fact.id
    assert changed == []


def test_seed_knowledge_base_is_valid(seed_kb: KnowledgeBase) -> None:
    assert len(seed_kb.document.answers) >= 30
    assert all(len(a.questions) >= 25 for a in seed_kb.document.answers if a.is_faq)


def test_every_rupiah_figure_and_percentage_traces_to_a_cited_fact(seed_kb: KnowledgeBase) -> None:
    untraced = []
    for answer in seed_kb.document.answers:
        cited = _cited_numbers(seed_kb, answer.facts)
        text = f"{answer.text}\n{answer.detail or ''}"
        for m in _RUPIAH.finditer(text):
            amount = float(m.group(1).replace(".", "").replace(",", "."))
            amount *= _SCALE.get((m.group(2) or "").strip(), 1)
            if amount not in cited:
                untraced.append(f"{answer.id}: {m.group(0)}")
        for m in _PERCENT.finditer(text):
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
    intents = set(INTENT_ACTIONS) | {a.intent for a in seed_kb.document.answers
                                     if a.is_retrieval}
    bad = [(a.id, b.payload) for a in seed_kb.document.answers for b in a.buttons
           if b.payload.split("{")[0].removeprefix("/") not in intents]
    assert bad == []


def _units(kb: KnowledgeBase) -> list[AnswerModel]:
    return [a for a in kb.document.answers if a.is_retrieval and not a.is_faq]


def test_the_knowledge_base_has_answer_units_by_topic(seed_kb: KnowledgeBase) -> None:
    topics = {a.topic for a in _units(seed_kb)}
    assert {"jkk", "jkm", "jht", "bayar", "daftar", "kepesertaan", "jmo"} <= topics
    assert len(_units(seed_kb)) >= 20


def test_every_unit_and_overview_fits_one_phone_screen(seed_kb: KnowledgeBase) -> None:
    shown = [*_units(seed_kb), *(a for a in seed_kb.document.answers if a.overview_of)]
    assert {a.id: phone_lines(a.text) for a in shown if phone_lines(a.text) > 8} == {}


def test_every_worker_facing_text_fits_twelve_phone_lines(seed_kb: KnowledgeBase) -> None:
    # Only the longer version behind "Selengkapnya" (`detail`) may run past 12 lines.
    assert {a.id: phone_lines(a.text) for a in seed_kb.document.answers
            if phone_lines(a.text) > 12} == {}


def test_every_unit_cites_facts_and_offers_one_to_three_next_steps(seed_kb: KnowledgeBase,
                                                                   ) -> None:
    for unit in _units(seed_kb):
        assert unit.facts, unit.id
        assert 1 <= len(unit.buttons) <= 3, unit.id
        assert unit.title, unit.id  # names it on a button when a question fits several units


def test_selengkapnya_leads_to_a_longer_version(seed_kb: KnowledgeBase) -> None:
    for answer in seed_kb.document.answers:
        offers = any(b.payload == "/selengkapnya" for b in answer.buttons)
        assert offers == bool(answer.detail), answer.id
        if answer.detail:
            assert phone_lines(answer.detail) > phone_lines(answer.text), answer.id


# The worker's yes/no question is answered in its first word (issue 11's examples).
@pytest.mark.parametrize(("answer_id", "first"), [
    ("jkk_perjalanan", "Ya, ditanggung JKK, termasuk perjalanan kerja"),
    ("daftar_setelah_kecelakaan", "Tidak,"), ("kepesertaan_bisa_ikut", "Iya, bisa"),
    ("kepesertaan_jp_jkp", "Tidak,"), ("jkk_berobat", "Ya,"), ("jkk_upah", "Ya,"),
    ("jht_sebagian", "Ya,"), ("bayar_sekaligus", "Ya, bisa"), ("bayar_autodebet", "Ya,"),
    ("jkm_baru_ikut", "Ya,"), ("jkm_beasiswa", "Ya,"), ("jkk_cacat", "Ya,")])
def test_yes_no_units_answer_first(seed_kb: KnowledgeBase, answer_id: str, first: str) -> None:
    assert seed_kb.answer(answer_id).text.startswith(first)


def test_topics_with_several_units_have_an_overview_offering_them(seed_kb: KnowledgeBase,
                                                                   ) -> None:
    topics = {a.topic for a in _units(seed_kb)}
    for topic in topics:
        units = {f"/{a.intent}" for a in seed_kb.units(topic)}
        if len(units) < 2:
            continue
        overview = seed_kb.overview(topic or "")
        assert overview is not None, topic
        assert units & {b.payload for b in overview.buttons}, topic


def test_every_unit_trains_from_at_least_15_examples(seed_kb: KnowledgeBase) -> None:
    data = load_nlu_data(PROJECT_ROOT / "nlu_data")
    counts: dict[str, int] = {}
    for example in [*data.examples, *seed_kb.training_examples()]:
        counts[example.intent] = counts.get(example.intent, 0) + 1
    assert {u.intent: counts.get(u.intent, 0) for u in _units(seed_kb)
            if counts.get(u.intent, 0) < 15} == {}
    assert set(counts) - set(INTENT_ACTIONS) <= {a.intent for a in seed_kb.document.answers
                                                 if a.is_retrieval}


def test_a_broken_document_is_refused_in_words_staff_read(seed_kb: KnowledgeBase) -> None:
    document = seed_kb.document.model_dump()
    document["answers"].append(dict(document["answers"][0]))  # the same id twice
    with pytest.raises(ValueError, match="dipakai dua kali"):
        KnowledgeDocument.model_validate(document)
    document["answers"].pop()
    document["answers"][0] = {**document["answers"][0], "facts": ["tidak_ada"]}
    with pytest.raises(ValueError, match="mengutip fakta yang tidak ada: tidak_ada"):
        KnowledgeDocument.model_validate(document)
