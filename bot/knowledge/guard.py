"""The publishing guard: an answer a worker will read states no figure its cited facts lack.

One function, `publishing_problems`, used by every write path (the console form, the JSON API and
`faq import`, all through `KnowledgeChanges.apply`) and by the test over the shipped knowledge
base. An answer is refused, with every problem listed in Indonesian, when it
- states a rupiah amount, a percentage, an age or a duration that no fact it cites contains;
- cites a fact that does not exist, or one whose `valid_until` date has passed;
- rests on a low-confidence fact without pointing to 175 or JMO to confirm;
- has a button whose payload leads to no intent, FAQ or action.

Numbers are compared by value: "Rp42 juta" in an answer matches "Rp42.000.000" or 42000000 in
a fact; "2x24 jam" is 48 hours. Facts' statements and answers are both Indonesian (thousands with
dots, decimals with commas).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date
from typing import Any

from bot.knowledge.base import AnswerModel, FactModel, KnowledgeDocument

_SCALE = {"ribu": 1_000, "rb": 1_000, "juta": 1_000_000, "jt": 1_000_000, "miliar": 10**9}
_NUM = r"\d+(?:[.,]\d+)*"
# Figures a worker reads, in an answer (Indonesian).
_RUPIAH = re.compile(rf"\bRp\.?\s?(?P<n>{_NUM})(?:\s?(?P<scale>ribu|rb|juta|jt|miliar)\b)?",
                     re.IGNORECASE)
_PERCENT = re.compile(rf"(?P<n>{_NUM})\s?(?:%|persen\b)", re.IGNORECASE)
_AGE = re.compile(rf"\b(?:usia|umur)\s+(?P<n>{_NUM})", re.IGNORECASE)
_DURATION = re.compile(rf"(?:(?P<times>\d+)\s?x\s?)?(?P<n>{_NUM})\s?"
                       r"(?P<unit>tahun|thn|bulan|bln|minggu|hari|jam)\b", re.IGNORECASE)
# Every number in a fact's statement, with an optional scale word after it.
_FACT_NUMBER = re.compile(rf"(?P<n>{_NUM})(?:\s?(?P<scale>ribu|rb|juta|jt|miliar)\b)?",
                          re.IGNORECASE)
_PAYLOAD = re.compile(r"^/(?P<intent>[a-z0-9_]+(?:/[a-z0-9_]+)?)(?P<entities>\{.*\})?$")


def _indonesian_number(text: str, scale: str | None = None) -> float:
    """`16.800` -> 16800, `1,5` -> 1.5, `0,24` -> 0.24, `2.500.000` -> 2500000.

    Thousands written the English way (`42,000,000`, as someone may type them) are read too.
    """
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        value = float(text.replace(".", ""))
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        value = float(text.replace(",", ""))
    elif re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        value = float(text.replace(",", "."))
    else:  # a run such as 1.2.3 is no figure
        value = float("nan")
    return value * _SCALE.get((scale or "").lower(), 1)


def stated_figures(text: str) -> list[tuple[str, float]]:
    """(as written, value) for every rupiah amount, percentage, age and duration in `text`."""
    found: list[tuple[str, float]] = []
    for m in _RUPIAH.finditer(text):
        found.append((m.group(0).strip(), _indonesian_number(m.group("n"), m.group("scale"))))
    for m in _PERCENT.finditer(text):
        found.append((m.group(0).strip(), _indonesian_number(m.group("n"))))
    for m in _AGE.finditer(text):
        found.append((m.group(0).strip(), _indonesian_number(m.group("n"))))
    for m in _DURATION.finditer(text):
        value = _indonesian_number(m.group("n"))
        if m.group("times"):
            value *= int(m.group("times"))
        found.append((m.group(0).strip(), value))
    return found


def _text_numbers(text: str) -> Iterable[float]:
    for m in _FACT_NUMBER.finditer(text):
        value = _indonesian_number(m.group("n"), m.group("scale"))
        if value == value:  # not the NaN of a run such as 1.2.3
            yield value


def _value_numbers(value: Any) -> Iterable[float]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _value_numbers(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _value_numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)
    elif value is not None:
        yield from _text_numbers(str(value))


def fact_numbers(fact: FactModel) -> set[float]:
    """Every number a fact states, in its statement and values.

    Not its note or sources: that is where outdated figures are recorded ("JKM was Rp24 juta
    before PP 82/2019"), and an answer must never repeat them.
    """
    return {*_text_numbers(fact.statement), *_value_numbers(fact.values)}


def valid_until(fact: FactModel) -> date | None:
    """The last day a fact holds (`valid_until: YYYY-MM-DD`), None when open-ended."""
    raw = (fact.model_extra or {}).get("valid_until")
    if raw is None:
        return None
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw))


def payload_target(payload: str, intents: Collection[str], answer_intents: Collection[str],
                   ) -> bool:
    """Whether a button payload leads somewhere: a core intent or an answer's own intent."""
    m = _PAYLOAD.match(payload.strip())
    if m is None:
        return False
    intent = m.group("intent")
    return intent in intents or intent in answer_intents


def publishing_problems(answer: AnswerModel, document: KnowledgeDocument, today: date,
                        intents: Collection[str]) -> list[str]:
    """Why `answer` may not be published in `document` on `today` (empty: it may)."""
    facts = {f.id: f for f in document.facts}
    problems: list[str] = []
    cited = []
    for fact_id in answer.facts:
        fact = facts.get(fact_id)
        if fact is None:
            problems.append(f"Fakta {fact_id} tidak ada.")
            continue
        until = valid_until(fact)
        if until is not None and until < today:
            problems.append(f"Fakta {fact_id} sudah tidak berlaku sejak "
                            f"{until.isoformat()}; kutip fakta yang berlaku.")
            continue
        cited.append(fact)
    shaky = [f.id for f in cited if f.confidence == "low"]
    if shaky and not re.search(r"\b175\b|\bJMO\b", answer.text):
        problems.append(f"Fakta {', '.join(shaky)} berkeyakinan rendah: sebutkan bahwa info perlu "
                        "dipastikan ke call center 175 atau aplikasi JMO.")
    known = set().union(*(fact_numbers(f) for f in cited)) if cited else set()
    for written, value in stated_figures(answer.text):
        if not any(abs(value - n) < 1e-6 for n in known):
            where = "fakta yang dikutip" if cited else "fakta mana pun (tidak ada fakta dikutip)"
            problems.append(f"Angka \"{written}\" tidak ada di {where}.")
    answer_intents = {a.intent for a in document.answers}  # FAQs and answer units
    for button in answer.buttons:
        if not payload_target(button.payload, intents, answer_intents):
            problems.append(f"Tombol \"{button.title}\": payload {button.payload} tidak menuju "
                            "intent, FAQ, atau aksi mana pun.")
    return problems


def changed_answers(before: KnowledgeDocument, after: KnowledgeDocument) -> list[AnswerModel]:
    """Answers that are new or changed in `after` (what a save would publish)."""
    old = {a.id: a for a in before.answers}
    return [a for a in after.answers if old.get(a.id) != a]


def document_problems(before: KnowledgeDocument, after: KnowledgeDocument, today: date,
                      intents: Collection[str]) -> list[str]:
    """Every problem of every answer a save from `before` to `after` would publish."""
    return [f"{answer.id}: {problem}" for answer in changed_answers(before, after)
            for problem in publishing_problems(answer, after, today, intents)]
