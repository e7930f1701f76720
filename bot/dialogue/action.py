"""What an action gets and what it returns. Actions answer; they never send or write.

The engine applies an `ActionResult` (saves state, updates the profile, stores or deletes a lead)
and the channel adapter delivers the replies, so actions stay pure and easy to test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.contacts import Contact, ProfileField
from bot.dialogue.state import ConversationState
from bot.knowledge.base import KnowledgeBase
from bot.leads import Lead
from bot.messages import IncomingMessage, ParseResult, Reply


@dataclass(frozen=True)
class ActionContext:
    """Everything an action may read."""

    message: IncomingMessage
    parse: ParseResult
    state: ConversationState
    contact: Contact
    kb: KnowledgeBase
    now: datetime

    def told(self, name: ProfileField) -> str | None:
        """What the worker told of `name`: in this message, else earlier, else in the profile.

        For pekerjaan, wilayah and kabupaten (the entities named as the profile fields).
        """
        said = self.parse.first(name.value)
        if said:
            return str(said.value)
        earlier = {ProfileField.OCCUPATION: self.state.situation.pekerjaan,
                   ProfileField.AREA: self.state.situation.wilayah}.get(name)
        return earlier or self.contact.get(name)


@dataclass(frozen=True)
class ActionResult:
    """Replies plus the changes the engine should make.

    profile: contact fields to set (pekerjaan, wilayah, consent ...).
    lead: a registration interest to store.
    forget: delete everything about this contact ("hapus data saya").
    needs_person: the answer given is one a person should follow up (answer unit flagged
        `perlu_petugas`): the engine offers one.
    handoff: hand the conversation to staff, for this reason (the engine queues it).
    """

    replies: tuple[Reply, ...]
    state: ConversationState
    profile: Mapping[ProfileField, str] = field(default_factory=dict)
    lead: Lead | None = None
    forget: bool = False
    needs_person: bool = False
    handoff: str | None = None


class Action(Protocol):
    """A business answer."""

    name: str

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Answer the message in `ctx`."""


@runtime_checkable
class FormAction(Action, Protocol):
    """An action that fills a form and can take it up again after a question in between."""

    def resume(self, ctx: ActionContext) -> ActionResult:
        """Ask the form's pending question again, saying the form goes on."""
