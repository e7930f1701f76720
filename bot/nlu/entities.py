"""Entity extraction: money, months, programs, occupations, places and NIK.

A rupiah amount is an income (`uang`) from Rp100.000 up; below that it is a contribution figure
(`nominal`: "16.800 itu sebulan apa setahun", "36rb"), since no monthly income bracket is that
low (the lowest is Rp1 juta) while every BPU fee is; takings per day or week ("50rb sehari")
stay incomes. A named month is `periode` ("2027-01", or
"01" when no year was written).

Rules and gazetteers rather than a learned tagger: the values here are closed sets (five programs,
an occupation list, East Java's place names) or have a grammar (money), and rules are exact,
explainable and fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from bot.messages import Entity
from bot.nlu.numbers import Span, earning_period, find_calendar_months, find_money, find_months

FEE_FIGURE_BELOW = 100_000

# A NIK is 16 digits. People group them with anything (spaces, dots, dashes, slashes,
# underscores, tabs, newlines, parentheses, en dashes), so digits separated by up to three
# non-alphanumeric characters form one chain; a chain of 16 or more digits may hide a NIK unless
# it is one unbroken run of another length (an amount: "rp 20000000000000000000"). A NIK glued
# to other numbers ("umur 45 3578 0123 ...") is masked with them. Text is NFKC-folded
# (full-width digits) and stripped of invisible format characters (zero-width spaces, joiners,
# BOM) first, in `visible`. The two classes never overlap, so matching stays linear.
_DIGIT_CHAIN = re.compile(r"\d+(?:[\W_]{1,3}\d+)*")
_PHONE = re.compile(r"(?<!\d)(?:\+?62|0)8\d{7,12}(?!\d)")
NIK_DIGITS = 16
NIK_MASK = "************"


def visible(text: str) -> str:
    """`text` as a reader sees it: NFKC-folded, without invisible format characters (Cf)."""
    folded = unicodedata.normalize("NFKC", text)
    if folded.isascii():
        return folded
    return "".join(c for c in folded if unicodedata.category(c) != "Cf")


def _nik_chains(text: str) -> Iterator[re.Match[str]]:
    for m in _DIGIT_CHAIN.finditer(text):
        chain = m.group(0)
        digits = sum(c.isdigit() for c in chain)
        if digits == NIK_DIGITS or (digits > NIK_DIGITS and not chain.isdigit()):
            yield m


def _masked(chain: str) -> str:
    return NIK_MASK + "".join(c for c in chain if c.isdigit())[-4:]


def mask_nik(text: str) -> str:
    """`visible(text)` with anything that may be a NIK masked, keeping the last four digits.

    When the text holds no NIK it comes back unchanged (not folded).
    """
    shown = visible(text)
    out, last = [], 0
    for m in _nik_chains(shown):
        out += [shown[last:m.start()], _masked(m.group(0))]
        last = m.end()
    return "".join([*out, shown[last:]]) if out else text


# A phone number however grouped (0812-3456-7890, +62 812 3456 7890), and a name the worker
# introduces ("nama saya Budi Santoso", "namaku siti"): up to three words after the phrase.
_PHONE_ANY = re.compile(r"(?<![\d+])(?:\+?62|0)[\W_]{0,3}8(?:[\W_]{0,3}\d){7,12}(?![\W_]?\d)")
_NAME_INTRO = re.compile(
    r"(?i)\b(nama\s*(?:saya|sy|aku|ku|ane|gue|gw)?\s*(?:adalah|:)?|namaku|panggil\s+saja)"
    r"\s+([^\W\d_]+(?:\s+[^\W\d_]+){0,2})")
PHONE_MASK, NAME_MASK = "[nomor HP]", "[nama]"


def mask_personal(text: str) -> str:
    """`mask_nik(text)` with phone numbers and introduced names masked too (for the inbox)."""
    masked = _PHONE_ANY.sub(PHONE_MASK, mask_nik(text))
    return _NAME_INTRO.sub(lambda m: f"{m.group(1)} {NAME_MASK}", masked)


def has_nik(text: str) -> bool:
    """Whether the text holds 16 digits, however separated or disguised, that may be a NIK."""
    return next(_nik_chains(visible(text)), None) is not None


class Finder(Protocol):
    """Anything that finds entities in a message (`lowered` is `original.lower()`)."""

    def find(self, lowered: str, original: str) -> Iterable[Entity]:
        """Entities found, with spans in the message."""


class Gazetteer:
    """Longest-match lookup of surface forms (lowercase phrases) to canonical values."""

    def __init__(self, entity: str, forms: Mapping[str, str]) -> None:
        self.entity = entity
        self.forms = {k.lower().strip(): v for k, v in forms.items() if k.strip()}
        alternation = "|".join(
            re.escape(f) for f in sorted(self.forms, key=len, reverse=True)
        )
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)") if alternation else None

    def find(self, lowered: str, original: str) -> Iterable[Entity]:
        """Non-overlapping matches, longest first at each position."""
        if self._pattern is None:
            return
        for m in self._pattern.finditer(lowered):
            yield Entity(self.entity, self.forms[m.group(0)], m.start(), m.end(),
                         original[m.start():m.end()])


class EntityExtractor:
    """Finds every entity kind in a message."""

    def __init__(self, gazetteers: Iterable[Finder]) -> None:
        self.finders = tuple(gazetteers)

    def extract(self, text: str) -> tuple[Entity, ...]:
        """Entities in text order. Digits inside a NIK or phone number are not money."""
        lowered = text.lower()
        found: list[Entity] = []
        for m in _nik_chains(text):
            if not m.group(0).startswith("08"):  # no NIK starts with 08; a phone number does
                masked = _masked(m.group(0))
                found.append(Entity("nik", masked, m.start(), m.end(), masked))
        for m in _PHONE.finditer(text):
            if not _overlaps(m.start(), m.end(), found):
                found.append(Entity("telepon", m.group(0), m.start(), m.end(), m.group(0)))
        numbers = tuple(found)
        for kind, spans in (("uang", find_money(lowered)), ("bulan", find_months(lowered))):
            found.extend(
                Entity("nominal" if kind == "uang" and _fee_figure(lowered, span) else kind,
                       span.value, span.start, span.end, text[span.start:span.end])
                for span in spans
                if not _overlaps(span.start, span.end, numbers)
            )
        for named in find_calendar_months(lowered):
            value = f"{named.year}-{named.month:02d}" if named.year else f"{named.month:02d}"
            found.append(Entity("periode", value, named.start, named.end,
                                text[named.start:named.end]))
        for gazetteer in self.finders:
            found.extend(gazetteer.find(lowered, text))
        return tuple(sorted(found, key=lambda e: e.start))


def _fee_figure(lowered: str, span: Span) -> bool:
    """A small amount that is not takings per day or week ("50rb sehari" is an income)."""
    return span.value < FEE_FIGURE_BELOW and earning_period(lowered, span.start, span.end) is None


def _overlaps(start: int, end: int, entities: Iterable[Entity]) -> bool:
    return any(start < e.end and e.start < end for e in entities)
