"""Fee answers: the BPU fee for an income, n months ahead, a named month, or a figure heard.

Amounts come from the month-by-month schedule in actions/fees.py (facts bpu_iuran_jkk_rate,
bpu_iuran_jkm, bpu_iuran_jht, bpu_income_brackets, bpu_discount_pp50_2025, bpu_payment_deadline).
Until the intermediate income brackets of PP 44/2015 Lampiran II are verified, an amount is exact
at the lowest and the highest bracket and an estimate (1% JKK, 2% JHT of the declared income) in
between, and the answer says so.

A worker whose occupation is known sees only their own group's discount; with none known, a
discount only some groups still have is never shown as theirs: the reply says who gets it.
Replies are sized for a phone: 8 lines of 34 columns. Their wording is knowledge-base data
(bot/knowledge/data/texts.yml: iuran_*, diskon_*, kelompok_*), editable in the console; this
module fills in the amounts, months and groups.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from actions.fees import (
    GROUPS,
    Fee,
    Month,
    bpu_fee,
    discounts,
    first_month,
    group_rule_differs,
    month_fee,
    occupation_group,
    schedule,
)
from actions.text import rupiah
from bot.contacts import ProfileField
from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import Form
from bot.knowledge.base import KnowledgeBase
from bot.messages import Button, Reply

# An occupation of each group, asked again through a button ("Saya ojol"): the NLU's value.
EXAMPLE_OCCUPATION = {"transport": "ojol", "lainnya": "pedagang"}
LOWEST = "lowest_bracket_nominal"
CLOSED_TO_BPU = ("JP", "JKP")  # fact bpu_jp_jkp_not_available


def next_steps(kb: KnowledgeBase) -> tuple[Button, ...]:
    """The buttons under an answer about contributions (texts.yml iuran_langkah)."""
    return kb.reply("iuran_langkah").buttons


def group_words(kb: KnowledgeBase, group: str) -> str:
    """Who a group is, in the worker's words (texts kelompok_transport, kelompok_lainnya)."""
    return kb.text(f"kelompok_{group}")


def _who(kb: KnowledgeBase, group: str, occupation: str | None) -> str:
    return occupation if occupation else group_words(kb, group)


def _percent(value: float) -> str:
    return f"{value:g}%"


def discount_note(kb: KnowledgeBase, month: Month, group: str | None,
                  occupation: str | None, fee: Fee) -> list[str]:
    """The discount as it stands in `month`: the worker's own group, or who gets it."""
    periods = discounts(kb)
    if group is not None:
        d = periods[group]
        said = {"persen": _percent(d.percent), "siapa": _who(kb, group, occupation)}
        if d.covers(month):
            return [kb.text("diskon_kelompok_berlaku", sampai=d.last.long(),
                            iuran=rupiah(d.applies(fee).base), **said)]
        if month < d.first:
            return [kb.text("diskon_kelompok_nanti", mulai=d.first.short(),
                            sampai=d.last.short(), **said)]
        return [kb.text("diskon_kelompok_berakhir", sampai=d.last.long(), **said)]
    active = [periods[g] for g in GROUPS if periods[g].covers(month)]
    upcoming = [periods[g] for g in GROUPS if month < periods[g].first]
    lines: list[str] = []
    if len(active) == len(GROUPS):
        soonest, *later = sorted(active, key=lambda d: d.last)
        extra = "".join(" " + kb.text("diskon_semua_lainnya", siapa=group_words(kb, d.group),
                                      sampai=d.last.short())
                        for d in later if d.last != soonest.last)
        lines.append(kb.text("diskon_semua", persen=_percent(soonest.percent),
                             iuran=rupiah(soonest.applies(fee).base),
                             sampai=soonest.last.short(), lainnya=extra))
    elif active:
        lines += [kb.text("diskon_hanya", persen=_percent(d.percent),
                          iuran=rupiah(d.applies(fee).base), siapa=group_words(kb, d.group),
                          sampai=d.last.short()) for d in active]
    lines += [kb.text("diskon_nanti", mulai=d.first.short(),
                      siapa=(kb.text("diskon_nanti_lainnya") if active
                             else group_words(kb, d.group).capitalize()))
              for d in upcoming]
    return lines


def _start(kb: KnowledgeBase, today: date, named: Month | None) -> tuple[Month, str]:
    """The first month and why: the month named, or the first month a payment today covers."""
    if named is not None:
        return named, ""
    first = first_month(kb, today)
    due = int(kb.value("bpu_payment_deadline", "due_day_of_month"))
    if first == Month.of(today):
        return first, kb.text("iuran_mulai_bulan_ini", tanggal=due)
    return first, kb.text("iuran_mulai_bulan_depan", bulan=Month.of(today).long().split()[0],
                          tanggal=due)


def _period_lines(kb: KnowledgeBase, group: str, income: int, first: Month,
                  months: int) -> list[str]:
    """The n months from `first`: the split when the rule changes inside, then the JHT total."""
    plan = schedule(kb, group, income, first, months)
    total = f"*{rupiah(plan.total())}*"
    if plan.changes:
        line = plan.split().rsplit(" = ", 1)[0] + f" = {total}"
    else:
        line = f"{months} x {rupiah(plan.months[0].fee.base)} = {total}"
    return [line, kb.text("iuran_total_dengan_jht", total=rupiah(plan.total(with_jht=True)))]


def _head(kb: KnowledgeBase, fee: Fee, months: str = "") -> str:
    """`Penghasilan Rp1.000.000, 12 bulan mulai Des 2026 (...):` (or the estimate's head)."""
    answer = "iuran_kepala" if fee.exact else "iuran_kepala_perkiraan"
    return kb.text(answer, penghasilan=rupiah(fee.income), bulan=months)


def _months(kb: KnowledgeBase, n: int, first: Month, why: str) -> str:
    return ", " + kb.text("iuran_periode", n=n, mulai=first.short()) + (f" ({why})" if why
                                                                          else "")


def fee_reply(kb: KnowledgeBase, today: date, income: int, group: str | None,
              months: int | None, program: str | None, *, named: Month | None = None,
              occupation: str | None = None) -> Reply:
    """The answer for a declared income: one month (the first due, or the month named) or n."""
    fee = bpu_fee(kb, income)
    first, why = _start(kb, today, named)
    lines: list[str] = []
    if program in CLOSED_TO_BPU:
        lines.append(kb.text("iuran_program_tutup", program=program))
    n = months or 1
    if n > 1 and group is not None:
        lines.append(_head(kb, fee, _months(kb, n, first, why)))
        lines += _period_lines(kb, group, income, first, n)
        if not fee.exact:
            lines.append(kb.text("iuran_perkiraan_cek"))
        return Reply("\n".join(lines), next_steps(kb))
    if n > 1 and group_rule_differs(kb, first, n):
        lines.append(_head(kb, fee, _months(kb, n, first, why)))
        for g in GROUPS:
            plan = schedule(kb, g, income, first, n)
            lines.append(kb.text("iuran_total_kelompok", kelompok=group_words(kb, g).capitalize(),
                                 total=rupiah(plan.total())))
        lines.append(kb.text("iuran_sebut_pekerjaan"))
        return Reply("\n".join(lines), tuple(
            Button(kb.text(f"iuran_tombol_{g}"), _ask(EXAMPLE_OCCUPATION[g], income, n))
            for g in GROUPS))
    if n > 1:  # no group, but every group pays the same in these months
        lines.append(_head(kb, fee, _months(kb, n, first, why)))
        lines += _period_lines(kb, GROUPS[0], income, first, n)
        return Reply("\n".join(lines), next_steps(kb))
    lines.append(_head(kb, fee, f", {first.long()}" if named else ""))
    lines.append(kb.text("iuran_normal", iuran=rupiah(fee.base)))
    # with no group known, a month's discount is shown as theirs only if every group has it
    same_for_all = group is None and not group_rule_differs(kb, first, 1)
    group_rule = GROUPS[0] if same_for_all else group
    due = month_fee(kb, group_rule, first, income).fee.base if group_rule else fee.base
    lines += discount_note(kb, first, group, occupation, fee)
    if program == "JHT":
        rate = float(kb.value("bpu_iuran_jht", "rate_percent"))
        lines.append(kb.text("iuran_jht", persen=_percent(rate), iuran=rupiah(fee.jht)))
    lines.append(kb.text("iuran_dengan_jht", iuran=rupiah(due + fee.jht)))
    if not fee.exact:
        lines.append(kb.text("iuran_perkiraan_cek"))
    return Reply("\n".join(lines), next_steps(kb))


def _ask(occupation: str, income: int, months: int) -> str:
    """A button payload that asks the same question for one occupation."""
    return (f'/tanya_iuran{{"pekerjaan":"{occupation}","uang":"{income}",'
            f'"bulan":"{months} bulan"}}')


def cheapest_reply(kb: KnowledgeBase, today: date, group: str | None,
                   occupation: str | None = None) -> Reply:
    """The cheapest package, and a question for the income to compute the exact amount."""
    fee = bpu_fee(kb, int(kb.value("bpu_income_brackets", LOWEST)))
    lines = [
        kb.text("iuran_termurah", iuran=rupiah(fee.base), dengan_jht=rupiah(fee.base + fee.jht)),
        *discount_note(kb, first_month(kb, today), group, occupation, fee),
        kb.text("iuran_tanya_penghasilan"),
    ]
    return Reply("\n".join(lines), next_steps(kb))


def figure_reply(kb: KnowledgeBase, today: date, amount: int, group: str | None,
                 occupation: str | None) -> Reply:
    """What a contribution figure the worker heard is ("16.800 itu sebulan apa setahun?")."""
    fee = bpu_fee(kb, int(kb.value("bpu_income_brackets", LOWEST)))
    first = first_month(kb, today)
    cut = {g: d.applies(fee) for g, d in discounts(kb).items()}
    meanings = {fee.base: "JKK+JKM", fee.base + fee.jht: "JKK+JKM+JHT", fee.jht: "JHT",
                fee.jkk: "JKK", fee.jkm: "JKM"}
    for discount in discounts(kb).values():
        reduced = cut[discount.group]
        after = f"diskon {_percent(discount.percent)}"
        meanings.setdefault(reduced.base, f"JKK+JKM, {after}")
        meanings.setdefault(reduced.base + reduced.jht, f"JKK+JKM+JHT, {after}")
    if amount in meanings:
        lines = [kb.text("iuran_angka_bulanan", angka=rupiah(amount), arti=meanings[amount],
                         penghasilan=rupiah(fee.nominal))]
    else:
        lines = [kb.text("iuran_angka_asing")]
    lines.append(kb.text("iuran_termurah_singkat", iuran=rupiah(fee.base)))
    lines += discount_note(kb, first, group, occupation, fee)
    return Reply("\n".join(lines), next_steps(kb))


def named_month(value: str | int | None, today: date) -> Month | None:
    """`"2027-01"` -> Jan 2027; `"01"` -> the next January from today (this month included)."""
    if value is None:
        return None
    text = str(value)
    if "-" in text:
        year, number = (int(x) for x in text.split("-"))
        return Month(year, number)
    month = Month(today.year, int(text))
    return month if month >= Month.of(today) else Month(today.year + 1, int(text))


class IuranAction:
    """Answers `tanya_iuran` and fee follow-ups: computes, or asks for the income."""

    name = "action_iuran"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Compute the fee when an income is known, otherwise give the cheapest and ask."""
        parse, state = ctx.parse, ctx.state
        income = parse.first("uang")
        months = parse.first("bulan")
        program = parse.first("program")
        occupation = parse.first("pekerjaan")
        period = parse.first("periode")
        figure = parse.first("nominal")
        given = {"penghasilan": income, "bulan": months, "program": program}
        state = state.with_slots(**{k: e.value for k, e in given.items() if e is not None})
        if "penghasilan" not in state.slots and state.situation.penghasilan:
            state = state.with_slots(penghasilan=state.situation.penghasilan)
        job = ctx.told(ProfileField.OCCUPATION)
        profile = {ProfileField.OCCUPATION: job} if occupation and job else {}
        group = occupation_group(ctx.kb, job)
        today = ctx.now.date()
        if figure is not None and income is None:
            reply = figure_reply(ctx.kb, today, int(figure.value), group, job)
            return ActionResult((reply,), replace(state, topic="iuran"), profile)
        start = named_month(period.value if period else None, today)
        if program and program.value in CLOSED_TO_BPU and income is None:
            # "iuran JP buat BPU", "manfaat JP berapa sebulan": closed to BPU, no amounts
            answer = f"manfaat_{str(program.value).lower()}"
            return ActionResult((ctx.kb.reply(answer),), replace(state, topic="manfaat"),
                                profile)
        if "penghasilan" not in state.slots:
            if start is not None:  # a named month: answer it at the lowest bracket
                lowest = int(ctx.kb.value("bpu_income_brackets", LOWEST))
                count = int(months.value) if months else None
                reply = fee_reply(ctx.kb, today, lowest, group, count, None, named=start,
                                  occupation=job)
                return ActionResult((reply,), replace(state, topic="iuran"), profile)
            reply = cheapest_reply(ctx.kb, today, group, job)
            state = replace(state, topic="iuran", form=Form.IURAN)
            return ActionResult((reply,), state, profile)
        reply = fee_reply(ctx.kb, today, int(state.slots["penghasilan"]), group,
                          state.slots.get("bulan"), state.slots.get("program"), named=start,
                          occupation=job)
        state = replace(state, topic="iuran", form=None, requested=None, offer=None)
        return ActionResult((reply,), state, profile)


class DiskonAction:
    """Answers `tanya_diskon`: the PP 50/2025 discount as it stands today."""

    name = "action_diskon"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Say whether the discount is in force, for whom and until when."""
        period = ctx.parse.first("periode")
        job = ctx.told(ProfileField.OCCUPATION)
        group = occupation_group(ctx.kb, job)
        today = ctx.now.date()
        named = named_month(period.value if period else None, today)
        lowest = int(ctx.kb.value("bpu_income_brackets", LOWEST))
        state = replace(ctx.state, topic="iuran")
        if named is not None:  # "diskon Januari 2027?": that month's fee under its own rule
            reply = fee_reply(ctx.kb, today, lowest, group, None, None, named=named,
                              occupation=job)
            return ActionResult((reply,), state)
        month = first_month(ctx.kb, today)
        fee = bpu_fee(ctx.kb, lowest)
        lines = discount_note(ctx.kb, month, group, job, fee)
        if not lines:
            percent = _percent(discounts(ctx.kb)[GROUPS[0]].percent)
            lines = [ctx.kb.text("diskon_sudah_berakhir", persen=percent, iuran=rupiah(fee.base))]
        lines.append(ctx.kb.text("diskon_siapa"))
        return ActionResult((Reply("\n".join(lines), next_steps(ctx.kb)),), state)

