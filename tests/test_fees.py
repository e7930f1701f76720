"""The month-by-month fee schedule against an independent oracle, over every day of 2025-2028.

The oracle below is written from the domain facts directly (PP 44/2015 brackets, JKM Rp6.800,
PP 50/2025 periods: transport Jan 2026-Mar 2027, others Apr-Dec 2026; due on the 15th) and walks
the calendar with its own arithmetic, so a bug in actions/fees.py cannot hide in both.
Pure code: no Redis, milliseconds.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actions.fees import Month, bpu_fee, fee_table, first_month, schedule
from actions.iuran import fee_reply
from actions.text import rupiah
from bot.knowledge.base import KnowledgeBase
from bot.settings import PROJECT_ROOT

DISCOUNTED = {"transport": ((2026, 1), (2027, 3)), "lainnya": ((2026, 4), (2026, 12))}
INCOMES = (500_000, 1_000_000, 1_099_999, 1_100_000, 2_500_000, 7_300_000, 20_200_000,
           25_000_000)
GROUPS = ("transport", "lainnya")
MONTH_COUNTS = (1, 3, 6, 12)


def oracle_nominal(income: int) -> int:
    if income < 1_100_000:
        return 1_000_000
    if income >= 20_200_000:
        return 20_700_000
    return income


def oracle_month(group: str, year: int, month: int, income: int) -> tuple[int, int]:
    """(JKK + JKM, JHT) for one month."""
    jkk, jkm, jht = oracle_nominal(income) // 100, 6_800, oracle_nominal(income) * 2 // 100
    first, last = DISCOUNTED[group]
    if first <= (year, month) <= last:
        jkk, jkm = jkk // 2 + (jkk % 2), jkm // 2  # half, rounded like the rupiah is
    return jkk + jkm, jht


def oracle_total(today: date, group: str, months: int, income: int) -> tuple[int, int]:
    """(JKK + JKM total, with JHT) for `months` months paid on `today`."""
    year, month = today.year, today.month
    if today.day > 15:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    base = jht = 0
    for _ in range(months):
        b, j = oracle_month(group, year, month, income)
        base, jht = base + b, jht + j
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return base, base + jht


def every_day(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_the_facts_still_say_what_the_oracle_assumes(seed_kb: KnowledgeBase) -> None:
    values = seed_kb.fact("bpu_discount_pp50_2025").values
    assert values["transport_period"] == "2026-01 .. 2027-03"
    assert values["non_transport_period"] == "2026-04 .. 2026-12"
    assert values["discount_percent"] == 50
    assert seed_kb.value("bpu_iuran_jkm", "jkm_monthly") == 6_800
    assert seed_kb.value("bpu_payment_deadline", "due_day_of_month") == 15


def test_every_day_of_2025_to_2028_matches_the_oracle(seed_kb: KnowledgeBase) -> None:
    """Every day, both groups, every n; the schedule depends on the day only via its first
    month, so each first month's schedules are computed once and checked against every day."""
    plans: dict[tuple[Month, str, int], tuple[int, int]] = {}
    for today in every_day(date(2025, 1, 1), date(2028, 12, 31)):
        first = first_month(seed_kb, today)
        for group in GROUPS:
            for months in MONTH_COUNTS:
                key = (first, group, months)
                if key not in plans:
                    plan = schedule(seed_kb, group, 1_000_000, first, months)
                    plans[key] = (plan.total(), plan.total(with_jht=True))
                assert plans[key] == oracle_total(today, group, months, 1_000_000), key


@settings(max_examples=150, deadline=None)
@given(today=st.dates(date(2025, 1, 1), date(2028, 12, 31)), group=st.sampled_from(GROUPS),
       income=st.sampled_from(INCOMES), months=st.sampled_from(MONTH_COUNTS))
def test_totals_match_the_oracle_at_every_bracket(seed_kb: KnowledgeBase, today: date,
                                                  group: str, income: int,
                                                  months: int) -> None:
    plan = schedule(seed_kb, group, income, first_month(seed_kb, today), months)
    assert (plan.total(), plan.total(with_jht=True)) == oracle_total(today, group, months,
                                                                      income)
    assert len(plan.months) == months
    assert sum(run.count * run.amount for run in plan.runs()) == plan.total()


@settings(max_examples=100, deadline=None)
@given(today=st.dates(date(2025, 1, 1), date(2028, 12, 31)), group=st.sampled_from(GROUPS),
       income=st.sampled_from(INCOMES), months=st.sampled_from((3, 6, 12)))
def test_the_reply_states_the_oracle_total_and_the_split(seed_kb: KnowledgeBase, today: date,
                                                         group: str, income: int,
                                                         months: int) -> None:
    text = fee_reply(seed_kb, today, income, group, months, None).text
    base, with_jht = oracle_total(today, group, months, income)
    assert f"*{rupiah(base)}*" in text
    assert rupiah(with_jht) in text
    plan = schedule(seed_kb, group, income, first_month(seed_kb, today), months)
    if plan.changes:  # the split shows every run of months with its own amount
        for run in plan.runs():
            assert run.text() in text
    assert first_month(seed_kb, today).short() in text


@settings(max_examples=100, deadline=None)
@given(today=st.dates(date(2025, 1, 1), date(2028, 12, 31)), group=st.sampled_from(GROUPS),
       income=st.sampled_from(INCOMES), months=st.sampled_from(MONTH_COUNTS))
def test_replies_fit_a_phone_screen(seed_kb: KnowledgeBase, today: date, group: str | None,
                                    income: int, months: int) -> None:
    for who in (group, None):
        text = fee_reply(seed_kb, today, income, who, months, None).text
        assert phone_lines(text) <= 8, text


def phone_lines(text: str) -> int:
    """Lines on a 34-column phone screen (WhatsApp's *bold* markers are not shown)."""
    return sum(max(1, -(-len(line.replace("*", "")) // 34)) for line in text.split("\n"))


def test_first_month_is_this_month_until_the_due_day(seed_kb: KnowledgeBase) -> None:
    assert first_month(seed_kb, date(2026, 11, 15)) == Month(2026, 11)
    assert first_month(seed_kb, date(2026, 11, 16)) == Month(2026, 12)
    assert first_month(seed_kb, date(2026, 12, 31)) == Month(2027, 1)


# Issue 10, case 1: totals across a rule change, at the Rp1 juta bracket.
@pytest.mark.parametrize(("today", "group", "months", "total", "split"), [
    (date(2026, 11, 30), "lainnya", 12, 193_200,
     "Des 2026 Rp8.400 + Jan-Nov 2027 11 x Rp16.800 = *Rp193.200*"),
    (date(2026, 11, 10), "lainnya", 12, 184_800,
     "Nov-Des 2026 2 x Rp8.400 + Jan-Okt 2027 10 x Rp16.800 = *Rp184.800*"),
    (date(2026, 3, 15), "lainnya", 12, 126_000,
     "Mar 2026 Rp16.800 + Apr-Des 2026 9 x Rp8.400 + Jan-Feb 2027 2 x Rp16.800"),
    (date(2026, 12, 31), "transport", 6, 75_600,
     "Jan-Mar 2027 3 x Rp8.400 + Apr-Jun 2027 3 x Rp16.800 = *Rp75.600*"),
    (date(2027, 1, 1), "transport", 6, 75_600, "Jan-Mar 2027 3 x Rp8.400"),
])
def test_issue_case_1_totals_follow_each_months_rule(seed_kb: KnowledgeBase, today: date,
                                                     group: str, months: int, total: int,
                                                     split: str) -> None:
    text = fee_reply(seed_kb, today, 1_000_000, group, months, None).text
    assert split in text
    assert f"*{rupiah(total)}*" in text


def test_issue_case_1_says_which_month_it_starts_from_and_why(seed_kb: KnowledgeBase) -> None:
    text = fee_reply(seed_kb, date(2026, 11, 30), 1_000_000, "lainnya", 12, None).text
    assert "mulai Des 2026" in text
    assert "tgl 15 sudah lewat" in text
    text = fee_reply(seed_kb, date(2026, 11, 3), 1_000_000, "lainnya", 3, None).text
    assert "mulai Nov 2026 (bulan ini, bayar s.d. tgl 15)" in text


def test_issue_case_3_a_named_month_gets_that_months_rule(seed_kb: KnowledgeBase) -> None:
    text = fee_reply(seed_kb, date(2026, 11, 21), 1_000_000, "lainnya", None, None,
                     named=Month(2027, 1), occupation="pedagang").text
    assert "Januari 2027" in text
    assert "Rp16.800" in text
    assert "Rp8.400" not in text
    december = fee_reply(seed_kb, date(2026, 11, 21), 1_000_000, "lainnya", None, None,
                         named=Month(2026, 12), occupation="pedagang").text
    assert "*Rp8.400*" in december


def test_issue_case_4_unknown_work_in_2027_is_not_told_rp8400_is_theirs(
        seed_kb: KnowledgeBase) -> None:
    text = fee_reply(seed_kb, date(2027, 2, 10), 1_000_000, None, None, None).text
    assert "*Rp16.800*" in text
    assert "hanya ojol, ojek, sopir, kurir" in text
    assert "*Rp8.400*" not in text


def test_issue_case_4_known_work_sees_only_its_own_period(seed_kb: KnowledgeBase) -> None:
    ojol = fee_reply(seed_kb, date(2026, 11, 21), 1_000_000, "transport", None, None,
                     occupation="ojol").text
    assert "Maret 2027" in ojol
    assert "Desember 2026" not in ojol
    pedagang = fee_reply(seed_kb, date(2026, 11, 10), 1_000_000, "lainnya", None, None,
                         occupation="pedagang").text
    assert "Desember 2026" in pedagang
    assert "2027" not in pedagang


def test_unknown_work_over_a_period_where_groups_differ_gets_both_totals(
        seed_kb: KnowledgeBase) -> None:
    reply = fee_reply(seed_kb, date(2026, 12, 31), 1_000_000, None, 6, None)
    assert "Rp75.600" in reply.text  # ojol: Jan-Mar discounted
    assert "Rp100.800" in reply.text  # pedagang: 6 x Rp16.800
    assert [b.title for b in reply.buttons] == ["Saya ojol", "Saya pedagang"]


def test_middle_brackets_are_estimates(seed_kb: KnowledgeBase) -> None:
    fee = bpu_fee(seed_kb, 2_500_000)
    assert not fee.exact
    assert (fee.jkk, fee.jkm, fee.jht) == (25_000, 6_800, 50_000)
    text = fee_reply(seed_kb, date(2026, 11, 21), 2_500_000, "transport", None, None).text
    assert "Perkiraan" in text
    assert "JMO" in text
    assert "*Rp15.900*" in text


def test_docs_fees_md_holds_the_table_the_command_prints(seed_kb: KnowledgeBase) -> None:
    text = (PROJECT_ROOT / "docs" / "FEES.md").read_text(encoding="utf-8")
    assert "python -m bot fees table" in text
    assert fee_table(seed_kb) in text


def test_the_fee_table_cells_the_issue_names(seed_kb: KnowledgeBase) -> None:
    table = fee_table(seed_kb)
    assert ("| 2026-11-30 | pedagang | Rp1.000.000 | Des 2026 | Rp8.400 | 50% s.d. Des 2026 | "
            "Rp42.000 | Rp92.400 | Rp193.200 |") in table
    assert ("| 2026-03-15 | pedagang | Rp1.000.000 | Mar 2026 | Rp16.800 | - | Rp33.600 | "
            "Rp58.800 | Rp126.000 |") in table
    assert ("| 2026-12-31 | ojol | Rp1.000.000 | Jan 2027 | Rp8.400 | 50% s.d. Mar 2027 | "
            "Rp25.200 | Rp75.600 | Rp176.400 |") in table
