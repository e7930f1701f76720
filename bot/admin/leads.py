"""The leads (pendataan) page's logic: where a lead lives, filters, and counts by area.

Workers type their area freely ("Kel. Ketabang, Kec. Genteng", "ketabang genteng"). We read
`kel./kelurahan/desa` and `kec./kecamatan` markers, else take "A, B" as kelurahan A in kecamatan B;
a filter on a part we could not read falls back to searching the whole text, so no lead hides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from bot.admin.forms import FormErrors
from bot.leads import Lead

_KEL = r"\b(?:kelurahan|kel|desa|ds)\b"
_KEC = r"\b(?:kecamatan|kec)\b"
# A marker, then the name up to the next marker or separator.
_KELURAHAN = re.compile(rf"{_KEL}\.?\s*(.+?)\s*(?={_KEC}|[,;/]|$)", re.IGNORECASE)
_KECAMATAN = re.compile(rf"{_KEC}\.?\s*(.+?)\s*(?={_KEL}|[,;/]|$)", re.IGNORECASE)
UNKNOWN_AREA = "(tidak jelas)"


@dataclass(frozen=True)
class Area:
    """Kelurahan and kecamatan as far as they could be read ("" when not)."""

    kelurahan: str
    kecamatan: str


def area(wilayah: str) -> Area:
    """Read kelurahan and kecamatan from the free text a worker typed."""
    kel, kec = _KELURAHAN.search(wilayah), _KECAMATAN.search(wilayah)
    if kel or kec:
        return Area(_clean(kel.group(1)) if kel else "", _clean(kec.group(1)) if kec else "")
    parts = [p for p in re.split(r"[,;/]", wilayah) if p.strip()]
    if len(parts) >= 2:
        return Area(_clean(parts[0]), _clean(parts[1]))
    return Area("", "")


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" .").title()


@dataclass(frozen=True)
class LeadFilter:
    """The leads page's filters; empty ones match everything."""

    kecamatan: str = ""
    kelurahan: str = ""
    pekerjaan: str = ""
    dari: date | None = None
    sampai: date | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> LeadFilter:
        """Filters from the query string (dates as YYYY-MM-DD)."""
        dates: dict[str, date | None] = {}
        for name in ("dari", "sampai"):
            value = params.get(name, "").strip()
            try:
                dates[name] = date.fromisoformat(value) if value else None
            except ValueError as exc:
                raise FormErrors({name: "tanggal harus berformat YYYY-MM-DD"}) from exc
        return cls(params.get("kecamatan", "").strip(), params.get("kelurahan", "").strip(),
                   params.get("pekerjaan", "").strip(), dates["dari"], dates["sampai"])

    def matches(self, lead: Lead) -> bool:
        """Whether a lead passes every filter."""
        where = area(lead.wilayah)
        day = datetime.fromisoformat(lead.created_at).date()
        return (_contains(where.kecamatan or lead.wilayah, self.kecamatan)
                and _contains(where.kelurahan or lead.wilayah, self.kelurahan)
                and _contains(lead.pekerjaan, self.pekerjaan)
                and (self.dari is None or day >= self.dari)
                and (self.sampai is None or day <= self.sampai))

    def query(self) -> str:
        """The filters as a query string (for the CSV link)."""
        values = {"kecamatan": self.kecamatan, "kelurahan": self.kelurahan,
                  "pekerjaan": self.pekerjaan, "dari": self.dari.isoformat() if self.dari else "",
                  "sampai": self.sampai.isoformat() if self.sampai else ""}
        return urlencode({k: v for k, v in values.items() if v})


def _contains(text: str, needle: str) -> bool:
    return needle.casefold() in text.casefold()


async def matching(leads: AsyncIterator[Lead], where: LeadFilter) -> AsyncIterator[Lead]:
    """The leads that pass the filter, in the store's order (oldest first)."""
    async for lead in leads:
        if where.matches(lead):
            yield lead


def by_kecamatan(leads: Iterable[Lead]) -> Counter[str]:
    """Leads per kecamatan, for the dashboard."""
    return Counter(area(lead.wilayah).kecamatan or UNKNOWN_AREA for lead in leads)
