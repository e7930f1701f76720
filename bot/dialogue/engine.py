"""The message path's core: one incoming message in, the replies out. Channel-free.

normalize/parse -> load state -> policy picks an action -> action answers -> engine saves state,
profile and lead -> replies go back to the channel adapter, which delivers them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from redis.asyncio import Redis

from bot.contacts import Contact, ContactStore
from bot.dialogue.action import Action, ActionContext, ActionResult
from bot.dialogue.counters import DailyCounters
from bot.dialogue.policy import FALLBACK_ACTION, keyword_intent, next_action
from bot.dialogue.state import Conversations, ConversationState, StateStore, Turn
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.store import Live
from bot.leads import LeadStore
from bot.messages import IncomingMessage, IntentScore, ParseResult, Reply
from bot.nlu.entities import has_nik, mask_nik
from bot.nlu.model import NLU

log = logging.getLogger(__name__)

NIK_WARNING = Reply(
    "Demi keamanan, jangan kirim NIK (nomor KTP) di chat ini. Nomor itu tidak kami simpan. "
    "NIK hanya diisi di aplikasi JMO atau di kantor cabang."
)


class FallbackLog:
    """Messages the bot did not understand, for the admin inbox (a capped Redis stream)."""

    def __init__(self, redis: Redis, keys: Keys, max_entries: int = 50_000) -> None:
        self._redis = redis
        self._keys = keys
        self._max = max_entries

    async def record(self, message: IncomingMessage, parse: ParseResult) -> None:
        """Append one message (already NIK-masked)."""
        await self._redis.xadd(
            self._keys.fallbacks(),
            {"channel": message.channel, "text": parse.text,
             "intent": parse.ranking[0].name if parse.ranking else "",
             "confidence": f"{parse.intent.confidence:.3f}",
             "at": message.received_at.isoformat()},
            maxlen=self._max, approximate=True,
        )


class Engine:
    """Turns a message into replies, keeping conversation state and the contact profile."""

    def __init__(
        self,
        *,
        nlu: Live[NLU],
        knowledge: Live[KnowledgeBase],
        conversations: Conversations,
        states: StateStore,
        contacts: ContactStore,
        leads: LeadStore,
        actions: Mapping[str, Action],
        fallbacks: FallbackLog,
        counters: DailyCounters,
        clock: Callable[[], datetime],
    ) -> None:
        self._nlu = nlu
        self._knowledge = knowledge
        self._conversations = conversations
        self._states = states
        self._contacts = contacts
        self._leads = leads
        self._actions = actions
        self._fallbacks = fallbacks
        self._counters = counters
        self._clock = clock

    def parse(self, text: str) -> ParseResult:
        """Understand one message (keywords first, then the model)."""
        keyword = keyword_intent(text)
        model = self._nlu.current
        if keyword is not None:
            return ParseResult(text, IntentScore(keyword, 1.0),
                               model.extractor.extract(text), (IntentScore(keyword, 1.0),))
        return model.parse(text)

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """Answer one message. A NIK in it is masked before anything is parsed or stored."""
        replies: list[Reply] = []
        if has_nik(message.text):
            message = replace(message, text=mask_nik(message.text))
            replies.append(NIK_WARNING)
        turn = await self._conversations.open(message)
        kept: ConversationState | None = None  # what the turn saves; None keeps what is stored
        try:
            parse = self.parse(message.text)
            action = self._actions[next_action(turn.state, parse)]
            now = self._clock()
            ctx = ActionContext(message, parse, turn.state, turn.contact,
                                self._knowledge.current, now)
            result = await action.run(ctx)
            kept = await self._apply(turn, result)
        finally:  # the sender's next message waits for this, even when answering failed
            await self._conversations.close(turn, kept)
        self._counters.count(now.date(), message.channel, parse.intent.name)
        if action.name == FALLBACK_ACTION:  # not understood, whatever the classifier said
            await self._fallbacks.record(message, parse)
        log.debug("%s:%s intent=%s action=%s", message.channel, message.user_id,
                  parse.intent.name, action.name)
        return replies + list(result.replies)

    async def preview(self, text: str) -> tuple[ParseResult, list[Reply]]:
        """How a new conversation would be answered now; reads and writes no state (console)."""
        parse = self.parse(text)
        state = ConversationState()
        action = self._actions[next_action(state, parse)]
        now = self._clock()
        ctx = ActionContext(IncomingMessage("preview", "console", text, now), parse, state,
                            Contact("preview", "console"), self._knowledge.current, now)
        return parse, list((await action.run(ctx)).replies)

    async def _apply(self, turn: Turn, result: ActionResult) -> ConversationState | None:
        """Store the profile and lead the turn changed; the state to save (None: forgotten)."""
        channel, user = turn.channel, turn.user_id
        if result.forget:
            await asyncio.gather(self._states.delete(channel, user),
                                 self._contacts.delete(channel, user),
                                 self._leads.delete(channel, user))
            return None
        writes = []
        if result.profile:
            writes.append(self._contacts.update(channel, user, result.profile))
        if result.lead is not None:
            writes.append(self._leads.save(result.lead))
        await asyncio.gather(*writes)
        return result.state
