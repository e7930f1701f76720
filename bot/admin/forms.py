"""Form input at the console's edge: field errors that re-render a form, and value parsing.

A rejected form comes back with the user's input and one message per field, so nothing typed is
lost; the JSON API returns the same messages with a 422.
"""

from __future__ import annotations

from pydantic import ValidationError

from bot.errors import Invalid

# pydantic error types in the words a branch admin reads.
_MESSAGES = {
    "missing": "wajib diisi",
    "string_too_short": "wajib diisi",
    "string_too_long": "terlalu panjang (maks. {max_length} karakter)",
    "too_long": "terlalu banyak (maks. {max_length})",
    "string_pattern_mismatch": "hanya huruf kecil, angka dan garis bawah (_)",
    "string_type": "harus berupa teks",
}


def field_errors(exc: ValidationError) -> Invalid:
    """A pydantic error as form errors keyed by the top-level field name."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        template = _MESSAGES.get(error["type"])
        message = template.format(**(error.get("ctx") or {})) if template else error["msg"]
        fields.setdefault(name, message.removeprefix("Value error, "))
    return Invalid(fields)


def lines(value: str) -> list[str]:
    """A textarea as a list: one item per non-empty line, trimmed, without duplicates."""
    seen: dict[str, None] = {}
    for line in value.splitlines():
        if line.strip():
            seen.setdefault(" ".join(line.split()), None)
    return list(seen)


def words(value: str) -> list[str]:
    """A comma-separated input as a list of trimmed, non-empty items, without duplicates."""
    return list(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
