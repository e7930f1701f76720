from datetime import date

from actions.fees import Month, bpu_fee, occupation_group
from actions.iuran import cheapest_reply, discount_note, fee_reply, figure_reply, named_month
from bot.knowledge.base import KnowledgeBase


def test_lowest_bracket_is_exact(seed_kb: KnowledgeBase) -> None:
    fee = bpu_fee(seed_kb, 900_000)
    assert (fee.nominal, fee.exact, fee.jkk, fee.jkm, fee.jht) == (1_000_000, True, 10_000, 6_800,
                                                                  20_000)
    assert fee.base == 16_800
    assert fee.base + fee.jht == 36_800


def test_top_bracket_is_exact(seed_kb: KnowledgeBase) -> None:
    fee = bpu_fee(seed_kb, 25_000_000)
    assert (fee.nominal, fee.exact, fee.jkk, fee.jht) == (20_700_000, True, 207_000, 414_000)


def test_middle_incomes_are_an_estimate_of_one_and_two_percent(seed_kb: KnowledgeBase) -> None:
    fee = bpu_fee(seed_kb, 2_000_000)
    assert not fee.exact
    assert (fee.jkk, fee.jkm, fee.jht) == (20_000, 6_800, 40_000)


def test_occupation_groups(seed_kb: KnowledgeBase) -> None:
    assert occupation_group(seed_kb, "ojol") == "transport"
    assert occupation_group(seed_kb, "kurir") == "transport"
    assert occupation_group(seed_kb, "pedagang") == "lainnya"
    assert occupation_group(seed_kb, None) is None


def test_discount_in_force_for_everyone_in_december_2026(seed_kb: KnowledgeBase) -> None:
    text = "\n".join(discount_note(seed_kb, Month(2026, 12), None, None, bpu_fee(seed_kb, 1)))
    assert "Rp8.400" in text
    assert "Mar 2027" in text
    assert "Des 2026" in text


def test_after_december_2026_only_transport_keeps_the_discount(seed_kb: KnowledgeBase) -> None:
    fee = bpu_fee(seed_kb, 1)
    pedagang = "\n".join(discount_note(seed_kb, Month(2027, 1), "lainnya", "pedagang", fee))
    assert "berakhir Desember 2026" in pedagang
    assert "Rp8.400" not in pedagang
    transport = "\n".join(discount_note(seed_kb, Month(2027, 1), "transport", "ojol", fee))
    assert "Rp8.400" in transport
    assert "Maret 2027" in transport


def test_no_discount_for_unknown_work_after_march_2027(seed_kb: KnowledgeBase) -> None:
    assert discount_note(seed_kb, Month(2027, 4), None, None, bpu_fee(seed_kb, 1)) == []
    reply = cheapest_reply(seed_kb, date(2027, 4, 1), "transport", "ojol")
    assert "Rp16.800" in reply.text
    assert "Rp8.400" not in reply.text


def test_non_transport_discount_announced_before_it_starts(seed_kb: KnowledgeBase) -> None:
    text = "\n".join(discount_note(seed_kb, Month(2026, 2), "lainnya", "petani",
                                   bpu_fee(seed_kb, 1)))
    assert "Apr 2026 s.d. Des 2026" in text


def test_fee_reply_for_two_million_says_estimate(seed_kb: KnowledgeBase) -> None:
    reply = fee_reply(seed_kb, date(2026, 11, 21), 2_000_000, "transport", None, None)
    assert "Rp26.800" in reply.text  # JKK 20.000 + JKM 6.800
    assert "Rp53.400" in reply.text  # discounted 13.400 + JHT 40.000
    assert "Rp13.400" in reply.text  # discounted JKK+JKM
    assert "perkiraan" in reply.text.lower()
    assert "JMO" in reply.text


def test_paying_several_months_ahead_after_the_discount(seed_kb: KnowledgeBase) -> None:
    reply = fee_reply(seed_kb, date(2027, 6, 1), 1_000_000, "lainnya", 3, None)
    assert "3 x Rp16.800 = *Rp50.400*" in reply.text


def test_jp_is_not_for_bpu_even_in_a_fee_answer(seed_kb: KnowledgeBase) -> None:
    reply = fee_reply(seed_kb, date(2026, 11, 21), 1_000_000, None, None, "JP")
    assert "JP tidak ada untuk pekerja mandiri" in reply.text


def test_a_heard_figure_is_explained_as_a_monthly_fee(seed_kb: KnowledgeBase) -> None:
    text = figure_reply(seed_kb, date(2026, 11, 21), 16_800, None, None).text
    assert "Rp16.800 itu iuran *per bulan*" in text
    assert "penghasilan Rp16.800" not in text
    text = figure_reply(seed_kb, date(2026, 11, 21), 36_800, None, None).text
    assert "JKK+JKM+JHT" in text


def test_an_unknown_figure_is_not_repeated(seed_kb: KnowledgeBase) -> None:
    text = figure_reply(seed_kb, date(2026, 11, 21), 15_600, None, None).text
    assert "15.600" not in text
    assert "tidak cocok" in text


def test_named_month_without_a_year_is_the_next_one(seed_kb: KnowledgeBase) -> None:
    assert named_month("01", date(2026, 11, 21)) == Month(2027, 1)
    assert named_month("11", date(2026, 11, 21)) == Month(2026, 11)
    assert named_month("2026-03", date(2026, 11, 21)) == Month(2026, 3)
