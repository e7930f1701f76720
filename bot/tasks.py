"""Background loops that stop when they are cancelled, even when a Redis call lost the request.

redis-py can swallow a task's cancellation that arrives while it waits inside one of its socket
timeouts (redis/redis-py#2551, #2028): the call returns normally, `Task.cancelling()` still
counts the request, and a loop would go on forever. Each background loop waits through `pause`
(or asks `stop_if_cancelled` before it waits on something else), which ends the task instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def stop_if_cancelled() -> None:
    """End the current task if it was asked to stop and a call it made lost the request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def pause(seconds: float) -> None:
    """Sleep `seconds` between two rounds of a background loop (see the module's docstring)."""
    stop_if_cancelled()
    await asyncio.sleep(seconds)


async def every(seconds: float, work: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `work` every `seconds`, for as long as the task runs.

    A round that fails (a Redis hiccup) is logged as "`what` failed"; the next round tries again.
    """
    while True:
        await pause(seconds)
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)
