"""In-memory twins of the store Protocols: the engine, policy and actions without Redis.

As python-telegram-bot's `DictPersistence` beside its persistence classes and rasa-sdk's
`InMemoryKnowledgeBase`: each keeps what its Redis store keeps, in dicts, inside one process and
without expiry. Tests build an engine on them (tests/conftest.py, `chat`), so a conversation is
a few plain function calls; the Redis stores keep their own tests on a real Redis.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.contacts import SENDING_FIELDS, Contact, ContactStore, ProfileField
from bot.dialogue.engine import Fallbacks, Tally, inbox_text
from bot.dialogue.flood import BusyNotices
from bot.dialogue.state import Conversations, ConversationState, Turn
from bot.erasure import Eraser
from bot.knowledge.base import KnowledgeBase, KnowledgeDocument
from bot.knowledge.store import KnowledgeStore, ModelStore
from bot.leads import Lead, LeadStore
from bot.messages import IncomingMessage, ParseResult
from bot.nlu.model import NLU

Who = tuple[str, str]  # (channel, user id)


class MemoryContacts:
    """`ContactStore` in a dict of profiles."""

    def __init__(self) -> None:
        self.profiles: dict[Who, dict[str, str]] = {}

    async def update(self, channel: str, user_id: str,
                     values: Mapping[ProfileField, str]) -> None:
        """Set profile fields."""
        if values:
            self.profiles.setdefault((channel, user_id), {}).update(values.items())

    async def get(self, channel: str, user_id: str) -> Contact | None:
        """A profile, or None for an unknown contact."""
        fields = self.profiles.get((channel, user_id))
        return Contact(channel, user_id, dict(fields)) if fields else None

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a contact entirely."""
        self.profiles.pop((channel, user_id), None)

    async def mark_unreachable(self, channel: str, user_id: str, reason: str,
                               at: datetime) -> None:
        """Record that messages cannot reach a known contact (an unknown one stays unknown)."""
        fields = self.profiles.get((channel, user_id))
        if fields is not None:
            fields[ProfileField.UNREACHABLE] = reason
            fields[ProfileField.UNREACHABLE_AT] = at.isoformat()

    async def keep_only_for_sending(self, channel: str, user_id: str) -> None:
        """Strip a profile to what a reply needs (the 24-hour window)."""
        fields = self.profiles.get((channel, user_id), {})
        kept: dict[str, str] = {name: fields[name] for name in SENDING_FIELDS if name in fields}
        if kept:
            self.profiles[(channel, user_id)] = kept
        else:
            self.profiles.pop((channel, user_id), None)


class MemoryConversations:
    """`Conversations` over `MemoryContacts`: states as the JSON Redis would hold, a lock a turn.

    A state goes through `to_json`/`from_json` as it does in Redis, so what a test reads back is
    what a process would.
    """

    def __init__(self, contacts: MemoryContacts) -> None:
        self.contacts = contacts
        self.states: dict[Who, str] = {}
        self._turns: dict[Who, asyncio.Lock] = {}

    async def open(self, message: IncomingMessage) -> Turn:
        """Take the contact's turn (waiting for the message before it) and touch the profile."""
        who = (message.channel, message.user_id)
        await self._turns.setdefault(who, asyncio.Lock()).acquire()
        contact = await self.touch(message)
        return Turn(*who, contact, ConversationState.from_json(self.states.get(who)), "memory")

    async def close(self, turn: Turn, state: ConversationState | None) -> None:
        """Save the new state (None: leave it as it is) and give the turn back."""
        who = (turn.channel, turn.user_id)
        if state is not None:
            self.states[who] = state.to_json()
        self._turns[who].release()

    async def touch(self, message: IncomingMessage) -> Contact:
        """Record a message: first/last seen, display name; a message clears unreachable."""
        who = (message.channel, message.user_id)
        seen = message.received_at.isoformat()
        fields = self.contacts.profiles.setdefault(who, {})
        fields.setdefault(ProfileField.FIRST_SEEN, seen)
        fields[ProfileField.LAST_SEEN] = fields[ProfileField.LAST_INBOUND] = seen
        if message.display_name:
            fields[ProfileField.DISPLAY_NAME] = message.display_name
        fields.pop(ProfileField.UNREACHABLE, None)
        fields.pop(ProfileField.UNREACHABLE_AT, None)
        return Contact(*who, dict(fields))

    async def load(self, channel: str, user_id: str) -> ConversationState:
        """The state of a conversation outside a turn (a fresh one when none)."""
        return ConversationState.from_json(self.states.get((channel, user_id)))

    async def delete(self, channel: str, user_id: str) -> None:
        """Forget a conversation's state."""
        self.states.pop((channel, user_id), None)


class MemoryLeads:
    """`LeadStore` in a dict, one lead per contact."""

    def __init__(self) -> None:
        self.leads: dict[Who, Lead] = {}

    async def save(self, lead: Lead) -> None:
        """Store or replace a contact's lead."""
        self.leads[(lead.channel, lead.user_id)] = lead

    async def delete(self, channel: str, user_id: str) -> bool:
        """Remove a contact's lead; whether there was one."""
        return self.leads.pop((channel, user_id), None) is not None

    async def all(self) -> AsyncIterator[Lead]:
        """Every lead, oldest first."""
        for lead in sorted(self.leads.values(), key=lambda lead: lead.created_at):
            yield lead


class MemoryEraser:
    """`Eraser` that notes whom it was asked to erase."""

    def __init__(self) -> None:
        self.erased: list[Who] = []

    async def erase(self, channel: str, user_id: str) -> None:
        """Note the erasure (the other paths' records are not kept in memory)."""
        self.erased.append((channel, user_id))


class MemoryBusyNotices:
    """`BusyNotices` in a set: a sender is told to wait once (no expiry in memory)."""

    def __init__(self) -> None:
        self.told: set[Who] = set()

    async def first(self, channel: str, user_id: str) -> bool:
        """True the first time a sender is told to wait."""
        first = (channel, user_id) not in self.told
        self.told.add((channel, user_id))
        return first


@dataclass(frozen=True)
class Unanswered:
    """One message the bot did not understand, as the inbox would hold it."""

    channel: str
    user_id: str
    text: str
    intent: str


class MemoryFallbacks:
    """`Fallbacks` in a list."""

    def __init__(self) -> None:
        self.entries: list[Unanswered] = []

    async def record(self, message: IncomingMessage, parse: ParseResult,
                     contact: Contact) -> None:
        """Keep one message, masked as the inbox keeps it."""
        self.entries.append(Unanswered(message.channel, message.user_id,
                                       inbox_text(parse, contact),
                                       parse.ranking[0].name if parse.ranking else ""))


class MemoryTally:
    """`Tally` in a Counter: messages by (day, channel) and (day, intent)."""

    def __init__(self) -> None:
        self.channels: Counter[tuple[date, str]] = Counter()
        self.intents: Counter[tuple[date, str]] = Counter()

    def count(self, day: date, channel: str, intent: str) -> None:
        """Count one message."""
        self.channels[(day, channel)] += 1
        self.intents[(day, intent)] += 1


class MemoryKnowledgeStore:
    """`KnowledgeStore` holding one knowledge base; saving moves its version by one."""

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self.kb = kb

    async def load(self) -> KnowledgeBase | None:
        """The current knowledge base, or None when nothing was stored."""
        return self.kb

    async def save(self, document: KnowledgeDocument) -> int:
        """Store a new version; returns its number."""
        self.kb = KnowledgeBase(document, (self.kb.version if self.kb else 0) + 1)
        return self.kb.version

    async def version(self) -> int:
        """The current version number (0 when empty)."""
        return self.kb.version if self.kb else 0


class MemoryModelStore:
    """`ModelStore` holding one model."""

    def __init__(self, model: NLU | None = None) -> None:
        self.model = model

    async def load(self) -> NLU | None:
        """The current model, or None when none was published."""
        return self.model

    async def publish(self, model: NLU) -> None:
        """Make a model current."""
        self.model = model

    async def version(self) -> str | None:
        """The current model's fingerprint."""
        return self.model.fingerprint if self.model else None


if TYPE_CHECKING:  # mypy holds each twin to the Protocol it stands in for
    def _conforms(contacts: MemoryContacts) -> tuple[
            ContactStore, Conversations, LeadStore, Eraser, Fallbacks, Tally, BusyNotices,
            KnowledgeStore, ModelStore]:
        return (contacts, MemoryConversations(contacts), MemoryLeads(), MemoryEraser(),
                MemoryFallbacks(), MemoryTally(), MemoryBusyNotices(), MemoryKnowledgeStore(),
                MemoryModelStore())
