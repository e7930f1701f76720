"""Answers that come straight from the knowledge base: greetings, scope, FAQs, follow-ups."""

from __future__ import annotations

from dataclasses import replace

from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import ConversationState, Offer
from bot.knowledge.base import AnswerModel
from bot.messages import Button, Reply

PROGRAM_ANSWERS = ("JKK", "JKM", "JHT", "JP", "JKP")
DETAIL_PAYLOAD = "/selengkapnya"
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
        state = replace(ctx.state.with_slots(answer=self.answer_id),
                        topic=self.topic or ctx.state.topic, form=None, requested=None,
                        offer=None)
        needs_person = ctx.kb.answer(self.answer_id).perlu_petugas
        return ActionResult((ctx.kb.reply(self.answer_id),), state, needs_person=needs_person)


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


# What a unit's topic means for the follow-ups after it ("kalau JKM?", "lewat hp bisa?"): the
# conversation topic and the program it is about.
UNIT_TOPICS: dict[str, tuple[str, str | None]] = {
    "jkk": ("manfaat", "JKK"), "jkm": ("manfaat", "JKM"), "jht": ("klaim", "JHT"),
    "bayar": ("bayar", None), "daftar": ("daftar", None), "kepesertaan": ("kepesertaan", None),
    "jmo": ("saldo", None), "faq": ("faq", None),
}


def unit_state(state: ConversationState, answer: AnswerModel) -> ConversationState:
    """The state after a unit: its topic frames follow-ups; "Selengkapnya" knows what it was."""
    topic, program = UNIT_TOPICS.get(answer.topic or "", (answer.topic, None))
    slots = state.with_slots(answer=answer.id, program=program or state.slots.get("program"))
    return replace(slots, topic=topic, form=None, requested=None, offer=None)


class UnitAction:
    """A retrieval intent (`jkk/perjalanan`, `faq/<id>`): the answer unit behind it."""

    name = "action_unit"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Answer from the unit behind the intent (fallback if an admin removed it)."""
        answer = ctx.kb.for_intent(ctx.parse.intent.name)
        if answer is None:
            return ActionResult((ctx.kb.reply("fallback"),), ctx.state)
        return ActionResult((ctx.kb.reply(answer.id),), unit_state(ctx.state, answer),
                            needs_person=answer.perlu_petugas)


class TopicAction:
    """A question about a topic that fits several of its units: the overview, units as buttons.

    The buttons are the units the question most likely meant, in the classifier's order.
    """

    name = "action_topic"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Overview of the top-ranked unit's topic; its likeliest units as buttons."""
        best = ctx.kb.for_intent(ctx.parse.ranking[0].name) if ctx.parse.ranking else None
        overview = ctx.kb.overview(best.topic or "") if best else None
        if best is None or overview is None:
            return ActionResult((ctx.kb.reply("fallback"),), ctx.state)
        ranked = [ctx.kb.for_intent(score.name) for score in ctx.parse.ranking]
        units = [a for a in ranked if a is not None and a.topic == best.topic and a.title]
        buttons = tuple(Button(a.title or "", f"/{a.intent}") for a in units[:3])
        topic, program = UNIT_TOPICS.get(best.topic or "", (best.topic, None))
        state = replace(ctx.state.with_slots(answer=overview.id, program=program), topic=topic,
                        form=None, requested=None, offer=None)
        return ActionResult((Reply(overview.text, buttons or ctx.kb.reply(overview.id).buttons),),
                            state)


class DetailAction:
    """"Selengkapnya": the longer version of the last answer, when it has one."""

    name = "action_selengkapnya"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """The detail of the answer the worker read last, with its other buttons."""
        answer_id = ctx.state.slots.get("answer")
        answer = ctx.kb.answer(answer_id) if answer_id and ctx.kb.has_answer(answer_id) else None
        if answer is None or not answer.detail:
            return ActionResult((ctx.kb.reply("selengkapnya_tidak_ada"),), ctx.state)
        buttons = tuple(Button(b.title, b.payload) for b in answer.buttons
                        if b.payload != DETAIL_PAYLOAD)
        return ActionResult((Reply(answer.detail, buttons),), ctx.state)


class ProgramAnswerAction:
    """Benefits or claims of one program (`manfaat_jht`, `klaim_jkk`), or the overview."""

    def __init__(self, name: str, prefix: str, topic: str, follows: bool = False) -> None:
        self.name = name
        self.prefix = prefix
        self.topic = topic
        self.follows = follows  # always about the last turn's program (a follow-up question)

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Use the program in the message, else the one from the last turn if it was asked for."""
        entity = ctx.parse.first("program")
        program = str(entity.value) if entity else None
        if program is None and (self.follows or ctx.parse.intent.name == "inform"):
            program = ctx.state.slots.get("program")
        answer_id = f"{self.prefix}_{program.lower()}" if program in PROGRAM_ANSWERS else None
        if answer_id is None or not ctx.kb.has_answer(answer_id):
            answer_id = f"{self.prefix}_umum"
        state = replace(ctx.state.with_slots(program=program, answer=answer_id),
                        topic=self.topic, form=None, requested=None, offer=None)
        return ActionResult((ctx.kb.reply(answer_id),), state,
                            needs_person=ctx.kb.answer(answer_id).perlu_petugas)


class OnlineAction:
    """`lewat hp bisa?`: answered for whatever the last answer was about."""

    name = "action_online"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Pick the online answer for the current topic (registration when there is none)."""
        answer_id = ONLINE_BY_TOPIC.get(ctx.state.topic or "", "daftar_online")
        state = ctx.state.with_slots(answer=answer_id)  # "Selengkapnya" knows what it was
        return ActionResult((ctx.kb.reply(answer_id),), replace(state, form=None))


class DaftarAction:
    """How to register, followed by an offer to leave contact details for staff."""

    name = "action_daftar"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Registration answer, then the pendataan offer (not to a worker already a member)."""
        state = replace(ctx.state, topic="daftar", form=None, requested=None, offer=None)
        if ctx.state.situation.anggota:  # "aku wis dadi peserta": registering is for others
            return ActionResult((ctx.kb.reply("daftar"),), state)
        return ActionResult((ctx.kb.reply("daftar"), ctx.kb.reply("daftar_tawaran")),
                            replace(state, offer=Offer.PENDATAAN))


class SetujuAction:
    """A bare yes/no outside any question the bot asked: acknowledge and offer the menu."""

    name = "action_ack"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """A short acknowledgement."""
        return ActionResult((ctx.kb.reply("ack"),), replace(ctx.state, offer=None))


class LangkahAction:
    """"trus aku kudu piye?" right after an answer that has a next step: that next step."""

    name = "action_langkah"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Answer with the last reply's next step (the fallback if an admin removed it)."""
        step = ctx.state.next_step
        answer_id = step if step and ctx.kb.has_answer(step) else "fallback"
        return ActionResult((ctx.kb.reply(answer_id),), replace(ctx.state, form=None, offer=None))
