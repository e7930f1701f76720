"""The sending half of the composition root, for the worker and the broadcast CLI.

`bot.app.open_runtime` also loads the knowledge base and the NLU model; a process that only
sends needs Redis, the contact registry, the shared rate limiter and the channel adapters.
Importing `bot.app` alone costs each worker about 4 s and 150 MB of scikit-learn, so this module
builds the same pieces the same way (`open_channels`, `RateLimiter`, `RedisContactStore`)
without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from bot.broadcast.campaigns import JAKARTA
from bot.broadcast.worker import SendingContext
from bot.channels.inbound import ChannelContext
from bot.channels.ratelimit import RateLimiter
from bot.channels.switchboard import Channels, open_channels
from bot.contacts import RedisContactStore
from bot.embedded_redis import ensure_embedded_redis
from bot.keys import Keys
from bot.messages import IncomingMessage, Reply
from bot.settings import BotConfig, Settings, load_config


def jakarta_now() -> datetime:
    """The broadcast clock (WIB), as the bot's."""
    return datetime.now(JAKARTA)


class SendOnly:
    """The engine as seen by a process that only sends: channels never ask it to answer."""

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """A send-only process has no webhook, so this is a wiring mistake."""
        raise RuntimeError(f"a send-only process got a message from {message.channel}")


@dataclass
class Sender:
    """What the broadcast worker and CLI work with."""

    settings: Settings
    config: BotConfig
    keys: Keys
    redis: Redis
    contacts: RedisContactStore
    channels: Channels
    sending: SendingContext

    async def close(self) -> None:
        """Close the channels' and Redis connections."""
        await self.channels.close()
        await self.redis.aclose()


async def open_sender(settings: Settings, *,
                      clock: Callable[[], datetime] = jakarta_now) -> Sender:
    """Connect to Redis and build the channels whose settings are present (no network calls)."""
    config = load_config(settings.sapa_config)
    redis = Redis.from_url(settings.redis_url or ensure_embedded_redis(settings.sapa_data_dir),
                           decode_responses=True)
    keys = Keys(settings.sapa_key_prefix)
    contacts = RedisContactStore(redis, keys, config.dialogue.profile_ttl_days * 86400)
    limiter = RateLimiter(redis, keys)
    channels = open_channels(settings, ChannelContext(SendOnly(), contacts, redis, keys, limiter,
                                                      clock))
    sending = SendingContext(redis, keys, contacts, channels.outbound(), limiter,
                             config.broadcast, clock)
    return Sender(settings, config, keys, redis, contacts, channels, sending)
