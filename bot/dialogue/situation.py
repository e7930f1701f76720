"""What a worker tells about themself, picked up from every message of the conversation.

"sy nelayan", "aku wis dadi peserta", "tinggal di Blitar": the engine folds each message into
the conversation's `Situation` before an action runs, so every later answer can use it (fees for
the worker's group, a pendataan that does not ask the occupation again, the branch for the area).
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.dialogue.state import ConversationState, Situation
from bot.messages import ParseResult

_SUBJECT = r"(?:sudah|udah|sdh|udh|wis|wes|dah|sudh)"
_NOT_YET = r"(?:belum|blm|blom|durung|urung|gak|ga|gk|nggak|tidak|tdk|ora|ndak)"
_MEMBER = (r"(?:jadi\s+|jd\s+|dadi\s+|di)?(?:peserta|terdaftar|ndaftar|daftar|ikut|melu|anggota|"
           r"punya\s+kartu|nduwe\s+kartu|gadhah\s+kartu)")
_IS_MEMBER = re.compile(rf"\b{_SUBJECT}\s+{_MEMBER}\b")
_NOT_MEMBER = re.compile(rf"\b{_NOT_YET}\s+(?:pernah\s+)?{_MEMBER}\b")


def membership(text: str) -> bool | None:
    """True for "sudah jadi peserta", False for "belum daftar", None when it says neither."""
    lowered = text.lower()
    if _NOT_MEMBER.search(lowered):
        return False
    if _IS_MEMBER.search(lowered):
        return True
    return None


def observe(situation: Situation, parse: ParseResult) -> Situation:
    """The situation with what this message adds (a newer value replaces an older one)."""
    job = parse.first("pekerjaan")
    place = parse.first("wilayah")
    member = membership(parse.text)
    return replace(
        situation,
        pekerjaan=str(job.value) if job else situation.pekerjaan,
        wilayah=str(place.value) if place else situation.wilayah,
        anggota=member if member is not None else situation.anggota,
    )


def settle(state: ConversationState, situation: Situation) -> ConversationState:
    """The state an action returned, carrying the situation and a confirmed monthly income."""
    income = state.slots.get("penghasilan")
    if isinstance(income, int) and state.offer is None:
        situation = replace(situation, penghasilan=income)
    return replace(state, situation=situation)
