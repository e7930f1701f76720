"""Loading training data in Rasa's NLU YAML format (intents, synonyms, lookups, regexes).

Also reads `slang.yml` (our normalizer's map) and plain-text lookup tables under `lookup/`.
Entity annotations (`[2 juta](uang)`, `[jht]{"entity": "program"}`) are stripped from the text
and kept beside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.errors import ConfigError
from bot.nlu.places import PlaceGazetteer
from bot.yaml_files import parse_yaml

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|\{(?P<long>[^}]+)\})")
_ENTITY_IN_JSON = re.compile(r'"entity"\s*:\s*"(?P<name>[^"]+)"')
PROGRAMS = ("JKK", "JKM", "JHT", "JP", "JKP")


@dataclass(frozen=True)
class Example:
    """One training sentence with its intent and annotated entities (entity, surface text)."""

    text: str
    intent: str
    entities: tuple[tuple[str, str], ...] = ()


@dataclass
class NLUData:
    """Everything under nlu_data/, merged."""

    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    slang: dict[str, str] = field(default_factory=dict)
    places: PlaceGazetteer | None = None

    def intents(self) -> list[str]:
        """Intent names, sorted."""
        return sorted({e.intent for e in self.examples})


def parse_example(line: str, intent: str) -> Example:
    """Strip Rasa entity annotations from one example line."""
    entities: list[tuple[str, str]] = []

    def _plain(m: re.Match[str]) -> str:
        name = m.group("short") or ""
        if m.group("long"):
            found = _ENTITY_IN_JSON.search("{" + m.group("long") + "}")
            name = found.group("name") if found else ""
        entities.append((name.split(":")[0].strip(), m.group("text")))
        return m.group("text")

    return Example(_ANNOTATION.sub(_plain, line).strip(), intent, tuple(entities))


def _example_lines(block: Any) -> list[str]:
    if isinstance(block, list):
        return [str(x).strip() for x in block if str(x).strip()]
    lines = str(block or "").splitlines()
    return [ln.strip()[1:].strip() for ln in lines if ln.strip().startswith("-")]


def parse_nlu_document(doc: dict[str, Any], source: str, into: NLUData) -> None:
    """Merge one Rasa NLU YAML document into `into`."""
    for item in doc.get("nlu") or []:
        if not isinstance(item, dict):
            raise ConfigError(f"{source}: every `nlu:` item must be a mapping, got {item!r}")
        lines = _example_lines(item.get("examples"))
        if "intent" in item:
            into.examples.extend(parse_example(ln, str(item["intent"])) for ln in lines)
        elif "synonym" in item:
            for ln in lines:
                into.synonyms[ln.lower()] = str(item["synonym"])
        elif "lookup" in item:
            into.lookups.setdefault(str(item["lookup"]), []).extend(ln.lower() for ln in lines)
        elif "regex" not in item:
            raise ConfigError(f"{source}: unknown nlu item {sorted(item)}")
    for key, value in (doc.get("slang") or {}).items():
        into.slang[str(key).lower()] = str(value).lower()


def load_nlu_data(directory: Path, *, extra_files: Iterable[Path] = ()) -> NLUData:
    """Read every *.yml under `directory`, `lookup/*.txt` tables and the place gazetteer."""
    data = NLUData()
    files = sorted(directory.rglob("*.yml")) + sorted(directory.rglob("*.yaml"))
    for path in [*files, *extra_files]:
        try:
            doc = parse_yaml(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        parse_nlu_document(doc, str(path), data)
    for path in sorted((directory / "lookup").glob("*.txt")):
        words = [w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines()]
        kept = [w for w in words if w and not w.startswith("#")]
        data.lookups.setdefault(path.stem, []).extend(kept)
    gazetteer = directory / "gazetteer" / "jatim.tsv"
    if gazetteer.exists():
        data.places = PlaceGazetteer.load(gazetteer)
    return data


def load_examples(path: Path) -> list[Example]:
    """The intent examples of one Rasa NLU file (used for held-out test files)."""
    return [example for example, _ in load_examples_with_metadata(path)]


def load_examples_with_metadata(path: Path) -> list[tuple[Example, dict[str, Any]]]:
    """Examples of one Rasa NLU file, each with its intent block's `metadata` (Rasa's format).

    A held-out file marks its blocks (`metadata: {jawa: true, typo: false}`) so a score can be
    broken down by how the worker wrote.
    """
    data = NLUData()
    doc = parse_yaml(path.read_text(encoding="utf-8")) or {}
    parse_nlu_document(doc, str(path), data)
    metadata: list[dict[str, Any]] = []
    for item in doc.get("nlu") or []:
        if isinstance(item, dict) and "intent" in item:
            meta = item.get("metadata")
            count = len(_example_lines(item.get("examples")))
            metadata += [dict(meta) if isinstance(meta, dict) else {}] * count
    return list(zip(data.examples, metadata, strict=True))
