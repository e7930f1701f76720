"""A campaign message as it will look on WhatsApp and on Telegram, for the console's preview.

The bubbles come from the adapters' own rendering (`whatsapp.render`, `telegram.render`), so the
preview shows what each platform is sent: on WhatsApp the text split and the reply-button titles
cut where the adapter cuts them (a list past three buttons); on Telegram the HTML the Bot API gets,
everything escaped but our *bold*, one button per keyboard row. `{nama}` is filled in for one
contact, as the worker fills it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from bot.broadcast.campaigns import Message, Wording, personalise
from bot.channels import telegram, whatsapp
from bot.channels.base import Template
from bot.contacts import Contact
from bot.knowledge.base import KnowledgeBase


@dataclass(frozen=True)
class Bubble:
    """One message as the app draws it: the text as safe HTML, then its buttons row by row.

    `menu` is a WhatsApp list's rows, shown behind its single button.
    """

    html: Markup
    rows: tuple[tuple[str, ...], ...] = ()
    menu: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessagePreview:
    """Both platforms' bubbles for one contact, and the template for WhatsApp past 24 hours."""

    name: str
    whatsapp: tuple[Bubble, ...]
    telegram: tuple[Bubble, ...]
    template: Template | None


def _marked(text: str) -> Markup:
    """Text as WhatsApp draws it: our *bold* bold (converted as for Telegram), the rest escaped."""
    return Markup(telegram.to_html(text))


def _whatsapp_bubble(message: dict[str, Any]) -> Bubble:
    if message["type"] == "text":
        return Bubble(_marked(message["text"]["body"]))
    interactive = message["interactive"]
    action = interactive["action"]
    body = _marked(interactive["body"]["text"])
    if interactive["type"] == "button":
        return Bubble(body, tuple((b["reply"]["title"],) for b in action["buttons"]))
    return Bubble(body, ((action["button"],),),
                  tuple(row["title"] for section in action["sections"] for row in section["rows"]))


def preview_message(message: Message, contact: Contact | None,
                    kb: KnowledgeBase) -> MessagePreview:
    """How `message` reaches `contact` (None: a contact without a name) on each platform.

    `kb`: the knowledge base whose texts word what the bot adds (the opt-out footer, a name
    for one not given, a WhatsApp list's labels).
    """
    someone = contact or Contact("", "")
    wording = Wording.read(kb.text)
    reply = message.reply(someone, wording)
    on_telegram = []
    for piece, markup in telegram.render(reply):
        rows = markup.inline_keyboard if markup else ()
        on_telegram.append(Bubble(Markup(telegram.to_html(piece)),  # the HTML the Bot API gets
                                  tuple(tuple(b.text for b in row) for row in rows)))
    return MessagePreview(personalise("{nama}", someone, wording.no_name),
                          tuple(_whatsapp_bubble(m) for m in whatsapp.render(
                              reply, whatsapp.ListLabels.read(kb.text))),
                          tuple(on_telegram), message.template_for(someone, wording))
