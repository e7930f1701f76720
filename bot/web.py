"""One ASGI app: Rasa's REST channel, health, and (later) the other webhooks and the console.

Routes decode, hand off to the engine and return. Errors become HTTP codes here, in one place,
after they are logged; a worker never sees a stack trace.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.admin import site as admin_site
from bot.app import JAKARTA, Runtime, open_runtime
from bot.bodylimit import TOO_LARGE_REPLY, BodyLimit
from bot.channels import switchboard
from bot.channels.inbound import SORRY_REPLY
from bot.errors import REDIS_AWAY, BadRequest, TransientError
from bot.messages import IncomingMessage, Reply
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestMessage:
    """Rasa's REST channel request body."""

    sender: str
    message: str


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response rendered with orjson."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def bearer_matches(header: str, token: str) -> bool:
    """Whether an Authorization header carries `Bearer <token>` (constant-time)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def rest_payload(recipient: str, replies: list[Reply]) -> list[dict[str, Any]]:
    """Replies in Rasa's REST channel shape: `buttons` only when there are some."""
    out: list[dict[str, Any]] = []
    for reply in replies:
        item: dict[str, Any] = {"recipient_id": recipient, "text": reply.text}
        if reply.buttons:
            item["buttons"] = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        out.append(item)
    return out


async def parse_rest_body(request: Request, max_chars: int, max_sender: int) -> RestMessage:
    """Validate the REST body, refusing bad input with a message that says what is wrong."""
    raw = await request.body()
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("request body must be JSON: {\"sender\": ..., \"message\": ...}") from exc
    # Checked by hand: a pydantic model costs this, the hottest route, a tenth of its time.
    if not isinstance(decoded, dict):
        raise BadRequest("invalid request: body must be a JSON object", status=422)
    problems = [f"{name}: {'missing' if name not in decoded else 'must be a string'}"
                for name in ("sender", "message") if not isinstance(decoded.get(name), str)]
    if problems:
        raise BadRequest(f"invalid request: {'; '.join(problems)}", status=422)
    body = RestMessage(decoded["sender"], decoded["message"])
    if not body.sender.strip() or len(body.sender) > max_sender:
        raise BadRequest(f"sender must be 1 to {max_sender} characters", status=422)
    if len(body.message) > max_chars:
        raise BadRequest(f"message is longer than {max_chars} characters", status=413)
    return body


def create_app(settings: Settings | None = None, *,
               runtime: Callable[[Settings], Coroutine[Any, Any, Runtime]] = open_runtime,
               ) -> Starlette:
    """Build the app; the runtime opens on start-up and closes on shutdown."""
    settings = settings or Settings()
    holder: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        rt = await runtime(settings)
        rt.follow_changes()
        holder["rt"] = rt
        try:
            yield
        finally:
            await rt.close()

    token = settings.rest_channel_token.get_secret_value() if settings.rest_channel_token else ""

    async def rest_webhook(request: Request) -> Response:
        rt = holder["rt"]
        if token and not bearer_matches(request.headers.get("authorization", ""), token):
            return json_response({"error": "missing or wrong Authorization: Bearer token"}, 401)
        limits = rt.config.limits
        body = await parse_rest_body(request, limits.max_message_chars, limits.max_sender_chars)
        message = IncomingMessage("rest", body.sender, body.message, datetime.now(JAKARTA))
        replies = await rt.engine.handle(message)
        await rt.engine.delivered(message)  # the response carries the replies
        return json_response(rest_payload(body.sender, replies))

    async def health(_: Request) -> Response:
        """200 only when Redis answers and still holds the knowledge base and the model.

        A Redis that restarted empty answers PING but would serve nobody: every process keeps
        its loaded copies, yet a new process could not start and an admin's change would not
        reach the others. Each check is bounded by the Redis timeouts.
        """
        rt = holder["rt"]
        checks = {"redis": "unreachable", "knowledge_base": "unknown", "model": "unknown"}
        try:
            await rt.redis.ping()
            checks["redis"] = "ok"
            async with rt.redis.pipeline(transaction=False) as pipe:
                pipe.exists(rt.keys.kb_document())
                pipe.exists(rt.keys.model_blob())
                kb, model = await pipe.execute()
            checks["knowledge_base"] = "ok" if kb else "missing"
            checks["model"] = "ok" if model else "missing"
        except REDIS_AWAY as exc:
            log.warning("health: redis %s", exc)
        healthy = all(value == "ok" for value in checks.values())
        body = {"status": "ok" if healthy else "degraded", **checks,
                "serving": {"model_version": rt.nlu.version,
                            "intents": len(rt.nlu.current.intents),
                            "knowledge_version": rt.knowledge.version}}
        return json_response(body, 200 if healthy else 503)

    async def bad_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return json_response({"error": str(exc)}, exc.status)

    def apology() -> str:
        """The worker's apology (texts.yml), from the knowledge base already in memory."""
        return holder["rt"].knowledge.current.text(SORRY_REPLY)

    async def redis_down(request: Request, exc: Exception) -> Response:
        log.error("redis error on %s: %s", request.url.path, exc)
        return json_response({"error": "storage unavailable", "text": apology()}, 503)

    async def busy(request: Request, exc: Exception) -> Response:
        log.warning("busy on %s: %s", request.url.path, exc)
        return json_response({"error": "busy, try again", "text": apology()}, 503)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return json_response({"error": "internal error", "text": apology()}, 500)

    return Starlette(
        middleware=[Middleware(BodyLimit, too_large=lambda: holder["rt"].knowledge.current.text(
            TOO_LARGE_REPLY))],
        routes=[Route("/webhooks/rest/webhook", rest_webhook, methods=["POST"]),
                Route("/health", health, methods=["GET"]),
                *switchboard.routes(lambda: holder["rt"].channels),
                admin_site.mount(lambda: holder["rt"])],
        exception_handlers={BadRequest: bad_request, TransientError: busy, Exception: crashed,
                            **dict.fromkeys(REDIS_AWAY, redis_down)},
        lifespan=lifespan,
    )
