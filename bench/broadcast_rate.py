"""Broadcast send-rate benchmark: 1 and 4 `python -m bot worker` processes against stand-ins.

Serves the Telegram and WhatsApp stand-ins (tests/standins.py) on loopback in this process,
writes opted-in contacts under a throwaway key prefix (Redis from REDIS_URL, default the
machine's db 13), starts a campaign per channel and N worker processes, and measures the
arrival times of the requests at the stand-in: the rate over the run (first to last request),
the most requests in any fixed one-second bin and in any sliding one-second window. Prints a
table.

    .venv/bin/python bench/broadcast_rate.py [--seconds 10] [--workers 1 4]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import open_runtime
from bot.broadcast.campaigns import JAKARTA, CampaignStore, Message
from bot.broadcast.segments import Segment
from bot.messages import IncomingMessage
from bot.settings import PROJECT_ROOT, Settings, load_config
from tests.standins import (
    BOT_TOKEN,
    GRAPH_TOKEN,
    PHONE_NUMBER_ID,
    BotApiStandIn,
    GraphApiStandIn,
    _StandIn,
)


def window_max(times: list[float]) -> tuple[int, int]:
    """Most requests in a fixed one-second bin (from the first) and in any sliding second."""
    start = times[0]
    bins: dict[int, int] = {}
    for t in times:
        bins[int(t - start)] = bins.get(int(t - start), 0) + 1
    sliding = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    return max(bins.values()), sliding


async def run(url: str, channel: str, limit: float, count: int, workers: int,
              standin: _StandIn, env: dict[str, str]) -> str:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(redis_url=url, sapa_key_prefix=prefix)
    sender = await open_runtime(settings)
    now = datetime.now(JAKARTA)
    try:
        for i in range(count):
            user = str(6281500000000 + i) if channel == "whatsapp" else str(900000 + i)
            await sender.conversations.touch(IncomingMessage(channel, user, "halo", now))
            await sender.contacts.update(channel, user, {"consent": "opt_in"})
        store = CampaignStore(sender.redis, sender.keys)
        campaign = await store.create("bench", Segment(channels=(channel,)),
                                      Message("Halo {nama}, ada info iuran."),
                                      quiet_hours=None, now=now)
        standin.recorder.calls.clear()
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "worker", cwd=PROJECT_ROOT,
            env={**env, "REDIS_URL": url, "SAPA_KEY_PREFIX": prefix},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            for _ in range(workers)]
        await asyncio.sleep(6)  # let every worker start before the campaign does
        await store.start(campaign.id, datetime.now(JAKARTA))
        while (await store.require(campaign.id)).status != "done":  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # written by the worker processes, in Redis
        for proc in procs:
            proc.terminate()
            await proc.wait()
    finally:
        await sender.close()
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    times = sorted(c.at for c in standin.recorder.calls)
    rate = (len(times) - 1) / (times[-1] - times[0])
    fixed, sliding = window_max(times)
    return (f"{channel:<10}{workers:>8}{limit:>8.0f}{len(times):>8}{rate:>10.1f}"
            f"{100 * rate / limit:>9.1f}%{fixed:>8}{sliding:>9}")


async def main(seconds: float, worker_counts: list[int]) -> None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    rates = load_config(PROJECT_ROOT / "config.yml").broadcast.rates
    print(f"{'channel':<10}{'workers':>8}{'limit':>8}{'sent':>8}{'rate/s':>10}{'of limit':>10}"
          f"{'max 1s':>8}{'max win':>9}")
    async with BotApiStandIn(latency=0.05) as bot_api, GraphApiStandIn(latency=0.05) as graph:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
               "TELEGRAM_API_BASE_URL": bot_api.base_url,
               "WHATSAPP_ACCESS_TOKEN": GRAPH_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
               "WHATSAPP_APP_SECRET": "bench", "WHATSAPP_VERIFY_TOKEN": "bench",
               "WHATSAPP_API_BASE_URL": graph.url}
        for workers in worker_counts:
            for channel, standin in (("telegram", bot_api), ("whatsapp", graph)):
                limit = rates[channel]
                print(await run(url, channel, limit, int(limit * seconds), workers, standin,
                                env), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.workers))
