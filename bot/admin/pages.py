"""The console's pages: decode the form or query, call a resource, render or redirect.

After a successful POST a page redirects (303) with a short `ok` code that the layout turns into
a fixed message, so no text from the request is ever echoed back as a notice. A refused form is
rendered again with what was typed and a message beside each field.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from typing import Any, TextIO
from urllib.parse import quote, unquote

from starlette.responses import RedirectResponse, Response, StreamingResponse

from bot.admin.accounts import ROLE_NAMES
from bot.admin.answers import answer_in, what_if_day
from bot.admin.bubbles import preview_message
from bot.admin.campaigns import BARS, LIVE_BUDGET, Change, status_text
from bot.admin.drafts import MAX_NAME, CampaignInput, scheduled
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
from bot.admin.facts import citations, fact_in, matching
from bot.admin.forms import words
from bot.admin.http import (
    BRANCH_COOKIE,
    COOKIE,
    LOGIN_COOKIE,
    PREFIX,
    Ctx,
    Public,
    same_token,
    status_of,
)
from bot.admin.inbox import STREAM_ID
from bot.admin.leads import LeadFilter, phone_view
from bot.admin.names import intent_name
from bot.broadcast import campaigns as broadcast
from bot.broadcast.segments import BROADCAST_CHANNELS, Preview
from bot.errors import BadRequest, Conflict, Denied, Invalid, Unavailable
from bot.handoffs import STATUS_NAMES
from bot.knowledge.base import KnowledgeBase
from bot.leads import LeadStatus, write_csv

FLASH = {
    "saved": "Tersimpan. Model dilatih ulang di latar belakang; bot menjawab dengan versi baru "
             "dalam beberapa detik.",
    "deleted": "Terhapus.",
    "unlocked": "Kunci dibuka: pengguna itu bisa langsung masuk lagi.",
    "handled": "Ditandai selesai.",
    "taught": "Ditambahkan sebagai contoh. Model dilatih ulang di latar belakang.",
    "restored": "Versi dikembalikan sebagai versi baru. Model dilatih ulang di latar belakang.",
    "user_saved": "Pengguna tersimpan. Sesi lamanya (jika ada) sudah diakhiri.",
    "campaign_created": "Kampanye tersimpan sebagai draf. Periksa lalu mulai kirim di bawah.",
    "campaign_started": "Kampanye dimulai. Pesan dikirim bertahap; kemajuannya tampil di bawah.",
    "campaign_paused": "Kampanye dijeda.",
    "campaign_resumed": "Kampanye dilanjutkan.",
    "campaign_cancelled": "Kampanye dibatalkan. Penerima yang belum dikirimi tidak akan dikirimi.",
    "lead_saved": "Tindak lanjut prospek tersimpan.",
    "handoff_taken": "Percakapan Anda ambil. Balasan Anda dikirim ke chat pekerja.",
    "handoff_sent": "Balasan terkirim ke pekerja.",
    "handoff_closed": "Percakapan selesai dan kembali ke bot. Pekerja sudah diberi tahu.",
    "campaign_unchanged": "Tidak ada yang berubah: status kampanye sudah tidak mengizinkan "
                          "tindakan itu.",
}
DAY_CHOICES = (7, 14, 30)
REPORT_ROWS = 100  # recipients shown on a campaign's page; the CSV has them all


def done(path: str, ok: str) -> RedirectResponse:
    """Back to a page after a POST, with a notice code."""
    return RedirectResponse(f"{PREFIX}{path}?ok={ok}", 303)


def safe_next(target: str) -> str:
    """Where to go after login: only a console path, never another site."""
    return target if re.match(r"^/admin(/[^/\\]|/?$)", target) else f"{PREFIX}/"


def period(raw: str) -> int:
    """The dashboard's period in days, one of DAY_CHOICES."""
    if raw not in {str(d) for d in DAY_CHOICES}:
        raise Invalid(f"Periode harus salah satu dari {DAY_CHOICES} hari.")
    return int(raw)


def stream_ids(raw: str) -> list[str]:
    """Inbox message ids from a hidden field (comma-separated), refusing anything else."""
    ids = [i for i in raw.split(",") if i]
    if not ids or not all(re.match(STREAM_ID, i) for i in ids):
        raise Invalid("Daftar pesan tidak valid.")
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
        token, _ = await p.console.users.login(str(form.get("username", "")),
                                         str(form.get("password", "")), ip)
    except Denied as exc:
        return await login_form(p, str(exc), 401)
    response = RedirectResponse(safe_next(str(form.get("next", ""))), 303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path=PREFIX,
                        secure=p.secure)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


async def logout(c: Ctx) -> Response:
    """POST /admin/logout."""
    await c.console.users.logout(c.request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{PREFIX}/login", 303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# -- staff: dashboard, inbox, leads ----------------------------------------------------------

async def dashboard(c: Ctx) -> Response:
    """GET /admin/: charts of the last 7, 14 or 30 days."""
    days = period(c.request.query_params.get("hari", "14"))
    return c.render("dashboard.html", data=await c.console.stats.dashboard(days),
                    choices=DAY_CHOICES)


async def inbox(c: Ctx) -> Response:
    """GET /admin/inbox: grouped unanswered messages."""
    kb = await c.console.answers.knowledge()
    before = c.request.query_params.get("sebelum", "")
    groups, older = await c.console.inbox.groups(
        before if re.match(STREAM_ID, before) else None)
    return c.render("inbox.html", groups=groups, older=older,
                    intents=[(i, intent_name(i, kb)) for i in c.console.inbox.intents(kb)],
                    guess_names={g.guess: intent_name(g.guess, kb) for g in groups if g.guess})


async def inbox_handled(c: Ctx) -> Response:
    """POST /admin/inbox/handled: drop a group without changing the bot."""
    await c.console.inbox.handled(c.user, stream_ids(c.form.get("ids", "")))
    return done("/inbox", "handled")


async def inbox_teach(c: Ctx) -> Response:
    """POST /admin/inbox/teach: a group's messages become examples of an intent."""
    await c.console.inbox.teach(c.user, c.form.get("intent", ""), stream_ids(c.form.get("ids", "")))
    return done("/inbox", "taught")


async def inbox_to_faq(c: Ctx) -> Response:
    """POST /admin/inbox/faq: the new-FAQ form, filled with a group's messages."""
    ids = stream_ids(c.form.get("ids", ""))
    texts = await c.console.inbox.texts(ids)
    values = {"questions": "\n".join(texts[:20]), "inbox_ids": ",".join(ids)}
    return await _answer_form(c, await c.console.answers.knowledge(), None, values, {})


async def leads(c: Ctx) -> Response:
    """GET /admin/leads: filtered leads, newest first."""
    try:
        where = LeadFilter.from_query(c.request.query_params)
    except Invalid as exc:
        return c.render("leads.html", leads=[], where=LeadFilter(), errors=exc.fields, status=422,
                        statuses=tuple(LeadStatus), links=phone_view)
    return c.render("leads.html", leads=await c.console.leads.newest(where), where=where, errors={},
                    statuses=tuple(LeadStatus), links=phone_view)


def csv_download(name: str, write: Callable[[TextIO], Awaitable[Any]]) -> Response:
    """A CSV file to save, written by `write` when the response is sent."""
    async def body() -> AsyncIterator[str]:
        buffer = io.StringIO()
        await write(buffer)
        yield buffer.getvalue()

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="{name}"'})


async def leads_csv(c: Ctx) -> Response:
    """GET /admin/leads.csv: the filtered leads as CSV."""
    where = LeadFilter.from_query(c.request.query_params)
    return csv_download(f"prospek-{c.console.clock():%Y%m%d-%H%M}.csv",
                        lambda out: write_csv(c.console.leads.rows(where), out))


async def lead_status(c: Ctx) -> Response:
    """POST /admin/leads/status: a lead's follow-up status and who should call."""
    await c.console.leads.follow_up(c.user, c.form.get("channel", ""),
                                    c.form.get("user_id", ""), c.form.get("status", ""),
                                    c.form.get("petugas"))
    return done("/leads", "lead_saved")


async def lead_delete(c: Ctx) -> Response:
    """POST /admin/leads/delete: honour a worker's deletion request."""
    await c.console.leads.delete(c.user, c.form.get("channel", ""), c.form.get("user_id", ""))
    return done("/leads", "deleted")


# -- staff: campaigns ------------------------------------------------------------------------

async def campaigns(c: Ctx) -> Response:
    """GET /admin/kampanye: the newest campaigns with their progress."""
    now = c.console.clock()
    return c.render("campaigns.html", campaigns=[
        (p, status_text(p.campaign, now)) for p in await c.console.campaigns.recent()])


def campaign_defaults(quiet_hours: str) -> dict[str, str]:
    """The new-campaign form before anything is typed: everyone who opted in, quiet hours on."""
    quiet = broadcast.QuietHours.parse(quiet_hours)
    return {"opted_in": "ya", "template_language": "id", "send": "now",
            "quiet": "1" if quiet else "", "quiet_start": f"{quiet.start:%H:%M}" if quiet else "",
            "quiet_end": f"{quiet.end:%H:%M}" if quiet else ""}


async def _campaign_form(c: Ctx, values: Mapping[str, str], errors: dict[str, str],
                         status: int = 200, *, exact: bool = False) -> Response:
    """The form with what was typed, its errors, the audience now and the message preview."""
    found: Preview | None = None
    message = None
    try:
        entered = CampaignInput.from_form(values)
        message = entered.message()
        found = await c.console.campaigns.preview(entered.segment(), exact=exact)
    except Invalid as exc:
        errors, status = {**exc.fields, **errors}, 422
    sample = found.sample[0] if found and found.sample else None
    return c.render("campaign_form.html", status, values=values, errors=errors, found=found,
                    live_budget=LIVE_BUDGET,
                    shown=preview_message(message, sample, await c.console.answers.knowledge())
                    if message else None,
                    channels=BROADCAST_CHANNELS, max_name=MAX_NAME,
                    max_buttons=broadcast.MAX_BUTTONS,
                    max_title=broadcast.MAX_BUTTON_TITLE, max_text=broadcast.MAX_TEXT)


async def campaign_new(c: Ctx) -> Response:
    """GET /admin/kampanye/baru."""
    return await _campaign_form(c, campaign_defaults(c.console.campaigns.default_quiet_hours),
                                {})


async def campaign_create(c: Ctx) -> Response:
    """POST /admin/kampanye/baru: `aksi` hitung (count again), simpan (draft) or mulai (start)."""
    action = c.form.get("aksi", "simpan")
    if action == "hitung":
        return await _campaign_form(c, c.form, {}, exact=True)
    try:
        draft = c.console.campaigns.draft(CampaignInput.from_form(c.form))
    except Invalid as exc:
        return await _campaign_form(c, c.form, exc.fields, 422)
    try:
        change = await c.console.campaigns.create(c.user, draft, start=action == "mulai")
    except Conflict as exc:  # not ready to send: nothing is stored, the form keeps its input
        return await _campaign_form(c, c.form, {"": str(exc)}, 409)
    return done(f"/kampanye/{change.campaign.id}",
                "campaign_started" if change.changed else "campaign_created")


async def _campaign_page(c: Ctx, errors: dict[str, str] | None = None,
                         status: int = 200) -> Response:
    campaigns = c.console.campaigns
    detail = await campaigns.detail(c.request.path_params["campaign_id"])
    return c.render("campaign.html", status, detail=detail, counts=detail.counts(), bars=BARS,
                    status_text=status_text(detail.campaign, c.console.clock()),
                    shown=preview_message(detail.campaign.message, None,
                                          await c.console.answers.knowledge()),
                    report=await campaigns.first_rows(detail.campaign, REPORT_ROWS),
                    report_rows=REPORT_ROWS, errors=errors or {}, values=c.form)


async def campaign(c: Ctx) -> Response:
    """GET /admin/kampanye/{id}: status, audience, message, live progress and the report."""
    return await _campaign_page(c)


def _moved(change: Change, ok: str) -> Response:
    return done(f"/kampanye/{change.campaign.id}",
                ok if change.changed else "campaign_unchanged")


async def campaign_start(c: Ctx) -> Response:
    """POST /admin/kampanye/{id}/mulai: now, or at the WIB time chosen."""
    try:
        send_at = c.console.campaigns.when(scheduled(c.form))
    except Invalid as exc:
        return await _campaign_page(c, exc.fields, 422)
    try:
        change = await c.console.campaigns.start(c.user, c.request.path_params["campaign_id"],
                                                 send_at)
    except Conflict as exc:  # nothing would send it: say so on the campaign's page
        return await _campaign_page(c, {"": str(exc)}, 409)
    return _moved(change, "campaign_started")


async def campaign_pause(c: Ctx) -> Response:
    """POST /admin/kampanye/{id}/jeda."""
    return _moved(await c.console.campaigns.pause(c.user, c.request.path_params["campaign_id"]),
                  "campaign_paused")


async def campaign_resume(c: Ctx) -> Response:
    """POST /admin/kampanye/{id}/lanjutkan."""
    return _moved(await c.console.campaigns.resume(c.user,
                                                   c.request.path_params["campaign_id"]),
                  "campaign_resumed")


async def campaign_cancel(c: Ctx) -> Response:
    """POST /admin/kampanye/{id}/batalkan."""
    return _moved(await c.console.campaigns.cancel(c.user,
                                                   c.request.path_params["campaign_id"]),
                  "campaign_cancelled")


async def campaign_csv(c: Ctx) -> Response:
    """GET /admin/kampanye/{id}/laporan.csv: one row per recipient."""
    campaigns = c.console.campaigns
    found = await campaigns.campaign(c.request.path_params["campaign_id"])
    return csv_download(f"kampanye-{found.id}.csv",
                        lambda out: campaigns.write_report(found, out))


# -- admin: FAQ ------------------------------------------------------------------------------

async def faq_list(c: Ctx) -> Response:
    """GET /admin/faq: search answers; `coba` shows how the bot answers a question now."""
    kb = await c.console.answers.knowledge()
    query = c.request.query_params.get("q", "").strip()
    question = c.request.query_params.get("coba", "").strip()
    on = what_if_day(c.request.query_params.get("tanggal", ""))
    tried = await c.console.answers.try_text(question, on) if question else None
    return c.render("faq_list.html", answers=search(kb.document.answers, query), q=query,
                    tried=tried, kb=kb, intent_name=partial(intent_name, kb=kb))


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
    return await _answer_form(c, await c.console.answers.knowledge(), None, {}, {})


async def faq_edit(c: Ctx) -> Response:
    """GET /admin/faq/{id}."""
    kb = await c.console.answers.knowledge()
    answer_id = c.request.path_params["answer_id"]
    answer = answer_in(kb, answer_id)
    values = {**answer_to_form(answer), "base": fingerprint(answer)}
    return await _answer_form(c, kb, answer_id, values, {})


async def faq_save(c: Ctx) -> Response:
    """POST /admin/faq/new and /admin/faq/{id}: validate, store a version, retrain."""
    answer_id = c.request.path_params.get("answer_id")
    inbox_ids = stream_ids(c.form["inbox_ids"]) if c.form.get("inbox_ids") else []
    try:
        answer = await c.console.answers.save(c.user, answer_form_values(c.form), answer_id,
                                              c.form.get("base", "") if answer_id else None,
                                              inbox_ids)
    except Invalid as exc:
        return await _answer_form(c, await c.console.answers.knowledge(), answer_id, c.form,
                                  exc.fields, 422)
    return done(f"/faq/{answer.id}", "saved")


async def faq_delete(c: Ctx) -> Response:
    """POST /admin/faq/{id}/delete."""
    await c.console.answers.delete(c.user, c.request.path_params["answer_id"])
    return done("/faq", "deleted")


# -- admin: facts ----------------------------------------------------------------------------

async def facts(c: Ctx) -> Response:
    """GET /admin/facts: every fact with its sources and who cites it."""
    document = (await c.console.facts.knowledge()).document
    query = c.request.query_params.get("q", "").casefold()
    return c.render("facts.html", facts=matching(document, query),
                    citations=citations(document), q=query, confidence=CONFIDENCE)


async def _fact_form(c: Ctx, fact_id: str | None, values: dict[str, str],
                     errors: dict[str, str], status: int = 200) -> Response:
    return c.render("fact_form.html", status, fact_id=fact_id, values=values, errors=errors,
                    confidence=CONFIDENCE)


async def fact_new(c: Ctx) -> Response:
    """GET /admin/facts/new."""
    return await _fact_form(c, None, {}, {})


async def fact_edit(c: Ctx) -> Response:
    """GET /admin/facts/{id}."""
    fact_id = c.request.path_params["fact_id"]
    fact = fact_in(await c.console.facts.knowledge(), fact_id)
    return await _fact_form(c, fact_id, {**fact_to_form(fact), "base": fingerprint(fact)}, {})


async def fact_save(c: Ctx) -> Response:
    """POST /admin/facts/new and /admin/facts/{id}."""
    fact_id = c.request.path_params.get("fact_id")
    try:
        fact = await c.console.facts.save(c.user, fact_form_values(c.form), fact_id,
                                          c.form.get("base", "") if fact_id else None)
    except Invalid as exc:
        return await _fact_form(c, fact_id, c.form, exc.fields, 422)
    return done(f"/facts/{fact.id}", "saved")


async def fact_delete(c: Ctx) -> Response:
    """POST /admin/facts/{id}/delete."""
    await c.console.facts.delete(c.user, c.request.path_params["fact_id"])
    return done("/facts", "deleted")


# -- admin: versions, audit, users -----------------------------------------------------------

async def versions(c: Ctx) -> Response:
    """GET /admin/versions."""
    return c.render("versions.html", versions=await c.console.versions.all(),
                    model=await c.console.versions.status())


async def version(c: Ctx) -> Response:
    """GET /admin/versions/{n}: what that version changed."""
    number = c.request.path_params["version"]
    previous, changes = await c.console.versions.changes(number)
    kb = await c.console.answers.knowledge()
    return c.render("version.html", version=number, previous=previous, changes=changes,
                    intent_name=partial(intent_name, kb=kb))


async def version_restore(c: Ctx) -> Response:
    """POST /admin/versions/{n}/restore."""
    await c.console.versions.restore(c.user, c.request.path_params["version"])
    return done("/versions", "restored")


async def audit(c: Ctx) -> Response:
    """GET /admin/audit: newest first, 100 a page."""
    before = c.request.query_params.get("sebelum") or None
    if before is not None and not re.match(STREAM_ID, before):
        raise Invalid("Halaman tidak valid.")
    entries = await c.console.audit.recent(100, before)
    return c.render("audit.html", entries=entries, more=len(entries) == 100)


async def users(c: Ctx, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """GET /admin/users."""
    return c.render("users.html", status, users=await c.console.users.all(),
                    roles=ROLE_NAMES, errors=errors or {}, values=c.form)


async def user_create(c: Ctx) -> Response:
    """POST /admin/users."""
    try:
        await c.console.users.add(c.user, c.form.get("username", ""), c.form.get("role", ""),
                                  c.form.get("password", ""))
    except Invalid as exc:
        return await users(c, exc.fields, 422)
    return done("/users", "user_saved")


async def user_update(c: Ctx) -> Response:
    """POST /admin/users/{name}: role and/or a new password."""
    try:
        await c.console.users.change(c.user, c.request.path_params["username"],
                                     c.form.get("role", ""), c.form.get("password", ""))
    except Invalid as exc:
        return await users(c, exc.fields, 422)
    return done("/users", "user_saved")


async def user_unlock(c: Ctx) -> Response:
    """POST /admin/users/{name}/unlock: lift the login delay guessers caused."""
    await c.console.users.unlock(c.user, c.request.path_params["username"])
    return done("/users", "unlocked")


async def user_delete(c: Ctx) -> Response:
    """POST /admin/users/{name}/delete."""
    try:
        await c.console.users.remove(c.user, c.request.path_params["username"])
    except Invalid as exc:
        return await users(c, exc.fields, 422)
    return done("/users", "deleted")


# -- staff: handoffs (Percakapan) ------------------------------------------------------------

async def handoffs(c: Ctx) -> Response:
    """GET /admin/percakapan?status=open|taken|closed&cabang=<branch>: the queue.

    The branch chosen is remembered by the browser, so staff of a branch open their own queue
    from the menu ("Semua cabang" forgets it).
    """
    status = c.request.query_params.get("status", "open")
    desk = c.console.handoffs
    chosen = c.request.query_params.get("cabang")
    remembered = unquote(c.request.cookies.get(BRANCH_COOKIE, ""))
    branch = chosen if chosen is not None else (
        remembered if remembered in desk.branches() else "")
    response = c.render("handoffs.html", handoffs=await desk.listing(status, branch),
                        shown=status, counts=await desk.counts(branch), names=STATUS_NAMES,
                        branch=branch, branches=desk.branches())
    if chosen is not None:
        response.set_cookie(BRANCH_COOKIE, quote(chosen), httponly=True, samesite="lax",
                            path=PREFIX + "/percakapan", secure=c.secure,
                            max_age=365 * 86400)
    return response


async def _handoff_page(c: Ctx, errors: dict[str, str] | None = None,
                        status: int = 200) -> Response:
    found, messages = await c.console.handoffs.detail(c.request.path_params["handoff_id"])
    return c.render("handoff.html", status, handoff=found, messages=messages,
                    errors=errors or {}, values=c.form)


async def handoff(c: Ctx) -> Response:
    """GET /admin/percakapan/{id}: the conversation so far, and the reply box."""
    return await _handoff_page(c)


def _to_handoff(c: Ctx, ok: str) -> Response:
    return done(f"/percakapan/{c.request.path_params['handoff_id']}", ok)


async def handoff_take(c: Ctx) -> Response:
    """POST /admin/percakapan/{id}/ambil."""
    await c.console.handoffs.take(c.user, c.request.path_params["handoff_id"])
    return _to_handoff(c, "handoff_taken")


async def handoff_reply(c: Ctx) -> Response:
    """POST /admin/percakapan/{id}/balas: a refused reply keeps its text beside the error."""
    try:
        await c.console.handoffs.reply(c.user, c.request.path_params["handoff_id"],
                                          c.form.get("text", ""))
    except (Invalid, Conflict, Unavailable) as exc:
        return await _handoff_page(c, {"text": str(exc)}, status_of(exc))
    return _to_handoff(c, "handoff_sent")


async def handoff_close(c: Ctx) -> Response:
    """POST /admin/percakapan/{id}/tutup."""
    await c.console.handoffs.close(c.user, c.request.path_params["handoff_id"])
    return _to_handoff(c, "handoff_closed")
