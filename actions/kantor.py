"""Branch offices: which office serves the place the worker names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.contacts import ProfileField
from bot.dialogue.action import ActionContext, ActionResult
from bot.dialogue.state import Form
from bot.knowledge.base import BranchModel, KnowledgeBase
from bot.messages import Reply


def branches_for(kb: KnowledgeBase, place: str) -> list[BranchModel]:
    """Branches whose served places include `place` (or whose name mentions it)."""
    wanted = place.lower().replace("kabupaten ", "").replace("kota ", "").strip()
    return [b for b in kb.branches()
            if any(wanted == c.lower().replace("kabupaten ", "").replace("kota ", "").strip()
                   for c in b.covers) or wanted in b.name.lower()]


# An address a source reported this many years ago or more is shown with its age.
OLD_ADDRESS_YEARS = 2


def describe(kb: KnowledgeBase, branch: BranchModel, today: date) -> str:
    """One line per office; an address only when a source gave one, an old one with its age."""
    where = branch.address or kb.text("kantor_tanpa_alamat")
    reported = branch.address_reported
    if branch.address and reported and int(reported[:4]) <= today.year - OLD_ADDRESS_YEARS:
        where = kb.text("kantor_alamat_lama", alamat=where, tahun=reported[:4])
    return kb.text("kantor_baris", nama=branch.name, alamat=where)


class KantorAction:
    """Answers `kantor_cabang`, and `inform` with a place after the bot asked for one."""

    name = "action_kantor"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """List matching offices, or ask where the worker lives."""
        entity = ctx.parse.first("wilayah")
        place, area = ctx.told(ProfileField.AREA), ctx.told(ProfileField.REGENCY)
        profile = {ProfileField.AREA: place, ProfileField.REGENCY: area} \
            if entity and place and area else {}
        found = branches_for(ctx.kb, area or place) if place else []
        state = replace(ctx.state, topic="kantor", form=None, requested=None)
        if found:
            where = place if not area or area.endswith(place or "") else f"{place} ({area})"
            offices = "\n".join(describe(ctx.kb, b, ctx.now.date()) for b in found)
            text = ctx.kb.text("kantor_ditemukan", wilayah=where, kantor=offices)
            return ActionResult((Reply(text),), state, profile)
        replies = [ctx.kb.reply("kantor_umum")]
        if not place:
            replies.append(ctx.kb.reply("kantor_tanya_wilayah"))
            state = replace(state, form=Form.KANTOR)
        return ActionResult(tuple(replies), state, profile)
