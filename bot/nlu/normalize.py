"""Text normalization before classification: the informal Indonesian of a cheap phone, made plain.

`Normalizer("brp iurane sak wulan klo gaji 2jt???")` gives
"berapa iurannya satu bulan kalau gaji nominaluang". Amounts, NIKs, phone numbers, and the
places and occupations the entity extractor found become placeholder words, so that "gaji 2jt"
and "gaji Rp 3.500.000", or "petani di Kepanjen" and "nelayan di Puger", look alike to the
classifier (5-fold cross-validation: +1.6 points of accuracy for the places and occupations).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bot.messages import Entity
from bot.nlu.numbers import find_money

_NIK_OR_PHONE = re.compile(r"(?<!\d)(?:\+?62|0)8\d{7,12}(?!\d)|(?<!\d)(?:\d[ .-]?){15}\d(?!\d)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
PLACEHOLDERS = {"wilayah": "namatempat", "pekerjaan": "namapekerjaan"}


class Normalizer:
    """Lowercase, strip emoji and punctuation, collapse repeated letters, expand slang."""

    def __init__(self, slang: Mapping[str, str]) -> None:
        self.slang = {k.lower(): v.lower() for k, v in slang.items()}

    def __call__(self, text: str, entities: Iterable[Entity] = ()) -> str:
        """The normalized form of one message; `entities` are the extractor's spans in `text`."""
        replaced_from = len(text)  # right to left, so earlier spans keep their offsets
        for entity in sorted(entities, key=lambda e: e.start, reverse=True):
            if entity.entity in PLACEHOLDERS and entity.end <= replaced_from:
                text = f"{text[:entity.start]} {PLACEHOLDERS[entity.entity]} {text[entity.end:]}"
                replaced_from = entity.start
        lowered = _URL.sub(" ", text.lower())
        lowered = _NIK_OR_PHONE.sub(" nomorangka ", lowered)
        for span in reversed(find_money(lowered)):
            lowered = f"{lowered[:span.start]} nominaluang {lowered[span.end:]}"
        plain = _REPEATS.sub(r"\1", _NOT_WORD.sub(" ", lowered))
        plain = _LETTER_DIGIT.sub(" ", plain)
        return " ".join(self.slang.get(token, token) for token in plain.split())
