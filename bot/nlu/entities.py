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
from collections.abc import Iterable, Mapping
from typing import Protocol

from bot.messages import Entity
from bot.nlu.numbers import Span, earning_period, find_calendar_months, find_money, find_months

FEE_FIGURE_BELOW = 100_000

# 16 digits, optionally grouped by spaces, dots or dashes (3578 0123 4567 0001).
_NIK = re.compile(r"(?<!\d)(?:\d[ .-]?){15}\d(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+?62|0)8\d{7,12}(?!\d)")


def mask_nik(text: str) -> str:
    """Replace anything that looks like a NIK with a mask keeping the last four digits."""
    def _mask(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return "************" + digits[-4:]

    return _NIK.sub(_mask, text)


def has_nik(text: str) -> bool:
    """Whether the text contains a 16-digit number that may be a NIK."""
    return _NIK.search(text) is not None


class Finder(Protocol):
    """Anything that finds entities in a message (`lowered` is `original.lower()`)."""

    def find(self, lowered: str, original: str) -> Iterable[Entity]:
        """Entities found, with spans in the message."""


class Gazetteer:
    """Longest-match lookup of surface forms (lowercase phrases) to canonical values."""

    def __init__(self, entity: str, forms: Mapping[str, str]) -> None:
        self.entity = entity
        self._forms = {k.lower().strip(): v for k, v in forms.items() if k.strip()}
        alternation = "|".join(
            re.escape(f) for f in sorted(self._forms, key=len, reverse=True)
        )
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)") if alternation else None

    def find(self, lowered: str, original: str) -> Iterable[Entity]:
        """Non-overlapping matches, longest first at each position."""
        if self._pattern is None:
            return
        for m in self._pattern.finditer(lowered):
            yield Entity(self.entity, self._forms[m.group(0)], m.start(), m.end(),
                         original[m.start():m.end()])


class EntityExtractor:
    """Finds every entity kind in a message."""

    def __init__(self, gazetteers: Iterable[Finder]) -> None:
        self._gazetteers = tuple(gazetteers)

    def extract(self, text: str) -> tuple[Entity, ...]:
        """Entities in text order. Digits inside a NIK or phone number are not money."""
        lowered = text.lower()
        found: list[Entity] = []
        for m in _NIK.finditer(text):
            if not m.group(0).startswith("08"):  # no NIK starts with 08; a phone number does
                masked = mask_nik(m.group(0))
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
        for gazetteer in self._gazetteers:
            found.extend(gazetteer.find(lowered, text))
        return tuple(sorted(found, key=lambda e: e.start))


def _fee_figure(lowered: str, span: Span) -> bool:
    """A small amount that is not takings per day or week ("50rb sehari" is an income)."""
    return span.value < FEE_FIGURE_BELOW and earning_period(lowered, span.start, span.end) is None


def _overlaps(start: int, end: int, entities: Iterable[Entity]) -> bool:
    return any(start < e.end and e.start < end for e in entities)
