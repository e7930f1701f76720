"""How replies read on a phone: answered greetings, no paragraph said twice.

A worker reads on a cheap phone, about 34 columns wide. Fee answers used to repeat the discount
paragraph on every turn; a reply now leaves out a paragraph the previous reply already had
(bullets and short lines stay: they carry the figures), unless nothing would be left.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from bot.messages import Reply

REPEAT_MIN_CHARS = 40  # shorter lines ("Setelah itu iuran kembali normal.") may repeat
_SALAM = re.compile(
    r"^\W*(?:a?s+alamu?\W?\s?[ae]?la[iy]?kum|salamu?\W?alaikum|aslm|ass?\s?wr\.?\s?wb|"
    r"assalam)\b", re.IGNORECASE)


def is_salam(text: str) -> bool:
    """Whether the message opens with the Islamic greeting, which asks for its answer."""
    return _SALAM.match(text) is not None


def _key(line: str) -> str:
    normal = " ".join(line.lower().split())
    return hashlib.blake2b(normal.encode(), digest_size=6).hexdigest()


def _paragraph(line: str) -> bool:
    text = line.strip()
    return len(text) >= REPEAT_MIN_CHARS and not text.startswith(("•", "-", "*")) \
        and not text[:1].isdigit()


def said(replies: Iterable[Reply]) -> tuple[str, ...]:
    """Keys of the paragraphs in these replies, remembered for the next turn."""
    return tuple(_key(line) for r in replies for line in r.text.split("\n") if _paragraph(line))


def without_repeats(replies: Sequence[Reply], before: Iterable[str]) -> list[Reply]:
    """The replies with paragraphs of the previous reply left out.

    Only from a reply that says something new: the same question asked again gets its whole
    answer again (the worker may not have understood it).
    """
    seen = set(before)
    kept = []
    for reply in replies:
        lines = reply.text.split("\n")
        repeated = {i for i, line in enumerate(lines) if _paragraph(line) and _key(line) in seen}
        new = any(_paragraph(line) for i, line in enumerate(lines) if i not in repeated)
        if repeated and new:
            reply = replace(reply, text="\n".join(
                line for i, line in enumerate(lines) if i not in repeated))
        kept.append(reply)
    return kept
