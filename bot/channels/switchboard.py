"""Which channels are on: built from the settings in the composition root, with their routes.

A channel whose settings are missing is off, and `describe` says why, for `serve` to print at
start-up. Telegram is on with a token; its webhook additionally needs TELEGRAM_WEBHOOK_SECRET
(polling works without). WhatsApp needs all four of its credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.routing import Route

from bot.channels import telegram, whatsapp
from bot.channels.inbound import ChannelContext
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppConfig
from bot.settings import Settings


@dataclass
class Channels:
    """The channels that are on (None when off)."""

    telegram: TelegramChannel | None = None
    whatsapp: WhatsAppChannel | None = None

    def outbound(self) -> dict[str, TelegramChannel | WhatsAppChannel]:
        """The channels by name: an OutboundChannel (handoffs) and a Wire (broadcasts) each."""
        on = [c for c in (self.telegram, self.whatsapp) if c is not None]
        return {channel.name: channel for channel in on}

    async def close(self) -> None:
        """Close every channel's connections."""
        await asyncio.gather(*(c.close() for c in (self.telegram, self.whatsapp) if c))


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value else ""


def _whatsapp_values(settings: Settings) -> dict[str, str]:
    return {"WHATSAPP_ACCESS_TOKEN": _secret(settings.whatsapp_access_token),
            "WHATSAPP_PHONE_NUMBER_ID": (settings.whatsapp_phone_number_id or "").strip(),
            "WHATSAPP_APP_SECRET": _secret(settings.whatsapp_app_secret),
            "WHATSAPP_VERIFY_TOKEN": _secret(settings.whatsapp_verify_token)}


def open_channels(settings: Settings, ctx: ChannelContext) -> Channels:
    """Build the channels whose settings are present (no network calls)."""
    channels = Channels()
    token = _secret(settings.telegram_bot_token)
    if token:
        channels.telegram = TelegramChannel(
            ctx, token, base_url=settings.telegram_api_base_url,
            webhook_secret=_secret(settings.telegram_webhook_secret) or None)
    values = _whatsapp_values(settings)
    if all(values.values()):
        channels.whatsapp = WhatsAppChannel(ctx, WhatsAppConfig(
            values["WHATSAPP_ACCESS_TOKEN"], values["WHATSAPP_PHONE_NUMBER_ID"],
            values["WHATSAPP_APP_SECRET"], values["WHATSAPP_VERIFY_TOKEN"],
            settings.whatsapp_api_base_url, settings.whatsapp_api_version))
    return channels


def describe(settings: Settings) -> list[str]:
    """One line per channel: on (and where its webhook is) or off (and what is missing)."""
    if not _secret(settings.telegram_bot_token):
        lines = ["Telegram: off (set TELEGRAM_BOT_TOKEN)."]
    elif not _secret(settings.telegram_webhook_secret):
        lines = ["Telegram: webhook off (set TELEGRAM_WEBHOOK_SECRET); polling works: "
                 "python -m bot telegram poll."]
    else:
        lines = ["Telegram: on, webhook POST /webhooks/telegram "
                 "(point Telegram at it: python -m bot telegram set-webhook URL)."]
    missing = [name for name, value in _whatsapp_values(settings).items() if not value]
    if missing:
        lines.append(f"WhatsApp: off (set {', '.join(missing)}).")
    else:
        lines.append(f"WhatsApp: on, webhook GET/POST /webhooks/whatsapp "
                     f"(Graph API {settings.whatsapp_api_version}).")
    return lines


def routes(get_channels: Callable[[], Channels]) -> list[Route]:
    """Every channel's webhook routes; a channel that is off answers 404."""
    return [*telegram.routes(lambda: get_channels().telegram),
            *whatsapp.routes(lambda: get_channels().whatsapp)]
