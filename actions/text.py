"""How figures and dates are written for workers: `Rp16.800`, `Maret 2027`."""

from __future__ import annotations

from datetime import date

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")


def rupiah(amount: int) -> str:
    """`16800` -> `Rp16.800` (dots for thousands, no space, as workers see it on receipts)."""
    return "Rp" + f"{amount:,}".replace(",", ".")


def month_year(day: date) -> str:
    """`date(2027, 3, 31)` -> `Maret 2027`."""
    return f"{MONTHS[day.month - 1]} {day.year}"
