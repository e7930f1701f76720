"""When the bot offers a person, and what it remembers for the person who takes over.

The offer comes on request, after two failed answers in a row, or after an answer unit flagged
`perlu_petugas`.
Telegram and WhatsApp can deliver a person's reply later, so there the offer is a handoff to
staff. The REST channel and the terminal `chat` answer only the message they were sent, so
there the bot offers the pendataan instead (staff call the worker back).
"""

from __future__ import annotations

from dataclasses import replace

from bot.dialogue.action import ActionResult
from bot.dialogue.state import ConversationState, Offer
from bot.knowledge.base import KnowledgeBase

# Channels that can deliver a message the worker did not just ask for.
LIVE_CHANNELS = frozenset({"telegram", "whatsapp"})
FAILURES_BEFORE_OFFER = 2
TRANSCRIPT_KEEP = 20  # messages of a conversation kept in its state for staff
BOT_TEXT_KEPT = 500  # characters of a bot reply kept in the transcript


def person_offer(channel: str, kb: KnowledgeBase, state: ConversationState,
                 reason: str) -> tuple[ActionResult, bool]:
    """The offer of a person on this channel, and whether it is a handoff (else pendataan)."""
    live = channel in LIVE_CHANNELS
    reply = kb.reply("petugas_tawar" if live else "petugas_tawar_data")
    offered = replace(state.with_slots(gagal=None, petugas_alasan=reason if live else None),
                      offer=Offer.PETUGAS if live else Offer.PENDATAAN)
    return ActionResult((reply,), offered), live


def with_offer(channel: str, kb: KnowledgeBase, before: ConversationState,
               result: ActionResult, failed: bool) -> ActionResult:
    """Count failed answers in a row and add the offer of a person when it is due."""
    failures = int(before.slots.get("gagal", 0)) + 1 if failed else 0
    state = result.state.with_slots(gagal=failures or None)
    due = result.needs_person or failures >= FAILURES_BEFORE_OFFER
    if not due or result.forget or result.handoff or state.offer or state.form:
        return replace(result, state=state)
    reason = "jawaban perlu petugas" if result.needs_person else "dua kali tidak dipahami"
    offer, _ = person_offer(channel, kb, state, reason)
    return replace(result, replies=result.replies + offer.replies, state=offer.state)


def remember(state: ConversationState, entries: list[list[str]]) -> ConversationState:
    """The state with the turn's messages added to its transcript (the last TRANSCRIPT_KEEP)."""
    return replace(state, recent=[*state.recent, *entries][-TRANSCRIPT_KEEP:])
