"""A campaign as staff type it in the console (the page's form or the API's JSON), checked whole.

The rules are the broadcast module's (`campaigns.problems`, `QuietHours.parse`, `Segment`); this
module reads the input and words every refusal in Indonesian beside the field it concerns, so a
form comes back with everything typed and every problem marked at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.admin.forms import words
from bot.broadcast.campaigns import (
    MAX_BUTTONS,
    Message,
    QuietHours,
    button,
    problems,
    wib,
)
from bot.broadcast.segments import BROADCAST_CHANNELS, Segment, tag_set, yes_no
from bot.channels.base import Template
from bot.errors import Invalid

MAX_ACTIVE_DAYS = 3650
MAX_NAME = 120  # staff's own label for the campaign; workers never see it
# campaigns.PROBLEMS in the console's words.
PROBLEM_WORDS = {
    "name_empty": "wajib diisi",
    "text_empty": "wajib diisi",
    "text_too_long": "{value} karakter; maksimal {limit}",
    "too_many_buttons": "maksimal {limit} tombol (batas WhatsApp)",
    "button_title": "judul tombol \"{value}\" harus 1-{limit} karakter",
    "button_payload": "muatan tombol \"{value}\" lebih dari {limit} byte",
    "button_reply": "balasan tombol \"{value}\" lebih dari {limit} karakter",
    "template_name": "nama template wajib diisi",
}
CONSENT_REQUIRED = ("kampanye hanya boleh dikirim ke kontak yang setuju menerima info "
                    "(UU 27/2022); pilih \"hanya yang setuju\"")


@dataclass(frozen=True)
class CampaignInput:
    """What staff entered, read but not yet checked."""

    name: str = ""
    channels: tuple[str, ...] = ()
    pekerjaan: tuple[str, ...] = ()
    wilayah: tuple[str, ...] = ()
    kabupaten: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # as typed; stored tags are matched in lower case
    opted_in: bool | None = True
    active_within_days: int | None = None
    registered: bool | None = None
    text: str = ""
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload), empty rows included
    answers: tuple[str, ...] = ()  # the reply to each button row, "" for none
    template: str = ""
    template_language: str = "id"
    template_params: tuple[str, ...] = ()
    quiet_hours: str | None = None  # "21:00-07:00" or "off"; None for the configured default
    send_at: str | None = None  # a WIB time; None to send at once

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> CampaignInput:
        """The new-campaign form's fields (also the preview API's query string)."""
        choices = {"channels": ("", *BROADCAST_CHANNELS), "opted_in": ("ya", "semua"),
                   "registered": ("", "ya", "tidak")}
        unreadable = {name: "pilihan tidak dikenal" for name, allowed in choices.items()
                      if form.get(name, allowed[0]) not in allowed}
        days = form.get("active_within_days", "").strip()
        if days and not days.isdigit():
            unreadable["active_within_days"] = "isi jumlah hari (angka), atau kosongkan"
        if unreadable:
            raise Invalid(unreadable)
        channel = form.get("channels", "")
        quiet = (f"{form.get('quiet_start', '')}-{form.get('quiet_end', '')}"
                 if form.get("quiet") else "off")
        return cls(
            name=form.get("name", ""), channels=(channel,) if channel else (),
            pekerjaan=tuple(words(form.get("pekerjaan", ""))),
            wilayah=tuple(words(form.get("wilayah", ""))),
            kabupaten=tuple(words(form.get("kabupaten", ""))),
            tags=tuple(words(form.get("tags", ""))),
            opted_in=True if form.get("opted_in", "ya") == "ya" else None,
            active_within_days=int(days) if days else None,
            registered=yes_no(form.get("registered")),
            text=form.get("text", ""),
            buttons=tuple((form.get(f"button_title_{i}", ""), form.get(f"button_payload_{i}", ""))
                          for i in range(MAX_BUTTONS)),
            answers=tuple(form.get(f"button_reply_{i}", "").strip() for i in range(MAX_BUTTONS)),
            template=form.get("template", "").strip(),
            template_language=form.get("template_language", "").strip() or "id",
            template_params=tuple(line.strip() for line in
                                  form.get("template_params", "").splitlines() if line.strip()),
            quiet_hours=quiet, send_at=scheduled(form))

    def segment(self) -> Segment:
        """The audience, or the reasons it cannot be one."""
        errors = {}
        if not set(self.channels) <= set(BROADCAST_CHANNELS):
            errors["channels"] = f"kanal siaran hanya {', '.join(BROADCAST_CHANNELS)}"
        days = self.active_within_days
        if days is not None and not 1 <= days <= MAX_ACTIVE_DAYS:
            errors["active_within_days"] = f"antara 1 dan {MAX_ACTIVE_DAYS} hari"
        if errors:
            raise Invalid(errors)
        return Segment(self.channels, self.pekerjaan, self.wilayah, self.kabupaten,
                       tuple(sorted(tag_set(",".join(self.tags)))), self.opted_in, days,
                       self.registered)

    def message(self) -> Message:
        """The message as typed (unchecked: the preview shows it while it is being written)."""
        template = (Template(self.template, self.template_language, self.template_params)
                    if self.template else None)
        rows = [(button(title, payload), answer) for (title, payload), answer
                in zip(self.buttons, self.answers or ("",) * len(self.buttons), strict=False)
                if title.strip() or payload.strip()]
        return Message(self.text, tuple(b for b, _ in rows), template,
                       tuple(answer for _, answer in rows))


@dataclass(frozen=True)
class Draft:
    """A campaign ready for `CampaignStore.create` (and `start`, with its time)."""

    name: str
    segment: Segment
    message: Message
    quiet_hours: QuietHours | None
    send_at: datetime | None


def scheduled(form: Mapping[str, str]) -> str | None:
    """The time typed when "at a time" is chosen over "now" (`send`), else None."""
    return form.get("send_at", "") if form.get("send") == "at" else None


def send_time(text: str | None, now: datetime) -> datetime | None:
    """When to start sending: None for now, else a WIB time still to come."""
    if text is None:
        return None
    try:
        moment = wib(text)
    except ValueError as exc:
        raise Invalid({"send_at": "isi tanggal dan jam (WIB)"}) from exc
    if moment <= now:
        raise Invalid({"send_at": "waktu ini sudah lewat; pilih waktu nanti atau kirim "
                                     "sekarang"})
    return moment


def check(entered: CampaignInput, default_quiet: str, now: datetime) -> Draft:
    """A draft from what staff entered, or every problem at once as form errors."""
    errors: dict[str, str] = {}
    segment = None
    try:
        segment = entered.segment()
    except Invalid as exc:
        errors.update(exc.fields)
    if entered.opted_in is not True:
        errors["opted_in"] = CONSENT_REQUIRED
    message = entered.message()
    if len(entered.name) > MAX_NAME:
        errors["name"] = f"maksimal {MAX_NAME} karakter"
    if entered.template_params and not entered.template:
        errors["template"] = "isi nama template, atau kosongkan parameternya"
    for problem in problems(entered.name, message):
        errors.setdefault(problem.field, PROBLEM_WORDS[problem.code].format(
            value=problem.value, limit=problem.limit))
    quiet = None
    try:
        quiet = QuietHours.parse(entered.quiet_hours or default_quiet)
    except Invalid:
        errors["quiet_hours"] = "isi jam mulai dan jam selesai, mis. 21:00 sampai 07:00"
    send_at = None
    try:
        send_at = send_time(entered.send_at, now)
    except Invalid as exc:
        errors.update(exc.fields)
    if errors or segment is None:
        raise Invalid(errors)
    return Draft(entered.name.strip(), segment, message, quiet, send_at)
