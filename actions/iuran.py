"""The BPU fee calculator and the PP 50/2025 discount, computed from facts on the day asked.

Figures come from the knowledge base's facts (bpu_iuran_jkk_rate, bpu_iuran_jkm, bpu_iuran_jht,
bpu_income_brackets, bpu_discount_pp50_2025). Until the intermediate income brackets of PP 44/2015
Lampiran II are verified, the amount is exact at the lowest and the highest bracket and an estimate
(1% JKK, 2% JHT of the declared income) in between, and the answer says so.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date

from actions.text import month_year, rupiah
from bot.dialogue.action import ActionContext, ActionResult
from bot.knowledge.base import KnowledgeBase
from bot.messages import Button, Reply

BUTTONS = (Button("Cara daftar", "/cara_daftar"), Button("Cara bayar", "/cara_bayar"),
           Button("Manfaatnya apa?", "/tanya_manfaat"))
DISCOUNT_FACT = "bpu_discount_pp50_2025"


@dataclass(frozen=True)
class Fee:
    """Monthly BPU contributions for one declared income."""

    income: int
    nominal: int
    exact: bool
    jkk: int
    jkm: int
    jht: int

    @property
    def base(self) -> int:
        """The mandatory package for pekerja mandiri: JKK + JKM."""
        return self.jkk + self.jkm


@dataclass(frozen=True)
class Discount:
    """A discount period for one group of BPU."""

    group: str
    start: date
    end: date
    percent: int

    def applies(self, fee: Fee) -> Fee:
        """The fee with JKK and JKM reduced (JHT is never discounted)."""
        keep = (100 - self.percent) / 100
        return replace(fee, jkk=round(fee.jkk * keep), jkm=round(fee.jkm * keep))


def bpu_fee(kb: KnowledgeBase, income: int) -> Fee:
    """Contributions for a declared monthly income."""
    brackets = kb.fact("bpu_income_brackets").values
    if income <= int(brackets["lowest_bracket_upper_bound_approx"]):
        nominal, exact = int(brackets["lowest_bracket_nominal"]), True
    elif income >= int(brackets["highest_bracket_lower_bound"]):
        nominal, exact = int(brackets["highest_bracket_nominal"]), True
    else:
        nominal, exact = income, False
    jkk_rate = float(kb.value("bpu_iuran_jkk_rate", "rate_percent"))
    jht_rate = float(kb.value("bpu_iuran_jht", "rate_percent"))
    return Fee(income, nominal, exact, round(nominal * jkk_rate / 100),
               int(kb.value("bpu_iuran_jkm", "jkm_monthly")), round(nominal * jht_rate / 100))


def _period(text: str) -> tuple[date, date]:
    """`"2026-01 .. 2027-03"` -> first day of the first month, last day of the last month."""
    first, last = (part.strip() for part in text.split(".."))
    y1, m1 = (int(x) for x in first.split("-"))
    y2, m2 = (int(x) for x in last.split("-"))
    return date(y1, m1, 1), date(y2, m2, calendar.monthrange(y2, m2)[1])


def discounts(kb: KnowledgeBase) -> dict[str, Discount]:
    """The discount periods by group: `transport` and `lainnya` (every other BPU)."""
    values = kb.fact(DISCOUNT_FACT).values
    percent = int(values["discount_percent"])
    return {
        group: Discount(group, *_period(str(values[key])), percent)
        for group, key in (("transport", "transport_period"), ("lainnya", "non_transport_period"))
    }


def occupation_group(kb: KnowledgeBase, occupation: str | None) -> str | None:
    """`transport` for ojol, ojek, sopir, kurir; `lainnya` for other known work; None if unknown."""
    if not occupation:
        return None
    transport = {str(o) for o in kb.value(DISCOUNT_FACT, "transport_occupations")}
    return "transport" if occupation.lower() in transport else "lainnya"


GROUP_WORDS = {"transport": "pekerja transportasi (ojol, ojek, sopir, kurir)",
               "lainnya": "pekerja mandiri lainnya (pedagang, petani, nelayan, dll.)"}


def discount_lines(kb: KnowledgeBase, today: date, group: str | None, fee: Fee) -> list[str]:
    """What the discount means for this fee today, for this group or for every group."""
    periods = discounts(kb)
    groups = [group] if group else list(periods)
    active = [periods[g] for g in groups if periods[g].start <= today <= periods[g].end]
    upcoming = [periods[g] for g in groups if today < periods[g].start]
    lines: list[str] = []
    if active:
        cut = active[0].applies(fee)
        lines.append(
            f"Saat ini ada *diskon {active[0].percent}%* untuk JKK dan JKM (PP 50/2025): "
            f"cukup bayar *{rupiah(cut.base)}*/bulan (normalnya {rupiah(fee.base)}); "
            f"dengan JHT *{rupiah(cut.base + cut.jht)}* (JHT tidak didiskon)."
        )
        for d in active:
            lines.append(f"Diskon berlaku untuk {GROUP_WORDS[d.group]} sampai {month_year(d.end)}.")
        lines.append("Setelah itu iuran kembali normal.")
    for d in upcoming:
        lines.append(
            f"Untuk {GROUP_WORDS[d.group]} ada diskon {d.percent}% JKK+JKM mulai "
            f"{month_year(d.start)} sampai {month_year(d.end)}."
        )
    return lines


def _active_discount(kb: KnowledgeBase, today: date, group: str | None) -> Discount | None:
    """The discount a worker of this group pays today.

    For an unknown group it applies only when every group has one (the amounts are the same).
    """
    periods = discounts(kb)
    groups = [group] if group else list(periods)
    active = [periods[g] for g in groups if periods[g].start <= today <= periods[g].end]
    return active[0] if active and (group or len(active) == len(periods)) else None


def fee_reply(kb: KnowledgeBase, today: date, income: int, group: str | None,
              months: int | None, program: str | None) -> Reply:
    """The answer for a declared income, optionally for several months or one program."""
    fee = bpu_fee(kb, income)
    if fee.exact:
        head = (f"Iuran pekerja mandiri (BPU) untuk penghasilan {rupiah(income)}/bulan "
                f"(dihitung {rupiah(fee.nominal)}):")
    else:
        head = (f"Perkiraan iuran pekerja mandiri (BPU) untuk penghasilan "
                f"{rupiah(income)}/bulan:")
    lines = [head,
             f"• JKK (kecelakaan kerja) {rupiah(fee.jkk)} + JKM (kematian) {rupiah(fee.jkm)} "
             f"= *{rupiah(fee.base)}*/bulan",
             f"• Jika ditambah JHT (tabungan hari tua) {rupiah(fee.jht)}: "
             f"*{rupiah(fee.base + fee.jht)}*/bulan"]
    if program in ("JP", "JKP"):
        lines.insert(0, f"{program} tidak tersedia untuk pekerja mandiri; yang bisa diikuti "
                        "JKK, JKM dan JHT.")
    elif program == "JHT":
        lines = [f"JHT (Jaminan Hari Tua) adalah tabungan: 2% dari penghasilan, yaitu "
                 f"*{rupiah(fee.jht)}*/bulan, ditambah ke JKK+JKM {rupiah(fee.base)}. "
                 f"Totalnya *{rupiah(fee.base + fee.jht)}*/bulan."]
    lines += discount_lines(kb, today, group, fee)
    if months and months > 1:
        discount = _active_discount(kb, today, group)
        monthly = discount.applies(fee) if discount else fee
        lines.append(
            f"Bayar {months} bulan sekaligus: {rupiah(monthly.base * months)} (JKK+JKM) atau "
            f"{rupiah((monthly.base + monthly.jht) * months)} dengan JHT"
            + (", selama masa diskon." if discount else ".")
        )
    if not fee.exact:
        lines.append("Ini perkiraan: angka pasti mengikuti tabel penghasilan resmi. "
                     "Cek di aplikasi JMO atau call center 175.")
    return Reply("\n".join(lines), BUTTONS)


def cheapest_reply(kb: KnowledgeBase, today: date, group: str | None) -> Reply:
    """The cheapest package, and a question for the income to compute the exact amount."""
    fee = bpu_fee(kb, int(kb.fact("bpu_income_brackets").values["lowest_bracket_nominal"]))
    lines = [
        f"Iuran termurah pekerja mandiri (BPU, Bukan Penerima Upah): *{rupiah(fee.base)}*/bulan "
        f"untuk JKK (kecelakaan kerja) + JKM (kematian). Dengan JHT (tabungan hari tua): "
        f"*{rupiah(fee.base + fee.jht)}*/bulan.",
        *discount_lines(kb, today, group, fee),
        "Berapa penghasilan Bapak/Ibu sebulan? Ketik misalnya: *2 juta*. Saya hitungkan.",
    ]
    return Reply("\n".join(lines), BUTTONS)


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
        given = {"penghasilan": income, "bulan": months, "program": program}
        state = state.with_slots(**{k: e.value for k, e in given.items() if e is not None})
        if "penghasilan" not in state.slots and state.situation.penghasilan:
            state = state.with_slots(penghasilan=state.situation.penghasilan)
        job = (str(occupation.value) if occupation else
               state.situation.pekerjaan or ctx.contact.get("pekerjaan"))
        profile = {"pekerjaan": job} if occupation and job else {}
        group = occupation_group(ctx.kb, job)
        today = ctx.now.date()
        if "penghasilan" not in state.slots:
            reply = cheapest_reply(ctx.kb, today, group)
            state = replace(state, topic="iuran", form="iuran", requested="penghasilan")
            return ActionResult((reply,), state, profile)
        reply = fee_reply(ctx.kb, today, int(state.slots["penghasilan"]), group,
                          state.slots.get("bulan"), state.slots.get("program"))
        state = replace(state, topic="iuran", form=None, requested=None, offer=None)
        return ActionResult((reply,), state, profile)


class DiskonAction:
    """Answers `tanya_diskon`: the PP 50/2025 discount as it stands today."""

    name = "action_diskon"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Say whether the discount is in force today, for whom and until when."""
        occupation = ctx.parse.first("pekerjaan")
        job = (str(occupation.value) if occupation else
               ctx.state.situation.pekerjaan or ctx.contact.get("pekerjaan"))
        group = occupation_group(ctx.kb, job)
        fee = bpu_fee(ctx.kb, int(ctx.kb.value("bpu_income_brackets", "lowest_bracket_nominal")))
        lines = discount_lines(ctx.kb, ctx.now.date(), group, fee)
        if not lines:
            lines = [f"Diskon 50% JKK+JKM (PP 50/2025) sudah tidak berlaku"
                     f"{' untuk ' + GROUP_WORDS[group] if group else ''}. Iuran termurah "
                     f"kembali normal {rupiah(fee.base)}/bulan (JKK+JKM)."]
        lines.append("Diskon otomatis untuk peserta lama dan baru; tidak berlaku jika iuran "
                     "dibayar pemerintah (APBN/APBD).")
        state = replace(ctx.state, topic="iuran")
        return ActionResult((Reply("\n".join(lines), BUTTONS),), state)
