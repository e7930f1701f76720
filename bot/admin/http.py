"""The console's HTTP edge: the session cookie, CSRF, role checks, rendering and error responses.

Every route is wrapped by `Site.guard(role, handler)`: no valid session is a 401 (pages redirect
to the login form), a role too low is a 403, and any method but GET/HEAD must carry the session's
CSRF token (form field `csrf` or header `X-CSRF-Token`) or gets a 403. The cookie is HttpOnly,
SameSite=Lax, path /admin, and Secure whenever the request came over https. Jinja2 autoescapes
everything, and a Content-Security-Policy allows only our own CSS and JS, so text a worker typed
can never run as script in the console.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.admin.accounts import ROLE_NAMES
from bot.admin.console import Console, open_console
from bot.admin.sessions import Session
from bot.app import Runtime
from bot.errors import (
    REDIS_AWAY,
    BadRequest,
    Conflict,
    Denied,
    Invalid,
    NotFound,
    Refused,
    Throttled,
    Unavailable,
)

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PREFIX = "/admin"
API_PREFIX = f"{PREFIX}/api/"
COOKIE = "sp_admin"
LOGIN_COOKIE = "sp_login"
BRANCH_COOKIE = "sp_cabang"  # the branch whose Percakapan this browser last chose (not secret)
SAFE_METHODS = frozenset({"GET", "HEAD"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
     b"script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
# The menu: (path, label, role).
NAV = (("/", "Dasbor", "staff"), ("/percakapan", "Percakapan", "staff"),
       ("/inbox", "Kotak masuk", "staff"),
       ("/leads", "Prospek", "staff"), ("/kampanye", "Kampanye", "staff"),
       ("/faq", "FAQ", "admin"), ("/facts", "Fakta", "admin"),
       ("/versions", "Versi", "admin"), ("/audit", "Audit", "admin"),
       ("/users", "Pengguna", "admin"))
# The one place a refusal of the core becomes an HTTP status (pages and the JSON API alike).
STATUSES: tuple[tuple[type[Refused], int], ...] = (
    (Invalid, 422), (NotFound, 404), (Conflict, 409), (Denied, 401), (Throttled, 429),
    (Unavailable, 503))


def status_of(exc: Refused) -> int:
    """The HTTP status of a refusal."""
    return next((status for kind, status in STATUSES if isinstance(exc, kind)), 400)


class SecurityHeaders:
    """Adds the console's security headers to every response under /admin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, adding headers to the response start."""
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class Public:
    """What a handler gets when no login is needed."""

    request: Request
    console: Console
    templates: Environment

    def render(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        """A page from a template (autoescaped)."""
        return render(self.templates, self.request, name, status, **self._context(), **values)

    def _context(self) -> dict[str, Any]:
        return {"session": None, "nav": (), "csrf": "", "badges": {}}

    @property
    def secure(self) -> bool:
        """Whether the browser reached us over https (directly or through a trusted proxy)."""
        return self.request.url.scheme == "https"


@dataclass
class Ctx(Public):
    """What a handler gets behind a login: the session and any posted form fields."""

    session: Session = field(kw_only=True)
    form: dict[str, str] = field(kw_only=True)
    waiting: int = field(kw_only=True, default=0)  # handoffs waiting for staff (the badge)

    @property
    def user(self) -> str:
        """The logged-in username (for the audit log)."""
        return self.session.username

    def _context(self) -> dict[str, Any]:
        nav = [(PREFIX + p, label) for p, label, role in NAV if self.session.can(role)]
        return {"session": self.session, "nav": nav, "csrf": self.session.csrf,
                "badges": {PREFIX + "/percakapan": self.waiting},
                "role_name": ROLE_NAMES.get(self.session.role, self.session.role)}


def render(templates: Environment, request: Request, name: str, status: int = 200,
           **values: Any) -> HTMLResponse:
    """A template with the layout's variables (logged-out defaults unless given)."""
    context = {"path": request.url.path, "query": request.query_params, "session": None,
               "nav": (), "csrf": "", "badges": {}, **values}
    return HTMLResponse(templates.get_template(name).render(context), status)


Handler = Callable[[Ctx], Awaitable[Response]]
PublicHandler = Callable[[Public], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


async def read_form(request: Request) -> dict[str, str]:
    """Posted form fields as strings (files are ignored); empty for other bodies."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return {}
    form = await request.form()
    return {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}


def same_token(sent: str, expected: str) -> bool:
    """Constant-time comparison of two tokens."""
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


class Site:
    """The console's shared HTTP state: the templates and the `Console` of the running process."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self.runtime = runtime
        self._console: tuple[Runtime, Console] | None = None
        self.templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True)

    def console(self) -> Console:
        """The console of the current runtime, built on first use."""
        rt = self.runtime()
        if self._console is None or self._console[0] is not rt:
            self._console = (rt, open_console(rt))
        return self._console[1]

    def public(self, handler: PublicHandler) -> Endpoint:
        """A route anyone may open (the login form)."""
        async def endpoint(request: Request) -> Response:
            return await handler(Public(request, self.console(), self.templates))

        return endpoint

    def guard(self, role: str, handler: Handler) -> Endpoint:
        """A route for logged-in users with `role` (or higher), CSRF-checked unless GET/HEAD."""
        async def endpoint(request: Request) -> Response:
            console = self.console()
            token = request.cookies.get(COOKIE, "")
            session = await console.users.session(token)
            if session is None:
                raise BadRequest("Silakan masuk terlebih dahulu.", 401)
            if not session.can(role):
                raise BadRequest("Halaman ini khusus admin.", 403)
            form: dict[str, str] = {}
            if request.method not in SAFE_METHODS:
                form = await read_form(request)
                sent = request.headers.get("x-csrf-token") or form.get("csrf", "")
                if not same_token(sent, session.csrf):
                    raise BadRequest("Token keamanan (CSRF) tidak cocok. Muat ulang halaman "
                                     "lalu coba lagi.", 403)
            waiting = 0 if request.url.path.startswith(API_PREFIX) else (
                await console.handoffs.waiting())
            return await handler(Ctx(request, console, self.templates, session=session,
                                     form=form, waiting=waiting))

        return endpoint

    def error_response(self, request: Request, status: int, message: str,
                       body: dict[str, Any] | None = None) -> Response:
        """An error as JSON for the API, a login redirect for a page's 401, else a page."""
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse({"error": message, **(body or {})}, status)
        if status == 401:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query
                                               else ""), safe="")
            return RedirectResponse(f"{PREFIX}/login?next={target}", 303)
        return render(self.templates, request, "error.html", status, code=status,
                      message=message)

    async def refused(self, request: Request, exc: Exception) -> Response:
        """Exception handler for the core's refusals: its status, field errors, Retry-After."""
        assert isinstance(exc, Refused)
        body = {"fields": exc.fields} if isinstance(exc, Invalid) and exc.fields else None
        response = self.error_response(request, status_of(exc), str(exc), body)
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    async def bad_request(self, request: Request, exc: Exception) -> Response:
        """Exception handler for what the edge itself refuses (no session, CSRF, not JSON)."""
        assert isinstance(exc, BadRequest)
        return self.error_response(request, exc.status, str(exc))

    async def storage_down(self, request: Request, exc: Exception) -> Response:
        """Exception handler for Redis errors (including a busy knowledge-base lock)."""
        log.error("redis error on %s: %s", request.url.path, exc)
        return self.error_response(request, 503, "Penyimpanan sedang tidak tersedia atau sibuk. "
                                                 "Coba lagi sebentar lagi.")

    async def not_routed(self, request: Request, exc: Exception) -> Response:
        """Exception handler for Starlette's own 404 and 405 (no such page, wrong method)."""
        assert isinstance(exc, HTTPException)
        message = "Halaman tidak ditemukan." if exc.status_code == 404 else str(exc.detail)
        return self.error_response(request, exc.status_code, message)

    @property
    def handlers(self) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
        """The sub-application's exception handlers."""
        return {Refused: self.refused, BadRequest: self.bad_request,
                **dict.fromkeys(REDIS_AWAY, self.storage_down),
                HTTPException: self.not_routed}
