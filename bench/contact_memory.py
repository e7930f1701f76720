"""Redis memory per imported contact: N rows of a cadre's list through `contacts import`'s code.

Starts its own redis-server on a free port (so INFO memory measures only this), imports N
consenting rows with `import_contacts` (what `python -m bot contacts import` runs), and reports
the Redis memory each contact costs: INFO used_memory before/after, MEMORY USAGE of one profile
and of the contacts index shards. Prints a table.

    .venv/bin/python bench/contact_memory.py [--contacts 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.broadcast_enqueue import start_redis, used_memory
from bot.broadcast.campaigns import JAKARTA
from bot.broadcast.imports import import_contacts
from bot.contacts import RedisContactStore
from bot.keys import Keys


def rows(count: int) -> Iterator[dict[str, str]]:
    """A cadre's list as the CSV import reads it: every column filled."""
    for i in range(count):
        yield {"telepon": f"0812{30000000 + i}", "persetujuan": "ya",
               "nama": f"Siti Aminah {i % 997}", "pekerjaan": "pedagang pasar",
               "wilayah": "Kel. Ketabang, Kec. Genteng", "kabupaten": "Kota Surabaya",
               "tags": "pasar;fgd-ketabang", "terdaftar": "tidak",
               "tanggal_persetujuan": "2026-11-01", "sumber": "kader RW 05 Ketabang"}


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
        keys = Keys("sp")
        contacts = RedisContactStore(redis, keys, 365 * 86400)
        before = await used_memory(redis)
        result = await import_contacts(contacts, rows(count), datetime.now(JAKARTA), "bench")
        after = await used_memory(redis)
        one = await redis.memory_usage(keys.profile("whatsapp", "6281230000001"), samples=0)
        index = 0
        for shard in keys.contacts_shards():
            index += await redis.memory_usage(shard, samples=0) or 0
        print(f"{'contacts imported':<46}{result.added:>12,}")
        print(f"{'Redis used_memory delta per contact (B)':<46}{(after - before) / count:>12.1f}")
        print(f"{'MEMORY USAGE of one profile (B)':<46}{one or 0:>12}")
        print(f"{'MEMORY USAGE of the index shards per contact (B)':<46}{index / count:>12.1f}")
        await redis.aclose()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().contacts))
