"""Background loops stop when cancelled, even when a call inside them lost the cancellation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.tasks import every, pause


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


async def test_a_failed_round_is_logged_and_the_next_round_runs(
        caplog: pytest.LogCaptureFixture) -> None:
    rounds = 0
    second = asyncio.Event()

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise ConnectionError("Redis went away")
        second.set()

    task = asyncio.create_task(every(0, work, "the test's round"))
    await second.wait()
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()
    assert "the test's round failed" in caplog.text
