"""A person: the worker asks for one, then says yes to the offer."""

from __future__ import annotations

from dataclasses import replace

from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.handover import person_offer


class MintaPetugasAction:
    """`minta_petugas`: offer a handoff where a person can answer later, else the pendataan."""

    name = "action_minta_petugas"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask first: a tap on "Bicara petugas" by mistake must not queue anyone."""
        offer, live = person_offer(ctx.message.channel, ctx.kb, ctx.state, "diminta pekerja")
        if live:
            return offer
        state = replace(ctx.state, form=None, requested=None, offer=None)
        return ActionResult((ctx.kb.reply("minta_petugas"),), state)


class SambungPetugasAction:
    """A yes to the offer of a person: the engine queues the conversation for staff."""

    name = "action_sambung_petugas"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """No reply of its own: the queue's confirmation says when someone answers."""
        reason = str(ctx.state.slots.get("petugas_alasan") or "diminta pekerja")
        state = replace(ctx.state.with_slots(petugas_alasan=None, gagal=None), topic=None,
                        form=None, requested=None, offer=None)
        return ActionResult((), state, handoff=reason)
