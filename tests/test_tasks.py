"""Background loops stop when cancelled, even when a call inside them lost the cancellation."""

from __future__ import annotations

import asyncio
import contextlib

from bot.tasks import pause


async def test_a_loop_stops_when_a_call_in_it_swallowed_its_cancellation() -> None:
    waiting = asyncio.Event()
    rounds = 0

    async def swallowing_call() -> None:
        """As redis-py can, inside one of its socket timeouts (redis/redis-py#2551)."""
        waiting.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()

    async def loop() -> None:
        nonlocal rounds
        while True:
            await swallowing_call()
            rounds += 1
            await pause(3600)

    task = asyncio.create_task(loop())
    await waiting.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)  # a loop that went on: fail, not hang
    assert task in done
    assert task.cancelled()
    assert rounds == 1
