"""Numbered lists: "5" (or "no 5", "pilih 5") picks the fifth item of the last list the bot sent.

The menu is numbered 1-8; the answer that shows a numbered list carries the payload of each
item (`choices` in the knowledge base), the engine remembers them in the conversation state and
reads a bare number as that payload, on every channel and in the terminal chat alike.
"""

from __future__ import annotations

import re

_PICK = re.compile(
    r"^(?:no|nomor|nomer|nmr|pilih|pilihan|yang|yg|angka|nomer e|nomore)?\.?\s*(\d{1,2})"
    r"\s*[.)]?(?:\s+(?:aja|saja|ae|wae|ya|yo|dong|min|kak|mas|mbak))?$")


def picked(text: str, choices: tuple[str, ...]) -> str | None:
    """The payload a number stands for, or None when the text is not a pick from `choices`."""
    if not choices:
        return None
    m = _PICK.match(" ".join(text.lower().split()).strip(" !"))
    if m is None:
        return None
    index = int(m.group(1))
    return choices[index - 1] if 1 <= index <= len(choices) else None
