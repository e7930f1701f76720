"""The channel-free vocabulary of the message path: what comes in, what NLU says, what goes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Button:
    """A quick reply: the title the worker sees and the payload sent back when tapped."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One message to the worker. Channels decide how buttons are rendered.

    choices: payloads of the numbered items in the text ("1. Iuran" -> "/tanya_iuran"), so a
    number typed next picks one; channels do not show them.
    next_step: the answer id that answers "trus aku kudu piye?" right after this reply.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    choices: tuple[str, ...] = ()
    next_step: str = ""


@dataclass(frozen=True)
class IncomingMessage:
    """A message from a worker, already verified and decoded by a channel adapter."""

    channel: str
    user_id: str
    text: str
    received_at: datetime
    display_name: str | None = None


@dataclass(frozen=True)
class Entity:
    """A value found in the text: `value` is canonical (an int for money, "JHT" for a program)."""

    entity: str
    value: str | int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class IntentScore:
    """An intent with its calibrated confidence."""

    name: str
    confidence: float


@dataclass(frozen=True)
class ParseResult:
    """What the NLU understood of one message."""

    text: str
    intent: IntentScore
    entities: tuple[Entity, ...] = ()
    ranking: tuple[IntentScore, ...] = field(default=())

    def first(self, entity: str) -> Entity | None:
        """The first entity of a kind, or None."""
        return next((e for e in self.entities if e.entity == entity), None)



PHONE_COLUMNS = 34  # characters a cheap phone shows on one line of a chat bubble


def phone_lines(text: str, columns: int = PHONE_COLUMNS) -> int:
    """How many lines `text` takes on a phone `columns` wide (buttons are not counted).

    Words wrap as a chat bubble wraps them (a word longer than a line is cut at the edge), an
    empty line still takes a line, and WhatsApp's `*bold*` markers are not shown.
    """
    total = 0
    for paragraph in text.replace("*", "").strip().split("\n"):
        lines, used = 0, 0  # used: characters on the open line (0: no line open)
        for word in paragraph.split():
            while len(word) > columns:
                lines += 2 if used else 1
                used, word = 0, word[columns:]
            if not word:
                continue
            if used and used + 1 + len(word) <= columns:
                used += 1 + len(word)
            else:
                lines += 1 if used else 0
                used = len(word)
        total += max(1, lines + (1 if used else 0))
    return total


# A campaign button's payload as sent: `/kampanye:<campaign id>:<button index>`, so a tap is
# recorded for its campaign and answered with the reply staff gave that button.
TAP_PREFIX = "/kampanye:"
CAMPAIGN_ANSWERS = ("/setuju", "/tidak_setuju")  # payloads that answer the campaign's question


@dataclass(frozen=True)
class Tap:
    """A recorded tap on a campaign button.

    reply: what staff gave the button to answer ("" for none).
    payload: what staff chose it to send, read as the worker's message when there is no reply.
    title: the button's label, what the worker tapped (shown to staff holding the conversation).
    """

    reply: str
    payload: str
    title: str = ""

    @property
    def answers_campaign(self) -> bool:
        """A yes/no payload without a reply ("Saya datang=/setuju"): an answer to the campaign.

        Read as the worker's message it would answer whatever the bot asked last, or nothing.
        """
        return not self.reply and self.payload in CAMPAIGN_ANSWERS
