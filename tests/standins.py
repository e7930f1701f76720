"""Local stand-ins of the Telegram Bot API and the WhatsApp Graph API, over real HTTP on loopback.

Each is a small Starlette app served by uvicorn on 127.0.0.1 and a free port. They answer with
the platforms' real JSON shapes, record every request with its arrival time (so broadcast tests
can measure send rates), can answer slowly (`latency`), and can be told to fail the way the
platforms do: Telegram's 429 with retry_after and 403 "bot was blocked by the user", Graph API
error codes. `LocalServer` serves any ASGI app, the bot's own included (`serve_bot`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app import Runtime, open_runtime
from bot.settings import Settings

BOT_TOKEN = "7000000001:AAF-test-token_for-sapa-pekerja"
BOT_ID = int(BOT_TOKEN.split(":")[0])
GRAPH_TOKEN = "EAAG-test-access-token"
PHONE_NUMBER_ID = "106540352242922"
GRAPH_VERSION = "v21.0"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling (Ctrl-C) to the test runner."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()  # listening, or `should_exit` set by a failed start-up


class _InFlight:
    """ASGI middleware counting the app calls not yet over. A call lasts until its background
    work is done too (Starlette runs a response's background tasks inside the call), so "none
    in flight" means every answer a webhook handed off has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0
        self.changed = asyncio.Condition()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.calls += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.calls -= 1
            async with self.changed:
                self.changed.notify_all()


class LocalServer:
    """Serves an ASGI app on 127.0.0.1 and a free port, inside the running event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.url = ""
        self._in_flight = _InFlight(app)
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # A request still open at the end of a test is cut after 10 s instead of holding the
        # server's shutdown (and the test) until pytest's timeout.
        config = uvicorn.Config(self._in_flight, log_level="warning", access_log=False,
                                lifespan="auto", timeout_graceful_shutdown=10)
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        ready = asyncio.create_task(self._server.ready.wait())
        await asyncio.wait([ready, self._task], return_when=asyncio.FIRST_COMPLETED)
        if not self._server.started:
            ready.cancel()
            if self._task.done():
                self._task.result()
            raise RuntimeError(f"server for {self.app!r} stopped during start-up")
        return self

    async def idle(self) -> None:
        """Return once no request is in flight, background work included."""
        async with self._in_flight.changed:
            await self._in_flight.changed.wait_for(lambda: self._in_flight.calls == 0)

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        assert self._task is not None
        self._server.should_exit = True
        await self._task


@dataclass(frozen=True)
class Call:
    """One request a stand-in received: the API method ("sendMessage", "messages"), params, time."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class Recorder:
    """The requests a stand-in received, in order."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._changed = asyncio.Event()

    def record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1,
                       timeout: float = 10.0) -> list[Call]:  # noqa: ASYNC109 (a test helper)
        """The calls of `method` once there are at least `count` (fails after `timeout` s)."""
        async with asyncio.timeout(timeout):
            while len(self.of(method)) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.of(method)


@dataclass
class _Failure:
    method: str
    status: int
    body: dict[str, Any]
    times: int
    target: str | None  # a chat id or wa_id; None for any


class _StandIn(LocalServer):
    def __init__(self, routes: list[Route], latency: float) -> None:
        super().__init__(Starlette(routes=routes))
        self.recorder = Recorder()
        self.latency = latency
        self._failures: list[_Failure] = []

    def _take_failure(self, method: str, target: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.target in (None, target):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    async def _pause(self) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)


def _form_value(value: str) -> Any:
    """PTB sends form fields, JSON-encoding everything that is not a string."""
    if value[:1] in ("{", "["):
        return orjson.loads(value)
    return value


class BotApiStandIn(_StandIn):
    """The Bot API at `{url}/bot{token}/{method}`; pass `base_url` as TELEGRAM_API_BASE_URL.

    Methods are answered by `_<method>` handlers named as in the Bot API; others return True.
    """

    def __init__(self, token: str = BOT_TOKEN, *, latency: float = 0.0) -> None:
        super().__init__([Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"])],
                         latency)
        self.token = token
        self.blocked: set[str] = set()
        self.webhook_url = ""
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._message_ids = itertools.count(1000)

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        self._updates.append(update)
        self._new_update.set()

    def block(self, chat_id: int | str) -> None:
        """The user blocked the bot: every send to this chat gets 403 from now on."""
        self.blocked.add(str(chat_id))

    def fail_next(self, method: str, *, error_code: int, description: str,
                  retry_after: int | None = None, times: int = 1,
                  chat_id: int | str | None = None) -> None:
        """The next `times` calls of `method` (to `chat_id`, or any) fail like Telegram's."""
        body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self._failures.append(_Failure(method, error_code, body, times,
                                       None if chat_id is None else str(chat_id)))

    def throttle(self, retry_after: int = 1, times: int = 1) -> None:
        """The next sends get Telegram's flood-control 429."""
        self.fail_next("sendMessage", error_code=429, retry_after=retry_after, times=times,
                       description=f"Too Many Requests: retry after {retry_after}")

    async def _handle(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401,
                                 "description": "Unauthorized"}, 401)
        method = request.path_params["method"]
        if request.headers.get("content-type", "").startswith("application/json"):
            params = orjson.loads(await request.body() or b"{}")
        else:
            params = {k: _form_value(str(v)) for k, v in (await request.form()).items()}
        self.recorder.record(Call(method, params))
        await self._pause()
        chat = str(params.get("chat_id", ""))
        if method == "sendMessage" and chat in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        failure = self._take_failure(method, chat)
        if failure is not None:
            return JSONResponse(failure.body, failure.status)
        handler = getattr(self, f"_{method}", None)
        result = await handler(params) if handler else True
        return JSONResponse({"ok": True, "result": result})

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Sapa Pekerja",
                "username": "SapaPekerjaBot", "can_join_groups": False,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _getMe(self, _: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    async def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "from": self._bot_user(),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time()), "text": params["text"]}
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = params["url"]
        return True

    async def _deleteWebhook(self, _: dict[str, Any]) -> bool:
        self.webhook_url = ""
        return True

    async def _getWebhookInfo(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
                "allowed_updates": ["message", "edited_message", "callback_query"]}

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: confirm updates below `offset`, wait up to `timeout` s for new ones."""
        offset = int(params.get("offset", 0))
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._new_update.clear()
            try:
                async with asyncio.timeout(float(params.get("timeout", 0))):
                    await self._new_update.wait()
            except TimeoutError:
                pass
        return list(self._updates)


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": code, "description": description}, code)


# Graph API errors as Meta sends them: code -> (HTTP status, message, details).
GRAPH_ERRORS: dict[int, tuple[int, str, str]] = {
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    131026: (400, "Message undeliverable", "Message Undeliverable."),
    131047: (400, "Re-engagement message",
             "Message failed to send because more than 24 hours have passed since the customer "
             "last replied to this number."),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this phone "
             "number to the same phone number in a short period of time."),
    131000: (500, "Something went wrong", "Message failed to send due to an unknown error."),
    132001: (404, "Template name does not exist in the translation",
             "template name (pengingat_iuran) does not exist in id"),
    190: (401, "Invalid OAuth access token - Cannot parse access token", ""),
}


class GraphApiStandIn(_StandIn):
    """The Cloud API's `POST /{version}/{phone-number-id}/messages`; pass `url` as base URL."""

    def __init__(self, token: str = GRAPH_TOKEN, phone_number_id: str = PHONE_NUMBER_ID,
                 version: str = GRAPH_VERSION, *, latency: float = 0.0) -> None:
        super().__init__([Route(f"/{version}/{phone_number_id}/messages", self._messages,
                                methods=["POST"])], latency)
        self.token = token
        self._ids = itertools.count(1)

    def fail_next(self, code: int, *, times: int = 1, to: str | None = None) -> None:
        """The next `times` sends (to `to`, or any) fail with Graph API error `code`."""
        status, message, details = GRAPH_ERRORS[code]
        self._failures.append(_Failure("messages", status, _graph_error(code, message, details),
                                       times, to))

    async def _messages(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            status, message, details = GRAPH_ERRORS[190]
            return JSONResponse(_graph_error(190, message, details), status)
        body = orjson.loads(await request.body())
        self.recorder.record(Call("messages", body))
        await self._pause()
        failure = self._take_failure("messages", body.get("to", ""))
        if failure is not None:
            return JSONResponse(failure.body, failure.status)
        wamid = f"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEj{next(self._ids):08d}AA=="
        answer: dict[str, Any] = {"messaging_product": "whatsapp",
                                  "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                  "messages": [{"id": wamid}]}
        if body.get("type") == "template":
            answer["messages"][0]["message_status"] = "accepted"
        return JSONResponse(answer)


def _graph_error(code: int, message: str, details: str) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


def whatsapp_signature(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 header Meta would send for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _bot_app(settings: Settings, open_test_runtime: Callable[[Settings], Any],
             opened: list[Runtime]) -> Starlette:
    """The bot's web app, putting the runtime it opens in `opened` (for looking into Redis)."""
    from bot.web import create_app

    async def runtime(s: Settings) -> Runtime:
        rt: Runtime = await open_test_runtime(s)
        opened.append(rt)
        return rt

    return create_app(settings, runtime=runtime)


@asynccontextmanager
async def serve_bot(settings: Settings,
                    open_test_runtime: Callable[[Settings], Any] = open_runtime,
                    ) -> AsyncIterator[tuple[LocalServer, Runtime]]:
    """The bot's web app on loopback, and the runtime it opened."""
    opened: list[Runtime] = []
    async with LocalServer(_bot_app(settings, open_test_runtime, opened)) as server:
        yield server, opened[0]


@asynccontextmanager
async def bot_in_process(settings: Settings,
                         open_test_runtime: Callable[[Settings], Any] = open_runtime,
                         ) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The bot's web app in this process, a client reaching it through httpx's ASGI transport
    (no socket), and the runtime it opened."""
    opened: list[Runtime] = []
    app = _bot_app(settings, open_test_runtime, opened)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sapa.test") as client:
        yield client, opened[0]
