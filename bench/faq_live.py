"""How soon a saved FAQ is answered: the console's save, the background retrain, the first answer.

The promise is that an admin's new FAQ is answered within seconds, without a restart. This times
it on the machine at hand (a test must not: a retrain takes 11-19 s on a busy 2-core machine):
save through the knowledge-change path every process uses, then ask the engine until the answer
comes. Each run uses its own key prefix on REDIS_URL (default: the local Redis, db 15) and
deletes it afterwards.

    .venv/bin/python bench/faq_live.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

from redis.asyncio import Redis

from bot.admin.changes import Edited
from bot.admin.editor import make_answer, put_answer
from bot.app import JAKARTA, open_runtime
from bot.messages import IncomingMessage
from bot.settings import Settings

QUESTION = "ada lomba foto bpjs ga?"
ENTRY = {"id": "lomba_foto", "text": "Lomba foto peserta dibuka tiap Agustus; info di kantor.",
         "questions": ["ada lomba foto bpjs?", "lomba foto peserta bpjs kapan",
                       "info lomba foto bpjs ketenagakerjaan"], "tags": ["lomba"]}


async def one_run(url: str) -> tuple[float, float]:
    """Seconds from the save to the retrain's end, and to the first right answer."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    rt = await open_runtime(Settings(redis_url=url, sapa_key_prefix=prefix))
    try:
        today = rt.clock().date()
        started = time.perf_counter()
        await rt.changes.apply("bench", "faq.tambah", lambda document: Edited(
            put_answer(document, make_answer(ENTRY, None, today), new=True), "lomba_foto"))
        await rt.retrainer.settled()
        retrained = time.perf_counter() - started
        replies = await rt.engine.handle(IncomingMessage(
            "rest", "bench", QUESTION, rt.clock().astimezone(JAKARTA)))
        answered = time.perf_counter() - started
        assert any("Lomba foto" in r.text for r in replies), replies
        return retrained, answered
    finally:
        await rt.close()
        await cleanup(url, prefix)


async def cleanup(url: str, prefix: str) -> None:
    """Delete the run's keys."""
    redis = Redis.from_url(url)
    try:
        found = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if found:
            await redis.delete(*found)
    finally:
        await redis.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    results = [await one_run(url) for _ in range(args.runs)]
    print(f"{'run':>4} {'retrained (s)':>14} {'answered (s)':>13}")
    for i, (retrained, answered) in enumerate(results, 1):
        print(f"{i:>4} {retrained:>14.1f} {answered:>13.1f}")
    answered_all = [a for _, a in results]
    print(f"median answered after {statistics.median(answered_all):.1f} s, "
          f"worst {max(answered_all):.1f} s ({os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    asyncio.run(main())
