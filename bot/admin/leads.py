"""The console's leads resource (pendataan): where a lead lives, filters, counts, follow-up.

Workers type their area freely ("Kel. Ketabang, Kec. Genteng", "ketabang genteng"). We read
`kel./kelurahan/desa` and `kec./kecamatan` markers, else take "A, B" as kelurahan A in kecamatan B;
a filter on a part we could not read falls back to searching the whole text, so no lead hides.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from bot.admin.audit import AuditLog
from bot.contacts import ContactStore
from bot.dialogue.state import Conversations
from bot.erasure import Eraser
from bot.errors import Invalid, NotFound
from bot.leads import CONTACTED, Lead, LeadStatus, RedisLeadStore
from bot.nlu.phone import check_phone
from bot.nlu.places import PlaceGazetteer

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
                raise Invalid({name: "tanggal harus berformat YYYY-MM-DD"}) from exc
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


# Every lead of the period, whatever brought it (a campaign or not): what staff did with them.
LEAD_FUNNEL = (("leads", "Prospek"), ("contacted", "Sudah dihubungi"), ("registered", "Terdaftar"))


def lead_funnel(leads: Iterable[Lead], since: date) -> dict[str, int]:
    """Leads left since `since`, those staff reached, and those that registered."""
    recent = [lead for lead in leads if datetime.fromisoformat(lead.created_at).date() >= since]
    return {"leads": len(recent), "contacted": sum(lead.status in CONTACTED for lead in recent),
            "registered": sum(lead.status == LeadStatus.REGISTERED for lead in recent)}


@dataclass(frozen=True)
class AreaRow:
    """Leads of one kecamatan and kelurahan, with the official (Kemendagri) codes when known."""

    kecamatan_kode: str
    kecamatan: str
    kelurahan_kode: str
    kelurahan: str
    leads: int
    contacted: int
    registered: int


def area_codes(gazetteer: PlaceGazetteer, kecamatan: str, kelurahan: str) -> tuple[str, str]:
    """Official codes of a kecamatan and a kelurahan in it ("" where the names are not enough).

    A kecamatan name used twice in East Java (Genteng: Surabaya and Banyuwangi) is settled by
    the kelurahan, when exactly one of them has it.
    """
    kecs = {p.code for p in gazetteer.lookup(kecamatan) if p.level == "kecamatan"} \
        if kecamatan else set()
    kels = [p.code for p in gazetteer.lookup(kelurahan) if p.level in ("kelurahan", "desa")
            and any(p.code.startswith(k + ".") for k in kecs)] if kelurahan else []
    if len(kels) == 1:
        return kels[0].rsplit(".", 1)[0], kels[0]
    return (kecs.pop() if len(kecs) == 1 else ""), ""


def by_area(leads: Iterable[Lead], gazetteer: PlaceGazetteer) -> list[AreaRow]:
    """Leads per kecamatan and kelurahan with their follow-up, most leads first."""
    counts: Counter[tuple[str, str]] = Counter()
    contacted: Counter[tuple[str, str]] = Counter()
    registered: Counter[tuple[str, str]] = Counter()
    for lead in leads:
        where = area(lead.wilayah)
        key = (where.kecamatan or UNKNOWN_AREA, where.kelurahan)
        counts[key] += 1
        contacted[key] += lead.status in CONTACTED
        registered[key] += lead.status == LeadStatus.REGISTERED
    rows = []
    for (kecamatan, kelurahan), n in counts.most_common():
        kec_code, kel_code = area_codes(gazetteer, kecamatan, kelurahan)
        rows.append(AreaRow(kec_code, kecamatan, kel_code, kelurahan, n,
                            contacted[(kecamatan, kelurahan)], registered[(kecamatan, kelurahan)]))
    return rows


def phone_view(telepon: str) -> tuple[str, str, str]:
    """A lead's number as staff read it, and as tap-to-call and WhatsApp links.

    Read as the worker was told it (`0812-3456-7890`); no links when it is no mobile number.
    """
    phone = check_phone(telepon)
    if phone.international is None:
        return telepon, "", ""
    return phone.local, f"tel:+{phone.international}", f"https://wa.me/{phone.international}"


def contact_ref(channel: str, user_id: str) -> str:
    """A contact as the audit log names it: the channel and a digest, never a phone number."""
    return f"{channel}:{hashlib.sha256(user_id.encode()).hexdigest()[:10]}"


class Leads:
    """Registration leads as staff see and follow them up."""

    def __init__(self, store: RedisLeadStore, contacts: ContactStore,
                 conversations: Conversations, eraser: Eraser, audit: AuditLog,
                 clock: Callable[[], datetime]) -> None:
        self._store = store
        self._contacts = contacts
        self._conversations = conversations
        self._eraser = eraser
        self._audit = audit
        self._clock = clock

    async def newest(self, where: LeadFilter) -> list[Lead]:
        """Leads passing the filter, newest first."""
        return [lead async for lead in self.rows(where)][::-1]

    def rows(self, where: LeadFilter) -> AsyncIterator[Lead]:
        """Leads passing the filter as the store yields them, oldest first (the CSV export)."""
        return matching(self._store.all(), where)

    async def follow_up(self, user: str, channel: str, user_id: str, status: str,
                        petugas: str | None = None) -> None:
        """Record staff's follow-up of a lead: its status (who, when) and who should call."""
        chosen = LeadStatus.read(status)
        if chosen is None:
            raise Invalid({"status": "Pilih salah satu: " + ", ".join(LeadStatus) + "."})
        values = {"status": chosen.value, "status_by": user,
                  "status_at": self._clock().isoformat(timespec="seconds")}
        if petugas is not None:
            values["petugas"] = petugas.strip()[:64]
        if not await self._store.follow_up(channel, user_id, values):
            raise NotFound("Data ini sudah tidak ada.")
        await self._audit.record(self._clock(), user, "prospek.status",
                                 contact_ref(channel, user_id), chosen)

    async def delete(self, user: str, channel: str, user_id: str) -> None:
        """Honour a deletion request: the lead, the contact's profile and conversation, and all.

        What other paths wrote about the person goes too (bot/erasure.py: inbox entries,
        delivery statuses, handoffs, campaign places), as when they ask "hapus data saya".
        """
        if not await self._store.delete(channel, user_id):
            raise NotFound("Data ini sudah tidak ada.")
        await asyncio.gather(self._contacts.delete(channel, user_id),
                             self._conversations.delete(channel, user_id),
                             self._eraser.erase(channel, user_id))
        await self._audit.record(self._clock(), user, "prospek.hapus",
                                 contact_ref(channel, user_id))
