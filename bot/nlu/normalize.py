"""Text normalization before classification: the informal Indonesian of a cheap phone, made plain.

`Normalizer("brp iurane sak wulan klo gaji 2jt???")` gives
"berapa iurannya satu bulan kalau gaji nominaluang". Amounts, NIKs and phone numbers become
placeholder words so that "gaji 2jt" and "gaji Rp 3.500.000" look alike to the classifier.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.nlu.numbers import find_money

_NIK_OR_PHONE = re.compile(r"(?<!\d)(?:\+?62|0)8\d{7,12}(?!\d)|(?<!\d)(?:\d[ .-]?){15}\d(?!\d)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")


class Normalizer:
    """Lowercase, strip emoji and punctuation, collapse repeated letters, expand slang."""

    def __init__(self, slang: Mapping[str, str]) -> None:
        self._slang = {k.lower(): v.lower() for k, v in slang.items()}

    def __call__(self, text: str) -> str:
        """The normalized form of one message."""
        lowered = _URL.sub(" ", text.lower())
        lowered = _NIK_OR_PHONE.sub(" nomorangka ", lowered)
        for span in reversed(find_money(lowered)):
            lowered = f"{lowered[:span.start]} nominaluang {lowered[span.end:]}"
        plain = _REPEATS.sub(r"\1", _NOT_WORD.sub(" ", lowered))
        plain = _LETTER_DIGIT.sub(" ", plain)
        return " ".join(self._slang.get(token, token) for token in plain.split())
