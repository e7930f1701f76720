"""The message path's core: one incoming message in, the replies out. Channel-free.

normalize/parse -> load state -> policy picks an action -> action answers -> engine saves state,
profile and lead -> replies go back to the channel adapter, which delivers them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Protocol

from redis.asyncio import Redis

from bot.contacts import Consent, Contact, ContactStore, ProfileField
from bot.dialogue.action import Action, ActionContext, ActionResult, FormAction
from bot.dialogue.choices import picked
from bot.dialogue.flood import BusyNotices, FloodGate
from bot.dialogue.handover import BOT_TEXT_KEPT, remember, with_offer
from bot.dialogue.policy import (
    CANCEL_ACTION,
    FALLBACK_ACTION,
    FORM_ACTIONS,
    FORM_EXIT_CONFIDENCE,
    WHILE_HELD,
    action_names,
    interrupts,
    keyword_intent,
    next_action,
)
from bot.dialogue.situation import observe, settle
from bot.dialogue.state import Conversations, ConversationState, Form, Turn
from bot.dialogue.tone import is_salam, said, without_repeats
from bot.erasure import Eraser
from bot.errors import ConfigError, TransientError
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.store import Live
from bot.leads import LeadStore
from bot.messages import TAP_PREFIX, IncomingMessage, IntentScore, ParseResult, Reply, Tap
from bot.nlu.entities import has_nik, mask_nik, mask_personal
from bot.nlu.model import NLU

log = logging.getLogger(__name__)


class Desk(Protocol):
    """Where conversations handed to staff go (bot/handoffs.py), as the engine sees it."""

    async def start(self, message: IncomingMessage, contact: Contact,
                    recent: Sequence[tuple[str, str, str]], reason: str,
                    place: str | None = None) -> Reply:
        """Queue the conversation for staff; the reply tells the worker when they answer.

        `place`: the area the worker named in the conversation (the branch's, if no profile has
        one).
        """

    async def relay(self, handoff_id: str, message: IncomingMessage) -> bool:
        """Pass a message to the person holding it; False when the handoff has ended."""

    async def forget(self, handoff_id: str) -> None:
        """Delete a handoff and its messages (the worker asked to erase their data)."""

    async def opted_out(self, handoff_id: str, message: IncomingMessage) -> None:
        """Note for staff that the worker opted out of campaign messages."""


class TurnBusy(TransientError):
    """The sender's earlier messages held their conversation for too long."""


def consented(contact: Contact) -> bool:
    """Whether the worker agreed to share personal data (broadcasts, or a pendataan lead)."""
    return contact.consent is Consent.OPT_IN or contact.get(ProfileField.NAME) is not None


def inbox_text(parse: ParseResult, contact: Contact) -> str:
    """A message as the inbox keeps it: phone numbers and names masked without consent."""
    return parse.text if consented(contact) else mask_personal(parse.text)


class Fallbacks(Protocol):
    """Where messages the bot did not understand go, for the admin inbox."""

    async def record(self, message: IncomingMessage, parse: ParseResult,
                     contact: Contact) -> None:
        """Keep one message (already NIK-masked), masked further as `inbox_text` says."""


class Tally(Protocol):
    """Counts messages per day, channel and intent (bot/dialogue/counters.py)."""

    def count(self, day: date, channel: str, intent: str) -> None:
        """Count one message."""


# KEYS[1]: a contact's inbox index; ARGV: the new entry id, the oldest time kept (ms), the TTL
# (ms). Ids the stream has aged out leave the index (an entry id starts with its time in ms),
# so the index of a contact who keeps writing does not grow for ever.
_INDEX_ENTRY = """
redis.call('SADD', KEYS[1], ARGV[1])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if tonumber(string.match(id, '^%d+')) < tonumber(ARGV[2]) then redis.call('SREM', KEYS[1], id) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
"""


class FallbackLog:
    """Messages the bot did not understand, for the admin inbox (a stream capped by size, age).

    Phone numbers and introduced names are masked unless the worker consented to share data;
    each entry's id goes into the contact's inbox index so "hapus data saya" finds it.
    """

    def __init__(self, redis: Redis, keys: Keys, max_entries: int = 50_000,
                 max_age_days: int = 90) -> None:
        self._redis = redis
        self._keys = keys
        self._max = max_entries
        self._max_age_ms = max_age_days * 86_400_000
        self._index = redis.register_script(_INDEX_ENTRY)

    async def record(self, message: IncomingMessage, parse: ParseResult,
                     contact: Contact) -> None:
        """Append one message (already NIK-masked) and index it under the contact."""
        text = inbox_text(parse, contact)
        stream = self._keys.fallbacks()
        entry_id = await self._redis.xadd(
            stream,
            {"channel": message.channel, "text": text,
             "intent": parse.ranking[0].name if parse.ranking else "",
             "confidence": f"{parse.intent.confidence:.3f}",
             "at": message.received_at.isoformat()},
            maxlen=self._max, approximate=True,
        )
        index = self._keys.contact_inbox(message.channel, message.user_id)
        oldest = int(time.time() * 1000) - self._max_age_ms
        await self._index(keys=[index], args=[entry_id, oldest, self._max_age_ms])
        await self._redis.xtrim(stream, minid=f"{oldest}-0", approximate=False)  # exact: cheap


class CampaignTaps(Protocol):
    """Campaign buttons (`/kampanye:<id>:<n>` payloads): record the tap, give its reply."""

    async def tap(self, message: IncomingMessage, contact: Contact, no_name: str) -> Tap | None:
        """The tap's reply and payload, recorded; None for an unknown campaign or button.

        `no_name`: `{nama}` in the reply for a contact who gave no name.
        """


def tapped_text(tap: Tap | None) -> str:
    """A campaign button tap as staff read it in the conversation they hold."""
    return f"(menekan tombol kampanye: {tap.title})" if tap is not None else \
        "(menekan tombol kampanye lama)"


class Engine:
    """Turns a message into replies, keeping conversation state and the contact profile."""

    def __init__(
        self,
        *,
        nlu: Live[NLU],
        knowledge: Live[KnowledgeBase],
        conversations: Conversations,
        contacts: ContactStore,
        leads: LeadStore,
        actions: Mapping[str, Action],
        fallbacks: Fallbacks,
        counters: Tally,
        clock: Callable[[], datetime],
        eraser: Eraser,
        notices: BusyNotices,
        taps: CampaignTaps | None = None,
        desk: Desk | None = None,
        max_chars: int = 500,
    ) -> None:
        self._nlu = nlu
        self._knowledge = knowledge
        self._conversations = conversations
        self._contacts = contacts
        self._leads = leads
        unknown = sorted(action_names() - actions.keys())
        if unknown:  # a misspelt name in the policy table stops start-up, not a message
            raise ConfigError(f"the dialogue policy names actions nobody registered: "
                              f"{', '.join(unknown)} (actions/registry.py)")
        self._actions = actions
        self._fallbacks = fallbacks
        self._counters = counters
        self._clock = clock
        self._taps = taps
        self.desk = desk
        self._eraser = eraser
        self._notices = notices
        self._max_chars = max_chars  # of a message that is parsed (limits.max_parse_chars)
        self._erasing: set[tuple[str, str]] = set()  # erased but for what sending needs
        self._flood = FloodGate()

    def parse(self, text: str) -> ParseResult:
        """Understand one message (keywords first, then the model)."""
        keyword = keyword_intent(text)
        model = self._nlu.current
        if keyword is not None:
            return ParseResult(text, IntentScore(keyword, 1.0),
                               model.extractor.extract(text), (IntentScore(keyword, 1.0),))
        return model.parse(text)

    def canned(self, answer_id: str) -> Reply:
        """A fixed reply from the current knowledge base (channels: a photo, a place sent)."""
        return self._knowledge.current.reply(answer_id)

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """Answer one message. A NIK in it is masked before anything is parsed or stored.

        While a person holds the conversation (a handoff), the message goes to them and the bot
        says nothing, unless it is an opt-out or "hapus data saya".

        A sender flooding this process (bot/dialogue/flood.py) gets one polite "tunggu
        sebentar" per BUSY_NOTICE_TTL and no answer to the extra messages, instead of an error
        each; the extra messages are refused before anything is parsed or read, so other
        senders are not slowed.
        """
        who = (message.channel, message.user_id)
        if not self._flood.admit(who):
            return await self._busy(message)
        try:
            return await self._handle(message)
        except TurnBusy:
            return await self._busy(message)
        finally:
            self._flood.leave(who)

    async def _busy(self, message: IncomingMessage) -> list[Reply]:
        who = (message.channel, message.user_id)
        if self._flood.tell(who) and await self._notices.first(*who):
            return [self._knowledge.current.reply("tunggu_sebentar")]
        return []

    async def _handle(self, message: IncomingMessage) -> list[Reply]:
        kb = self._knowledge.current
        replies: list[Reply] = []
        text = message.text[:2 * self._max_chars]  # bounded work from here on
        if has_nik(text):
            text = mask_nik(text)
            replies.append(kb.reply("nik_peringatan"))
        if text is not message.text or len(text) > self._max_chars:
            message = replace(message, text=text[:self._max_chars])
        if message.display_name and has_nik(message.display_name):
            message = replace(message, display_name=mask_nik(message.display_name))
        try:
            turn = await self._conversations.open(message)
        except TransientError as exc:  # the sender's earlier messages kept the turn
            raise TurnBusy(str(exc)) from exc
        kept: ConversationState | None = None  # what the turn saves; None keeps what is stored
        try:
            state = turn.state
            now = self._clock()
            text = message.text
            relayed = message  # what staff see when a person holds the conversation
            if self._taps is not None and text.startswith(TAP_PREFIX):
                tap = await self._taps.tap(message, turn.contact,  # recorded even while held
                                           kb.text("kampanye_tanpa_nama"))
                relayed = replace(message, text=tapped_text(tap))
                if tap is None or tap.reply or tap.answers_campaign:
                    if await self._held_by_person(turn, relayed, None):
                        return replies
                    if tap is None:  # a campaign since deleted, or a payload typed by hand
                        return [*replies, kb.reply("kampanye_tombol_lama")]
                    if tap.answers_campaign:
                        return [*replies, kb.reply("kampanye_tombol_dicatat", pilihan=tap.title)]
                    return [*replies, Reply(tap.reply)]  # staff's own reply to their button
                text = tap.payload
            # "5" after the menu is its fifth item; inside the pendataan a number is an answer
            choice = picked(text, state.choices) if state.form != Form.PENDATAAN else None
            parse = self.parse(choice or text)
            if await self._held_by_person(turn, relayed, parse):
                return replies
            state = replace(state, situation=observe(state.situation, parse))
            action = self._actions[next_action(state, parse)]
            ctx = ActionContext(message, parse, state, turn.contact, kb, now)
            result = await self._answer(action, ctx)
            answer = list(result.replies)
            if result.handoff is not None:
                answer.append(await self._hand_off(turn, message, result.handoff))
            kept = await self._apply(turn, result)
            if kept is not None:
                stamp = message.received_at.isoformat(timespec="seconds")
                kept = remember(kept, [["pekerja", relayed.text, stamp],
                                       *(["bot", r.text[:BOT_TEXT_KEPT], stamp] for r in answer)])
        finally:  # the sender's next message waits for this, even when answering failed
            await self._conversations.close(turn, kept)
        self._counters.count(now.date(), message.channel, parse.intent.name)
        if action.name == FALLBACK_ACTION:  # not understood, whatever the classifier said
            await self._fallbacks.record(message, parse, turn.contact)
        log.debug("%s:%s intent=%s action=%s", message.channel, message.user_id,
                  parse.intent.name, action.name)
        return replies + answer

    async def _held_by_person(self, turn: Turn, message: IncomingMessage,
                              parse: ParseResult | None) -> bool:
        """Whether a person holds the conversation and the message went to them.

        `parse` is None for a campaign button with its own reply: no opt-out, only a tap.
        """
        held = turn.contact.get(ProfileField.HANDOFF)
        if not held or self.desk is None:
            return False
        if parse is not None and parse.intent.name in WHILE_HELD and \
                parse.intent.confidence >= FORM_EXIT_CONFIDENCE:
            if parse.intent.name == "hapus_data":
                await self.desk.forget(held)
            else:
                await self.desk.opted_out(held, message)
            return False
        return await self.desk.relay(held, message)

    async def _hand_off(self, turn: Turn, message: IncomingMessage, reason: str) -> Reply:
        """Queue the conversation for staff (the REST channel has no desk: point to 175)."""
        if self.desk is None:
            return self._knowledge.current.reply("minta_petugas")
        recent = [(who, text, at) for who, text, at in turn.state.recent]
        stamp = message.received_at.isoformat(timespec="seconds")
        return await self.desk.start(message, turn.contact,
                                     [*recent, ("pekerja", message.text, stamp)], reason,
                                     turn.state.situation.wilayah)

    async def _answer(self, action: Action, ctx: ActionContext) -> ActionResult:
        """Run the action, then what every turn does.

        A question inside a form is answered and the form asks its pending question again; a
        form left another way says so; the worker's situation is carried on; a salam gets its
        answer; a paragraph of the previous reply is not repeated; numbered items are kept.
        """
        state, kb = ctx.state, ctx.kb
        result = with_offer(ctx.message.channel, kb, state, await action.run(ctx),
                            failed=action.name == FALLBACK_ACTION)
        if result.forget:
            return result
        replies = list(result.replies)
        new_state = result.state
        form_action = self._actions.get(FORM_ACTIONS.get(state.form, "") if state.form else "")
        if interrupts(state, action.name) and isinstance(form_action, FormAction):
            resumed = form_action.resume(ctx)
            replies += resumed.replies
            new_state = replace(resumed.state, topic=new_state.topic)
        elif state.form == Form.PENDATAAN and new_state.form != Form.PENDATAAN and \
                action.name not in (FORM_ACTIONS[Form.PENDATAAN], CANCEL_ACTION):
            replies.insert(0, kb.reply("pendataan_ditinggalkan"))
        replies = without_repeats(replies, state.said)
        if replies and is_salam(ctx.message.text):
            greeting = kb.text("salam_balasan")
            if not replies[0].text.startswith(greeting):
                replies[0] = replace(replies[0], text=f"{greeting}\n{replies[0].text}")
        choices = next((r.choices for r in reversed(replies) if r.choices), state.choices)
        next_step = next((r.next_step for r in reversed(replies) if r.next_step), "")
        new_state = replace(settle(new_state, state.situation), choices=choices,
                            said=said(replies), next_step=next_step)
        return replace(result, replies=tuple(replies), state=new_state)

    async def delivered(self, message: IncomingMessage) -> None:
        """The replies to `message` reached the worker: finish an erasure it asked for.

        A process that dies before this leaves a profile with nothing but what sending needs,
        which expires within `ERASE_GRACE_SECONDS` (bot/contacts.py).
        """
        who = (message.channel, message.user_id)
        if who in self._erasing:
            self._erasing.discard(who)
            await self._contacts.delete(*who)
            await self._eraser.erase(*who)  # a status of the confirmation that came meanwhile

    async def preview(self, text: str, on: date | None = None,
                      ) -> tuple[ParseResult, list[Reply]]:
        """How a new conversation would be answered now, or on the day `on`; no state is kept.

        `on` is the console's what-if date, as SAPA_TODAY is for a whole process.
        """
        text = mask_nik(text[:2 * self._max_chars])[:self._max_chars]
        parse = self.parse(text)
        state = ConversationState()
        action = self._actions[next_action(state, parse)]
        now = self._clock()
        if on is not None:
            now = datetime.combine(on, now.timetz())
        ctx = ActionContext(IncomingMessage("preview", "console", text, now), parse, state,
                            Contact("preview", "console"), self._knowledge.current, now)
        return parse, list((await action.run(ctx)).replies)

    async def _apply(self, turn: Turn, result: ActionResult) -> ConversationState | None:
        """Store the profile and lead the turn changed; the state to save (None: forgotten)."""
        channel, user = turn.channel, turn.user_id
        if result.forget:
            # The profile goes last, in `delivered`: WhatsApp's 24-hour window is read from
            # it, and the confirmation must still reach the worker.
            await asyncio.gather(self._conversations.delete(channel, user),
                                 self._leads.delete(channel, user),
                                 self._eraser.erase(channel, user),
                                 self._contacts.keep_only_for_sending(channel, user))
            self._erasing.add((channel, user))
            return None
        writes = []
        if result.profile:
            writes.append(self._contacts.update(channel, user, result.profile))
        if result.lead is not None:
            writes.append(self._leads.save(result.lead))
        await asyncio.gather(*writes)
        return result.state
