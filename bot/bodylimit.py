"""Request body limits per route, enforced while the body is read (an ASGI middleware).

A route's handler reads the whole body into memory, so a limit checked afterwards comes too
late: eight 50 MB bodies cost 400 MB before any check. Here a declared Content-Length over the
limit is refused before a byte is read, and a chunked body is refused as soon as it passes the
limit; what stays in memory per request is at most the route's limit. Limits follow the
platforms: Meta's webhook notifications stay under 3 MB, Telegram's updates under 1 MB, a REST
message is at most a few KB, and console forms (FAQ edits, CSV imports) under 2 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KB, MB = 1024, 1024 * 1024
# (path prefix, bytes), most specific first; anything else gets DEFAULT_LIMIT.
ROUTE_LIMITS: tuple[tuple[str, int], ...] = (
    ("/webhooks/rest/", 16 * KB),  # 2,000 characters, even as \\u escapes of emoji
    ("/webhooks/whatsapp", 3 * MB),
    ("/webhooks/telegram", 1 * MB),
    ("/admin", 2 * MB),
)
DEFAULT_LIMIT = 64 * KB
TOO_LARGE_REPLY = "pesan_terlalu_panjang"  # what the worker reads (texts.yml)


def limit_for(path: str, limits: Sequence[tuple[str, int]] = ROUTE_LIMITS) -> int:
    """The body limit of a path."""
    return next((size for prefix, size in limits if path.startswith(prefix)), DEFAULT_LIMIT)


class BodyLimit:
    """Reads each request body up to its route's limit before the app sees it; 413 beyond.

    `too_large` gives the worker's words for a refusal (the knowledge base's TOO_LARGE_REPLY),
    read when one is sent.
    """

    def __init__(self, app: ASGIApp, too_large: Callable[[], str],
                 limits: Sequence[tuple[str, int]] = ROUTE_LIMITS) -> None:
        self.app = app
        self._too_large = too_large
        self._limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through non-HTTP traffic; buffer and check an HTTP body, then replay it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"], self._limits)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, 400, "invalid Content-Length")
                return
            if int(declared) > limit:
                await self._refuse(send, 413, f"body larger than {limit} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, 413, f"body larger than {limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, send: Send, status: int, error: str) -> None:
        body = orjson.dumps({"error": error, "text": self._too_large()})
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then whatever the client sends next."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
