"""Never twice: real `python -m bot worker` processes, one killed with SIGKILL mid-campaign.

The Bot API stand-in runs in this process and records every sendMessage. A first worker sends
part of a campaign and is killed; a second one, started afterwards, finishes it. No chat gets
the message twice, and every recipient ends sent, skipped, failed or unknown.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Runtime
from bot.broadcast.campaigns import CampaignStore, Message
from bot.broadcast.ledger import Ledger
from bot.broadcast.segments import Segment
from bot.settings import Settings
from tests.conftest import add_contact, assert_each_recipient_once, now, spawn_worker, worker_config
from tests.standins import BotApiStandIn

RECIPIENTS = 150


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(latency=0.03) as api:  # requests are in flight when killed
        yield api


async def test_a_killed_worker_loses_nobody_and_duplicates_nobody(
        settings: Settings, runtime: Runtime, bot_api: BotApiStandIn, tmp_path: Path) -> None:
    t = now()
    for user in range(1, RECIPIENTS + 1):
        await add_contact(runtime, "telegram", str(user), seen=t)
    store, ledger = CampaignStore(runtime.redis, runtime.keys), Ledger(runtime.redis,
                                                                 runtime.keys)
    campaign = await store.create("Pengingat iuran", Segment(), Message("Halo {nama}"),
                                  quiet_hours=None, now=t)
    assert await store.start(campaign.id, t) == "started"
    assert await store.start(campaign.id, t) == "running"
    config = worker_config(tmp_path)

    first = await spawn_worker(settings, config, bot_api)
    try:
        await bot_api.recorder.wait_for("sendMessage", RECIPIENTS // 3, timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    at_kill = len(bot_api.recorder.of("sendMessage"))
    assert at_kill < RECIPIENTS
    second = await spawn_worker(settings, config, bot_api, drain=True)
    try:
        async with asyncio.timeout(60):
            assert await second.wait() == 0  # it took over the rest, then found nothing left
    finally:
        if second.returncode is None:
            second.send_signal(signal.SIGTERM)
            await second.wait()
    assert (await store.require(campaign.id)).status == "done"

    await assert_each_recipient_once(bot_api, ledger, campaign.id, RECIPIENTS)
