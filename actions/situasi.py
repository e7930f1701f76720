"""Takings said per day or per week: the monthly figure is estimated and confirmed first.

"50rb sehari" is not Rp50.000 a month: the bot asks "Rp50.000 sehari itu sekitar Rp1.500.000
sebulan, betul?"; a yes computes the fee on that (the policy sends it to the fee action), a no
asks for the monthly figure.
"""

from __future__ import annotations

from dataclasses import replace

from actions.text import rupiah
from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import Form, Offer
from bot.nlu.numbers import earning_period, per_month

PERIOD_WORDS = {"hari": "sehari", "minggu": "seminggu"}


class PenghasilanAction:
    """Confirms a monthly income estimated from daily or weekly takings."""

    name = "action_penghasilan"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask to confirm the estimate, or (after a no) ask for the monthly income."""
        money = ctx.parse.first("uang")
        period = earning_period(ctx.parse.text, money.start, money.end) if money else None
        if money is None or period is None:
            state = replace(ctx.state.with_slots(penghasilan=None), topic="iuran",
                            form=Form.IURAN, offer=None)
            return ActionResult((ctx.kb.reply("penghasilan_tanya_ulang"),), state)
        monthly = per_month(int(money.value), period)
        reply = ctx.kb.reply("penghasilan_konfirmasi", jumlah=rupiah(int(money.value)),
                             periode=PERIOD_WORDS[period], bulanan=rupiah(monthly))
        state = replace(ctx.state.with_slots(penghasilan=monthly), topic="iuran", form=None,
                        requested=None, offer=Offer.PENGHASILAN)
        return ActionResult((reply,), state)
