"""Death from a work accident: the JKK death benefit, computed from the worker's bracket.

A death during work or on the way to or from it is JKK, not JKM (facts jkk_death, jkk_scope):
48 x the declared wage, plus the periodic benefit and the funeral cost; the scholarship has no
minimum membership (jkk_scholarship). The unit `jkk_meninggal` says it for the lowest bracket;
when the worker's income is known and is another bracket, the reply adds their own amount.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.answers import unit_state
from actions.fees import bpu_fee
from actions.text import rupiah
from bot.dialogue.action import ActionContext, ActionResult
from bot.knowledge.base import KnowledgeBase
from bot.messages import Reply

UNIT = "jkk_meninggal"


@dataclass(frozen=True)
class DeathBenefit:
    """The JKK death benefit for one declared income."""

    wage: int
    exact: bool
    lump_sum: int
    periodic: int
    funeral: int

    @property
    def total(self) -> int:
        """Everything but the scholarship."""
        return self.lump_sum + self.periodic + self.funeral


def jkk_death_benefit(kb: KnowledgeBase, income: int) -> DeathBenefit:
    """48 x the bracket's nominal wage + periodic benefit + funeral cost (fact jkk_death)."""
    fee = bpu_fee(kb, income)
    values = kb.fact("jkk_death").values
    return DeathBenefit(fee.nominal, fee.exact, int(values["multiple_of_wage"]) * fee.nominal,
                        int(values["santunan_berkala"]), int(values["funeral"]))


class JkkDeathAction:
    """`jkk/meninggal`: the unit, plus the worker's own amount when their income is known."""

    name = "action_jkk_meninggal"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """The unit's answer; a line with the amount for the worker's own bracket."""
        answer = ctx.kb.answer(UNIT)
        reply = ctx.kb.reply(UNIT)
        income = ctx.state.slots.get("penghasilan") or ctx.state.situation.penghasilan
        lowest = int(ctx.kb.value("bpu_income_brackets", "lowest_bracket_nominal"))
        if income:
            benefit = jkk_death_benefit(ctx.kb, int(income))
            if benefit.wage != lowest:
                estimate = "" if benefit.exact else " " + ctx.kb.text("jkk_meninggal_perkiraan")
                line = ctx.kb.text(
                    "jkk_meninggal_hitung", penghasilan=rupiah(benefit.wage),
                    kali=int(ctx.kb.value("jkk_death", "multiple_of_wage")),
                    berkala=rupiah(benefit.periodic), pemakaman=rupiah(benefit.funeral),
                    total=rupiah(benefit.total), perkiraan=estimate)
                reply = Reply(f"{reply.text}\n{line}", reply.buttons)
        return ActionResult((reply,), unit_state(ctx.state, answer))
