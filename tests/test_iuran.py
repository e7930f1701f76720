from datetime import date

from actions.iuran import bpu_fee, cheapest_reply, discount_lines, fee_reply, occupation_group
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


def test_discount_in_force_for_everyone_in_november_2026(seed_kb: KnowledgeBase) -> None:
    text = "\n".join(discount_lines(seed_kb, date(2026, 11, 21), None, bpu_fee(seed_kb, 1)))
    assert "Rp8.400" in text
    assert "Rp16.800" in text
    assert "Maret 2027" in text
    assert "Desember 2026" in text


def test_after_december_2026_only_transport_keeps_the_discount(seed_kb: KnowledgeBase) -> None:
    fee = bpu_fee(seed_kb, 1)
    assert discount_lines(seed_kb, date(2027, 1, 5), "lainnya", fee) == []
    transport = "\n".join(discount_lines(seed_kb, date(2027, 1, 5), "transport", fee))
    assert "Rp8.400" in transport
    assert "Maret 2027" in transport


def test_no_discount_after_march_2027(seed_kb: KnowledgeBase) -> None:
    assert discount_lines(seed_kb, date(2027, 4, 1), None, bpu_fee(seed_kb, 1)) == []
    reply = cheapest_reply(seed_kb, date(2027, 4, 1), "transport")
    assert "Rp16.800" in reply.text
    assert "diskon" not in reply.text.lower()


def test_non_transport_discount_announced_before_it_starts(seed_kb: KnowledgeBase) -> None:
    text = "\n".join(discount_lines(seed_kb, date(2026, 2, 10), "lainnya", bpu_fee(seed_kb, 1)))
    assert "mulai April 2026" in text


def test_fee_reply_for_two_million_says_estimate(seed_kb: KnowledgeBase) -> None:
    reply = fee_reply(seed_kb, date(2026, 11, 21), 2_000_000, "transport", None, None)
    assert "Rp26.800" in reply.text  # JKK 20.000 + JKM 6.800
    assert "Rp66.800" in reply.text  # with JHT 40.000
    assert "Rp13.400" in reply.text  # discounted JKK+JKM
    assert "perkiraan" in reply.text.lower()
    assert "JMO" in reply.text


def test_paying_several_months_ahead(seed_kb: KnowledgeBase) -> None:
    reply = fee_reply(seed_kb, date(2027, 6, 1), 1_000_000, "lainnya", 3, None)
    assert "3 bulan sekaligus: Rp50.400" in reply.text
