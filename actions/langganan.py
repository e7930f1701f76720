"""Consent to receive information messages: opt in after a clear question, opt out at once."""

from __future__ import annotations

from dataclasses import replace

from bot.contacts import Consent, ProfileField
from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import Offer
from bot.knowledge.base import KnowledgeBase
from bot.messages import Reply

OFFER = Offer.LANGGANAN  # the clear question before an opt-in; a "yes" to it subscribes


def question(kb: KnowledgeBase) -> Reply:
    """The question asked before subscribing anyone."""
    return kb.reply("langganan_tanya")


def consent_fields(ctx: ActionContext, consent: Consent) -> dict[ProfileField, str]:
    """Consent is stored with its time and channel."""
    return {ProfileField.CONSENT: consent, ProfileField.CONSENT_AT: ctx.now.isoformat(),
            ProfileField.CONSENT_CHANNEL: ctx.message.channel}


class LanggananAction:
    """Asks before subscribing; a "yes" to that question (offer) subscribes."""

    name = "action_langganan"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Subscribe after a yes to the offer; otherwise ask the question."""
        if ctx.state.offer == OFFER and ctx.parse.intent.name == "setuju":
            return ActionResult((ctx.kb.reply("langganan_ya"),), replace(ctx.state, offer=None),
                                consent_fields(ctx, Consent.OPT_IN))
        return ActionResult((question(ctx.kb),), replace(ctx.state, offer=OFFER))


class BerhentiAction:
    """"stop", "berhenti", "unsubscribe": opt out at once and confirm."""

    name = "action_berhenti"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Record the opt-out; every campaign not yet delivered honours it."""
        return ActionResult((ctx.kb.reply("langganan_berhenti"),),
                            replace(ctx.state, offer=None, form=None),
                            consent_fields(ctx, Consent.OPT_OUT))


class TolakAction:
    """A "no" to an offer: accept it kindly."""

    name = "action_tolak"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Drop the offer."""
        return ActionResult((ctx.kb.reply("tolak"),),
                            replace(ctx.state, offer=None, form=None, requested=None))
