import pytest

from bot.nlu.entities import has_nik, mask_nik
from bot.nlu.numbers import find_money, find_months


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2 juta", 2_000_000),
        ("2jt", 2_000_000),
        ("Rp 2.500.000", 2_500_000),
        ("Rp2,5 jt", 2_500_000),
        ("1,5 jt", 1_500_000),
        ("1.5jt", 1_500_000),
        ("dua juta", 2_000_000),
        ("dua juta setengah", 2_500_000),
        ("satu setengah juta", 1_500_000),
        ("sejuta", 1_000_000),
        ("rong juta", 2_000_000),
        ("500rb", 500_000),
        ("tiga juta lima ratus ribu", 3_500_000),
        ("penghasilan 2500000 sebulan", 2_500_000),
        ("eh, 3 juta maksudnya", 3_000_000),
        ("2 jutaan lah", 2_000_000),
    ],
)
def test_money_in_every_written_form(text: str, value: int) -> None:
    assert [s.value for s in find_money(text)] == [value]


@pytest.mark.parametrize("text", ["umur saya 45", "anak 2", "kec sukun", "081234567890", "jam 3"])
def test_small_numbers_and_phone_numbers_are_not_money(text: str) -> None:
    assert find_money(text) == []


@pytest.mark.parametrize(
    ("text", "months"),
    [("bayar 3 bulan sekaligus", 3), ("enam bln", 6), ("setahun", 12), ("12 bulan", 12)],
)
def test_months(text: str, months: int) -> None:
    assert [s.value for s in find_months(text)] == [months]


def test_nik_is_masked_keeping_last_four_digits() -> None:
    text = "nik saya 3578012345670001 tolong dicek"
    assert has_nik(text)
    masked = mask_nik(text)
    assert "3578012345670001" not in masked
    assert masked.endswith("************0001 tolong dicek")


def test_nik_with_spaces_is_masked() -> None:
    assert "3578" not in mask_nik("3578 0123 4567 0001")
