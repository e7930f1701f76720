"""The console's pages: decode the form or query, call the `Console`, render or redirect.

After a successful POST a page redirects (303) with a short `ok` code that the layout turns into
a fixed message, so no text from the request is ever echoed back as a notice. A refused form is
rendered again with what was typed and a message beside each field.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import AsyncIterator

from starlette.responses import RedirectResponse, Response, StreamingResponse

from bot.admin.accounts import ROLE_NAMES
from bot.admin.editor import (
    CONFIDENCE,
    MAX_BUTTONS,
    answer_form_values,
    answer_to_form,
    fact_form_values,
    fact_to_form,
    fingerprint,
    search,
)
from bot.admin.forms import FormErrors, words
from bot.admin.http import COOKIE, LOGIN_COOKIE, PREFIX, Ctx, Public, same_token
from bot.admin.inbox import STREAM_ID
from bot.admin.leads import LeadFilter
from bot.errors import BadRequest
from bot.knowledge.base import KnowledgeBase
from bot.leads import write_csv

FLASH = {
    "saved": "Tersimpan. Model dilatih ulang di latar belakang; bot menjawab dengan versi baru "
             "dalam beberapa detik.",
    "deleted": "Terhapus.",
    "handled": "Ditandai selesai.",
    "taught": "Ditambahkan sebagai contoh. Model dilatih ulang di latar belakang.",
    "restored": "Versi dikembalikan sebagai versi baru. Model dilatih ulang di latar belakang.",
    "user_saved": "Pengguna tersimpan. Sesi lamanya (jika ada) sudah diakhiri.",
}
DAY_CHOICES = (7, 14, 30)


def done(path: str, ok: str) -> RedirectResponse:
    """Back to a page after a POST, with a notice code."""
    return RedirectResponse(f"{PREFIX}{path}?ok={ok}", 303)


def safe_next(target: str) -> str:
    """Where to go after login: only a console path, never another site."""
    return target if re.match(r"^/admin(/[^/\\]|/?$)", target) else f"{PREFIX}/"


def period(raw: str) -> int:
    """The dashboard's period in days, one of DAY_CHOICES."""
    if raw not in {str(d) for d in DAY_CHOICES}:
        raise BadRequest(f"Periode harus salah satu dari {DAY_CHOICES} hari.", 422)
    return int(raw)


def stream_ids(raw: str) -> list[str]:
    """Inbox message ids from a hidden field (comma-separated), refusing anything else."""
    ids = [i for i in raw.split(",") if i]
    if not ids or not all(re.match(STREAM_ID, i) for i in ids):
        raise BadRequest("Daftar pesan tidak valid.", 422)
    return ids


# -- login -----------------------------------------------------------------------------------

async def login_form(p: Public, error: str = "", status: int = 200) -> Response:
    """The login form, with a fresh double-submit CSRF token (cookie + hidden field)."""
    token = secrets.token_urlsafe(32)
    response = p.render("login.html", status, login_csrf=token, error=error,
                        next=safe_next(p.request.query_params.get("next", "")))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path=PREFIX,
                        secure=p.secure, max_age=3600)
    return response


async def show_login(p: Public) -> Response:
    """GET /admin/login."""
    return await login_form(p)


async def login(p: Public) -> Response:
    """POST /admin/login: a wrong password re-renders the form (401), throttled ones 429."""
    form = await p.request.form()
    sent, cookie = str(form.get("csrf", "")), p.request.cookies.get(LOGIN_COOKIE, "")
    if not same_token(sent, cookie):
        raise BadRequest("Formulir kedaluwarsa. Muat ulang halaman masuk lalu coba lagi.", 403)
    ip = p.request.client.host if p.request.client else "-"
    try:
        token, _ = await p.console.login(str(form.get("username", "")),
                                         str(form.get("password", "")), ip)
    except BadRequest as exc:
        if exc.status != 401:
            raise
        return await login_form(p, str(exc), 401)
    response = RedirectResponse(safe_next(str(form.get("next", ""))), 303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path=PREFIX,
                        secure=p.secure)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


async def logout(c: Ctx) -> Response:
    """POST /admin/logout."""
    await c.console.sessions.end(c.request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{PREFIX}/login", 303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# -- staff: dashboard, inbox, leads ----------------------------------------------------------

async def dashboard(c: Ctx) -> Response:
    """GET /admin/: charts of the last 7, 14 or 30 days."""
    days = period(c.request.query_params.get("hari", "14"))
    return c.render("dashboard.html", data=await c.console.dashboard(days), choices=DAY_CHOICES)


async def inbox(c: Ctx) -> Response:
    """GET /admin/inbox: grouped unanswered messages."""
    kb = await c.console.knowledge()
    return c.render("inbox.html", groups=await c.console.inbox_groups(),
                    intents=c.console.example_intents(kb))


async def inbox_handled(c: Ctx) -> Response:
    """POST /admin/inbox/handled: drop a group without changing the bot."""
    await c.console.mark_handled(c.user, stream_ids(c.form.get("ids", "")))
    return done("/inbox", "handled")


async def inbox_teach(c: Ctx) -> Response:
    """POST /admin/inbox/teach: a group's messages become examples of an intent."""
    await c.console.teach(c.user, c.form.get("intent", ""), stream_ids(c.form.get("ids", "")))
    return done("/inbox", "taught")


async def inbox_to_faq(c: Ctx) -> Response:
    """POST /admin/inbox/faq: the new-FAQ form, filled with a group's messages."""
    ids = stream_ids(c.form.get("ids", ""))
    texts = dict.fromkeys(m.text for m in await c.console.inbox.get(ids))
    values = {"questions": "\n".join(list(texts)[:20]), "inbox_ids": ",".join(ids)}
    return await _answer_form(c, await c.console.knowledge(), None, values, {})


async def leads(c: Ctx) -> Response:
    """GET /admin/leads: filtered leads, newest first."""
    try:
        where = LeadFilter.from_query(c.request.query_params)
    except FormErrors as exc:
        return c.render("leads.html", leads=[], where=LeadFilter(), errors=exc.fields, status=422)
    return c.render("leads.html", leads=await c.console.leads(where), where=where, errors={})


async def leads_csv(c: Ctx) -> Response:
    """GET /admin/leads.csv: the filtered leads as CSV."""
    where = LeadFilter.from_query(c.request.query_params)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        await write_csv(c.console.lead_rows(where), buffer)
        yield buffer.getvalue()

    name = f"prospek-{c.console.rt.clock():%Y%m%d-%H%M}.csv"
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="{name}"'})


async def lead_delete(c: Ctx) -> Response:
    """POST /admin/leads/delete: honour a worker's deletion request."""
    await c.console.delete_lead(c.user, c.form.get("channel", ""), c.form.get("user_id", ""))
    return done("/leads", "deleted")


# -- admin: FAQ ------------------------------------------------------------------------------

async def faq_list(c: Ctx) -> Response:
    """GET /admin/faq: search answers; `coba` shows how the bot answers a question now."""
    kb = await c.console.knowledge()
    query = c.request.query_params.get("q", "").strip()
    question = c.request.query_params.get("coba", "").strip()
    tried = await c.console.try_text(question) if question else None
    return c.render("faq_list.html", answers=search(kb.document.answers, query), q=query,
                    tried=tried, kb=kb)


async def _answer_form(c: Ctx, kb: KnowledgeBase, answer_id: str | None, values: dict[str, str],
                       errors: dict[str, str], status: int = 200) -> Response:
    answer = kb.answer(answer_id) if answer_id and kb.has_answer(answer_id) else None
    known = {f.id: f for f in kb.document.facts}
    cited = [known[f] for f in words(values.get("facts", "")) if f in known]
    return c.render("faq_form.html", status, answer=answer, values=values, errors=errors,
                    cited=cited, max_buttons=MAX_BUTTONS,
                    fact_ids=[f.id for f in kb.document.facts])


async def faq_new(c: Ctx) -> Response:
    """GET /admin/faq/new."""
    return await _answer_form(c, await c.console.knowledge(), None, {}, {})


async def faq_edit(c: Ctx) -> Response:
    """GET /admin/faq/{id}."""
    kb = await c.console.knowledge()
    answer_id = c.request.path_params["answer_id"]
    if not kb.has_answer(answer_id):
        raise BadRequest(f"Jawaban {answer_id} tidak ada.", 404)
    answer = kb.answer(answer_id)
    values = {**answer_to_form(answer), "base": fingerprint(answer)}
    return await _answer_form(c, kb, answer_id, values, {})


async def faq_save(c: Ctx) -> Response:
    """POST /admin/faq/new and /admin/faq/{id}: validate, store a version, retrain."""
    answer_id = c.request.path_params.get("answer_id")
    inbox_ids = stream_ids(c.form["inbox_ids"]) if c.form.get("inbox_ids") else []
    try:
        answer = await c.console.save_answer(c.user, answer_form_values(c.form), answer_id,
                                             c.form.get("base", "") if answer_id else None,
                                             inbox_ids)
    except FormErrors as exc:
        return await _answer_form(c, await c.console.knowledge(), answer_id, c.form,
                                  exc.fields, 422)
    return done(f"/faq/{answer.id}", "saved")


async def faq_delete(c: Ctx) -> Response:
    """POST /admin/faq/{id}/delete."""
    await c.console.delete_answer(c.user, c.request.path_params["answer_id"])
    return done("/faq", "deleted")


# -- admin: facts ----------------------------------------------------------------------------

async def facts(c: Ctx) -> Response:
    """GET /admin/facts: every fact with its sources and who cites it."""
    kb = await c.console.knowledge()
    query = c.request.query_params.get("q", "").casefold()
    shown = [f for f in kb.document.facts
             if query in f"{f.id} {f.statement}".casefold()]
    citations: dict[str, list[str]] = {}
    for cited_by, fact_ids in [*((a.id, a.facts) for a in kb.document.answers),
                               *((b.id, b.facts) for b in kb.document.branches)]:
        for fact_id in fact_ids:
            citations.setdefault(fact_id, []).append(cited_by)
    return c.render("facts.html", facts=shown, citations=citations, q=query)


async def _fact_form(c: Ctx, fact_id: str | None, values: dict[str, str],
                     errors: dict[str, str], status: int = 200) -> Response:
    return c.render("fact_form.html", status, fact_id=fact_id, values=values, errors=errors,
                    confidence=CONFIDENCE)


async def fact_new(c: Ctx) -> Response:
    """GET /admin/facts/new."""
    return await _fact_form(c, None, {}, {})


async def fact_edit(c: Ctx) -> Response:
    """GET /admin/facts/{id}."""
    kb = await c.console.knowledge()
    fact_id = c.request.path_params["fact_id"]
    fact = next((f for f in kb.document.facts if f.id == fact_id), None)
    if fact is None:
        raise BadRequest(f"Fakta {fact_id} tidak ada.", 404)
    return await _fact_form(c, fact_id, {**fact_to_form(fact), "base": fingerprint(fact)}, {})


async def fact_save(c: Ctx) -> Response:
    """POST /admin/facts/new and /admin/facts/{id}."""
    fact_id = c.request.path_params.get("fact_id")
    try:
        fact = await c.console.save_fact(c.user, fact_form_values(c.form), fact_id,
                                         c.form.get("base", "") if fact_id else None)
    except FormErrors as exc:
        return await _fact_form(c, fact_id, c.form, exc.fields, 422)
    return done(f"/facts/{fact.id}", "saved")


async def fact_delete(c: Ctx) -> Response:
    """POST /admin/facts/{id}/delete."""
    await c.console.delete_fact(c.user, c.request.path_params["fact_id"])
    return done("/facts", "deleted")


# -- admin: versions, audit, users -----------------------------------------------------------

async def versions(c: Ctx) -> Response:
    """GET /admin/versions."""
    return c.render("versions.html", versions=await c.console.versions(),
                    model=await c.console.status())


async def version(c: Ctx) -> Response:
    """GET /admin/versions/{n}: what that version changed."""
    number = c.request.path_params["version"]
    previous, lines = await c.console.version_diff(number)
    return c.render("version.html", version=number, previous=previous, lines=lines)


async def version_restore(c: Ctx) -> Response:
    """POST /admin/versions/{n}/restore."""
    await c.console.rollback(c.user, c.request.path_params["version"])
    return done("/versions", "restored")


async def audit(c: Ctx) -> Response:
    """GET /admin/audit: newest first, 100 a page."""
    before = c.request.query_params.get("sebelum") or None
    if before is not None and not re.match(STREAM_ID, before):
        raise BadRequest("Halaman tidak valid.", 422)
    entries = await c.console.audit.recent(100, before)
    return c.render("audit.html", entries=entries, more=len(entries) == 100)


async def users(c: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """GET /admin/users."""
    return c.render("users.html", status, users=await c.console.users.all(),
                    roles=ROLE_NAMES, errors=errors or {}, values=c.form)


async def user_create(c: Ctx) -> Response:
    """POST /admin/users."""
    try:
        await c.console.add_user(c.user, c.form.get("username", ""), c.form.get("role", ""),
                                 c.form.get("password", ""))
    except FormErrors as exc:
        return await users(c, exc.fields, 422)
    return done("/users", "user_saved")


async def user_update(c: Ctx) -> Response:
    """POST /admin/users/{name}: role and/or a new password."""
    try:
        await c.console.change_user(c.user, c.request.path_params["username"],
                                    c.form.get("role", ""), c.form.get("password", ""))
    except FormErrors as exc:
        return await users(c, exc.fields, 422)
    return done("/users", "user_saved")


async def user_delete(c: Ctx) -> Response:
    """POST /admin/users/{name}/delete."""
    try:
        await c.console.remove_user(c.user, c.request.path_params["username"])
    except FormErrors as exc:
        return await users(c, exc.fields, 422)
    return done("/users", "deleted")
