"""The one line counter the tests and the benchmark share: lines on a phone 34 columns wide."""

import pytest

from bot.messages import phone_lines


@pytest.mark.parametrize(("text", "lines"), [
    ("", 1),
    ("Ya, ditanggung.", 1),
    ("x" * 34, 1),
    ("x" * 35, 2),  # a word longer than the screen is cut at the edge
    ("abcd " * 6 + "abcd", 1),  # 34 characters exactly
    ("abcd " * 7 + "abcd", 2),
    ("satu\n\ntiga", 3),  # an empty line is still a line
    ("*Tebal* tidak dihitung bintangnya" + "x", 1),
    ("kata " + "y" * 40 + " akhir", 3),  # "kata" | 34 y | 6 y and "akhir"
])
def test_lines_as_a_phone_wraps_them(text: str, lines: int) -> None:
    assert phone_lines(text) == lines


def test_other_widths() -> None:
    assert phone_lines("aa bb cc", columns=5) == 2
