"""WhatsApp Cloud API adapter: a thin httpx client of the Graph API and the webhook routes.

Thin httpx rather than pywa: the adapter needs five payload shapes and one error table, and a
plain client is easy to point at a local stand-in of the Graph API in tests.

Inbound: `GET /webhooks/whatsapp` answers Meta's verify handshake; `POST` checks
X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret, constant-time) before
anything is parsed, dedupes each message id (Meta redelivers for days), records statuses, and
answers after the response. Text, button and list replies (their id is our payload) and template
quick replies go to the engine; locations, contacts, media and unknown types get a polite reply;
reactions and system notices are ignored. Contacts are keyed by `wa_id` as given (the phone
number may be withheld).

Outbound, the adapter is the platform's `Wire` (bot/channels/base.py): text, interactive
buttons (up to 3, titles cut to 20 characters), a list (up to 10 rows) when a reply has more
buttons, and templates; the number's rate bucket; Graph errors grouped by what the caller does
(`graph_error`). `send` hands them to the one send pipeline (bot/channels/outbound.py), which
paces, retries and records, and which refuses a free-form message outside the 24-hour
customer-service window (`WINDOW`, from the contact's last inbound message) with
RecipientError("outside_window") without calling Meta: only templates may go then.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.base import Bucket, Limits, Template
from bot.channels.delivery import DeliveryStatus, DeliveryStatuses
from bot.channels.inbound import (
    CONTACT_REPLY,
    LOCATION_REPLY,
    MEDIA_REPLY,
    SORRY_REPLY,
    ChannelContext,
    Inbound,
    Job,
    answer,
    deliver,
    first_time,
    handed_off,
)
from bot.channels.ratelimit import REPLY_PACING, Pacing, Rate
from bot.channels.split import split_text
from bot.errors import ConfigError, RecipientError, TransientError
from bot.keys import WHATSAPP_MESSAGE_SEEN_TTL
from bot.messages import Button, IncomingMessage, Reply

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
WINDOW = timedelta(hours=24)
TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_BUTTONS, BUTTON_TITLE_LIMIT = 3, 20
MAX_ROWS, ROW_TITLE_LIMIT, ROW_DESCRIPTION_LIMIT = 10, 24, 72
PER_NUMBER = Rate(80, 1.0, burst=10)  # Cloud API default throughput per business number
IGNORED_TYPES = {"reaction", "system"}
# Graph API error codes by what to do (developers.facebook.com/docs/whatsapp/cloud-api/support/
# error-codes). Anything else unexpected skips the recipient with the code in the log.
AUTH_CODES = {0, 10, 190}  # token expired or revoked, permission missing; and 200-299
THROTTLED_CODES = {4, 80007, 130429, 131048, 131056}  # app, account, throughput, spam, pair
OUTSIDE_WINDOW, UNDELIVERABLE = 131047, 131026


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Text(_Model):
    body: str = ""


class _Choice(_Model):
    id: str
    title: str = ""


class _Interactive(_Model):
    type: str = ""
    button_reply: _Choice | None = None
    list_reply: _Choice | None = None


class _TemplateButton(_Model):
    payload: str = ""
    text: str = ""


class _Message(_Model):
    sender: str = Field(alias="from")
    id: str
    timestamp: int | float | str = 0  # a string of digits from Meta; anything else is "now"
    type: str = ""
    text: _Text | None = None
    interactive: _Interactive | None = None
    button: _TemplateButton | None = None


class _Profile(_Model):
    name: str | None = None


class _Contact(_Model):
    wa_id: str
    profile: _Profile = _Profile()


class _ErrorDetail(_Model):
    code: int = 0
    title: str = ""


class _Status(_Model):
    id: str
    status: str
    timestamp: int | float | str = 0
    recipient_id: str = ""
    errors: list[_ErrorDetail] = []


class _Metadata(_Model):
    phone_number_id: str = ""


class _Value(_Model):
    metadata: _Metadata = _Metadata()
    contacts: list[_Contact] = []
    messages: list[_Message] = []
    statuses: list[_Status] = []


class _Change(_Model):
    field: str = ""
    value: _Value = _Value()


class _Entry(_Model):
    changes: list[_Change] = []


class Notification(_Model):
    """A webhook notification as Meta posts it (only the parts we read)."""

    object: str = ""
    entry: list[_Entry] = []


@dataclass(frozen=True)
class WhatsAppConfig:
    """One business phone number's credentials and the Graph API address."""

    access_token: str
    phone_number_id: str
    app_secret: str
    verify_token: str
    base_url: str = "https://graph.facebook.com"
    version: str = "v21.0"


def valid_signature(raw: bytes, header: str, app_secret: str) -> bool:
    """X-Hub-Signature-256 is "sha256=" + hex HMAC-SHA256 of the raw body with the app secret."""
    expected = "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def decode_notification(raw: bytes) -> tuple[Notification, int]:
    """The verified body as a Notification, and how many of its items were unreadable.

    Meta has signed the body, so it is never refused: an unreadable item (a message without an
    id, a timestamp that is not a number ...) is logged and left out, and every readable message
    beside it is still answered. A body that is not a JSON object holds nothing to answer.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        log.warning("signed WhatsApp notification is not a JSON object; ignored")
        return Notification(), 1
    entries = data.get("entry", [])
    dropped = 0 if isinstance(entries, list) else 1
    kept_entries = []
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        kept_changes = []
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                dropped += 1
                continue
            clean = dict(value)
            for name, model in (("messages", _Message), ("statuses", _Status),
                                ("contacts", _Contact)):
                items = value.get(name)
                good, bad = _readable(items if isinstance(items, list) else [], model)
                clean[name], dropped = good, dropped + bad
            if not isinstance(clean.get("metadata"), dict):
                clean.pop("metadata", None)
            kept_changes.append({"field": change.get("field", ""), "value": clean})
        kept_entries.append({"changes": kept_changes})
    try:
        notification = Notification.model_validate({"object": str(data.get("object", "")),
                                                    "entry": kept_entries})
    except ValidationError as exc:
        log.warning("unreadable signed WhatsApp notification: %s", exc.errors()[:3])
        return Notification(), dropped + 1
    if dropped:
        log.warning("left out %d unreadable items of a signed WhatsApp notification", dropped)
    return notification, dropped


def _readable(items: list[Any], model: type[_Model]) -> tuple[list[Any], int]:
    good = []
    for item in items:
        try:
            model.model_validate(item)
        except ValidationError:
            continue
        good.append(item)
    return good, len(items) - len(good)


def graph_error(response: httpx.Response) -> Exception:
    """A Graph API error response as TransientError, RecipientError or ConfigError."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = (body.get("error") if isinstance(body, dict) else None) or {}
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details")
    text = (f"WhatsApp error {code} (HTTP {response.status_code}): "
            f"{error.get('message') or response.reason_phrase}{f' ({details})' if details else ''}")
    if response.status_code == 401 or code in AUTH_CODES or (
            isinstance(code, int) and 200 <= code <= 299):
        return ConfigError(text)
    if code in THROTTLED_CODES or response.status_code == 429 or response.status_code >= 500:
        return TransientError(text)
    if code == OUTSIDE_WINDOW:
        return RecipientError(text, "outside_window")
    if code == UNDELIVERABLE:
        return RecipientError(text, "undeliverable")
    if isinstance(code, int) and 132000 <= code < 133000:  # the template is missing or wrong
        return ConfigError(text)
    return RecipientError(text, "rejected")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text_message(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


@dataclass(frozen=True)
class ListLabels:
    """The words around a list of buttons (texts.yml wa_tombol_daftar, wa_judul_daftar, wa_pilih).

    `button` opens the list, `section` heads it, `choose` is the body above it when the answer
    went first as plain messages.
    """

    button: str
    section: str
    choose: str

    @staticmethod
    def read(text: Callable[[str], str]) -> ListLabels:
        """The labels from the knowledge base's texts (`text`: an answer id to its text)."""
        return ListLabels(text("wa_tombol_daftar"), text("wa_judul_daftar"), text("wa_pilih"))


def _interactive(body: str, buttons: Sequence[Button], labels: ListLabels) -> dict[str, Any]:
    unique = list({b.payload: b for b in buttons}.values())  # Meta refuses duplicate ids
    if len(unique) <= MAX_BUTTONS:
        action: dict[str, Any] = {"buttons": [
            {"type": "reply", "reply": {"id": b.payload,
                                        "title": _shorten(b.title, BUTTON_TITLE_LIMIT)}}
            for b in unique]}
        kind = "button"
    else:
        if len(unique) > MAX_ROWS:
            log.warning("a reply has %d buttons; WhatsApp lists show the first %d",
                        len(unique), MAX_ROWS)
        rows = []
        for b in unique[:MAX_ROWS]:
            row = {"id": b.payload, "title": _shorten(b.title, ROW_TITLE_LIMIT)}
            if len(b.title) > ROW_TITLE_LIMIT:
                row["description"] = _shorten(b.title, ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        action = {"button": _shorten(labels.button, BUTTON_TITLE_LIMIT),
                  "sections": [{"title": _shorten(labels.section, ROW_TITLE_LIMIT),
                                "rows": rows}]}
        kind = "list"
    return {"type": "interactive",
            "interactive": {"type": kind, "body": {"text": body}, "action": action}}


def render(reply: Reply, labels: ListLabels) -> list[dict[str, Any]]:
    """One reply as Cloud API messages: text pieces, then the buttons as buttons or a list.

    An interactive body holds 1024 characters; a longer text goes first as plain messages and
    the buttons follow under a short `labels.choose` ("Silakan pilih:").
    """
    if not reply.buttons:
        return [_text_message(piece) for piece in split_text(reply.text, TEXT_LIMIT)]
    text = reply.text.strip()
    if text and len(text) <= INTERACTIVE_BODY_LIMIT:
        return [_interactive(text, reply.buttons, labels)]
    lead = [_text_message(piece) for piece in split_text(text, TEXT_LIMIT)]
    return [*lead, _interactive(labels.choose, reply.buttons, labels)]


def template_message(template: Template) -> dict[str, Any]:
    """A template message; parameters fill the body's {{1}}, {{2}} ..."""
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.parameters:
        body["components"] = [{"type": "body", "parameters": [
            {"type": "text", "text": value} for value in template.parameters]}]
    return {"type": "template", "template": body}


class WhatsAppChannel:
    """Receives notifications and sends for one number; implements OutboundChannel and Wire."""

    name = CHANNEL
    window: timedelta | None = WINDOW

    def __init__(self, ctx: ChannelContext, config: WhatsAppConfig, *,
                 pacing: Pacing = REPLY_PACING) -> None:
        self._ctx = ctx
        self.config = config
        self._pacing = pacing
        self._bucket = f"whatsapp:{config.phone_number_id}"
        self.statuses = DeliveryStatuses(ctx.redis, ctx.keys, CHANNEL)
        self._http = httpx.AsyncClient(
            base_url=f"{config.base_url.rstrip('/')}/{config.version}",
            headers={"Authorization": f"Bearer {config.access_token}"},
            timeout=httpx.Timeout(10.0), limits=httpx.Limits(max_connections=32))

    async def accept(self, notification: Notification) -> tuple[dict[str, int], list[Job]]:
        """Record statuses, dedupe and decode messages; returns counts and the answering jobs."""
        counts: Counter[str] = Counter()
        jobs: list[Job] = []
        for change in (c for e in notification.entry for c in e.changes if c.field == "messages"):
            value = change.value
            if value.metadata.phone_number_id not in ("", self.config.phone_number_id):
                counts["other_number"] += 1  # another number of the same app
                continue
            for status in value.statuses:
                await self._record(status)
                counts["statuses"] += 1
            names = {c.wa_id: c.profile.name for c in value.contacts}
            for message in value.messages:
                if not await first_time(self._ctx, CHANNEL, message.id,
                                        WHATSAPP_MESSAGE_SEEN_TTL):
                    counts["duplicates"] += 1
                    continue
                try:
                    inbound = self._decode(message, names.get(message.sender))
                except Exception:  # claimed above: answer with the apology, never drop it
                    log.exception("could not decode WhatsApp message %s", message.id)
                    counts["failed"] += 1
                    jobs.append(partial(deliver, self, message.sender,
                                        [self._ctx.engine.canned(SORRY_REPLY)]))
                    continue
                if inbound is None:
                    counts["ignored"] += 1
                    continue
                counts["messages"] += 1
                jobs.append(partial(answer, self._ctx, self, inbound))
        return dict(counts), jobs

    def _decode(self, message: _Message, name: str | None) -> Inbound | None:
        received = self._time(message.timestamp)
        text, canned = "", None
        if message.type == "text" and message.text:
            text = message.text.body
        elif message.type == "interactive" and message.interactive:
            choice = message.interactive.button_reply or message.interactive.list_reply
            text = choice.id if choice else ""
            canned = None if choice else MEDIA_REPLY  # a Flow reply or a newer kind
        elif message.type == "button" and message.button:  # a template's quick reply
            text = message.button.payload or message.button.text
        elif message.type in IGNORED_TYPES:
            return None
        elif message.type == "location":
            canned = LOCATION_REPLY
        elif message.type == "contacts":
            canned = CONTACT_REPLY
        else:  # media, and types we do not know yet ("unsupported", "order" ...)
            canned = MEDIA_REPLY
        if not text.strip() and canned is None:
            return None
        return Inbound(IncomingMessage(CHANNEL, message.sender, text, received, name), canned)

    def _time(self, timestamp: float | str) -> datetime:
        """Meta's Unix time; now when it is absurd (negative, far future, not a number)."""
        now = self._ctx.clock()
        try:
            timestamp = float(timestamp)
        except ValueError:
            timestamp = 0.0
        if not 0 < timestamp <= now.timestamp() + 86400:  # (NaN fails this too)
            log.warning("WhatsApp timestamp %s is not a time; using now", timestamp)
            return now
        return datetime.fromtimestamp(timestamp, now.tzinfo)

    async def _record(self, status: _Status) -> None:
        if status.recipient_id and not await self._ctx.redis.exists(
                self._ctx.keys.profile(CHANNEL, status.recipient_id)):
            return  # an erased (or unknown) contact: keep nothing that names them
        error = status.errors[0] if status.errors else None
        at = self._time(status.timestamp)
        await self.statuses.record(DeliveryStatus(
            status.id, status.status, at, status.recipient_id,
            f"{error.code} {error.title}" if error else ""))
        if status.status == "failed" and error and error.code == UNDELIVERABLE:
            await self._ctx.outbox.recipient_error(CHANNEL, status.recipient_id,
                                                   "undeliverable", at)

    async def send(self, user_id: str, replies: Sequence[Reply]) -> list[str]:
        """Deliver replies in order inside the 24-hour window; returns the message ids."""
        return await self._ctx.outbox.send(self, user_id, replies, pacing=self._pacing)

    async def send_template(self, user_id: str, template: Template) -> str:
        """Deliver a template message; allowed outside the 24-hour window."""
        return await self._ctx.outbox.send_template(self, user_id, template,
                                                    pacing=self._pacing)

    def render(self, reply: Reply) -> list[dict[str, Any]]:
        """A reply as Cloud API messages (see the module function `render`)."""
        return render(reply, ListLabels.read(lambda answer_id: self._ctx.engine.canned(
            answer_id).text))

    def template(self, template: Template) -> dict[str, Any]:
        """A template as a Cloud API message."""
        return template_message(template)

    def limits(self, user_id: str) -> Limits:
        """The business number's throughput, and its cap."""
        return Limits((Bucket(self._bucket, PER_NUMBER),), self._bucket, PER_NUMBER.count)

    async def post(self, user_id: str, message: dict[str, Any]) -> str:
        """One POST /messages; a network error is transient, a Graph error mapped."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": user_id, **message}
        try:
            response = await self._http.post(f"/{self.config.phone_number_id}/messages",
                                             json=payload)
        except httpx.HTTPError as exc:
            raise TransientError(f"WhatsApp: {exc!r}") from exc
        if response.is_success:
            return str(response.json()["messages"][0]["id"])
        raise graph_error(response)

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()


def routes(get_channel: Callable[[], WhatsAppChannel | None]) -> list[Route]:
    """`GET /webhooks/whatsapp` (verify handshake) and `POST` (signature, dedupe, 200, answer)."""

    def off() -> Response:
        return JSONResponse({"error": "the WhatsApp webhook is off: set the WHATSAPP_* "
                                      "settings"}, 404)

    async def verify(request: Request) -> Response:
        channel = get_channel()
        if channel is None:
            return off()
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), channel.config.verify_token.encode()):
            return PlainTextResponse(params.get("hub.challenge", ""))
        return JSONResponse({"error": "wrong hub.mode or hub.verify_token"}, 403)

    async def webhook(request: Request) -> Response:
        channel = get_channel()
        if channel is None:
            return off()
        raw = await request.body()
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return JSONResponse({"error": f"missing {SIGNATURE_HEADER}"}, 401)
        if not valid_signature(raw, signature, channel.config.app_secret):
            return JSONResponse({"error": f"wrong {SIGNATURE_HEADER}"}, 403)
        notification, unreadable = decode_notification(raw)
        counts, jobs = await channel.accept(notification)
        if unreadable:
            counts["unreadable"] = unreadable
        return handed_off({"ok": True, **counts}, jobs)

    return [Route("/webhooks/whatsapp", verify, methods=["GET"]),
            Route("/webhooks/whatsapp", webhook, methods=["POST"])]
