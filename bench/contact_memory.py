"""Redis memory per imported contact: N rows of a cadre's list through `contacts import`'s code.

Starts its own redis-server and its own 3-master, 3-replica cluster (tests/cluster.py) on free
ports (so INFO memory measures only this), imports N consenting rows into each with
`import_contacts` (what `python -m bot contacts import` runs), and reports the Redis memory each
contact costs: INFO used_memory before/after, less the replication backlog and client buffers
(on the cluster, summed over the masters; each replica holds as much again), MEMORY USAGE of one
profile and of the contacts index shards, and how long the daily contacts sweep takes over them
(none idle, then all).
Prints a markdown table.

    .venv/bin/python bench/contact_memory.py [--contacts 100000] [--only standalone|cluster]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.broadcast_enqueue import start_redis
from bot.broadcast.campaigns import JAKARTA
from bot.broadcast.imports import import_contacts
from bot.contacts import RedisContactStore
from bot.keys import Keys
from tests.cluster import LocalCluster, pings, until


def rows(count: int) -> Iterator[dict[str, str]]:
    """A cadre's list as the CSV import reads it: every column filled."""
    for i in range(count):
        yield {"telepon": f"0812{30000000 + i}", "persetujuan": "ya",
               "nama": f"Siti Aminah {i % 997}", "pekerjaan": "pedagang pasar",
               "wilayah": "Kel. Ketabang, Kec. Genteng", "kabupaten": "Kota Surabaya",
               "tags": "pasar;fgd-ketabang", "terdaftar": "tidak",
               "tanggal_persetujuan": "2026-11-01", "sumber": "kader RW 05 Ketabang"}


async def used(urls: list[str]) -> int:
    """used_memory of the masters among `urls`, less the buffers that are not the data's.

    A master allocates its 1 MB replication backlog on the first write after its replica joins,
    and keeps output buffers for its replica and for clients (this bench's own): fixed costs
    that, left in, put 31 B on each of 100,000 contacts of a 3-master cluster.
    """
    total = 0
    for url in urls:
        node = Redis.from_url(url)
        info = await node.info("memory")
        role = (await node.info("replication"))["role"]
        if role == "master":
            total += int(info["used_memory"]) - sum(
                int(info.get(buffer, 0)) for buffer in (
                    "mem_replication_backlog", "mem_clients_slaves", "mem_clients_normal"))
        await node.aclose()
    return total


async def measure(url: str, nodes: list[str], cluster: bool, count: int) -> list[float]:
    redis: Redis = (RedisCluster.from_url(url, decode_responses=True) if cluster  # type: ignore[assignment]
                    else Redis.from_url(url, decode_responses=True))
    keys = Keys("sp")
    contacts = RedisContactStore(redis, keys, 365 * 86400)
    before = await used(nodes)
    now = datetime.now(JAKARTA)
    result = await import_contacts(contacts, rows(count), now, "bench")
    after = await used(nodes)
    one = await redis.memory_usage(keys.profile("whatsapp", "6281230000001"), samples=0)
    index = 0
    for _, shard in keys.contacts_shards():
        index += await redis.memory_usage(shard, samples=0) or 0
    # The daily sweep: once with no profile idle (what most days cost), once with all of them.
    started = time.perf_counter()
    kept = await contacts.sweep(now)
    reading = time.perf_counter() - started
    started = time.perf_counter()
    gone = await contacts.sweep(now + timedelta(days=366))
    deleting = time.perf_counter() - started
    assert (kept, gone) == (0, result.added)
    await redis.aclose()
    return [result.added, (after - before) / count, one or 0, index / count, reading, deleting]


async def main(count: int, only: str | None) -> None:
    columns: dict[str, list[float]] = {}
    if only in (None, "standalone"):
        server, url, folder = start_redis()
        try:
            until(lambda: pings(url), "standalone redis")
            columns["standalone"] = await measure(url, [url], False, count)
        finally:
            server.terminate()
            server.wait()
            shutil.rmtree(folder, ignore_errors=True)
    if only in (None, "cluster"):
        home = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
        cluster = LocalCluster(home).start()
        try:
            columns["cluster 3+3"] = await measure(
                cluster.url, [f"redis://127.0.0.1:{n.port}" for n in cluster.nodes], True, count)
        finally:
            cluster.stop()
            shutil.rmtree(home, ignore_errors=True)
    names = ("contacts imported", "Redis used_memory delta per contact (B)",
             "MEMORY USAGE of one profile (B)", "MEMORY USAGE of the index shards per contact (B)",
             "contacts sweep, none idle (s)", "contacts sweep, every one idle: deleted (s)")
    print("| | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for n, name in enumerate(names):
        print(f"| {name} | " + " | ".join(f"{column[n]:,.1f}" if n else f"{column[n]:,.0f}"
                                          for column in columns.values()) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--only", choices=("standalone", "cluster"))
    arguments = parser.parse_args()
    asyncio.run(main(arguments.contacts, arguments.only))
