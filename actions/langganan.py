"""Consent to receive information messages: opt in after a clear question, opt out at once."""

from __future__ import annotations

from dataclasses import replace

from bot.dialogue.action import ActionContext, ActionResult
from bot.messages import Button, Reply

# The clear question before an opt-in; a "yes" to it (offer "langganan") subscribes.
QUESTION = Reply(
    "Mau menerima info dan undangan kegiatan dari BPJS Ketenagakerjaan lewat chat ini? "
    "Bisa berhenti kapan saja dengan mengetik *stop*.",
    (Button("Ya, mau", "/setuju"), Button("Tidak", "/tidak_setuju")))


def consent_fields(ctx: ActionContext, consent: str) -> dict[str, str]:
    """Consent is stored with its time and channel."""
    return {"consent": consent, "consent_at": ctx.now.isoformat(),
            "consent_channel": ctx.message.channel}


class LanggananAction:
    """Asks before subscribing; a "yes" to that question (offer) subscribes."""

    name = "action_langganan"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Subscribe after a yes to the offer; otherwise ask the question."""
        if ctx.state.offer == "langganan" and ctx.parse.intent.name == "setuju":
            reply = Reply("Terima kasih, Bapak/Ibu akan menerima info dari BPJS "
                          "Ketenagakerjaan di sini. Ketik *stop* kapan saja untuk berhenti.")
            return ActionResult((reply,), replace(ctx.state, offer=None),
                                consent_fields(ctx, "opt_in"))
        return ActionResult((QUESTION,), replace(ctx.state, offer="langganan"))


class BerhentiAction:
    """"stop", "berhenti", "unsubscribe": opt out at once and confirm."""

    name = "action_berhenti"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Record the opt-out; every campaign not yet delivered honours it."""
        reply = Reply("Baik, Bapak/Ibu tidak akan menerima pesan info lagi. Pertanyaan tetap "
                      "bisa dikirim kapan saja. Ketik *langganan* jika ingin menerima info lagi.")
        return ActionResult((reply,), replace(ctx.state, offer=None, form=None),
                            consent_fields(ctx, "opt_out"))


class TolakAction:
    """A "no" to an offer: accept it kindly."""

    name = "action_tolak"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Drop the offer."""
        reply = Reply("Baik, tidak apa-apa. Ketik *menu* jika ada pertanyaan lain.",
                      (Button("Menu", "/menu"),))
        return ActionResult((reply,), replace(ctx.state, offer=None, form=None, requested=None))
