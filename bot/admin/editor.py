"""FAQ, fact and example edits as pure functions: a knowledge document in, a new one out.

Core answers (`sapa`, `iuran_umum`, ...) are read by actions by id: admins may change their
text, buttons, tags and facts, but not delete or rename them; only FAQ entries (`faq/<id>`) are
added and deleted. Every change is validated as a whole document (unique ids, cited facts exist,
an FAQ has three questions or more), so a broken knowledge base is never saved.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.admin.forms import field_errors, lines, words
from bot.errors import Invalid
from bot.knowledge.base import AnswerModel, FactModel, KnowledgeDocument

MAX_BUTTONS = 3
# A fact's confidence as stored (from the domain research) and as staff read it.
CONFIDENCE = {"high": "tinggi", "medium": "sedang", "low": "rendah"}
_ID = re.compile(r"^[a-z0-9_]{2,60}$")

MIN_QUESTIONS = 3  # example questions an FAQ needs (KnowledgeDocument checks it too)


CONFLICT = ("{what} ini sudah diubah orang lain sejak Anda membukanya. Perubahan Anda belum "
            "disimpan: salin teks Anda, buka ulang halaman ini, lalu terapkan lagi.")


def fingerprint(item: BaseModel | None) -> str:
    """A short hash of an entry as stored: an edit form carries it to detect a parallel edit."""
    if item is None:
        return ""
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:16]


def unchanged_since(existing: BaseModel | None, item_id: str | None, base: str | None,
                    what: str) -> None:
    """Refuse to edit an entry deleted, or changed since its form was opened (`base`)."""
    if item_id is not None and existing is None:
        raise Invalid({"": f"{what} {item_id} sudah dihapus orang lain."})
    if base is not None and fingerprint(existing) != base:
        raise Invalid({"": CONFLICT.format(what=what)})


def slug(text: str) -> str:
    """An id from a question ("Apa itu BSU?" -> "apa_itu_bsu")."""
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))[:40].strip("_")


def validated(raw: dict[str, Any]) -> KnowledgeDocument:
    """A whole document, or the reason it is refused as a form error."""
    try:
        return KnowledgeDocument.model_validate(raw)
    except ValidationError as exc:
        raise Invalid({"": "; ".join(e["msg"].removeprefix("Value error, ")
                                         for e in exc.errors())}) from exc


def answer_form_values(form: Mapping[str, str]) -> dict[str, Any]:
    """An answer form's fields as AnswerModel values (one textarea line per question)."""
    buttons = []
    for i in range(MAX_BUTTONS):
        title, payload = form.get(f"button_title_{i}", ""), form.get(f"button_payload_{i}", "")
        if title.strip() or payload.strip():
            buttons.append({"title": title.strip(), "payload": payload.strip()})
    return {"id": form.get("id", "").strip(), "text": form.get("text", ""),
            "questions": lines(form.get("questions", "")), "buttons": buttons,
            "tags": words(form.get("tags", "")), "facts": words(form.get("facts", ""))}


def make_answer(values: Mapping[str, Any], existing: AnswerModel | None, today: date,
                known_facts: Collection[str] | None = None) -> AnswerModel:
    """An answer from submitted values: an existing one keeps its id and intent.

    A new entry is always an FAQ; its id comes from the first question when left empty. Core
    answers have no questions of their own (their intents train from nlu_data/). With
    `known_facts` (the document's fact ids), a cited fact that does not exist is one of the
    problems reported beside the field, not the document's own message after them.
    """
    raw = dict(values)
    if existing is not None:  # fields the form does not show are kept as they were
        raw = {**existing.model_dump(include={"title", "detail", "overview_of"}), **raw}
        raw["id"], raw["intent"] = existing.id, existing.intent
        # what the form does not edit stays: the menu's numbered payloads, the next step
        raw.setdefault("choices", existing.choices)
        raw.setdefault("next_step", existing.next_step)
        if not existing.is_faq:
            raw["questions"] = []
    else:
        raw["id"] = str(raw.get("id") or slug(next(iter(raw.get("questions") or []), "")))
        raw["intent"] = f"faq/{raw['id']}"
    raw["updated"] = today.isoformat()
    # Every problem at once: the field checks and the knowledge base's own rule for FAQs.
    problems: dict[str, str] = {}
    if raw["intent"].startswith("faq/") and len(raw.get("questions") or []) < MIN_QUESTIONS:
        problems["questions"] = (f"isi paling sedikit {MIN_QUESTIONS} contoh pertanyaan, "
                                 "satu per baris")
    unknown = [f for f in raw.get("facts") or [] if known_facts is not None
               and f not in known_facts]
    if unknown:
        problems["facts"] = (f"fakta {', '.join(unknown)} tidak ada; pilih id dari daftar "
                             "Fakta")
    try:
        answer = AnswerModel.model_validate(raw)
    except ValidationError as exc:  # the intent comes from the id, whose message says it all
        errors = field_errors(exc).fields
        raise Invalid({**{k: v for k, v in errors.items() if k != "intent"},
                          **problems}) from exc
    if problems:
        raise Invalid(problems)
    return answer


def put_answer(document: KnowledgeDocument, answer: AnswerModel, *, new: bool,
               ) -> KnowledgeDocument:
    """The document with `answer` added (new) or replaced (same id)."""
    ids = [a.id for a in document.answers]
    if new and answer.id in ids:
        raise Invalid({"id": f"id {answer.id} sudah dipakai; pilih id lain"})
    if not new and answer.id not in ids:
        raise Invalid({"": f"jawaban {answer.id} sudah tidak ada (dihapus orang lain?)"})
    raw = document.model_dump()
    dumped = answer.model_dump()
    raw["answers"] = ([*raw["answers"], dumped] if new else
                      [dumped if a["id"] == answer.id else a for a in raw["answers"]])
    return validated(raw)


def remove_answer(document: KnowledgeDocument, answer_id: str) -> KnowledgeDocument:
    """The document without an FAQ entry (core answers cannot be removed)."""
    answer = next((a for a in document.answers if a.id == answer_id), None)
    if answer is None:
        raise Invalid({"": f"jawaban {answer_id} tidak ada"})
    if not answer.is_faq:
        raise Invalid({"": f"{answer_id} dipakai langsung oleh bot dan tidak bisa dihapus"})
    raw = document.model_dump()
    raw["answers"] = [a for a in raw["answers"] if a["id"] != answer_id]
    return validated(raw)


def add_examples(document: KnowledgeDocument, intent: str, texts: Iterable[str],
                 ) -> KnowledgeDocument:
    """Training sentences for an intent: an FAQ's questions, or a core intent's extra examples."""
    new = [" ".join(t.split()) for t in texts if t.strip()]
    raw = document.model_dump()
    if intent.startswith("faq/"):
        answer = next((a for a in raw["answers"] if a["intent"] == intent), None)
        if answer is None:
            raise Invalid({"intent": f"FAQ {intent} tidak ada"})
        answer["questions"] = list(dict.fromkeys([*answer["questions"], *new]))
    else:
        raw["examples"][intent] = list(dict.fromkeys([*raw["examples"].get(intent, []), *new]))
    return validated(raw)


def changed_fields(old: BaseModel | None, new: BaseModel | None) -> str:
    """Which fields an edit changed, for the audit log ("text, questions")."""
    if old is None or new is None:
        return ""
    before, after = old.model_dump(), new.model_dump()
    return ", ".join(k for k in after if k != "updated" and before.get(k) != after.get(k))


def search(answers: Iterable[AnswerModel], query: str) -> list[AnswerModel]:
    """Answers whose id, intent, text, questions or tags contain every word of the query."""
    needles = query.casefold().split()
    return [a for a in answers
            if all(n in " ".join([a.id, a.intent, a.text, *a.questions, *a.tags]).casefold()
                   for n in needles)]


def fact_form_values(form: Mapping[str, str]) -> dict[str, Any]:
    """A fact form's fields: sources one per line as `url | date | note`, values as YAML."""
    sources = []
    for line in lines(form.get("sources", "")):
        url, date_, note = ([*(part.strip() for part in line.split("|")), "", ""])[:3]
        sources.append({k: v for k, v in (("url", url), ("date", date_), ("note", note)) if v})
    try:
        values = yaml.safe_load(form.get("values", "")) or {}
    except yaml.YAMLError as exc:
        raise Invalid({"values": f"bukan YAML yang sah: {exc}"}) from exc
    if not isinstance(values, dict):
        raise Invalid({"values": "harus berupa pasangan nama: nilai, satu per baris"})
    return {"id": form.get("id", "").strip(), "statement": form.get("statement", "").strip(),
            "confidence": form.get("confidence") or None, "sources": sources, "values": values}


def make_fact(values: Mapping[str, Any], existing: FactModel | None) -> FactModel:
    """A fact from submitted values; fields the form does not show (legal basis ...) are kept.

    The research's English wording (`statement_en`) goes when staff change the statement: it
    would no longer say the same.
    """
    raw = {**(existing.model_dump() if existing else {}), **values}
    if existing is not None and raw.get("statement") != existing.statement:
        raw.pop("statement_en", None)
    problems = {}
    if existing is not None:
        raw["id"] = existing.id
    elif not _ID.match(str(raw.get("id", ""))):
        problems["id"] = "2-60 huruf kecil, angka dan garis bawah (_)"
    if not str(raw.get("statement", "")).strip():
        problems["statement"] = "wajib diisi"
    if raw.get("confidence") not in (None, *CONFIDENCE):
        problems["confidence"] = f"salah satu dari: {', '.join(CONFIDENCE.values())}"
    if problems:
        raise Invalid(problems)
    try:
        return FactModel.model_validate(raw)
    except ValidationError as exc:
        raise field_errors(exc) from exc


def put_fact(document: KnowledgeDocument, fact: FactModel, *, new: bool) -> KnowledgeDocument:
    """The document with a fact added (new) or replaced (same id)."""
    ids = [f.id for f in document.facts]
    if new and fact.id in ids:
        raise Invalid({"id": f"id {fact.id} sudah dipakai; pilih id lain"})
    raw = document.model_dump()
    dumped = fact.model_dump()
    raw["facts"] = ([*raw["facts"], dumped] if new else
                    [dumped if f["id"] == fact.id else f for f in raw["facts"]])
    return validated(raw)


def remove_fact(document: KnowledgeDocument, fact_id: str) -> KnowledgeDocument:
    """The document without a fact no answer or branch cites."""
    citing = ([a.id for a in document.answers if fact_id in a.facts]
              + [b.id for b in document.branches if fact_id in b.facts])
    if citing:
        raise Invalid({"": f"fakta {fact_id} masih dikutip oleh: {', '.join(citing)}"})
    raw = document.model_dump()
    raw["facts"] = [f for f in raw["facts"] if f["id"] != fact_id]
    return validated(raw)


def answer_to_form(answer: AnswerModel) -> dict[str, str]:
    """An answer as the edit form's fields (the inverse of `answer_form_values`)."""
    values = {"id": answer.id, "text": answer.text, "questions": "\n".join(answer.questions),
              "tags": ", ".join(answer.tags), "facts": ", ".join(answer.facts)}
    for i, button in enumerate(answer.buttons):
        values[f"button_title_{i}"], values[f"button_payload_{i}"] = button.title, button.payload
    return values


def fact_to_form(fact: FactModel) -> dict[str, str]:
    """A fact as the edit form's fields (the inverse of `fact_form_values`)."""
    sources = []
    for source in fact.model_dump().get("sources") or []:
        if isinstance(source, dict):
            source = " | ".join(str(source.get(k, "")) for k in ("url", "date", "note"))
        sources.append(str(source).rstrip(" |"))
    values = yaml.safe_dump(fact.values, allow_unicode=True, sort_keys=False)
    return {"id": fact.id, "statement": fact.statement, "confidence": fact.confidence or "",
            "sources": "\n".join(sources), "values": values if fact.values else ""}
