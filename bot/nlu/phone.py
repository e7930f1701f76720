"""Indonesian mobile numbers in every shape workers write them, checked and normalised.

Workers write `0812 3344 556`, `0812-3344-5566`, `0812.3344.5566`, `+62 812 3344 5566`,
`62812...` or `(0812) 33445566`. A mobile number is 08 followed by 8 to 11 digits (10 to 13
digits in all; Telkomsel's older 0812 numbers have 11, newer ones 12 or 13) and its operator
prefix is 081x, 082x, 083x, 085x, 087x, 088x or 089x; 080x, 084x and 086x are not mobile
(0800 is toll-free, 0809 premium). Stored as E.164 (`+628123344556`): one shape for staff,
exports and WhatsApp ids (`628...` without the plus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# A run of digits that may carry +, spaces, dots, dashes and brackets between groups.
_CANDIDATE = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d[\d\s.()-]{5,22}\d(?!\w)")
MOBILE_PREFIXES = frozenset("1235789")  # the digit after 08
MIN_DIGITS, MAX_DIGITS = 10, 13  # in the 08... form


class PhoneProblem(StrEnum):
    """Why a number is refused; each has a text that tells the worker (`telepon_<value>`)."""

    TOO_SHORT = "pendek"
    TOO_LONG = "panjang"
    NOT_MOBILE = "bukan_hp"


@dataclass(frozen=True)
class Phone:
    """A number found in a message: `international` when it is a mobile number, else why not."""

    written: str
    digits: int
    international: str | None = None  # 628123344556
    problem: PhoneProblem | None = None

    @property
    def local(self) -> str:
        """How workers read it back: `0812-3344-556` (a refused number as it was written)."""
        if self.international is None:
            return self.written
        national = "0" + self.international[2:]
        return "-".join([national[:4], national[4:8], national[8:]]).strip("-")


def check_phone(written: str) -> Phone:
    """Check one written number: `+62 812-3344-5566` -> `6281233445566`."""
    digits = re.sub(r"\D", "", written)
    if digits.startswith("62"):
        national = "0" + digits[2:]
    elif digits.startswith("8"):  # "812 3344 5566", the leading zero left out
        national = "0" + digits
    else:
        national = digits
    count = len(national)
    if not national.startswith("08") or national[2:3] not in MOBILE_PREFIXES:
        return Phone(written, count, problem=PhoneProblem.NOT_MOBILE)
    if count < MIN_DIGITS:
        return Phone(written, count, problem=PhoneProblem.TOO_SHORT)
    if count > MAX_DIGITS:
        return Phone(written, count, problem=PhoneProblem.TOO_LONG)
    return Phone(written, count, international="62" + national[1:])


def find_phone(text: str) -> Phone | None:
    """The first number in the text that is written like a phone number, checked.

    Money (`Rp50.000`, `2.500.000`) is not a phone number: a candidate needs 8 digits or more
    and may not sit right after "Rp".
    """
    for m in _CANDIDATE.finditer(text):
        written = m.group(0).strip(" .-()")
        digits = re.sub(r"\D", "", written)
        before = text[max(0, m.start() - 3):m.start()].lower()
        if len(digits) < 8 or "rp" in before:
            continue
        return check_phone(written)
    return None
