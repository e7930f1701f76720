"""Knowledge-base documents (validated at the edge) and the read-only view actions use.

The whole knowledge base is one small document (a few hundred KB): every process holds it in
memory and swaps it whole when an admin saves, so a reply never mixes two versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError
from bot.messages import Button, Reply
from bot.nlu.data import Example
from bot.yaml_files import parse_yaml

SEED_DIR = Path(__file__).parent / "data"


class ButtonModel(BaseModel):
    """A quick-reply button. WhatsApp allows 20 characters in a button title."""

    title: str = Field(min_length=1, max_length=20)
    payload: str = Field(min_length=1, max_length=256)


class AnswerModel(BaseModel):
    """An answer the bot can give.

    Retrieval answers have an intent `<topic>/<unit>`: answer units (`jkk/perjalanan`, trained
    from nlu_data/units/) and FAQ entries (`faq/<id>`, trained from their `questions`). A unit's
    `title` names it on a button when the worker's question fits several units of a topic;
    `detail` is the longer version behind its "Selengkapnya" button. `overview_of` marks the
    answer for a vague question about a topic, shown with the topic's units as buttons.
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    intent: str = Field(pattern=r"^[a-z0-9_]+(/[a-z0-9_]+)?$")
    text: str = Field(min_length=1, max_length=4000)
    title: str | None = Field(default=None, min_length=1, max_length=20)
    detail: str | None = Field(default=None, max_length=4000)
    overview_of: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    buttons: list[ButtonModel] = Field(default_factory=list, max_length=3)
    # payloads of a numbered list in the text, in order: "5" then answers the fifth
    choices: list[str] = Field(default_factory=list, max_length=20)
    # the answer to "trus aku kudu piye?" right after this one (an answer id), if any
    next_step: str = Field(default="", pattern=r"^[a-z0-9_]*$")
    tags: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    # A case the bot cannot settle (an unpaid claim, a locked account): offer a person after it.
    perlu_petugas: bool = False
    updated: str | None = None

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @property
    def is_faq(self) -> bool:
        """Whether this answer is an FAQ entry, trained from its own questions."""
        return self.intent.startswith("faq/")

    @property
    def is_retrieval(self) -> bool:
        """Whether this answer has a retrieval intent of its own (a unit or an FAQ entry)."""
        return "/" in self.intent

    @property
    def topic(self) -> str | None:
        """The topic of a retrieval answer (`jkk` for `jkk/perjalanan`)."""
        return self.intent.split("/")[0] if self.is_retrieval else None


class FactModel(BaseModel):
    """A sourced fact. Only `id`, `statement` and `values` are used by code; the rest is kept."""

    model_config = {"extra": "allow"}
    id: str
    statement: str
    values: dict[str, Any] = Field(default_factory=dict)
    confidence: str | None = None


class BranchModel(BaseModel):
    """A branch office and the places it serves."""

    id: str
    name: str
    address: str | None = None
    # when a source last reported the address ("2016-10"); an old one is shown with its age
    address_reported: str | None = Field(None, pattern=r"^\d{4}(-\d{2})?$")
    covers: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)


class KnowledgeDocument(BaseModel):
    """The whole knowledge base, as stored in Redis and exported to YAML.

    `examples` holds extra training sentences for core intents (`tanya_iuran`), added by admins
    from the unanswered inbox; they are versioned, diffed and rolled back with the rest, and
    train beside nlu_data/. FAQ intents keep theirs in the answer's `questions`.
    """

    answers: list[AnswerModel]
    facts: list[FactModel]
    branches: list[BranchModel] = Field(default_factory=list)
    examples: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeDocument:
        # Staff meet these messages (the console, `faq import`): they are in Indonesian.
        for kind, ids in (("jawaban", [a.id for a in self.answers]),
                          ("fakta", [f.id for f in self.facts]),
                          ("kantor", [b.id for b in self.branches])):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"ID {kind} dipakai dua kali: {', '.join(duplicates)}")
        known = {f.id for f in self.facts}
        citing: list[AnswerModel | BranchModel] = [*self.answers, *self.branches]
        for item in citing:
            missing = [f for f in item.facts if f not in known]
            if missing:
                raise ValueError(f"{item.id} mengutip fakta yang tidak ada: {', '.join(missing)}")
        answer_ids = {a.id for a in self.answers}
        for answer in self.answers:
            if answer.next_step and answer.next_step not in answer_ids:
                raise ValueError(f"{answer.id}: langkah berikutnya {answer.next_step} "
                                 "bukan jawaban yang ada")
            if answer.is_faq and len(answer.questions) < 3:
                raise ValueError(f"FAQ {answer.id} perlu minimal 3 contoh pertanyaan")
        for intent in self.examples:
            if not re.fullmatch(r"[a-z0-9_]+(/[a-z0-9_]+)?", intent) or intent.startswith("faq/"):
                raise ValueError("contoh tambahan harus untuk intent inti atau unit, "
                                 f"bukan {intent!r}")
        intents = [a.intent for a in self.answers if a.is_retrieval]
        duplicates = sorted({i for i in intents if intents.count(i) > 1})
        if duplicates:
            raise ValueError(f"dua jawaban untuk satu intent: {', '.join(duplicates)}")
        overviews = [a.overview_of for a in self.answers if a.overview_of]
        duplicates = sorted({t for t in overviews if overviews.count(t) > 1})
        if duplicates:
            raise ValueError(f"dua ringkasan untuk satu topik: {', '.join(duplicates)}")
        return self


class KnowledgeBase:
    """Read-only view of one version of the knowledge base."""

    def __init__(self, document: KnowledgeDocument, version: int = 0) -> None:
        self.document = document
        self.version = version
        self._answers = {a.id: a for a in document.answers}
        self._by_intent = {a.intent: a for a in document.answers if a.is_retrieval}
        self._overviews = {a.overview_of: a for a in document.answers if a.overview_of}
        self._facts = {f.id: f for f in document.facts}

    def answer(self, answer_id: str) -> AnswerModel:
        """An answer by id; a missing one is a deployment error, caught by the seed tests."""
        return self._answers[answer_id]

    def has_answer(self, answer_id: str) -> bool:
        """Whether an answer with this id exists."""
        return answer_id in self._answers

    def reply(self, answer_id: str, **values: object) -> Reply:
        """An answer as a reply with its buttons, `{name}` placeholders filled from `values`."""
        answer = self._answers[answer_id]
        return Reply(fill(answer.text, values),
                     tuple(Button(b.title, b.payload) for b in answer.buttons),
                     tuple(answer.choices), answer.next_step)

    def text(self, answer_id: str, **values: object) -> str:
        """An answer's text alone (a prompt, a notice), placeholders filled."""
        return fill(self._answers[answer_id].text, values)

    def for_intent(self, intent: str) -> AnswerModel | None:
        """The answer behind a retrieval intent (`jkk/perjalanan`, `faq/<id>`)."""
        return self._by_intent.get(intent)

    def overview(self, topic: str) -> AnswerModel | None:
        """The answer for a vague question about a topic (`jkk`), if the topic has one."""
        return self._overviews.get(topic)

    def units(self, topic: str) -> list[AnswerModel]:
        """The answer units of a topic, in the order of the knowledge base."""
        return [a for a in self.document.answers if a.topic == topic]

    def faq_examples(self) -> list[Example]:
        """FAQ questions as training examples of their retrieval intents."""
        return [Example(q, a.intent) for a in self.document.answers if a.is_faq
                for q in a.questions]

    def training_examples(self) -> list[Example]:
        """Everything the knowledge base adds to nlu_data/: FAQ questions and extra examples."""
        extra = [Example(text, intent) for intent, texts in self.document.examples.items()
                 for text in texts]
        return [*self.faq_examples(), *extra]

    def fact(self, fact_id: str) -> FactModel:
        """A fact by id."""
        return self._facts[fact_id]

    def value(self, fact_id: str, key: str) -> Any:
        """One value of a fact (`value("bpu_iuran_jkm", "jkm_monthly")`)."""
        return self._facts[fact_id].values[key]

    def branches(self) -> list[BranchModel]:
        """Branch offices."""
        return list(self.document.branches)


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(text: str, values: Mapping[str, object]) -> str:
    """`{nama}` -> the value; an unknown placeholder stays as written.

    An admin's typo then shows in the reply instead of breaking it, as `str.format` would on a
    stray brace.
    """
    return _PLACEHOLDER.sub(lambda m: str(values.get(m[1], m[0])), text)


def parse_document(raw: dict[str, Any], source: str) -> KnowledgeDocument:
    """Validate a raw document, with an error that says which file and which entry."""
    try:
        return KnowledgeDocument.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = parse_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return loaded


def load_seed(directory: Path = SEED_DIR) -> KnowledgeDocument:
    """The knowledge base shipped with the code.

    answers.yml holds what workers ask about; texts.yml the dialogue's own texts (prompts,
    confirmations, refusals). Both become answers, edited alike in the console.
    """
    raw = {
        "answers": [*_read_yaml(directory / "answers.yml").get("answers", []),
                    *_read_yaml(directory / "texts.yml").get("answers", [])],
        "facts": _read_yaml(directory / "facts.yml").get("facts", []),
        "branches": _read_yaml(directory / "branches.yml").get("branches", []),
    }
    return parse_document(raw, str(directory))


def read_answers_file(path: Path) -> list[AnswerModel]:
    """Answers from an import file (`answers:` list, as `faq export` writes)."""
    raw = _read_yaml(path).get("answers")
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected an `answers:` list")
    try:
        return [AnswerModel.model_validate(item) for item in raw]
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def missing_core_answers(document: KnowledgeDocument,
                         seed: KnowledgeDocument) -> list[AnswerModel]:
    """Seed answers that code reads by id (not FAQs) and a stored document lacks.

    A knowledge base stored by an older release gains the texts a newer one needs on start;
    answers an admin edited are never touched.
    """
    stored = {a.id for a in document.answers}
    return [a for a in seed.answers if not a.is_faq and a.id not in stored]


def merge_answers(document: KnowledgeDocument, answers: Iterable[AnswerModel],
                  today: date) -> KnowledgeDocument:
    """A new document with answers added or replaced by id (validated as a whole)."""
    merged = {a.id: a for a in document.answers}
    for answer in answers:
        updated = answer.updated or today.isoformat()
        merged[answer.id] = answer.model_copy(update={"updated": updated})
    raw = document.model_dump()
    raw["answers"] = [a.model_dump() for a in merged.values()]
    return parse_document(raw, "import")
