"""What every channel does with a verified message: dedupe, hand off, answer, deliver.

Webhook routes verify, call `first_time` and return 200 at once through `handed_off` (Telegram
and Meta retry a slow or failed webhook, and a retry would be a second answer); the answer runs
after the response. Any failure there is logged and the worker gets an apology, never a trace.
Dedupe claims an id before acting (SET NX EX): a crash mid-answer loses that one answer rather
than risking two, which is the better failure for a chatbot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis
from starlette.background import BackgroundTasks
from starlette.responses import JSONResponse, Response

from bot.channels.base import OutboundChannel
from bot.channels.outbound import Outbox
from bot.contacts import ContactStore
from bot.dialogue.state import Conversations
from bot.errors import RETRY_LATER, RecipientError, TransientError
from bot.keys import Keys
from bot.messages import IncomingMessage, Reply

log = logging.getLogger(__name__)

# The apology when answering failed (texts.yml): read from the knowledge base already in
# memory, which needs neither Redis nor the model that may just have failed.
SORRY_REPLY = "maaf_gangguan"
# Messages answered with a fixed text (knowledge-base answer ids, texts.yml): a photo, a place.
MEDIA_REPLY = "pesan_media"
LOCATION_REPLY = "pesan_lokasi"
CONTACT_REPLY = "pesan_kontak"


class Responder(Protocol):
    """The engine as channels see it."""

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """Replies to one message."""

    async def delivered(self, message: IncomingMessage) -> None:
        """The replies were delivered (or could not be): finish what waited for them."""

    def canned(self, answer_id: str) -> Reply:
        """A fixed reply from the current knowledge base (a photo, a place was sent)."""


@dataclass(frozen=True)
class ChannelContext:
    """What a channel adapter shares with the rest of the bot (built in the composition root)."""

    engine: Responder
    conversations: Conversations
    contacts: ContactStore
    redis: Redis
    keys: Keys
    outbox: Outbox  # what `send` goes through (bot/channels/outbound.py)
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class Inbound:
    """A decoded message for the engine, or one answered with a fixed reply (a photo, a place)."""

    message: IncomingMessage
    canned: str | None = None  # the answer id of the fixed reply, if any


Job = Callable[[], Awaitable[None]]


class Undelivered(TransientError):
    """Replies made but not delivered: the platform failed transiently.

    They must be kept and sent again, not made again (the engine moved the conversation on).
    """

    def __init__(self, message: str, replies: Sequence[Reply]) -> None:
        super().__init__(message)
        self.replies = list(replies)


async def first_time(ctx: ChannelContext, channel: str, message_id: str, ttl: int) -> bool:
    """Claim an incoming id; False when this or another process already took it."""
    key = ctx.keys.inbound_seen(channel, message_id)
    return bool(await ctx.redis.set(key, "1", nx=True, ex=ttl))


async def answer(ctx: ChannelContext, channel: OutboundChannel, inbound: Inbound, *,
                 retry_later: bool = False) -> None:
    """Answer one message and deliver the replies.

    Never raises, unless `retry_later`: then a Redis outage or another transient failure is
    raised before anything is sent, so the platform can deliver the message again (Telegram's
    webhook answers before acknowledging), and replies the platform failed to take are raised
    as `Undelivered`, to be kept and sent again; any other failure gets the apology.
    """
    message = inbound.message
    try:
        if inbound.canned is None:
            replies = await ctx.engine.handle(message)
        else:
            await ctx.conversations.touch(message)  # a photo opens WhatsApp's 24-hour window too
            replies = [ctx.engine.canned(inbound.canned)]
    except RETRY_LATER:
        if retry_later:
            raise
        log.exception("could not answer %s:%s", message.channel, message.user_id)
        replies = [ctx.engine.canned(SORRY_REPLY)]
    except Exception:
        log.exception("could not answer %s:%s", message.channel, message.user_id)
        replies = [ctx.engine.canned(SORRY_REPLY)]
    await deliver(channel, message.user_id, replies, keep_unsent=retry_later)
    await finish(ctx, message)


async def finish(ctx: ChannelContext, message: IncomingMessage) -> None:
    """Tell the engine the replies to `message` are out (an erasure waits for it); never raises."""
    try:
        await ctx.engine.delivered(message)
    except Exception:
        log.exception("could not finish after answering %s:%s", message.channel,
                      message.user_id)


async def deliver(channel: OutboundChannel, user_id: str, replies: Sequence[Reply], *,
                  keep_unsent: bool = False) -> None:
    """Send replies, logging what went wrong.

    Never raises (this runs after the response), unless `keep_unsent`: then replies go one by
    one, and those the platform failed to take transiently (after the channel's own retries)
    are raised as `Undelivered`.
    """
    sent = 0
    try:
        if keep_unsent:
            for reply in replies:
                await channel.send(user_id, [reply])
                sent += 1
        else:
            await channel.send(user_id, replies)
    except TransientError as exc:
        if keep_unsent:
            raise Undelivered(str(exc), replies[sent:]) from exc
        log.exception("could not deliver to %s:%s", channel.name, user_id)
    except RecipientError as exc:
        log.info("not delivered to %s:%s (%s): %s", channel.name, user_id, exc.reason, exc)
    except Exception:
        log.exception("could not deliver to %s:%s", channel.name, user_id)


def handed_off(body: Mapping[str, Any], jobs: list[Job]) -> Response:
    """200 with a small JSON summary now; the jobs run in order after the response is sent."""
    tasks = BackgroundTasks()
    for job in jobs:
        tasks.add_task(job)
    return JSONResponse(dict(body), background=tasks)
