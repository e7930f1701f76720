"""Telegram adapter: python-telegram-bot decodes updates and sends; our engine answers.

PTB is the adapter only (`Update.de_json`, `telegram.Bot`), not its Application,
ConversationHandler or persistence: conversation state lives in Redis, shared with WhatsApp. The
webhook (`POST /webhooks/telegram` in `serve`) and polling (`python -m bot telegram poll`) feed
the same `accept`, which dedupes the update_id and decodes; its job answers before the update is
acknowledged (a 200, or the next getUpdates offset), so a Redis outage mid-answer is retried, and
replies Telegram failed to take are kept under the contact (`Keys.unsent`) and sent when the update
comes again, instead of being answered twice or lost.

Formatting: answers use WhatsApp-style *bold*; we send HTML, escaping everything else, so a "<"
or "&" in an answer can never break a message. Long replies are split under 4096 characters and
the buttons, an inline keyboard, go on the last piece. A button's payload is its callback_data;
a payload over Telegram's 64 bytes sends the button's title instead, which the NLU understands
like typed text.

Private text messages (and captions) go to the engine, commands of the menu as their payloads.
Media, stickers, locations and contacts get a short helpful reply. Edited messages (answering
again would repeat the conversation), group chats, channel posts and unknown update types are
ignored by design. A user who blocks the bot (403 on send, or my_chat_member "kicked") is marked
unreachable in the contact registry (on send, by the pipeline).

Outbound, the adapter is the platform's `Wire` (bot/channels/base.py): it renders replies,
names its rate buckets and maps PTB's errors; `send` hands them to the one send pipeline
(bot/channels/outbound.py), which paces, retries and records.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar, cast

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
    User,
    WebhookInfo,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest as TelegramBadRequest
from telegram.error import (
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import Bucket, Limits, Template
from bot.channels.inbound import (
    CONTACT_REPLY,
    LOCATION_REPLY,
    MEDIA_REPLY,
    ChannelContext,
    Inbound,
    Job,
    Undelivered,
    answer,
    deliver,
    finish,
    first_time,
)
from bot.channels.ratelimit import REPLY_PACING, Pacing, Rate
from bot.channels.split import split_text
from bot.errors import REDIS_AWAY, RETRY_LATER, ConfigError, RecipientError, TransientError
from bot.keys import TELEGRAM_UPDATE_SEEN_TTL
from bot.messages import Button, IncomingMessage, Reply

log = logging.getLogger(__name__)
T = TypeVar("T")
# A message on the wire: its text (our *bold*, before HTML) and the keyboard it carries.
Outgoing = tuple[str, InlineKeyboardMarkup | None]

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
# The command menu: command, payload the engine knows. What Telegram shows beside a command is
# the text telegram_perintah_<command> (texts.yml).
COMMANDS = (
    ("start", "/start"),
    ("menu", "/menu"),
    ("iuran", "/tanya_iuran"),
    ("manfaat", "/tanya_manfaat"),
    ("daftar", "/cara_daftar"),
    ("berhenti", "/berhenti_langganan"),
)
PAYLOADS = dict(COMMANDS)
# What set-webhook and poll ask Telegram for; anything else that arrives is ignored.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
MEDIA = ("voice", "audio", "photo", "video", "video_note", "document", "sticker", "animation")
# Telegram's limits: about one message a second in a chat (short bursts allowed), about 30 a
# second for the whole bot.
PER_CHAT = Rate(1, 1.0, burst=3)
OVERALL = Rate(30, 1.0, burst=5)
POLL_BACKOFF_SECONDS = 5.0
CLAIM_SECONDS = 60  # an update's claim until its answer is done (see TelegramChannel.accept)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_BOLD = re.compile(r"\*(?=\S)([^*\n]+?)(?<=\S)\*")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class Handoff:
    """What the webhook decided about an update ("text", "duplicate", "ignored" ...) and the job."""

    kind: str
    job: Job | None = None


def to_html(text: str) -> str:
    """Our *bold* as Telegram HTML, everything else escaped."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def command_payload(text: str) -> str:
    """A menu command ("/iuran", "/iuran@SapaBot", "/start kode") as its payload; else the text."""
    if not text.startswith("/"):
        return text
    command = text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()
    return PAYLOADS.get(command, text)


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button per row: titles stay readable on small phones."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.title, callback_data=_callback_data(b))]
                                 for b in buttons])


def render(reply: Reply) -> list[Outgoing]:
    """A reply as Bot API messages: pieces under 4096 characters, the keyboard on the last.

    Each piece is sent as `to_html(piece)`.
    """
    pieces = split_text(reply.text, MESSAGE_LIMIT)
    return [(piece, keyboard(reply.buttons) if index == len(pieces) - 1 else None)
            for index, piece in enumerate(pieces)]


def _callback_data(button: Button) -> str:
    if len(button.payload.encode()) <= CALLBACK_DATA_LIMIT:
        return button.payload
    return button.title.encode()[:CALLBACK_DATA_LIMIT].decode(errors="ignore")


def _display_name(user: User | None) -> str | None:
    return user.full_name if user else None


def retry_after_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds; PTB 22 warns about its type changing, which we handle both ways."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def mapped_error(exc: TelegramError) -> Exception:
    """PTB's errors grouped by what the caller does about them (see bot.errors)."""
    if isinstance(exc, RetryAfter):
        return TransientError(f"Telegram: {exc.message}", retry_after=retry_after_seconds(exc))
    if isinstance(exc, Forbidden):  # blocked by the user, or the account was deleted
        return RecipientError(f"Telegram: {exc.message}", "blocked")
    if isinstance(exc, InvalidToken):
        return ConfigError(f"Telegram rejected TELEGRAM_BOT_TOKEN: {exc.message}")
    if isinstance(exc, ChatMigrated):
        return RecipientError(f"Telegram: {exc.message}", "invalid_user")
    if isinstance(exc, TelegramBadRequest):
        if "not found" in exc.message.lower():
            return RecipientError(f"Telegram: {exc.message}", "invalid_user")
        return ConfigError(f"Telegram refused our request: {exc.message}")
    return TransientError(f"Telegram: {exc.message}")  # network errors, timeouts, 5xx, conflicts


def decode_update(raw: bytes, bot: Bot) -> Update | None:
    """The webhook body as an Update; None when it cannot be read.

    The body came with our secret token, so it is Telegram's (or a bug of ours): an update that
    is not JSON, has no update_id, or that PTB cannot read (the Bot API added a field PTB now
    requires, say) is logged and acknowledged. Telegram would otherwise redeliver it again and
    again, holding back the updates behind it.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("skipped a Telegram webhook body that is not JSON (%d bytes)", len(raw))
        return None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        log.warning("skipped a Telegram webhook body without an integer update_id")
        return None
    try:
        return Update.de_json(data, bot)
    except Exception as exc:  # PTB raises whatever its constructors raise on odd shapes
        log.warning("skipped Telegram update %s that PTB cannot read: %r", data["update_id"], exc)
        return None


class TelegramChannel:
    """Receives updates and sends replies for one bot; implements OutboundChannel and Wire."""

    name = CHANNEL
    window: timedelta | None = None  # Telegram has no customer-service window

    def __init__(self, ctx: ChannelContext, token: str, *, base_url: str,
                 webhook_secret: str | None, pacing: Pacing = REPLY_PACING) -> None:
        self._ctx = ctx
        self._pacing = pacing
        # Our own request objects, so `close` can shut them without Bot.initialize (a getMe).
        self._requests = (HTTPXRequest(connection_pool_size=16), HTTPXRequest())
        self.bot = Bot(token, base_url=base_url, request=self._requests[0],
                       get_updates_request=self._requests[1])
        self.webhook_secret = webhook_secret
        self._lost_claims: set[int] = set()  # claims a Redis outage kept us from giving back
        self._bucket = f"telegram:{token.split(':', 1)[0]}"  # the bot id, not the secret part

    async def accept(self, update: Update) -> Handoff:
        """Dedupe and decode one update; the handoff's job, if any, answers it.

        The claim lasts CLAIM_SECONDS until `answered` confirms it: a claim whose answer was
        cut short by a Redis outage lapses, and Telegram's redelivery is answered. A claim this
        process could not give back (Redis was away) is taken over at once on redelivery.
        """
        if update.update_id in self._lost_claims:
            self._lost_claims.discard(update.update_id)
            await self._ctx.redis.delete(
                self._ctx.keys.inbound_seen(CHANNEL, str(update.update_id)))
        if not await first_time(self._ctx, CHANNEL, str(update.update_id), CLAIM_SECONDS):
            return await self._duplicate(update)
        if update.callback_query is not None:
            return self._callback(update.callback_query)
        if update.my_chat_member is not None:
            return self._membership(update.my_chat_member)
        if update.message is not None and update.message.chat.type == ChatType.PRIVATE:
            return self._message(update.message)
        return Handoff("ignored")

    def _message(self, message: Message) -> Handoff:
        text = message.text or message.caption or ""
        incoming = IncomingMessage(CHANNEL, str(message.chat.id), command_payload(text),
                                   message.date.astimezone(self._ctx.clock().tzinfo),
                                   _display_name(message.from_user))
        if text:
            kind, canned = "text", None
        elif message.location or message.venue:
            kind, canned = "location", LOCATION_REPLY
        elif message.contact:
            kind, canned = "contact", CONTACT_REPLY
        elif any(getattr(message, media) for media in MEDIA):
            kind, canned = "media", MEDIA_REPLY
        else:
            return Handoff("ignored")  # service messages, polls, dice ...
        return Handoff(kind, partial(answer, self._ctx, self, Inbound(incoming, canned),
                                     retry_later=True))

    def _callback(self, query: CallbackQuery) -> Handoff:
        chat = query.message.chat if query.message else None
        if chat is None or chat.type != ChatType.PRIVATE or not query.data:
            return Handoff("ignored", partial(self._answer_callback, query.id))
        incoming = IncomingMessage(CHANNEL, str(chat.id), query.data, self._ctx.clock(),
                                   _display_name(query.from_user))

        async def job() -> None:
            await self._answer_callback(query.id)
            await answer(self._ctx, self, Inbound(incoming), retry_later=True)

        return Handoff("callback", job)

    def _membership(self, change: ChatMemberUpdated) -> Handoff:
        if (change.chat.type != ChatType.PRIVATE
                or change.new_chat_member.status != ChatMemberStatus.BANNED):
            return Handoff("ignored")  # unblocking: the worker's next message clears the mark
        return Handoff("blocked", partial(self._ctx.outbox.recipient_error, CHANNEL,
                                          str(change.chat.id), "blocked", self._ctx.clock()))

    async def _duplicate(self, update: Update) -> Handoff:
        """An update seen before: resend the replies it is still owed, if any."""
        chat = update.effective_chat
        if chat is None:
            return Handoff("duplicate")
        key, field = self._ctx.keys.unsent(CHANNEL, str(chat.id)), str(update.update_id)
        raw = await cast(Awaitable[str | None], self._ctx.redis.hget(key, field))
        if raw is None:
            return Handoff("duplicate")
        replies = [Reply(item["text"], tuple(Button(b["title"], b["payload"])
                                             for b in item["buttons"]))
                   for item in orjson.loads(raw)]

        async def resend() -> None:
            await deliver(self, str(chat.id), replies, keep_unsent=True)
            await self._ctx.redis.hdel(key, field)  # type: ignore[misc]
            await finish(self._ctx, IncomingMessage(CHANNEL, str(chat.id), "",
                                                    self._ctx.clock()))

        return Handoff("resent", resend)

    async def keep_unsent(self, update: Update, replies: Sequence[Reply]) -> None:
        """Keep the replies Telegram failed to take, for the update's redelivery to send.

        The claim is kept as long as Telegram might redeliver: the answer was made (the
        conversation moved on), so a redelivery must send it, never make it again.
        """
        chat = update.effective_chat
        assert chat is not None  # only updates from a chat are answered
        key = self._ctx.keys.unsent(CHANNEL, str(chat.id))
        kept = orjson.dumps([{"text": r.text, "buttons": [{"title": b.title, "payload": b.payload}
                                                           for b in r.buttons]}
                             for r in replies]).decode()
        async with self._ctx.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, str(update.update_id), kept)
            pipe.expire(key, TELEGRAM_UPDATE_SEEN_TTL)
            await pipe.execute()
        await self.answered(update.update_id)

    async def answered(self, update_id: int) -> None:
        """The update's answer is done: keep its claim as long as Telegram might redeliver."""
        await self._ctx.redis.expire(self._ctx.keys.inbound_seen(CHANNEL, str(update_id)),
                                     TELEGRAM_UPDATE_SEEN_TTL)

    async def unclaim(self, update_id: int) -> None:
        """Give an update's claim back so a redelivery is answered (best effort)."""
        try:
            await self._ctx.redis.delete(self._ctx.keys.inbound_seen(CHANNEL, str(update_id)))
        except REDIS_AWAY as exc:  # lapses after CLAIM_SECONDS; taken over on redelivery
            self._lost_claims.add(update_id)
            log.warning("could not release Telegram update %s: %s", update_id, exc)

    async def _answer_callback(self, query_id: str) -> None:
        """Stop the button's spinner; an expired query is not worth more than a log line."""
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("answerCallbackQuery %s failed: %s", query_id, exc)

    async def send(self, user_id: str, replies: Sequence[Reply]) -> list[str]:
        """Deliver replies in order, each split under 4096 characters; returns message ids."""
        return await self._ctx.outbox.send(self, user_id, replies, pacing=self._pacing)

    async def send_template(self, user_id: str, template: Template) -> str:
        """Telegram has no templates (and no 24-hour window): broadcasts send a Reply instead."""
        return await self._ctx.outbox.send_template(self, user_id, template,
                                                    pacing=self._pacing)

    def render(self, reply: Reply) -> list[Outgoing]:
        """A reply as Bot API messages (see the module function `render`)."""
        return render(reply)

    def template(self, template: Template) -> Outgoing:
        """Telegram has no templates."""
        raise ConfigError(f"template {template.name!r} cannot be sent on Telegram; send a Reply")

    def limits(self, user_id: str) -> Limits:
        """A chat's own pace, then the bot's; the bot's cap."""
        # The chat's pacing lives under the contact's tag, so erasure finds it.
        chat = Bucket(f"{self._bucket}:chat:{user_id}", PER_CHAT,
                      self._ctx.keys.chat_pace(CHANNEL, user_id))
        return Limits((chat, Bucket(self._bucket, OVERALL)), self._bucket, OVERALL.count)

    async def post(self, user_id: str, message: Outgoing) -> str:
        """One sendMessage in HTML without link previews; PTB's errors mapped."""
        text, markup = message
        try:
            sent = await self.bot.send_message(
                user_id, to_html(text), parse_mode=ParseMode.HTML, reply_markup=markup,
                link_preview_options=NO_PREVIEW)
        except TelegramError as exc:
            raise mapped_error(exc) from exc
        return str(sent.message_id)

    async def set_commands(self) -> None:
        """Publish the command menu (/start, /menu, /iuran ...)."""
        await self.bot.set_my_commands([
            BotCommand(c, self._ctx.engine.canned(f"telegram_perintah_{c}").text)
            for c, _ in COMMANDS])

    async def close(self) -> None:
        """Close the HTTP connections."""
        await asyncio.gather(*(request.shutdown() for request in self._requests))


async def poll(channel: TelegramChannel, *, long_poll_seconds: int = 30,
               stop: asyncio.Event | None = None,
               backoff: float = POLL_BACKOFF_SECONDS) -> None:
    """Long-poll getUpdates and answer each update in turn, until cancelled or `stop` is set.

    Removes any webhook first (Telegram refuses getUpdates while one is set) and publishes the
    command menu. The offset acknowledges updates; dedupe still guards against a second poller.
    """
    await _cli_call(channel.bot.delete_webhook())
    await _cli_call(channel.set_commands())
    offset: int | None = None
    while stop is None or not stop.is_set():
        try:
            updates = await channel.bot.get_updates(offset=offset, timeout=long_poll_seconds,
                                                    allowed_updates=list(ALLOWED_UPDATES))
        except TelegramError as exc:
            error = mapped_error(exc)
            if isinstance(error, ConfigError):
                raise error from exc
            retry_after = error.retry_after if isinstance(error, TransientError) else None
            wait = retry_after or backoff
            log.warning("getUpdates failed (%s); trying again in %.0f s", exc, wait)
            await asyncio.sleep(wait)
            continue
        for update in updates:
            try:
                await _answer_update(channel, update)
            except RETRY_LATER as exc:  # not acknowledged: asked again
                log.warning("update %s not answered yet (%s); retrying in %.0f s",
                            update.update_id, exc, backoff)
                await asyncio.sleep(backoff)
                break
            offset = update.update_id + 1


async def _answer_update(channel: TelegramChannel, update: Update) -> str:
    """Claim, answer and confirm one update; returns its kind.

    Raises one of RETRY_LATER (Redis away, a transient error), with the claim given back, when
    the answer could not be made: the update must then stay unacknowledged so Telegram delivers
    it again. Raises
    `Undelivered`, the claim kept, when the answer was made but Telegram did not take it: the
    replies are kept and the redelivery sends them (an update is acknowledged only once its
    answer is sent or kept).
    """
    try:
        handoff = await channel.accept(update)
        if handoff.job is not None:
            try:
                await handoff.job()
            except Undelivered as exc:  # answered, not sent: kept for the redelivery
                await channel.keep_unsent(update, exc.replies)
                raise
    except Undelivered:
        raise
    except RETRY_LATER:
        await channel.unclaim(update.update_id)  # Telegram delivers one update at a time
        raise
    if handoff.kind != "duplicate":
        await channel.answered(update.update_id)
    return handoff.kind


async def set_webhook(channel: TelegramChannel, url: str) -> WebhookInfo:
    """Point Telegram at `url` with our secret token, publish the menu; returns Telegram's view."""
    secret = channel.webhook_secret
    if not secret:
        raise ConfigError("set TELEGRAM_WEBHOOK_SECRET first: the webhook refuses requests "
                          "without it")
    if not _SECRET.fullmatch(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, "
                          "_ and -")
    await _cli_call(channel.bot.set_webhook(url, secret_token=secret,
                                            allowed_updates=list(ALLOWED_UPDATES)))
    await _cli_call(channel.set_commands())
    return await _cli_call(channel.bot.get_webhook_info())


async def _cli_call(call: Awaitable[T]) -> T:
    """A set-up call: any Telegram error stops the command with a clear message."""
    try:
        return await call
    except TelegramError as exc:
        raise ConfigError(f"Telegram: {exc.message}") from exc


def routes(get_channel: Callable[[], TelegramChannel | None]) -> list[Route]:
    """`POST /webhooks/telegram`: secret, dedupe, decode, 200; the answer runs afterwards."""

    async def webhook(request: Request) -> Response:
        channel = get_channel()
        if channel is None or not channel.webhook_secret:
            return JSONResponse({"error": "the Telegram webhook is off: set TELEGRAM_BOT_TOKEN "
                                          "and TELEGRAM_WEBHOOK_SECRET"}, 404)
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), channel.webhook_secret.encode()):
            return JSONResponse({"error": "wrong or missing secret token"}, 403)
        update = decode_update(await request.body(), channel.bot)
        if update is None:
            return JSONResponse({"ok": True, "update": "unreadable"})
        # Answered before the 200: once acknowledged, Telegram never sends the update again,
        # so an answer cut short by a Redis outage must be a 503 (Telegram retries) instead.
        try:
            kind = await _answer_update(channel, update)
        except RETRY_LATER as exc:
            log.warning("Telegram update %s not answered yet: %s", update.update_id, exc)
            return JSONResponse({"error": "temporarily unavailable, retry"}, 503)
        return JSONResponse({"ok": True, "update": kind})

    return [Route("/webhooks/telegram", webhook, methods=["POST"])]
