"""Pendataan: a worker who wants to join leaves name, occupation, area and phone for staff.

Nothing is kept before the worker agrees to the consent question (UU 27/2022 on personal data
protection), "batal" stops at any step and keeps nothing, and "hapus data saya" deletes it all.
"""

from __future__ import annotations

import re
from dataclasses import replace

from actions import langganan
from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import ConversationState
from bot.leads import Lead
from bot.messages import Button, Reply

CANCEL_WORDS = {"batal", "gak jadi", "ga jadi", "nggak jadi", "tidak jadi", "cancel", "ora sido"}
THIS_NUMBER = {"nomor ini", "no ini", "nomer ini", "pakai nomor ini", "sama", "yang ini"}
_NAME = re.compile(r"^[^\W\d_][\w .,'-]{1,59}$")
_NAME_PREFIX = re.compile(r"^(nama (saya|sy|aku|ku)|namaku|saya|sy|aku)\s+", re.IGNORECASE)
PROMPTS = {
    "nama": "Siapa nama Bapak/Ibu?",
    "pekerjaan": "Apa pekerjaan Bapak/Ibu? Misalnya: ojol, pedagang pasar, petani, nelayan.",
    "wilayah": "Tinggal di kelurahan dan kecamatan mana? Misalnya: *Kel. Ketabang, Kec. Genteng*.",
    "telepon": "Nomor HP yang bisa dihubungi petugas? Misalnya: *081234567890*.",
}
ORDER = ("nama", "pekerjaan", "wilayah", "telepon")


def _ask(state: ConversationState, slot: str, prefix: str = "") -> ActionResult:
    text = f"{prefix}\n{PROMPTS[slot]}".strip() + "\n(Ketik *batal* untuk berhenti.)"
    return ActionResult((Reply(text),), replace(state, form="pendataan", requested=slot))


def _value(ctx: ActionContext, slot: str) -> str | None:
    """The value for the slot asked, validated; None when the answer does not fit."""
    text = " ".join(ctx.message.text.split())
    if slot == "nama":
        name = _NAME_PREFIX.sub("", text).strip(" .")
        return name.title() if _NAME.match(name) and not any(c.isdigit() for c in name) else None
    if slot == "pekerjaan":
        job = ctx.parse.first("pekerjaan")
        return str(job.value) if job else (text.lower() if 2 <= len(text) <= 60 else None)
    if slot == "wilayah":
        return text if 3 <= len(text) <= 120 and not ctx.parse.first("telepon") else None
    phone = ctx.parse.first("telepon")
    if phone:
        return re.sub(r"\D", "", str(phone.value))
    if text.lower() in THIS_NUMBER and ctx.message.channel == "whatsapp":
        return ctx.message.user_id
    return None


class PendataanAction:
    """The pendataan form: consent, then one question per field."""

    name = "action_pendataan"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Start the form, or take the answer to the last question and ask the next."""
        state = ctx.state
        if state.form != "pendataan":
            fresh = ConversationState(topic="daftar", form="pendataan", requested="persetujuan")
            return ActionResult((ctx.kb.reply("pendataan_persetujuan"),), fresh)
        if ctx.message.text.strip().lower() in CANCEL_WORDS:
            return ActionResult((Reply("Baik, pendataan dibatalkan. Data tidak kami simpan."),),
                                ConversationState(topic="daftar"))
        if state.requested == "persetujuan":
            return self._consent(ctx)
        slot = state.requested or "nama"
        value = _value(ctx, slot)
        if value is None:
            return _ask(state, slot, "Maaf, saya belum bisa mencatat jawaban itu.")
        state = state.with_slots(**{slot: value})
        missing = [s for s in ORDER if s not in state.slots]
        if missing:
            return _ask(state, missing[0])
        return self._finish(ctx, state)

    def _consent(self, ctx: ActionContext) -> ActionResult:
        intent = ctx.parse.intent.name
        if intent == "setuju":
            state = replace(ctx.state, slots={"consent_at": ctx.now.isoformat()})
            return _ask(state, "nama", "Terima kasih atas persetujuannya.")
        if intent == "tidak_setuju":
            return ActionResult(
                (Reply("Baik, tidak apa-apa. Data Bapak/Ibu tidak kami simpan. Ketik *menu* "
                       "jika ada pertanyaan lain."),),
                ConversationState(topic="daftar"))
        return ActionResult(
            (Reply("Mohon jawab *setuju* atau *tidak* dulu ya.",
                   (Button("Setuju", "/setuju"), Button("Tidak", "/tidak_setuju"))),),
            ctx.state)

    def _finish(self, ctx: ActionContext, state: ConversationState) -> ActionResult:
        slots = state.slots
        lead = Lead(channel=ctx.message.channel, user_id=ctx.message.user_id,
                    nama=slots["nama"], pekerjaan=slots["pekerjaan"], wilayah=slots["wilayah"],
                    telepon=slots["telepon"], consent_at=slots["consent_at"],
                    created_at=ctx.now.isoformat())
        text = (f"Terima kasih, {lead.nama}. Data sudah kami catat:\n"
                f"• Pekerjaan: {lead.pekerjaan}\n• Wilayah: {lead.wilayah}\n"
                f"• Nomor HP: {lead.telepon}\n"
                "Petugas BPJS Ketenagakerjaan akan menghubungi Bapak/Ibu. Untuk menghapus data "
                "ini kapan saja, ketik *hapus data saya*.")
        profile = {"nama": lead.nama, "pekerjaan": lead.pekerjaan, "wilayah": lead.wilayah}
        if ctx.contact.get("consent") == "opt_in":
            return ActionResult((Reply(text),), ConversationState(topic="daftar"), profile, lead)
        # Being contacted about registration is not the same as receiving broadcasts: ask.
        return ActionResult((Reply(text), langganan.QUESTION),
                            ConversationState(topic="daftar", offer="langganan"), profile, lead)


class HapusDataAction:
    """"hapus data saya": delete the contact's profile, conversation and lead, and confirm."""

    name = "action_hapus_data"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Forget everything about this contact."""
        reply = Reply("Data Bapak/Ibu di layanan ini (profil, percakapan dan pendataan) sudah "
                      "kami hapus. Jika menulis lagi, kami mulai dari awal.")
        return ActionResult((reply,), ConversationState(), forget=True)
