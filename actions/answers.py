"""Answers that come straight from the knowledge base: greetings, scope, FAQs, follow-ups."""

from __future__ import annotations

from dataclasses import replace

from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import ConversationState, Offer
from bot.messages import Button, Reply

PROGRAM_ANSWERS = ("JKK", "JKM", "JHT", "JP", "JKP")
# What "lewat hp bisa?" means after each topic.
ONLINE_BY_TOPIC = {"daftar": "daftar_online", "bayar": "bayar_online", "klaim": "klaim_online",
                   "saldo": "saldo_online", "iuran": "bayar_online"}


class AnswerAction:
    """Replies with one knowledge-base answer and remembers its topic."""

    def __init__(self, name: str, answer_id: str, topic: str | None = None) -> None:
        self.name = name
        self.answer_id = answer_id
        self.topic = topic

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Reply with the answer; the topic (if any) frames the next follow-up."""
        state = replace(ctx.state, topic=self.topic or ctx.state.topic, form=None,
                        requested=None, offer=None)
        return ActionResult((ctx.kb.reply(self.answer_id),), state)


class MenuAction:
    """`menu` / `mulai lagi`: forget the conversation and show what the bot can do."""

    name = "action_menu"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Reset state (the worker's situation stays) and show the menu."""
        return ActionResult((ctx.kb.reply("menu"),),
                            ConversationState(situation=ctx.state.situation))


class FallbackAction:
    """The message was not understood: apologise and point to the menu, never guess."""

    name = "action_fallback"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Keep the conversation's context so a rephrased question still has it."""
        return ActionResult((ctx.kb.reply("fallback"),), ctx.state)


class FaqAction:
    """A retrieval intent (`faq/<id>`): the FAQ entry's answer."""

    name = "action_faq"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Answer from the FAQ entry behind the intent (fallback if an admin removed it)."""
        entry = ctx.kb.faq_for_intent(ctx.parse.intent.name)
        if entry is None:
            return ActionResult((ctx.kb.reply("fallback"),), ctx.state)
        reply = Reply(entry.text, tuple(Button(b.title, b.payload) for b in entry.buttons))
        return ActionResult((reply,), replace(ctx.state, topic="faq", form=None, offer=None))


class ProgramAnswerAction:
    """Benefits or claims of one program (`manfaat_jht`, `klaim_jkk`), or the overview."""

    def __init__(self, name: str, prefix: str, topic: str) -> None:
        self.name = name
        self.prefix = prefix
        self.topic = topic

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Use the program in the message, else the one from the last turn if it was asked for."""
        entity = ctx.parse.first("program")
        program = str(entity.value) if entity else None
        if program is None and ctx.parse.intent.name == "inform":
            program = ctx.state.slots.get("program")
        answer_id = f"{self.prefix}_{program.lower()}" if program in PROGRAM_ANSWERS else None
        if answer_id is None or not ctx.kb.has_answer(answer_id):
            answer_id = f"{self.prefix}_umum"
        state = replace(ctx.state.with_slots(program=program), topic=self.topic, form=None,
                        requested=None, offer=None)
        return ActionResult((ctx.kb.reply(answer_id),), state)


class OnlineAction:
    """`lewat hp bisa?`: answered for whatever the last answer was about."""

    name = "action_online"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Pick the online answer for the current topic (registration when there is none)."""
        answer_id = ONLINE_BY_TOPIC.get(ctx.state.topic or "", "daftar_online")
        return ActionResult((ctx.kb.reply(answer_id),), replace(ctx.state, form=None))


class DaftarAction:
    """How to register, followed by an offer to leave contact details for staff."""

    name = "action_daftar"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Registration answer, then the pendataan offer as a yes/no question."""
        state = replace(ctx.state, topic="daftar", form=None, requested=None,
                        offer=Offer.PENDATAAN)
        return ActionResult((ctx.kb.reply("daftar"), ctx.kb.reply("daftar_tawaran")), state)


class SetujuAction:
    """A bare yes/no outside any question the bot asked: acknowledge and offer the menu."""

    name = "action_ack"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """A short acknowledgement."""
        return ActionResult((ctx.kb.reply("ack"),), replace(ctx.state, offer=None))
