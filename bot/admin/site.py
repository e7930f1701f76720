"""The /admin sub-application: every console route with the role it needs, in one table.

`mount(runtime)` is what bot/web.py adds to the app. Each row is (method, path, role, handler):
role None is public (login, static files), "staff" is staff and admins, "admin" admins only;
`Site.guard` enforces it and the CSRF check, and tests/test_admin_api.py walks the same list.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.admin import api, pages
from bot.admin.http import PREFIX, STATIC, Handler, PublicHandler, SecurityHeaders, Site
from bot.app import Runtime
from bot.contacts import ProfileField

PUBLIC: list[tuple[str, str, PublicHandler]] = [
    ("GET", "/login", pages.show_login),
    ("POST", "/login", pages.login),
    ("POST", "/api/login", api.login),
]

GUARDED: list[tuple[str, str, str, Handler]] = [
    # staff (and admins): dashboard, inbox, leads, campaigns.
    ("POST", "/logout", "staff", pages.logout),
    ("GET", "/", "staff", pages.dashboard),
    ("GET", "/inbox", "staff", pages.inbox),
    ("POST", "/inbox/handled", "staff", pages.inbox_handled),
    ("GET", "/leads", "staff", pages.leads),
    ("GET", "/leads.csv", "staff", pages.leads_csv),
    ("POST", "/leads/delete", "staff", pages.lead_delete),
    ("POST", "/leads/status", "staff", pages.lead_status),
    ("GET", "/kampanye", "staff", pages.campaigns),
    ("GET", "/kampanye/baru", "staff", pages.campaign_new),
    ("POST", "/kampanye/baru", "staff", pages.campaign_create),
    ("GET", "/kampanye/{campaign_id}", "staff", pages.campaign),
    ("POST", "/kampanye/{campaign_id}/mulai", "staff", pages.campaign_start),
    ("POST", "/kampanye/{campaign_id}/jeda", "staff", pages.campaign_pause),
    ("POST", "/kampanye/{campaign_id}/lanjutkan", "staff", pages.campaign_resume),
    ("POST", "/kampanye/{campaign_id}/batalkan", "staff", pages.campaign_cancel),
    ("GET", "/kampanye/{campaign_id}/laporan.csv", "staff", pages.campaign_csv),
    ("GET", "/percakapan", "staff", pages.handoffs),
    ("GET", "/percakapan/{handoff_id}", "staff", pages.handoff),
    ("POST", "/percakapan/{handoff_id}/ambil", "staff", pages.handoff_take),
    ("POST", "/percakapan/{handoff_id}/balas", "staff", pages.handoff_reply),
    ("POST", "/percakapan/{handoff_id}/tutup", "staff", pages.handoff_close),
    ("GET", "/api/handoffs", "staff", api.handoffs),
    ("GET", "/api/handoffs/{handoff_id}", "staff", api.handoff),
    ("POST", "/api/handoffs/{handoff_id}/take", "staff", api.handoff_take),
    ("POST", "/api/handoffs/{handoff_id}/reply", "staff", api.handoff_reply),
    ("POST", "/api/handoffs/{handoff_id}/close", "staff", api.handoff_close),
    ("POST", "/api/logout", "staff", api.logout),
    ("GET", "/api/status", "staff", api.status),
    ("GET", "/api/stats", "staff", api.stats),
    ("GET", "/api/inbox", "staff", api.inbox),
    ("POST", "/api/inbox/handled", "staff", api.inbox_handled),
    ("GET", "/api/leads", "staff", api.leads),
    ("POST", "/api/leads/status", "staff", api.lead_status),
    ("DELETE", "/api/leads/{channel}/{user_id:path}", "staff", api.lead_delete),
    ("GET", "/api/campaigns", "staff", api.campaigns),
    ("POST", "/api/campaigns", "staff", api.campaign_create),
    ("GET", "/api/campaigns/preview", "staff", api.campaign_preview),
    ("GET", "/api/campaigns/{campaign_id}", "staff", api.campaign),
    ("POST", "/api/campaigns/{campaign_id}/start", "staff", api.campaign_start),
    ("POST", "/api/campaigns/{campaign_id}/pause", "staff", api.campaign_pause),
    ("POST", "/api/campaigns/{campaign_id}/resume", "staff", api.campaign_resume),
    ("POST", "/api/campaigns/{campaign_id}/cancel", "staff", api.campaign_cancel),
    ("GET", "/api/campaigns/{campaign_id}/report.csv", "staff", pages.campaign_csv),
    # admins: what the bot knows, its history, and who may use the console.
    ("POST", "/inbox/teach", "admin", pages.inbox_teach),
    ("POST", "/inbox/faq", "admin", pages.inbox_to_faq),
    ("GET", "/faq", "admin", pages.faq_list),
    ("GET", "/faq/new", "admin", pages.faq_new),
    ("POST", "/faq/new", "admin", pages.faq_save),
    ("GET", "/faq/{answer_id}", "admin", pages.faq_edit),
    ("POST", "/faq/{answer_id}", "admin", pages.faq_save),
    ("POST", "/faq/{answer_id}/delete", "admin", pages.faq_delete),
    ("GET", "/facts", "admin", pages.facts),
    ("GET", "/facts/new", "admin", pages.fact_new),
    ("POST", "/facts/new", "admin", pages.fact_save),
    ("GET", "/facts/{fact_id}", "admin", pages.fact_edit),
    ("POST", "/facts/{fact_id}", "admin", pages.fact_save),
    ("POST", "/facts/{fact_id}/delete", "admin", pages.fact_delete),
    ("GET", "/versions", "admin", pages.versions),
    ("GET", "/versions/{version:int}", "admin", pages.version),
    ("POST", "/versions/{version:int}/restore", "admin", pages.version_restore),
    ("GET", "/audit", "admin", pages.audit),
    ("GET", "/users", "admin", pages.users),
    ("POST", "/users", "admin", pages.user_create),
    ("POST", "/users/{username}", "admin", pages.user_update),
    ("POST", "/users/{username}/delete", "admin", pages.user_delete),
    ("POST", "/users/{username}/unlock", "admin", pages.user_unlock),
    ("POST", "/api/inbox/teach", "admin", api.inbox_teach),
    ("GET", "/api/faqs", "admin", api.faqs),
    ("GET", "/api/faqs/{answer_id}", "admin", api.faq),
    ("PUT", "/api/faqs/{answer_id}", "admin", api.faq_put),
    ("DELETE", "/api/faqs/{answer_id}", "admin", api.faq_delete),
    ("GET", "/api/try", "admin", api.try_text),
    ("GET", "/api/facts", "admin", api.facts),
    ("GET", "/api/versions", "admin", api.versions),
    ("GET", "/api/versions/{version:int}", "admin", api.version),
    ("POST", "/api/versions/{version:int}/restore", "admin", api.version_restore),
    ("GET", "/api/audit", "admin", api.audit),
    ("GET", "/api/users", "admin", api.users),
    ("POST", "/api/users", "admin", api.user_create),
    ("POST", "/api/users/{username}/unlock", "admin", api.user_unlock),
]


def mount(runtime: Callable[[], Runtime]) -> Mount:
    """The console at /admin, on the runtime the web app opened."""
    site = Site(runtime)
    site.templates.globals["flash_messages"] = pages.FLASH
    site.templates.globals["field"] = ProfileField  # templates read a contact by field name
    routes: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    routes += [Route(path, site.public(handler), methods=[method])
               for method, path, handler in PUBLIC]
    routes += [Route(path, site.guard(role, handler), methods=[method])
               for method, path, role, handler in GUARDED]
    app = Starlette(routes=routes, exception_handlers=site.handlers,
                    middleware=[Middleware(SecurityHeaders)])
    app.state.site = site  # tests wait for background retrains through it
    return Mount(PREFIX, app=app)
