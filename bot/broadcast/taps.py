"""Taps on campaign buttons: recorded per recipient and answered with the button's own reply.

The worker sends each button as `/kampanye:<campaign>:<index>`. When a worker taps it, the
engine asks `RedisCampaignTaps.tap`: the title is stored in the campaign's taps hash (one field
per recipient: a second tap replaces the first, as a changed RSVP does) for the report, and the
reply staff gave the button comes back; a button without one is read as its own payload.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.broadcast.campaigns import CampaignStore, parse_tap, personalise
from bot.contacts import Contact
from bot.keys import Keys
from bot.messages import IncomingMessage, Tap

# A tap after the campaign ended expires with the campaign (same slot: the campaign's tag).
# KEYS: campaign, taps; ARGV: recipient, button title.
_RECORD = """
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
"""


class RedisCampaignTaps:
    """Reads the campaign behind a tap and records who tapped what."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._campaigns = CampaignStore(redis, keys)
        self._record = redis.register_script(_RECORD)

    async def tap(self, message: IncomingMessage, contact: Contact, no_name: str) -> Tap | None:
        """Record the tap and return its reply; None when the text is no known campaign button."""
        found = parse_tap(message.text)
        campaign = await self._campaigns.get(found[0]) if found else None
        if found is None or campaign is None or found[1] >= len(campaign.message.buttons):
            return None
        index = found[1]
        button = campaign.message.buttons[index]
        await self._record(keys=[self._keys.campaign(campaign.id),
                                 self._keys.campaign_taps(campaign.id)],
                           args=[f"{message.channel}:{message.user_id}", button.title])
        answer = campaign.message.answer(index)
        return Tap(personalise(answer, contact, no_name) if answer else "", button.payload,
                   button.title)
