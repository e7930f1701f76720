"""Split a long reply into messages a platform accepts (Telegram 4096 chars, WhatsApp 4096/1024).

Cuts at the last paragraph break that fits, else the last line break, else the last space, and
only as a last resort inside a word, so a worker reads whole paragraphs. Formatting markers
(`*bold*`) never span lines in our answers, so a cut at a line break never breaks them.
"""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of `text`, each at most `limit` characters, without empty pieces."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = next((at for sep in ("\n\n", "\n", " ") if (at := window.rfind(sep)) > 0), limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces
