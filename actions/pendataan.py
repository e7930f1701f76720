"""Pendataan: a worker who wants to join leaves name, occupation, area and phone for staff.

Nothing is kept before the worker agrees to the consent question (UU 27/2022 on personal data
protection), "batal" stops at any step and keeps nothing, and "hapus data saya" deletes it all.
An occupation the worker already gave in the conversation is not asked again. A question asked
mid-form is answered by its own action and the engine calls `resume` to ask the pending question
again. Every text comes from the knowledge base (texts.yml).
"""

from __future__ import annotations

import re
from dataclasses import replace

from actions import langganan
from bot.contacts import Consent, ProfileField
from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import ConversationState, Form, Offer
from bot.knowledge.base import KnowledgeBase
from bot.leads import Lead
from bot.messages import Reply
from bot.nlu.entities import NIK_MASK
from bot.nlu.phone import check_phone, find_phone

THIS_NUMBER = {"nomor ini", "no ini", "nomer ini", "pakai nomor ini", "sama", "yang ini",
               "nomor wa ini", "no wa ini", "iki", "nomor iki", "nomer iki"}
_NAME = re.compile(r"^[^\W\d_][\w .,'-]{1,59}$")
_NAME_PREFIX = re.compile(r"^(nama (saya|sy|aku|ku)|namaku|jenengku|saya|sy|aku)\s+",
                          re.IGNORECASE)
ORDER = ("nama", "pekerjaan", "wilayah", "telepon")
CONSENT = "persetujuan"


def prompt(kb: KnowledgeBase, slot: str, channel: str) -> str:
    """The question for a slot (on WhatsApp, the phone question offers "nomor ini")."""
    if slot == "telepon" and channel == "whatsapp":
        return kb.text("pendataan_telepon_wa")
    return kb.text(f"pendataan_{slot}")


def _ask(ctx: ActionContext, state: ConversationState, slot: str, *before: str) -> ActionResult:
    kb = ctx.kb
    text = "\n".join([*before, prompt(kb, slot, ctx.message.channel),
                      kb.text("pendataan_petunjuk_batal")])
    return ActionResult((Reply(text),), replace(state, form=Form.PENDATAAN, requested=slot))


def _phone(ctx: ActionContext) -> str | Reply:
    """The number as 628..., or a reply saying why the message holds no usable number."""
    text = " ".join(ctx.message.text.split())
    if text.lower().strip(" .!") in THIS_NUMBER and ctx.message.channel == "whatsapp":
        own = check_phone(ctx.message.user_id)
        if own.international:
            return own.international
    phone = find_phone(text)
    if phone is None:
        return Reply(ctx.kb.text("telepon_tidak_ada"))
    if phone.international is None:
        assert phone.problem is not None  # a refused number always has its reason
        return Reply(ctx.kb.text(f"telepon_{phone.problem.value}", nomor=phone.written,
                                 angka=phone.digits))
    return phone.international


def _value(ctx: ActionContext, slot: str) -> str | Reply | None:
    """The value for the slot asked; a refusal that says why; None when it does not fit."""
    text = " ".join(ctx.message.text.split())
    if NIK_MASK in text:  # the engine masked a NIK: it is never part of a lead
        return None
    if slot == "nama":
        name = _NAME_PREFIX.sub("", text).strip(" .")
        return name.title() if _NAME.match(name) and not any(c.isdigit() for c in name) else None
    if slot == "pekerjaan":
        job = ctx.parse.first("pekerjaan")
        return str(job.value) if job else (text.lower() if 2 <= len(text) <= 60 else None)
    if slot == "wilayah":
        return text if 3 <= len(text) <= 120 and find_phone(text) is None else None
    return _phone(ctx)


def _occupation_only(ctx: ActionContext) -> str | None:
    """The occupation when the message names one and nothing else ("nelayan", "aku ojol")."""
    job = ctx.parse.first("pekerjaan")
    text = _NAME_PREFIX.sub("", " ".join(ctx.message.text.split())).strip(" .!?").lower()
    if job is None or ctx.parse.first("wilayah") is not None or job.text.lower() != text:
        return None
    return str(job.value)


def _missing(state: ConversationState) -> list[str]:
    return [s for s in ORDER if s not in state.slots]


class PendataanAction:
    """The pendataan form: consent, then one question per field not yet known."""

    name = "action_pendataan"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Start the form, or take the answer to the last question and ask the next."""
        if ctx.state.offer == Offer.TINGGALKAN:  # "Tinggalkan?" ignored: the form goes on
            ctx = replace(ctx, state=replace(ctx.state, offer=None))
        state = ctx.state
        if state.form != Form.PENDATAAN:
            fresh = replace(state, topic="daftar", form=Form.PENDATAAN, requested=CONSENT,
                            offer=None, slots={})
            return ActionResult((ctx.kb.reply("pendataan_persetujuan"),), fresh)
        if state.requested == CONSENT:
            return self._consent(ctx)
        slot = state.requested or "nama"
        job = _occupation_only(ctx) if slot == "wilayah" else None
        if job is not None:  # an answer to the question before: not a place
            return _ask(ctx, state.with_slots(pekerjaan=job), slot,
                        ctx.kb.text("pendataan_pekerjaan_bukan_wilayah", pekerjaan=job))
        value = _value(ctx, slot)
        if isinstance(value, Reply):
            return _ask(ctx, state, slot, value.text)
        if value is None:
            return _ask(ctx, state, slot, ctx.kb.text("pendataan_tidak_tercatat"))
        return self._next(ctx, state.with_slots(**{slot: value}))

    def resume(self, ctx: ActionContext) -> ActionResult:
        """Ask the pending question again after a question asked in between was answered."""
        again = ctx.kb.text("pendataan_lanjut")
        if ctx.state.requested == CONSENT:
            reply = ctx.kb.reply("pendataan_jawab_persetujuan")
            return ActionResult((Reply(f"{again}\n{reply.text}", reply.buttons),), ctx.state)
        return self._next(ctx, ctx.state, again)

    def _next(self, ctx: ActionContext, state: ConversationState, *before: str) -> ActionResult:
        missing = _missing(state)
        if missing and missing[0] == "pekerjaan" and state.situation.pekerjaan:
            known = state.situation.pekerjaan
            note = ctx.kb.text("pendataan_pekerjaan_diingat", pekerjaan=known)
            return self._next(ctx, state.with_slots(pekerjaan=known), *before, note)
        if missing:
            return _ask(ctx, state, missing[0], *before)
        return self._finish(ctx, state)

    def _consent(self, ctx: ActionContext) -> ActionResult:
        intent = ctx.parse.intent.name
        if intent == "setuju":
            state = replace(ctx.state, slots={"consent_at": ctx.now.isoformat()})
            return self._next(ctx, state, ctx.kb.text("pendataan_terima_persetujuan"))
        if intent == "tidak_setuju":
            return ActionResult((ctx.kb.reply("pendataan_ditolak"),), _closed(ctx.state))
        return ActionResult((ctx.kb.reply("pendataan_jawab_persetujuan"),), ctx.state)

    def _finish(self, ctx: ActionContext, state: ConversationState) -> ActionResult:
        slots = state.slots
        lead = Lead(channel=ctx.message.channel, user_id=ctx.message.user_id,
                    nama=slots["nama"], pekerjaan=slots["pekerjaan"], wilayah=slots["wilayah"],
                    telepon=slots["telepon"], consent_at=slots["consent_at"],
                    created_at=ctx.now.isoformat())
        reply = ctx.kb.reply("pendataan_selesai", nama=lead.nama, pekerjaan=lead.pekerjaan,
                             wilayah=lead.wilayah, telepon=check_phone(lead.telepon).local)
        profile = {ProfileField.NAME: lead.nama, ProfileField.OCCUPATION: lead.pekerjaan,
                   ProfileField.AREA: lead.wilayah}
        if ctx.contact.consent is Consent.OPT_IN:
            return ActionResult((reply,), _closed(state), profile, lead)
        # Being contacted about registration is not the same as receiving broadcasts: ask.
        return ActionResult((reply, langganan.question(ctx.kb)),
                            replace(_closed(state), offer=langganan.OFFER), profile, lead)


def _closed(state: ConversationState) -> ConversationState:
    """The conversation after the form: its answers dropped, the worker's situation kept."""
    return replace(state, topic="daftar", form=None, requested=None, offer=None, slots={})


class TinggalkanAction:
    """"menu" inside the pendataan: ask before leaving it; "Lanjutkan" carries on.

    "Ya, tinggalkan" is the menu itself (the policy's OFFER_YES), which the engine announces as
    leaving the form.
    """

    name = "action_tinggalkan"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask "Tinggalkan?", or, asked already, ask the form's pending question again."""
        if ctx.state.offer == Offer.TINGGALKAN:
            return PendataanAction().resume(replace(ctx, state=replace(ctx.state, offer=None)))
        return ActionResult((ctx.kb.reply("pendataan_tinggalkan_tanya"),),
                            replace(ctx.state, offer=Offer.TINGGALKAN))


class BatalAction:
    """"batal", "gak jadi", "ojo wes" inside a form: leave it, keep nothing, and say so."""

    name = "action_batal"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Close the open form (a pendataan keeps none of its answers)."""
        if ctx.state.form == Form.PENDATAAN:
            return ActionResult((ctx.kb.reply("pendataan_dibatalkan"),), _closed(ctx.state))
        state = replace(ctx.state, form=None, requested=None, offer=None)
        return ActionResult((ctx.kb.reply("ack"),), state)


class HapusDataAction:
    """"hapus data saya": delete the contact's profile, conversation and lead, and confirm."""

    name = "action_hapus_data"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Forget everything about this contact."""
        return ActionResult((ctx.kb.reply("hapus_data_selesai"),), ConversationState(),
                            forget=True)
