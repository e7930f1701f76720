"""Broadcast enqueue benchmark: a segment of N contacts into a campaign's queue.

Starts its own redis-server on a free port (so INFO memory measures only this), writes N opted-in
contacts with a server-side script, times a segment preview over them (exact, and the console's
live count from a random draw), then runs the worker's enqueue job (`enqueue_campaign`, the same
code a worker runs) and reports the time, this process's memory while it streams, and the Redis
memory each pending recipient costs (INFO used_memory before/after, and MEMORY USAGE of the
outcomes hash and the queue stream). Prints a table.

    .venv/bin/python bench/broadcast_enqueue.py [--contacts 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.admin.campaigns import LIVE_BUDGET
from bot.broadcast.campaigns import JAKARTA, CampaignStore, Message
from bot.broadcast.ledger import Ledger
from bot.broadcast.segments import Segment, preview
from bot.broadcast.worker import enqueue_campaign
from bot.contacts import RedisContactStore, stored_fields
from bot.keys import SERVER_ARGS, Keys

# Contacts as the chat leaves them: a profile hash with consent, and an index entry.
# ARGV: first, last, the profile key before and after the id, then the profile's stored fields.
_SEED = """
for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  local id = tostring(6281200000000 + i)
  redis.call('HSET', ARGV[3] .. id .. ARGV[4], unpack(ARGV, 5))
end
return 1
"""


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def start_redis() -> tuple[subprocess.Popen[bytes], str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", folder, *SERVER_ARGS], stdout=subprocess.DEVNULL)
    return server, f"redis://127.0.0.1:{port}/0", folder


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def main(count: int) -> None:
    server, url, folder = start_redis()
    try:
        redis = Redis.from_url(url, decode_responses=True)
        for _ in range(100):
            try:
                await redis.ping()
                break
            except RedisConnectionError:
                await asyncio.sleep(0.05)
        keys = Keys("bench")
        seed = redis.register_script(_SEED)
        started = time.perf_counter()
        seen = datetime.now(JAKARTA).isoformat()
        profile = stored_fields({
            "first_seen": seen, "last_seen": seen, "last_inbound": seen,
            "pekerjaan": "pedagang pasar", "wilayah": "Kel. Ketabang, Kec. Genteng",
            "consent": "opt_in", "consent_at": seen, "consent_channel": "whatsapp"})
        before_id, after_id = keys.profile("whatsapp", "#").split("#")
        for first in range(0, count, 50_000):
            last = min(first + 50_000, count) - 1
            await seed(keys=[], args=[first, last, before_id, after_id,
                                      *(x for pair in profile.items() for x in pair)])
            shards: dict[str, list[str]] = {}  # the index, sharded as the contact store does
            for i in range(first, last + 1):
                member = str(6281200000000 + i)
                shard = keys.contacts_shard("whatsapp", member)
                assert shard is not None
                shards.setdefault(shard, []).append(member)
            async with redis.pipeline(transaction=False) as pipe:
                for shard, members in shards.items():
                    pipe.sadd(shard, *members)
                await pipe.execute()
        seeded = time.perf_counter() - started
        contacts = RedisContactStore(redis, keys, 365 * 86400)
        store, ledger = CampaignStore(redis, keys), Ledger(redis, keys)
        now = datetime.now(JAKARTA)
        previews = []
        for budget in (None, LIVE_BUDGET):
            started = time.perf_counter()
            counted = await preview(contacts, Segment(pekerjaan=("pedagang",)), now, budget)
            previews.append((time.perf_counter() - started, counted.total))
        campaign = await store.create("bench", Segment(pekerjaan=("pedagang",)),
                                      Message("Halo {nama}"), quiet_hours=None, now=now)
        await store.start(campaign.id, now)
        before = await used_memory(redis)
        rss_before = rss_mb()
        peak = rss_before

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, rss_mb())
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        await enqueue_campaign(contacts, ledger, campaign, lambda: datetime.now(JAKARTA))
        elapsed = time.perf_counter() - started
        sampler.cancel()
        after = await used_memory(redis)
        queued = (await ledger.counts(campaign.id))["queued"]
        outcomes = await redis.memory_usage(keys.campaign_outcomes(campaign.id), samples=0)
        stream = await redis.memory_usage(keys.campaign_queue(campaign.id), samples=0)
        print(f"{'contacts seeded':<44}{count:>14,} ({seeded:.1f} s)")
        for (seconds, total), what in zip(previews, ("exact (s)", "live count (s)"),
                                          strict=True):
            print(f"{'segment preview, ' + what:<44}{seconds:>14.2f} ({total:,} counted)")
        print(f"{'recipients queued':<44}{queued:>14,}")
        print(f"{'enqueue time (s)':<44}{elapsed:>14.1f}")
        print(f"{'enqueue rate (recipients/s)':<44}{queued / elapsed:>14,.0f}")
        print(f"{'enqueuing process RSS before/peak (MB)':<44}{rss_before:>7.0f} / {peak:.0f}")
        print(f"{'Redis used_memory delta per recipient (B)':<44}"
              f"{(after - before) / queued:>14.1f}")
        print(f"{'MEMORY USAGE outcomes hash per recipient (B)':<44}"
              f"{(outcomes or 0) / queued:>14.1f}")
        print(f"{'MEMORY USAGE queue stream per recipient (B)':<44}"
              f"{(stream or 0) / queued:>14.1f}")
        await redis.aclose()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().contacts))
