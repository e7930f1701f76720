"""The console's JSON API under /admin/api: the pages' use cases, for scripts and the page's JS.

Bodies are validated with pydantic here, at the edge. A client logs in with a JSON POST to
/admin/api/login (a cross-site form cannot send `application/json`, and we never answer a CORS
preflight), gets the session cookie and a CSRF token, and sends the token as `X-CSRF-Token` on
every POST, PUT and DELETE.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.admin.editor import fingerprint, search
from bot.admin.forms import field_errors
from bot.admin.http import COOKIE, PREFIX, Ctx, Public
from bot.admin.inbox import STREAM_ID
from bot.admin.leads import LeadFilter
from bot.admin.pages import period
from bot.errors import BadRequest

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
    token, session = await p.console.login(data.username, data.password, ip)
    response = ok({"username": session.username, "role": session.role, "csrf": session.csrf})
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path=PREFIX,
                        secure=p.secure)
    return response


async def logout(c: Ctx) -> Response:
    """POST /admin/api/logout."""
    await c.console.sessions.end(c.request.cookies.get(COOKIE, ""))
    response = ok({"ok": True})
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


async def status(c: Ctx) -> Response:
    """GET /admin/api/status: versions stored and served, and the last retrain."""
    return ok(await c.console.status())


async def stats(c: Ctx) -> Response:
    """GET /admin/api/stats?hari=14: the dashboard's numbers."""
    days = period(c.request.query_params.get("hari", "14"))
    data = await c.console.dashboard(days)
    return ok({
        "days": days, "messages": data.messages, "fallback_rate": data.fallback_rate,
        "leads": data.leads, "unanswered": data.unanswered,
        "per_day": [{"day": col.label, "total": col.total,
                     "channels": {s.name: s.value for s in col.segments}}
                    for col in data.per_day.columns],
        "top_intents": [{"intent": r.label, "count": r.value} for r in data.intents],
        "leads_by_kecamatan": [{"kecamatan": r.label, "count": r.value} for r in data.areas],
    })


async def inbox(c: Ctx) -> Response:
    """GET /admin/api/inbox: groups of unanswered messages."""
    groups = await c.console.inbox_groups()
    return ok([{**asdict(g), "count": g.count} for g in groups])


async def inbox_handled(c: Ctx) -> Response:
    """POST /admin/api/inbox/handled {ids}."""
    data = await body(c.request, IdsBody)
    return ok({"removed": await c.console.mark_handled(c.user, data.ids)})


async def inbox_teach(c: Ctx) -> Response:
    """POST /admin/api/inbox/teach {ids, intent}."""
    data = await body(c.request, TeachBody)
    return ok({"examples": await c.console.teach(c.user, data.intent, data.ids)})


async def leads(c: Ctx) -> Response:
    """GET /admin/api/leads?kecamatan=&kelurahan=&pekerjaan=&dari=&sampai=."""
    where = LeadFilter.from_query(c.request.query_params)
    return ok([asdict(lead) for lead in await c.console.leads(where)])


async def lead_delete(c: Ctx) -> Response:
    """DELETE /admin/api/leads/{channel}/{user_id}."""
    params = c.request.path_params
    await c.console.delete_lead(c.user, params["channel"], params["user_id"])
    return ok({"deleted": True})


async def faqs(c: Ctx) -> Response:
    """GET /admin/api/faqs?q=: answers matching the search."""
    kb = await c.console.knowledge()
    found = search(kb.document.answers, c.request.query_params.get("q", ""))
    return ok({"version": kb.version, "answers": [a.model_dump() for a in found]})


async def faq(c: Ctx) -> Response:
    """GET /admin/api/faqs/{id}: one answer and its fingerprint (`base` for a PUT)."""
    kb = await c.console.knowledge()
    answer_id = c.request.path_params["answer_id"]
    if not kb.has_answer(answer_id):
        raise BadRequest(f"no answer {answer_id}", 404)
    answer = kb.answer(answer_id)
    return ok({"answer": answer.model_dump(), "base": fingerprint(answer)})


async def faq_put(c: Ctx) -> Response:
    """PUT /admin/api/faqs/{id}: create the FAQ entry, or replace the answer with that id."""
    data = await body(c.request, AnswerBody)
    answer_id = c.request.path_params["answer_id"]
    exists = (await c.console.knowledge()).has_answer(answer_id)
    values = {**data.model_dump(exclude={"base"}), "id": answer_id}
    answer = await c.console.save_answer(c.user, values, answer_id if exists else None,
                                         data.base)
    return ok({"answer": answer.model_dump()}, 200 if exists else 201)


async def faq_delete(c: Ctx) -> Response:
    """DELETE /admin/api/faqs/{id}."""
    await c.console.delete_answer(c.user, c.request.path_params["answer_id"])
    return ok({"deleted": True})


async def try_text(c: Ctx) -> Response:
    """GET /admin/api/try?q=: how the bot answers now (intent, confidence, replies)."""
    question = c.request.query_params.get("q", "").strip()
    if not question:
        raise BadRequest("q is required", 422)
    return ok(asdict(await c.console.try_text(question)))


async def facts(c: Ctx) -> Response:
    """GET /admin/api/facts."""
    kb = await c.console.knowledge()
    return ok([f.model_dump() for f in kb.document.facts])


async def versions(c: Ctx) -> Response:
    """GET /admin/api/versions."""
    return ok([asdict(v) for v in await c.console.versions()])


async def version(c: Ctx) -> Response:
    """GET /admin/api/versions/{n}: the unified diff against the kept version before it."""
    number = c.request.path_params["version"]
    previous, lines = await c.console.version_diff(number)
    return ok({"version": number, "previous": previous, "diff": lines})


async def version_restore(c: Ctx) -> Response:
    """POST /admin/api/versions/{n}/restore -> the new version number."""
    return ok({"version": await c.console.rollback(c.user, c.request.path_params["version"])})


async def audit(c: Ctx) -> Response:
    """GET /admin/api/audit?sebelum=<id>: 100 entries, newest first."""
    before = c.request.query_params.get("sebelum") or None
    if before is not None and not re.match(STREAM_ID, before):
        raise BadRequest("sebelum must be an entry id", 422)
    return ok([asdict(e) for e in await c.console.audit.recent(100, before)])


async def users(c: Ctx) -> Response:
    """GET /admin/api/users."""
    return ok([asdict(u) for u in await c.console.users.all()])


async def user_create(c: Ctx) -> Response:
    """POST /admin/api/users {username, role, password}."""
    data = await body(c.request, UserBody)
    user = await c.console.add_user(c.user, data.username, data.role, data.password)
    return ok(asdict(user), 201)
