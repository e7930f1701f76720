"""What the rest of the bot needs from a channel when it sends (replies and broadcasts).

Adapters raise the three error kinds of `bot.errors`: TransientError (retry after
`retry_after`), RecipientError (skip this recipient, with a reason such as "blocked",
"outside_window", "invalid_number") and ConfigError (stop and alert an operator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.messages import Reply


@dataclass(frozen=True)
class Template:
    """A pre-approved WhatsApp template with its body parameters (`{{1}}`, `{{2}}`, ...)."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()


class OutboundChannel(Protocol):
    """Sends to one platform. `name` is the channel name used in contact ids ("telegram")."""

    name: str

    async def send(self, user_id: str, replies: Sequence[Reply]) -> list[str]:
        """Deliver replies in order; returns the platform's message ids."""

    async def send_template(self, user_id: str, template: Template) -> str:
        """Deliver a template message (WhatsApp outside the 24-hour window); returns its id."""
