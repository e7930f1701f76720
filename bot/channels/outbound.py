"""The one send pipeline: every message the bot sends, reply or broadcast, goes through `Outbox`.

An adapter (bot/channels/telegram.py, whatsapp.py) knows only its platform (`Wire`): how a reply
looks on the wire, which rate buckets a request counts against, and what the platform's errors
mean, as the three kinds of bot.errors. The rest happens here, once, for every channel:

    window   a platform with a customer-service window (WhatsApp: 24 hours) takes free-form
             messages only from a contact who wrote within it: RecipientError("outside_window")
             without a request, and the caller decides about a template
    pacing   the adapter's GCRA buckets, then its hard cap (bot/channels/ratelimit.py)
    request  the adapter's `post`: one request, its errors already the three kinds
    retry    transient errors as the caller's Pacing says: a reply retries a few times in the
             request; the broadcast worker sends ONE_ATTEMPT and retries in its own rounds, so
             a broadcast has one retry level
    outcome  a contact the platform says cannot be reached (blocked the bot, undeliverable) is
             marked unreachable in the contact registry, so broadcasts skip it from then on;
             the adapters report the same from their webhooks (Telegram's my_chat_member,
             WhatsApp's failed status) through `recipient_error`
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from bot.channels.base import Template, Wire
from bot.channels.ratelimit import REPLY_PACING, Pacing, RateLimiter, retry_transient
from bot.contacts import Contact, ContactStore, ProfileField
from bot.errors import RecipientError
from bot.messages import Reply

M = TypeVar("M")

# Recipient errors that say the contact cannot be reached at all (not just by this message).
UNREACHABLE = ("blocked", "undeliverable")


def within_window(contact: Contact | None, window: timedelta, now: datetime) -> bool:
    """Whether the contact wrote less than `window` ago (a free-form message may go)."""
    last = contact.get(ProfileField.LAST_INBOUND) if contact else None
    return last is not None and now - datetime.fromisoformat(last) < window


class Outbox:
    """Sends through any channel's wire; built once in the composition root."""

    def __init__(self, contacts: ContactStore, limiter: RateLimiter,
                 clock: Callable[[], datetime]) -> None:
        self._contacts = contacts
        self._limiter = limiter
        self._clock = clock

    async def send(self, wire: Wire[M], user_id: str, replies: Sequence[Reply], *,
                   pacing: Pacing = REPLY_PACING, contact: Contact | None = None) -> list[str]:
        """Deliver replies in order; returns the platform's message ids.

        `contact` is the recipient's profile when the caller has just read it (the broadcast
        worker); otherwise it is read here, and only for a platform with a window.
        """
        if wire.window is not None:
            if contact is None:
                contact = await self._contacts.get(wire.name, user_id)
            if not within_window(contact, wire.window, self._clock()):
                hours = wire.window.total_seconds() / 3600
                raise RecipientError(
                    f"{wire.name}:{user_id} last wrote more than {hours:g} hours ago (or never): "
                    "only a template may be sent", "outside_window")
        return [await self._post(wire, user_id, message, pacing)
                for reply in replies for message in wire.render(reply)]

    async def send_template(self, wire: Wire[M], user_id: str, template: Template, *,
                            pacing: Pacing = REPLY_PACING) -> str:
        """Deliver a pre-approved template (allowed outside the window); returns its id."""
        return await self._post(wire, user_id, wire.template(template), pacing)

    async def _post(self, wire: Wire[M], user_id: str, message: M, pacing: Pacing) -> str:
        limits = wire.limits(user_id)

        async def attempt() -> str:
            for bucket in limits.buckets:
                await self._limiter.acquire(bucket.name, bucket.rate, pacing.max_wait,
                                            key=bucket.key)
            async with self._limiter.capped(limits.cap, limits.cap_limit):
                return await wire.post(user_id, message)

        try:
            return await retry_transient(attempt, pacing)
        except RecipientError as exc:
            await self.recipient_error(wire.name, user_id, exc.reason, self._clock())
            raise

    async def recipient_error(self, channel: str, user_id: str, reason: str,
                              at: datetime) -> None:
        """A platform refused a contact (on a send, in a later status, by an event).

        When the reason says that no message can reach them, the contact is marked unreachable.
        """
        if reason in UNREACHABLE:
            await self._contacts.mark_unreachable(channel, user_id, reason, at)
