"""Indonesian (and East-Javanese) number words and money/month amounts in every written form.

Workers write `2 juta`, `2jt`, `Rp 2.500.000`, `1,5 jt`, `Rp2,5 jt`, `dua juta setengah`,
`500rb`, `sejuta`, `rong juta`; months as `3 bulan`, `3 bln`, `sak wulan`, `setahun`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_UNITS = {
    "nol": 0, "satu": 1, "se": 1, "sak": 1, "siji": 1, "dua": 2, "loro": 2, "rong": 2,
    "tiga": 3, "telu": 3, "telung": 3, "empat": 4, "papat": 4, "patang": 4, "lima": 5,
    "limo": 5, "limang": 5, "enam": 6, "enem": 6, "nem": 6, "tujuh": 7, "pitu": 7,
    "pitung": 7, "delapan": 8, "wolu": 8, "wolung": 8, "sembilan": 9, "songo": 9,
    "sangang": 9, "sepuluh": 10, "sewelas": 11, "sebelas": 11, "seratus": 100,
    "seribu": 1000, "sejuta": 1_000_000,
}
_SCALES = {"ribu": 1000, "rb": 1000, "rebu": 1000, "juta": 1_000_000, "jt": 1_000_000,
           "jta": 1_000_000, "yuto": 1_000_000}
_WORD = "|".join(
    sorted([*_UNITS, "belas", "puluh", "ratus", *_SCALES, "setengah"], key=len, reverse=True)
)
_WORD_SEQ = re.compile(rf"\b(?:(?:{_WORD})\b\s*)+", re.IGNORECASE)
# Every scale word (and seribu, sejuta) contains one of these: most messages have none, and
# skip the slow word-sequence scan (the same for digits and the digit scan).
_SCALE_HINT = re.compile(r"rb|ribu|rebu|jt|jut|yuto", re.IGNORECASE)
_DIGIT = re.compile(r"\d")

_UNIT_RE = r"(?P<unit>juta|jutaan|jt|jtan|jta|yuto|ribu|rb|rebu|k|m)\b"
_DIGIT_MONEY = re.compile(
    rf"(?P<rp>rp\.?\s*)?(?P<num>\d{{1,3}}(?:[.,]\d{{3}})+|\d+(?:[.,]\d{{1,2}})?)\s*"
    rf"(?:{_UNIT_RE})?(?P<half>\s*setengah)?",
    re.IGNORECASE,
)
_UNIT_VALUE = {"juta": 1_000_000, "jutaan": 1_000_000, "jt": 1_000_000, "jtan": 1_000_000,
               "jta": 1_000_000, "yuto": 1_000_000, "m": 1_000_000, "ribu": 1000, "rb": 1000,
               "rebu": 1000, "k": 1000}

_MONTH_WORD = r"(?:bulan|bln|bulanan|wulan|sasi)"
_MONTHS = re.compile(
    rf"\b(?P<n>\d{{1,2}}|{'|'.join(sorted(_UNITS, key=len, reverse=True))}|dua belas)\s*"
    rf"{_MONTH_WORD}\b|\b(?P<year>setahun|sataun|1 tahun|satu tahun)\b",
    re.IGNORECASE,
)


class Period(StrEnum):
    """How often takings are counted when the worker does not say "sebulan"."""

    DAY = "hari"
    WEEK = "minggu"


# Days and weeks in a month for an estimate the worker then confirms ("sekitar ..., betul?").
PER_MONTH = {Period.DAY: 30, Period.WEEK: 4}
_EVERY = r"(?:se|per|/|tiap|setiap|saben|sak|dalam|dlm|1)\s*"
_PERIODS = (
    (Period.DAY, re.compile(rf"(?:{_EVERY}(?:hari|hr|dino|dina|ari)\b|\bsehari\b|\bsedino\b|"
                            r"\bharian\b|\bsaben\s+dino\b)")),
    (Period.WEEK, re.compile(rf"(?:{_EVERY}(?:minggu|mgg|mg|pekan|minggon)\b|\bseminggu\b|"
                             r"\bmingguan\b|\bsepekan\b)")),
)
_NEAR = 16  # characters around the amount where "sehari" / "per minggu" may stand


def earning_period(text: str, start: int, end: int) -> Period | None:
    """Whether the amount at text[start:end] is takings per day or per week ("50rb sehari").

    Looks right after the amount and just before it ("sehari dapet 50rb"); a month word next to
    it ("sebulan", "per bulan") makes it monthly whatever else the sentence says.
    """
    lowered = text.lower()
    after = lowered[end:end + _NEAR]
    before = lowered[max(0, start - _NEAR):start]
    if _MONTHS.search(after) or re.search(r"\b(?:sebulan|per\s*bulan|/\s*bulan|bulanan)\b",
                                           after):
        return None
    for window in (after, before):
        for period, pattern in _PERIODS:
            if pattern.search(window):
                return period
    return None


def per_month(amount: int, period: Period) -> int:
    """Monthly estimate of takings per day or week."""
    return amount * PER_MONTH[period]


@dataclass(frozen=True)
class Span:
    """A number found in text: its value and where it stands."""

    value: int
    start: int
    end: int


@dataclass(frozen=True)
class MonthSpan:
    """A named calendar month (`Januari 2027`, `des`): month 1-12 and the year if written."""

    month: int
    year: int | None
    start: int
    end: int


# Full names stand alone; short forms only with a year ("des 2026"), so "mar" or "jun" in a
# sentence is not taken for a month.
_MONTH_NAMES = {
    "januari": 1, "februari": 2, "pebruari": 2, "maret": 3, "april": 4, "mei": 5, "juni": 6,
    "juli": 7, "agustus": 8, "september": 9, "oktober": 10, "november": 11, "nopember": 11,
    "desember": 12,
}
_MONTH_SHORT = {"jan": 1, "feb": 2, "peb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7,
                "agu": 8, "agt": 8, "ags": 8, "agust": 8, "sep": 9, "sept": 9, "okt": 10,
                "nov": 11, "nop": 11, "des": 12}
_CALENDAR = re.compile(
    rf"\b(?:(?P<name>{'|'.join(_MONTH_NAMES)})(?:\s+(?P<year>20\d\d))?"
    rf"|(?P<short>{'|'.join(sorted(_MONTH_SHORT, key=len, reverse=True))})\.?\s+"
    rf"(?P<short_year>20\d\d))\b",
    re.IGNORECASE,
)


def words_to_number(words: list[str]) -> int | None:
    """Value of a run of number words (`dua juta lima ratus ribu`), None if it is not one.

    `puluh`, `belas` and `ratus` apply to the unit word just before them; `ribu` and `juta`
    close a group.
    """
    total = current = last = 0
    for word in words:
        if word in _UNITS:
            value = _UNITS[word]
            if value >= 100:  # seratus, seribu, sejuta carry their own "one"
                if value == 100:
                    current += 100
                else:
                    total += (current or 1) * value
                    current = 0
            else:
                current += value
            last = value
        elif word == "belas":
            current += 10
        elif word == "puluh":
            current += last * 9
        elif word == "ratus":
            current += last * 99
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
    return total + current or None


def _digit_value(num: str, unit: str | None) -> float:
    """Parse `2.500.000`, `2,5`, `1.5` with Indonesian and English separators."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", num):  # thousands separators: 2.500.000
        return float(num.replace(".", "").replace(",", ""))
    return float(num.replace(",", "."))


# No worker earns or pays more than this (10 trillion rupiah): a longer number is a typo or a
# probe, not money, and would overflow what a conversation state can store.
MAX_MONEY = 10**13


def find_money(text: str) -> list[Span]:
    """Every rupiah amount in the text, in order; bare small numbers and huge ones are not money."""
    spans: list[Span] = []
    for m in _DIGIT_MONEY.finditer(text) if _DIGIT.search(text) else ():
        unit = (m.group("unit") or "").lower() or None
        num = m.group("num")
        if unit is None and not m.group("rp"):
            # a bare number is money only when it looks like rupiah (2500000, 2.500.000)
            plain = num.replace(".", "").replace(",", "")
            if not (plain.isdigit() and 5 <= len(plain) <= 10 and "," not in num[-3:]):
                continue
            if len(plain) >= 9 and plain.startswith("0"):  # a phone number, not money
                continue
        value = _digit_value(num, unit) * (_UNIT_VALUE[unit] if unit else 1)
        if m.group("half") and unit:
            value += _UNIT_VALUE[unit] / 2
        elif m.group("half"):
            continue
        if (unit == "m" and value < 1_000_000) or not 0 <= value <= MAX_MONEY:
            continue  # (NaN and infinity fail the range too)
        spans.append(Span(round(value), m.start(), m.end()))
    for m in _WORD_SEQ.finditer(text) if _SCALE_HINT.search(text) else ():
        words = m.group(0).lower().split()
        if not any(w in _SCALES or w in ("seribu", "sejuta") for w in words):
            continue
        amount = _words_money(words)
        overlaps = any(s.start < m.end() and m.start() < s.end for s in spans)
        if amount and amount <= MAX_MONEY and not overlaps:
            spans.append(Span(amount, m.start(), m.start() + len(m.group(0).rstrip())))
    return sorted(spans, key=lambda s: s.start)


def _words_money(words: list[str]) -> int | None:
    """`dua juta setengah`, `satu setengah juta`, `setengah juta`, `sejuta` as rupiah."""
    if "setengah" in words:
        i = words.index("setengah")
        before, after = words[:i], words[i + 1:]
        if after and after[0] in _SCALES and (not before or words_to_number(before)):
            base = words_to_number(before) if before else 0
            scale = _SCALES[after[0]]
            return int((base or 0) * scale + scale / 2)
        if before and before[-1] in _SCALES:
            base = words_to_number(before)
            return base + _SCALES[before[-1]] // 2 if base else None
        return None
    return words_to_number(words)


def find_months(text: str) -> list[Span]:
    """Numbers of months: `3 bulan`, `enam bln`, `sak wulan`, `setahun`."""
    spans = []
    for m in _MONTHS.finditer(text):
        if m.group("year"):
            spans.append(Span(12, m.start(), m.end()))
            continue
        n = m.group("n").lower()
        value = int(n) if n.isdigit() else (12 if n == "dua belas" else _UNITS.get(n, 0))
        if 1 <= value <= 24:
            spans.append(Span(value, m.start(), m.end()))
    return spans


def find_calendar_months(text: str) -> list[MonthSpan]:
    """Named months: `januari 2027`, `bulan desember`, `des 2026` (short forms need a year)."""
    spans = []
    for m in _CALENDAR.finditer(text):
        if m.group("name"):
            month, year = _MONTH_NAMES[m.group("name").lower()], m.group("year")
        else:
            month, year = _MONTH_SHORT[m.group("short").lower()], m.group("short_year")
        spans.append(MonthSpan(month, int(year) if year else None, m.start(), m.end()))
    return spans
