"""What the rest of the bot needs from a channel when it sends (replies and broadcasts).

`OutboundChannel` is what the message path and the handoff desk call. `Wire` is what an adapter
tells the send pipeline (bot/channels/outbound.py) about its platform. Adapters raise the three
error kinds of `bot.errors`: TransientError (retry after `retry_after`), RecipientError (skip
this recipient, with a reason such as "blocked", "outside_window", "invalid_user") and
ConfigError (stop and alert an operator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from bot.channels.ratelimit import Rate
from bot.messages import Reply

M = TypeVar("M")


@dataclass(frozen=True)
class Template:
    """A pre-approved WhatsApp template with its body parameters (`{{1}}`, `{{2}}`, ...)."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bucket:
    """A GCRA bucket a request is paced in; `key` when it is not kept at `Keys.rate(name)`."""

    name: str
    rate: Rate
    key: str | None = None


@dataclass(frozen=True)
class Limits:
    """What one request counts against: GCRA buckets paced in order, then a hard cap."""

    buckets: tuple[Bucket, ...]
    cap: str  # the cap's bucket: at most `cap_limit` requests reach the platform a second
    cap_limit: int


class OutboundChannel(Protocol):
    """Sends to one platform. `name` is the channel name used in contact ids ("telegram")."""

    name: str

    async def send(self, user_id: str, replies: Sequence[Reply]) -> list[str]:
        """Deliver replies in order; returns the platform's message ids."""

    async def send_template(self, user_id: str, template: Template) -> str:
        """Deliver a template message (WhatsApp outside the 24-hour window); returns its id."""


class Wire(Protocol[M]):
    """One platform's side of sending: messages of type M on the wire, one request at a time."""

    name: str
    # Free-form messages only within this long of the contact's last message (None: always).
    window: timedelta | None

    def render(self, reply: Reply) -> list[M]:
        """A reply as the platform's messages, in order."""

    def template(self, template: Template) -> M:
        """A template as a message; ConfigError on a platform without templates."""

    def limits(self, user_id: str) -> Limits:
        """The rate buckets and the cap a request to this user counts against."""

    async def post(self, user_id: str, message: M) -> str:
        """One request, no retry: the message's id, or one of the three bot.errors kinds."""
