"""The BPU fee schedule, month by month: what each month costs under the rule in force that month.

Pure code over the knowledge base's facts: bpu_iuran_jkk_rate, bpu_iuran_jkm, bpu_iuran_jht and
bpu_income_brackets give the normal monthly fee; the validity periods of bpu_discount_pp50_2025
are the only source of the discount rule for a month; bpu_payment_deadline gives the due day that
decides the first month a payment made today covers.

First month paid: a payment made on or before the due day (the 15th) covers the current month;
after it, the current month's due date has passed, so the schedule starts with the next month.
(On 2026-11-30 a 12-month payment covers December 2026 to November 2027.)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date
from itertools import groupby

from actions.text import MONTHS, rupiah
from bot.knowledge.base import KnowledgeBase

DISCOUNT_FACT = "bpu_discount_pp50_2025"
GROUPS = ("transport", "lainnya")
GROUP_KEYS = {"transport": "transport_period", "lainnya": "non_transport_period"}


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


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month (`Month(2026, 12)`)."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        """The month a day falls in."""
        return cls(day.year, day.month)

    def plus(self, months: int) -> Month:
        """The month `months` later."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        """Its first day."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """Its last day."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def short(self) -> str:
        """`Des 2026`: short enough for a phone line."""
        return f"{MONTHS[self.month - 1][:3]} {self.year}"

    def long(self) -> str:
        """`Desember 2026`."""
        return f"{MONTHS[self.month - 1]} {self.year}"


@dataclass(frozen=True)
class Discount:
    """A discount period for one group of BPU (whole months, first to last)."""

    group: str
    first: Month
    last: Month
    percent: int

    def covers(self, month: Month) -> bool:
        """Whether the month is inside the period."""
        return self.first <= month <= self.last

    def applies(self, fee: Fee) -> Fee:
        """The fee with JKK and JKM reduced (JHT is never discounted)."""
        keep = (100 - self.percent) / 100
        return replace(fee, jkk=round(fee.jkk * keep), jkm=round(fee.jkm * keep))


def bpu_fee(kb: KnowledgeBase, income: int) -> Fee:
    """Normal contributions for a declared monthly income (no discount)."""
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


def _period(text: str) -> tuple[Month, Month]:
    """`"2026-01 .. 2027-03"` -> its first and last month."""
    first, last = (part.strip() for part in text.split(".."))
    y1, m1 = (int(x) for x in first.split("-"))
    y2, m2 = (int(x) for x in last.split("-"))
    return Month(y1, m1), Month(y2, m2)


def discounts(kb: KnowledgeBase) -> dict[str, Discount]:
    """The discount periods by group: `transport` and `lainnya` (every other BPU)."""
    values = kb.fact(DISCOUNT_FACT).values
    percent = int(values["discount_percent"])
    return {group: Discount(group, *_period(str(values[key])), percent)
            for group, key in GROUP_KEYS.items()}


def occupation_group(kb: KnowledgeBase, occupation: str | None) -> str | None:
    """`transport` for ojol, ojek, sopir, kurir; `lainnya` for other known work; None if unknown."""
    if not occupation:
        return None
    transport = {str(o) for o in kb.value(DISCOUNT_FACT, "transport_occupations")}
    return "transport" if occupation.lower() in transport else "lainnya"


def first_month(kb: KnowledgeBase, today: date) -> Month:
    """The first month a payment made today covers (see the module docstring)."""
    due = int(kb.value("bpu_payment_deadline", "due_day_of_month"))
    month = Month.of(today)
    return month if today.day <= due else month.plus(1)


@dataclass(frozen=True)
class MonthFee:
    """One month of a schedule: the fee due for it and the discount in force (0 if none)."""

    month: Month
    fee: Fee
    percent: int


@dataclass(frozen=True)
class Run:
    """Consecutive months with the same fee (`Jan-Nov 2027 11 x Rp16.800`)."""

    first: Month
    last: Month
    count: int
    amount: int

    def label(self) -> str:
        """`Des 2026`, `Jan-Nov 2027` or `Des 2026-Feb 2027`."""
        if self.first == self.last:
            return self.first.short()
        if self.first.year == self.last.year:
            return f"{MONTHS[self.first.month - 1][:3]}-{self.last.short()}"
        return f"{self.first.short()}-{self.last.short()}"

    def text(self) -> str:
        """`Jan-Nov 2027 11 x Rp16.800` (or `Des 2026 Rp8.400` for one month)."""
        if self.count == 1:
            return f"{self.label()} {rupiah(self.amount)}"
        return f"{self.label()} {self.count} x {rupiah(self.amount)}"


@dataclass(frozen=True)
class Schedule:
    """What n months cost, month by month, for one group and income."""

    months: tuple[MonthFee, ...]

    @property
    def first(self) -> Month:
        """The first month covered."""
        return self.months[0].month

    def total(self, with_jht: bool = False) -> int:
        """JKK + JKM over every month (plus JHT, never discounted, if asked)."""
        return sum(m.fee.base + (m.fee.jht if with_jht else 0) for m in self.months)

    def runs(self) -> list[Run]:
        """Consecutive months grouped by their JKK + JKM amount."""
        runs = []
        for amount, group in groupby(self.months, key=lambda m: m.fee.base):
            items = list(group)
            runs.append(Run(items[0].month, items[-1].month, len(items), amount))
        return runs

    @property
    def changes(self) -> bool:
        """Whether the rule changes inside the period."""
        return len(self.runs()) > 1

    def split(self) -> str:
        """`Des 2026 Rp8.400 + Jan-Nov 2027 11 x Rp16.800 = Rp193.200`."""
        return " + ".join(r.text() for r in self.runs()) + f" = {rupiah(self.total())}"


def _due(fee: Fee, discount: Discount, month: Month) -> MonthFee:
    if discount.covers(month):
        return MonthFee(month, discount.applies(fee), discount.percent)
    return MonthFee(month, fee, 0)


def month_fee(kb: KnowledgeBase, group: str, month: Month, income: int) -> MonthFee:
    """The fee due for one month under the rule in force in that month."""
    return _due(bpu_fee(kb, income), discounts(kb)[group], month)


def schedule(kb: KnowledgeBase, group: str, income: int, first: Month, months: int) -> Schedule:
    """`months` months from `first`, each under its own month's rule."""
    fee, discount = bpu_fee(kb, income), discounts(kb)[group]
    return Schedule(tuple(_due(fee, discount, first.plus(i)) for i in range(months)))


def group_rule_differs(kb: KnowledgeBase, first: Month, months: int) -> bool:
    """Whether the groups pay differently in some month of the period (group matters)."""
    periods = discounts(kb).values()
    return any(len({d.covers(first.plus(i)) for d in periods}) > 1 for i in range(months))


# The table in docs/FEES.md (`python -m bot fees table`): who, at which income, on which days.
TABLE_WORKERS = (("ojol", "transport"), ("pedagang", "lainnya"))
TABLE_INCOMES = (1_000_000, 2_500_000)
TABLE_DAYS = (date(2026, 3, 15), date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 1),
              date(2027, 3, 31), date(2027, 4, 1))
TABLE_MONTHS = (3, 6, 12)


def fee_table(kb: KnowledgeBase, days: tuple[date, ...] = TABLE_DAYS,
              incomes: tuple[int, ...] = TABLE_INCOMES) -> str:
    """A Markdown table: first month's fee, its discount, and the 3/6/12-month totals."""
    head = ["Tanggal", "Pekerja", "Penghasilan", "Bulan pertama", "Iuran/bulan", "Diskon",
            *(f"{n} bulan" for n in TABLE_MONTHS)]
    rows = [head, ["---"] * len(head)]
    for day in days:
        first = first_month(kb, day)
        for worker, group in TABLE_WORKERS:
            for income in incomes:
                due = month_fee(kb, group, first, income)
                discount = discounts(kb)[group]
                note = f"{due.percent}% s.d. {discount.last.short()}" if due.percent else "-"
                fee = rupiah(due.fee.base) + ("" if due.fee.exact else " (perkiraan)")
                rows.append([day.isoformat(), worker, rupiah(income), first.short(), fee, note,
                             *(rupiah(schedule(kb, group, income, first, n).total())
                               for n in TABLE_MONTHS)])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)
