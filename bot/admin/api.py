"""The console's JSON API under /admin/api: the pages' use cases, for scripts and the page's JS.

Bodies are validated with pydantic here, at the edge. A client logs in with a JSON POST to
/admin/api/login (a cross-site form cannot send `application/json`, and we never answer a CORS
preflight), gets the session cookie and a CSRF token, and sends the token as `X-CSRF-Token` on
every POST, PUT and DELETE.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.admin.answers import answer_in, what_if_day
from bot.admin.bubbles import Bubble, preview_message
from bot.admin.campaigns import Change, Detail, status_text
from bot.admin.drafts import CampaignInput
from bot.admin.editor import fingerprint, search
from bot.admin.forms import field_errors
from bot.admin.http import COOKIE, PREFIX, Ctx, Public
from bot.admin.inbox import STREAM_ID
from bot.admin.leads import LeadFilter
from bot.admin.pages import period
from bot.broadcast.campaigns import Campaign
from bot.contacts import ProfileField
from bot.errors import BadRequest, Invalid
from bot.handoffs import MAX_REPLY, Handoff

M = TypeVar("M", bound=BaseModel)


class LoginBody(BaseModel):
    """POST /admin/api/login."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class IdsBody(BaseModel):
    """Inbox message ids."""

    ids: list[str] = Field(min_length=1, max_length=5000)

    @field_validator("ids")
    @classmethod
    def _stream_ids(cls, ids: list[str]) -> list[str]:
        if not all(re.match(STREAM_ID, i) for i in ids):
            raise ValueError("ids must be stream ids like 1732150000000-0")
        return ids


class TeachBody(IdsBody):
    """POST /admin/api/inbox/teach."""

    intent: str


class AnswerBody(BaseModel):
    """PUT /admin/api/faqs/{id}: `base` (from GET) refuses to overwrite a parallel edit."""

    text: str
    questions: list[str] = Field(default_factory=list)
    buttons: list[dict[str, str]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    base: str | None = None


class UserBody(BaseModel):
    """POST /admin/api/users."""

    username: str
    role: str
    password: str


class SegmentBody(BaseModel):
    """Who a campaign reaches: a contact must match every filter given, any value within one."""

    channels: list[str] = Field(default_factory=list)
    pekerjaan: list[str] = Field(default_factory=list)
    wilayah: list[str] = Field(default_factory=list)
    kabupaten: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    opted_in: bool | None = True
    active_within_days: int | None = None
    registered: bool | None = None


class ButtonBody(BaseModel):
    """A reply button; without a payload it sends its title."""

    title: str
    payload: str = ""
    reply: str = ""  # what the bot answers when a worker taps it


class TemplateBody(BaseModel):
    """An approved WhatsApp template for contacts outside the 24-hour window."""

    name: str
    language: str = "id"
    parameters: list[str] = Field(default_factory=list)


class CampaignBody(BaseModel):
    """POST /admin/api/campaigns: a draft, started at once (or at `send_at`, WIB) if `start`."""

    name: str
    segment: SegmentBody = Field(default_factory=SegmentBody)
    text: str
    buttons: list[ButtonBody] = Field(default_factory=list)
    template: TemplateBody | None = None
    quiet_hours: str | None = None  # "21:00-07:00" or "off"; none for config.yml's
    start: bool = False
    send_at: str | None = None

    def entered(self) -> CampaignInput:
        """The same input the console's form gives."""
        s, t = self.segment, self.template
        return CampaignInput(
            name=self.name, channels=tuple(s.channels), pekerjaan=tuple(s.pekerjaan),
            wilayah=tuple(s.wilayah), kabupaten=tuple(s.kabupaten), tags=tuple(s.tags),
            opted_in=s.opted_in, active_within_days=s.active_within_days,
            registered=s.registered, text=self.text,
            buttons=tuple((b.title, b.payload) for b in self.buttons),
            answers=tuple(b.reply.strip() for b in self.buttons),
            template=t.name.strip() if t else "", template_language=t.language if t else "id",
            template_params=tuple(t.parameters) if t else (), quiet_hours=self.quiet_hours,
            send_at=self.send_at)


class ReplyBody(BaseModel):
    """POST /admin/api/handoffs/{id}/reply."""

    text: str = Field(min_length=1, max_length=MAX_REPLY)


class LeadStatusBody(BaseModel):
    """POST /admin/api/leads/status: a lead's follow-up (petugas: who should call; optional)."""

    channel: str = Field(max_length=32)
    user_id: str = Field(max_length=128)
    status: str
    petugas: str | None = Field(None, max_length=64)


class StartBody(BaseModel):
    """POST /admin/api/campaigns/{id}/start (a body is optional): `send_at` in WIB, or now."""

    send_at: str | None = None


async def body(request: Request, model: type[M]) -> M:
    """The JSON body as `model`; anything else is a clear 4xx."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise BadRequest("body must be JSON (Content-Type: application/json)", 415)
    try:
        return model.model_validate(orjson.loads(await request.body()))
    except orjson.JSONDecodeError as exc:
        raise BadRequest("body is not valid JSON", 400) from exc
    except ValidationError as exc:
        raise field_errors(exc) from exc


def ok(value: Any, status: int = 200) -> Response:
    """A JSON response."""
    return JSONResponse(value, status)


async def login(p: Public) -> Response:
    """POST /admin/api/login -> {username, role, csrf} and the session cookie."""
    data = await body(p.request, LoginBody)
    ip = p.request.client.host if p.request.client else "-"
    token, session = await p.console.users.login(data.username, data.password, ip)
    response = ok({"username": session.username, "role": session.role, "csrf": session.csrf})
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path=PREFIX,
                        secure=p.secure)
    return response


async def logout(c: Ctx) -> Response:
    """POST /admin/api/logout."""
    await c.console.users.logout(c.request.cookies.get(COOKIE, ""))
    response = ok({"ok": True})
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


async def status(c: Ctx) -> Response:
    """GET /admin/api/status: versions stored and served, and the last retrain."""
    return ok(await c.console.versions.status())


async def stats(c: Ctx) -> Response:
    """GET /admin/api/stats?hari=14: the dashboard's numbers."""
    days = period(c.request.query_params.get("hari", "14"))
    data = await c.console.stats.dashboard(days)
    return ok({
        "days": days, "messages": data.messages, "fallback_rate": data.fallback_rate,
        "leads": data.leads, "unanswered": data.unanswered,
        "per_day": [{"day": col.label, "total": col.total,
                     "channels": {s.name: s.value for s in col.segments}}
                    for col in data.per_day.columns],
        "top_intents": [{"intent": r.label, "name": data.intent_names.get(r.label, r.label),
                         "count": r.value} for r in data.intents],
        "leads_by_kecamatan": [{"kecamatan": r.label, "count": r.value} for r in data.areas],
        "campaign_funnel": data.funnel,
        "lead_follow_up": data.follow_up,
        "leads_by_area": [asdict(row) for row in data.by_area],
    })


async def inbox(c: Ctx) -> Response:
    """GET /admin/api/inbox[?before=<id>]: a page of grouped unanswered messages.

    The next (older) page's cursor comes in the `X-Inbox-Before` header, absent on the last.
    """
    before = c.request.query_params.get("before", "")
    groups, older = await c.console.inbox.groups(
        before if re.match(STREAM_ID, before) else None)
    response = ok([{**asdict(g), "count": g.count} for g in groups])
    if older:
        response.headers["X-Inbox-Before"] = older
    return response


async def inbox_handled(c: Ctx) -> Response:
    """POST /admin/api/inbox/handled {ids}."""
    data = await body(c.request, IdsBody)
    return ok({"removed": await c.console.inbox.handled(c.user, data.ids)})


async def inbox_teach(c: Ctx) -> Response:
    """POST /admin/api/inbox/teach {ids, intent}."""
    data = await body(c.request, TeachBody)
    return ok({"examples": await c.console.inbox.teach(c.user, data.intent, data.ids)})


async def leads(c: Ctx) -> Response:
    """GET /admin/api/leads?kecamatan=&kelurahan=&pekerjaan=&dari=&sampai=."""
    where = LeadFilter.from_query(c.request.query_params)
    return ok([asdict(lead) for lead in await c.console.leads.newest(where)])


async def lead_status(c: Ctx) -> Response:
    """POST /admin/api/leads/status {channel, user_id, status, petugas?}."""
    data = await body(c.request, LeadStatusBody)
    await c.console.leads.follow_up(c.user, data.channel, data.user_id, data.status,
                                    data.petugas)
    return ok({"status": data.status})


async def lead_delete(c: Ctx) -> Response:
    """DELETE /admin/api/leads/{channel}/{user_id}."""
    params = c.request.path_params
    await c.console.leads.delete(c.user, params["channel"], params["user_id"])
    return ok({"deleted": True})


async def faqs(c: Ctx) -> Response:
    """GET /admin/api/faqs?q=: answers matching the search."""
    kb = await c.console.answers.knowledge()
    found = search(kb.document.answers, c.request.query_params.get("q", ""))
    return ok({"version": kb.version, "answers": [a.model_dump() for a in found]})


async def faq(c: Ctx) -> Response:
    """GET /admin/api/faqs/{id}: one answer and its fingerprint (`base` for a PUT)."""
    answer = answer_in(await c.console.answers.knowledge(), c.request.path_params["answer_id"])
    return ok({"answer": answer.model_dump(), "base": fingerprint(answer)})


async def faq_put(c: Ctx) -> Response:
    """PUT /admin/api/faqs/{id}: create the FAQ entry, or replace the answer with that id."""
    data = await body(c.request, AnswerBody)
    answer_id = c.request.path_params["answer_id"]
    exists = (await c.console.answers.knowledge()).has_answer(answer_id)
    values = {**data.model_dump(exclude={"base"}), "id": answer_id}
    answer = await c.console.answers.save(c.user, values, answer_id if exists else None,
                                          data.base)
    return ok({"answer": answer.model_dump()}, 200 if exists else 201)


async def faq_delete(c: Ctx) -> Response:
    """DELETE /admin/api/faqs/{id}."""
    await c.console.answers.delete(c.user, c.request.path_params["answer_id"])
    return ok({"deleted": True})


async def try_text(c: Ctx) -> Response:
    """GET /admin/api/try?q=&tanggal=YYYY-MM-DD: how the bot answers now, or on that day."""
    question = c.request.query_params.get("q", "").strip()
    if not question:
        raise Invalid("q is required")
    on = what_if_day(c.request.query_params.get("tanggal", ""))
    return ok(asdict(await c.console.answers.try_text(question, on)))


async def facts(c: Ctx) -> Response:
    """GET /admin/api/facts."""
    kb = await c.console.facts.knowledge()
    return ok([f.model_dump() for f in kb.document.facts])


async def versions(c: Ctx) -> Response:
    """GET /admin/api/versions."""
    return ok([asdict(v) for v in await c.console.versions.all()])


async def version(c: Ctx) -> Response:
    """GET /admin/api/versions/{n}: what changed since the kept version before it.

    As a unified diff of the YAML (`diff`) and item by item in the words staff read (`changes`).
    """
    number = c.request.path_params["version"]
    previous, lines = await c.console.versions.compare(number)
    _, changes = await c.console.versions.changes(number)
    return ok({"version": number, "previous": previous, "diff": lines,
               "changes": [asdict(change) for change in changes]})


async def version_restore(c: Ctx) -> Response:
    """POST /admin/api/versions/{n}/restore -> the new version number."""
    return ok({"version": await c.console.versions.restore(c.user,
                                                           c.request.path_params["version"])})


async def audit(c: Ctx) -> Response:
    """GET /admin/api/audit?sebelum=<id>: 100 entries, newest first."""
    before = c.request.query_params.get("sebelum") or None
    if before is not None and not re.match(STREAM_ID, before):
        raise Invalid("sebelum must be an entry id")
    return ok([asdict(e) for e in await c.console.audit.recent(100, before)])


async def users(c: Ctx) -> Response:
    """GET /admin/api/users."""
    return ok([asdict(u) for u in await c.console.users.all()])


async def user_unlock(c: Ctx) -> Response:
    """POST /admin/api/users/{username}/unlock: lift the login delay guessers caused."""
    await c.console.users.unlock(c.user, c.request.path_params["username"])
    return ok({"unlocked": c.request.path_params["username"]})


async def user_create(c: Ctx) -> Response:
    """POST /admin/api/users {username, role, password}."""
    data = await body(c.request, UserBody)
    user = await c.console.users.add(c.user, data.username, data.role, data.password)
    return ok(asdict(user), 201)


# -- campaigns -------------------------------------------------------------------------------

def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def campaign_json(campaign: Campaign, now: datetime) -> dict[str, Any]:
    """A campaign's definition and state."""
    message, template = campaign.message, campaign.message.template
    return {
        "id": campaign.id, "name": campaign.name, "status": campaign.status,
        "status_text": status_text(campaign, now), "note": campaign.note,
        "created_at": _time(campaign.created_at), "created_by": campaign.created_by,
        "send_at": _time(campaign.send_at), "started_at": _time(campaign.started_at),
        "finished_at": _time(campaign.finished_at), "enqueued": campaign.enqueued,
        "quiet_hours": str(campaign.quiet_hours or "off"),
        "segment": campaign.segment.to_dict(),
        "message": {"text": message.text,
                    "buttons": [{"title": b.title, "payload": b.payload,
                                 "reply": message.answer(i)}
                                for i, b in enumerate(message.buttons)],
                    "template": None if template is None else asdict(template)}}


def detail_json(detail: Detail, now: datetime) -> dict[str, Any]:
    """A campaign with its progress (what the detail page polls)."""
    return {**campaign_json(detail.campaign, now), "progress": detail.counts(),
            "skipped": [{"reason": reason, "label": label, "count": n}
                        for reason, label, n in detail.skipped()],
            "taps": [{"title": title, "reply": reply, "count": n}
                     for title, reply, n in detail.taps()],
            "totals_at": detail.totals_at.isoformat(timespec="seconds")}


def _bubbles(bubbles: tuple[Bubble, ...]) -> list[dict[str, Any]]:
    return [{"html": str(b.html), "rows": [list(row) for row in b.rows], "menu": list(b.menu)}
            for b in bubbles]


async def campaigns(c: Ctx) -> Response:
    """GET /admin/api/campaigns: the newest campaigns with their counters."""
    now = c.console.clock()
    return ok([{**campaign_json(p.campaign, now), "counts": p.counts}
               for p in await c.console.campaigns.recent()])


async def campaign_preview(c: Ctx) -> Response:
    """GET /admin/api/campaigns/preview?<the new-campaign form's fields>: the audience now.

    With `text` (and buttons, template) also the message as WhatsApp and Telegram show it to
    the first contact of the sample. A large registry is estimated from a random draw
    (`estimated`), unless `exact=1`.
    """
    entered = CampaignInput.from_form(c.request.query_params)
    found = await c.console.campaigns.preview(entered.segment(),
                                              exact=c.request.query_params.get("exact") == "1")
    sample = found.sample[0] if found.sample else None
    shown = preview_message(entered.message(), sample, await c.console.answers.knowledge())
    reachable = found.total - (0 if shown.template else found.outside_window)
    return ok({"total": found.total, "reachable": reachable, "estimated": found.estimated,
               "by_channel": found.by_channel,
               "outside_window": found.outside_window,
               "sample": [{"channel": s.channel,
                           "name": s.name,
                           "pekerjaan": s.get(ProfileField.OCCUPATION),
                           "wilayah": s.get(ProfileField.AREA)}
                          for s in found.sample],
               "name": shown.name, "whatsapp": _bubbles(shown.whatsapp),
               "telegram": _bubbles(shown.telegram),
               "template": None if shown.template is None else asdict(shown.template)})


async def campaign_create(c: Ctx) -> Response:
    """POST /admin/api/campaigns -> 201 and the campaign (running if `start`)."""
    data = await body(c.request, CampaignBody)
    change = await c.console.campaigns.create(c.user, c.console.campaigns.draft(data.entered()),
                                              start=data.start)
    return ok(campaign_json(change.campaign, c.console.clock()), 201)


async def campaign(c: Ctx) -> Response:
    """GET /admin/api/campaigns/{id}: the campaign, its counters and its report totals."""
    detail = await c.console.campaigns.detail(c.request.path_params["campaign_id"])
    return ok(detail_json(detail, c.console.clock()))


def _moved(c: Ctx, change: Change) -> Response:
    return ok({"before": change.before, "changed": change.changed,
               **campaign_json(change.campaign, c.console.clock())})


async def campaign_start(c: Ctx) -> Response:
    """POST /admin/api/campaigns/{id}/start {send_at?}: safe to repeat (`changed` says)."""
    data = await body(c.request, StartBody) if await c.request.body() else StartBody()
    send_at = c.console.campaigns.when(data.send_at)
    return _moved(c, await c.console.campaigns.start(c.user, c.request.path_params["campaign_id"],
                                                     send_at))


async def campaign_pause(c: Ctx) -> Response:
    """POST /admin/api/campaigns/{id}/pause."""
    return _moved(c, await c.console.campaigns.pause(c.user,
                                                     c.request.path_params["campaign_id"]))


async def campaign_resume(c: Ctx) -> Response:
    """POST /admin/api/campaigns/{id}/resume."""
    return _moved(c, await c.console.campaigns.resume(c.user,
                                                      c.request.path_params["campaign_id"]))


async def campaign_cancel(c: Ctx) -> Response:
    """POST /admin/api/campaigns/{id}/cancel."""
    return _moved(c, await c.console.campaigns.cancel(c.user,
                                                      c.request.path_params["campaign_id"]))



# -- handoffs (Percakapan) -------------------------------------------------------------------

def handoff_json(handoff: Handoff) -> dict[str, Any]:
    """A handoff with its status in Indonesian."""
    return {**asdict(handoff), "status_name": handoff.status_name}


async def handoffs(c: Ctx) -> Response:
    """GET /admin/api/handoffs?status=open|taken|closed (default open)&branch=<name>.

    Newest first; without `branch`, every branch's.
    """
    query = c.request.query_params
    return ok([handoff_json(h) for h in await c.console.handoffs.listing(
        query.get("status", "open"), query.get("branch", ""))])


async def handoff(c: Ctx) -> Response:
    """GET /admin/api/handoffs/{id}: the handoff and its messages (NIKs masked)."""
    found, messages = await c.console.handoffs.detail(c.request.path_params["handoff_id"])
    return ok({**handoff_json(found), "messages": [
        {**asdict(m), "who_name": m.who_name, "by_staff": m.by_staff} for m in messages]})


async def handoff_take(c: Ctx) -> Response:
    """POST /admin/api/handoffs/{id}/take."""
    return ok(handoff_json(await c.console.handoffs.take(
        c.user, c.request.path_params["handoff_id"])))


async def handoff_reply(c: Ctx) -> Response:
    """POST /admin/api/handoffs/{id}/reply {"text": ...}: sent on the worker's channel."""
    data = await body(c.request, ReplyBody)
    sent = await c.console.handoffs.reply(c.user, c.request.path_params["handoff_id"],
                                             data.text)
    return ok(asdict(sent), 201)


async def handoff_close(c: Ctx) -> Response:
    """POST /admin/api/handoffs/{id}/close: back to the bot; the worker is told."""
    return ok(handoff_json(await c.console.handoffs.close(
        c.user, c.request.path_params["handoff_id"])))
