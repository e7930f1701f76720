"""Contact lists collected by RT/RW cadres, imported from CSV with the consent they recorded.

Columns, by header, in any order: `telepon` and `persetujuan` (required), `nama`, `pekerjaan`,
`wilayah` (kelurahan/kecamatan), `kabupaten`, `tags` (separated by `;` or `,`), `terdaftar`
(ya/tidak: already a BPJS Ketenagakerjaan participant), `tanggal_persetujuan` (YYYY-MM-DD) and
`sumber` (who collected it). A phone number becomes a WhatsApp id (0812... -> 62812...).

Only rows whose `persetujuan` is yes are stored: nothing is kept about a person who did not agree
(UU 27/2022). A contact already known keeps what they told the bot: empty fields are filled,
tags are added, and a consent already recorded, above all an opt-out, is never overwritten by a
list. Consent from a list is stored as given on its date, with channel "import" and its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from bot.broadcast.campaigns import JAKARTA
from bot.broadcast.segments import tag_set, tags_of
from bot.contacts import Consent, ProfileField, RedisContactStore

CHANNEL = "whatsapp"
YES = {"ya", "y", "yes", "setuju", "bersedia", "1", "true"}
# The list's columns have the profile's names (README, "Importing contacts").
TEXT_FIELDS = (ProfileField.NAME, ProfileField.OCCUPATION, ProfileField.AREA,
               ProfileField.REGENCY)
_NOT_DIGITS = re.compile(r"\D")


@dataclass
class ImportResult:
    """What an import did, with the line numbers of rows it could not use."""

    added: int = 0
    updated: int = 0
    without_consent: int = 0
    kept_opt_out: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)


def whatsapp_id(phone: str) -> str | None:
    """An Indonesian phone number as a WhatsApp id (62 and the number), or None if it is not one."""
    digits = _NOT_DIGITS.sub("", phone)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    elif digits.startswith("8"):
        digits = "62" + digits
    return digits if digits.startswith("628") and 10 <= len(digits) <= 15 else None


def _consent_time(row: Mapping[str, str], now: datetime) -> datetime:
    given = (row.get("tanggal_persetujuan") or "").strip()
    if not given:
        return now
    return datetime.combine(date.fromisoformat(given), time(0, 0), JAKARTA)


async def import_contacts(contacts: RedisContactStore, rows: Iterable[Mapping[str, str]],
                          now: datetime, source: str) -> ImportResult:
    """Store the consenting rows of a list (a csv.DictReader); line numbers count the header."""
    result = ImportResult()
    for line, raw in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if (row.get("persetujuan") or "").lower() not in YES:
            result.without_consent += 1
            continue
        user_id = whatsapp_id(row.get("telepon", ""))
        if user_id is None:
            result.invalid.append((line, f"not a phone number: {row.get('telepon', '')!r}"))
            continue
        try:
            consented = _consent_time(row, now)
        except ValueError:
            result.invalid.append((line, "tanggal_persetujuan must be YYYY-MM-DD"))
            continue
        terdaftar = row.get(ProfileField.REGISTERED, "").lower()
        if terdaftar and terdaftar not in ("ya", "tidak"):
            result.invalid.append((line, "terdaftar must be ya or tidak"))
            continue
        existing = await contacts.get(CHANNEL, user_id)
        known = existing.fields if existing else {}
        values = {name: row[name] for name in TEXT_FIELDS
                  if row.get(name) and not known.get(name)}
        if terdaftar:
            values[ProfileField.REGISTERED] = terdaftar
        tags = (tags_of(existing) if existing else set()) | tag_set(row.get(ProfileField.TAGS, ""))
        if tags:
            values[ProfileField.TAGS] = ",".join(sorted(tags))
        if not known.get(ProfileField.CONSENT):
            values.update({ProfileField.CONSENT: Consent.OPT_IN,
                           ProfileField.CONSENT_AT: consented.isoformat(),
                           ProfileField.CONSENT_CHANNEL: "import",
                           ProfileField.CONSENT_SOURCE: row.get("sumber") or source})
        elif existing is not None and existing.consent is Consent.OPT_OUT:
            result.kept_opt_out += 1
        await contacts.enrol(CHANNEL, user_id, values, now)
        if existing:
            result.updated += 1
        else:
            result.added += 1
    return result
