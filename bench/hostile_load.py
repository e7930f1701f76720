"""Hostile-load benchmark: oversized bodies, a flooding sender, a 100,000-entry inbox.

Publishes a model with `python -m bot nlu train`, starts `python -m bot serve` as its own process
(Redis from REDIS_URL, default the machine's db 14, under a throwaway key prefix; WhatsApp on
with made-up credentials so its webhook reads bodies), and prints a table:

- server memory (RSS) at idle and at its peak while 8 clients each stream a 50 MB body to the
  REST channel and to the WhatsApp webhook at once (half with Content-Length, half chunked);
- a flooding sender: 500 simultaneous messages of one sender, what they got back, and the
  latency of other senders (150 senders, one message every 20 ms) meanwhile;
- the console inbox over a 100,000-entry fallback stream: reading and grouping one page.

    .venv/bin/python bench/hostile_load.py [--port 5078] [--parts oversized,flood,inbox]

Other senders' latencies are measured from a process of their own (so the flooding client's
own work is not counted in them) and the table ends with the machine's load average: figures
from a loaded machine say so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
from redis.asyncio import Redis as AsyncRedis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rest_load import post_rest, rss_mb, trained_serve
from bot.admin.inbox import UnansweredStore, group
from bot.keys import Keys
from bot.knowledge.store import RedisModelStore

BODY_MB, CLIENTS = 50, 8


async def _chunks(total: int) -> AsyncIterator[bytes]:
    chunk = b"x" * 65536
    for _ in range(total // len(chunk)):
        yield chunk


async def oversized(base: str, pid: int) -> tuple[float, float, Counter[int]]:
    """Idle RSS, peak RSS during the burst, and the status codes the burst got."""
    idle = rss_mb(pid)
    peak = idle
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.005)

    size = BODY_MB * 1024 * 1024
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        async def one(i: int) -> None:
            path = "/webhooks/rest/webhook" if i % 2 else "/webhooks/whatsapp"
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=0"}
            if i % 4 < 2:
                headers["Content-Length"] = str(size)
            try:
                response = await client.post(path, content=_chunks(size), headers=headers)
                statuses[response.status_code] += 1
            except httpx.HTTPError:  # the server closed the connection after its 413
                statuses[413] += 1

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(one(i) for i in range(CLIENTS * 2)))
        done.set()
        await sampler
    return idle, peak, statuses


OTHERS, OTHERS_EVERY = 150, 0.02  # other senders: one message each, one every 20 ms


async def others(base: str) -> list[float]:
    """Latencies (ms) of OTHERS messages from as many senders, one every OTHERS_EVERY s."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.post("/webhooks/rest/webhook", json={"sender": "warm", "message": "halo"})
        for i in range(OTHERS):
            start = time.perf_counter()
            response = await client.post("/webhooks/rest/webhook",
                                         json={"sender": f"lain-{i}", "message": "halo"})
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
            await asyncio.sleep(OTHERS_EVERY)
    return latencies


async def flood(base: str, port: int) -> tuple[Counter[str], float, list[float]]:
    """What 500 simultaneous messages of one sender got, how long the server took to answer
    all 500 (s), and the latencies (ms) of other senders meanwhile.

    The other senders run in a process of their own, so their figures are the server's and not
    this client's, busy with the 500.
    """
    talk = await asyncio.create_subprocess_exec(sys.executable, __file__, "--others", base,
                                                stdout=asyncio.subprocess.PIPE)
    await asyncio.sleep(0.5)  # the others are talking when the flood comes
    outcomes: Counter[str] = Counter()

    async def flooder(i: int) -> None:
        # Bare streams, a connection each: httpx's pool costs its client more with each of 500
        # connections at once, which made the flood look slower than the server was.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, raw = await post_rest(reader, writer, orjson.dumps(
            {"sender": "banjir", "message": f"iuran {i}"}))
        writer.close()
        body = orjson.loads(raw) if status == 200 else None
        kind = ("empty" if body == [] else "tunggu" if body and "tunggu" in body[0]["text"]
                else "answer") if body is not None else str(status)
        outcomes[kind] += 1

    start = time.perf_counter()
    await asyncio.gather(*(flooder(i) for i in range(500)))
    took = time.perf_counter() - start
    out, _ = await talk.communicate()
    return outcomes, took, [float(x) for x in out.split()]


async def inbox_page(url: str, prefix: str) -> tuple[float, float, int]:
    """Seconds to read one page of a 100,000-entry inbox, seconds to group it, page size.

    Grouping is timed once scikit-learn is imported (the console imports it on first use).
    """
    client = AsyncRedis.from_url(url, decode_responses=True)
    keys = Keys(prefix)
    async with client.pipeline(transaction=False) as pipe:
        for i in range(100_000):
            pipe.xadd(keys.fallbacks(), {"channel": "rest", "text": f"pesan ngawur {i % 5000} "
                                         f"kata{i % 97}", "intent": "", "at": ""})
        await pipe.execute()
    model = await RedisModelStore(AsyncRedis.from_url(url), keys).load()
    assert model is not None
    inbox = UnansweredStore(client, keys, window=300)
    group((await inbox.recent())[0][:5], model.normalizer)  # scikit-learn imported once
    start = time.perf_counter()
    page, _ = await inbox.recent()
    read = time.perf_counter() - start
    start = time.perf_counter()
    group(page, model.normalizer)
    grouped = time.perf_counter() - start
    await client.aclose()
    return read, grouped, len(page)


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the sorted `values` fall (nearest rank)."""
    return values[max(0, int(len(values) * share + 0.5) - 1)]


def spread(latencies: list[float]) -> str:
    """p50, p99 and max of sorted latencies (ms)."""
    return (f"p50 {statistics.median(latencies):.1f} ms, "
            f"p99 {percentile(latencies, 0.99):.1f} ms, max {latencies[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5078)
    parser.add_argument("--parts", default="oversized,flood,inbox",
                        help="which measures to take, comma-separated")
    parser.add_argument("--others", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.others:  # the other senders' process of `flood`
        print(" ".join(f"{ms:.2f}" for ms in asyncio.run(others(args.others))))
        return
    parts = set(args.parts.split(","))
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    prefix = f"spbench-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "REDIS_URL": url, "SAPA_KEY_PREFIX": prefix,
           "WHATSAPP_ACCESS_TOKEN": "x", "WHATSAPP_PHONE_NUMBER_ID": "1",
           "WHATSAPP_APP_SECRET": "x", "WHATSAPP_VERIFY_TOKEN": "x",
           "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9"}
    rows: list[tuple[str, str]] = []
    load_before = os.getloadavg()
    with trained_serve(env, args.port) as server:
        base = f"http://127.0.0.1:{args.port}"
        if "oversized" in parts:
            idle, peak, statuses = asyncio.run(oversized(base, server.pid))
            rows += [("server RSS idle", f"{idle:.0f} MB"),
                     (f"server RSS peak, {CLIENTS * 2} x {BODY_MB} MB bodies at once",
                      f"{peak:.0f} MB (+{peak - idle:.0f} MB); statuses {dict(statuses)}")]
        if "flood" in parts:
            alone = sorted(asyncio.run(others(base)))
            outcomes, took, latencies = asyncio.run(flood(base, args.port))
            latencies.sort()
            rows += [(f"other senders, no flood ({len(alone)})", spread(alone)),
                     ("flooding sender, 500 at once",
                      f"{dict(outcomes)} in {took:.2f} s"),
                     (f"other senders meanwhile ({len(latencies)}, own process)",
                      spread(latencies))]
        if "inbox" in parts:
            read, grouped, page = asyncio.run(inbox_page(url, prefix))
            rows.append((f"inbox page of {page} from 100,000 entries",
                         f"read {read * 1000:.1f} ms, grouped {grouped * 1000:.0f} ms"))
    load_after = os.getloadavg()
    rows.append(("load average (1, 5, 15 min) before / after",
                 f"{' '.join(f'{x:.2f}' for x in load_before)} / "
                 f"{' '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores"))
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|---|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
