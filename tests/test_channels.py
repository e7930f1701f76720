"""What both channels share: the send pipeline, the Redis rate limiter, retries, splitting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.channels.base import Bucket, Limits, Template
from bot.channels.outbound import Outbox
from bot.channels.ratelimit import (
    ONE_ATTEMPT,
    SLOW_ANSWER_RECHECK,
    Pacing,
    Rate,
    RateLimiter,
    retry_transient,
)
from bot.channels.split import split_text
from bot.contacts import RedisContactStore
from bot.errors import ConfigError, RecipientError, TransientError
from bot.keys import Keys
from bot.messages import Reply
from tests.conftest import TODAY


class ScriptedWire:
    """A platform whose requests fail with the given errors, in order, then succeed."""

    name = "fake"

    def __init__(self, *errors: Exception, window: timedelta | None = None) -> None:
        self.errors = list(errors)
        self.window = window
        self.posted: list[str] = []

    def render(self, reply: Reply) -> list[str]:
        return reply.text.split("|")

    def template(self, template: Template) -> str:
        return f"template {template.name}"

    def limits(self, user_id: str) -> Limits:
        return Limits((Bucket("fake:" + user_id, Rate(1000)),), "fake", 1000)

    async def post(self, user_id: str, message: str) -> str:
        self.posted.append(message)
        if self.errors:
            raise self.errors.pop(0)
        return f"id-{len(self.posted)}"


@pytest.fixture
async def outbox(redis_url: str, prefix: str) -> AsyncIterator[tuple[Outbox, RedisContactStore]]:
    """The send pipeline on real Redis, answering as on TODAY."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    contacts = RedisContactStore(redis, Keys(prefix), 86400)
    yield Outbox(contacts, RateLimiter(redis, Keys(prefix)), lambda: TODAY), contacts
    await redis.aclose()


async def test_the_pipeline_retries_transient_errors_only_as_often_as_asked(
        outbox: tuple[Outbox, RedisContactStore]) -> None:
    pipeline, _ = outbox
    busy = TransientError("busy", retry_after=0.01)
    wire = ScriptedWire(busy, busy)
    assert await pipeline.send(wire, "1", [Reply("a|b")], pacing=Pacing(attempts=3)) == \
        ["id-3", "id-4"]
    assert wire.posted == ["a", "a", "a", "b"]  # in order, the first after two retries
    once = ScriptedWire(busy)
    with pytest.raises(TransientError):  # the broadcast worker's rounds retry, not the pipeline
        await pipeline.send(once, "1", [Reply("a")], pacing=ONE_ATTEMPT)
    assert once.posted == ["a"]
    for error in (RecipientError("gone", "invalid_user"), ConfigError("bad token")):
        wire = ScriptedWire(error)
        with pytest.raises(type(error)):
            await pipeline.send(wire, "1", [Reply("a")])
        assert wire.posted == ["a"]  # never retried


@pytest.mark.parametrize(("reason", "marked"), [
    ("blocked", True), ("undeliverable", True), ("rejected", False), ("outside_window", False)])
async def test_the_pipeline_marks_a_contact_that_cannot_be_reached(
        outbox: tuple[Outbox, RedisContactStore], reason: str, marked: bool) -> None:
    pipeline, contacts = outbox
    await contacts.update("fake", "7", {"consent": "opt_in"})
    with pytest.raises(RecipientError):
        await pipeline.send(ScriptedWire(RecipientError("no", reason)), "7", [Reply("a")])
    contact = await contacts.get("fake", "7")
    assert contact is not None
    assert contact.get("unreachable") == (reason if marked else None)


async def test_the_pipeline_keeps_free_text_inside_the_window(
        outbox: tuple[Outbox, RedisContactStore]) -> None:
    pipeline, contacts = outbox
    wire = ScriptedWire(window=timedelta(hours=24))
    for user, hours_ago in (("never", None), ("late", 25.0)):
        if hours_ago is not None:
            await contacts.update("fake", user, {
                "last_inbound": (TODAY - timedelta(hours=hours_ago)).isoformat()})
        with pytest.raises(RecipientError) as caught:
            await pipeline.send(wire, user, [Reply("a")])
        assert caught.value.reason == "outside_window"
        assert await pipeline.send_template(wire, user, Template("t", "id")) == "id-1"
        wire.posted.clear()
    await contacts.update("fake", "recent", {
        "last_inbound": (TODAY - timedelta(hours=23)).isoformat()})
    assert await pipeline.send(wire, "recent", [Reply("a")]) == ["id-1"]
    assert wire.posted == ["a"]


@pytest.fixture
async def two_processes(redis_url: str, prefix: str,
                        ) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    """Two limiters on two connections, as two processes would have."""
    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    yield RateLimiter(one, Keys(prefix)), RateLimiter(two, Keys(prefix))
    await one.aclose()
    await two.aclose()


@pytest.fixture
async def recorded(redis_url: str, prefix: str,
                   ) -> AsyncIterator[tuple[RateLimiter, RateLimiter, list[float], Redis]]:
    """Two limiters that record the waits they decide on instead of sleeping them."""
    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    yield (RateLimiter(one, Keys(prefix), sleep=record),
           RateLimiter(two, Keys(prefix), sleep=record), waits, one)
    await one.aclose()
    await two.aclose()


async def redis_ms(redis: Redis) -> int:
    """Redis's clock in whole ms, as the limiter's script reads it."""
    seconds, micros = await redis.time()
    return int(seconds * 1000 + micros // 1000)


async def test_processes_share_one_bucket(
        recorded: tuple[RateLimiter, RateLimiter, list[float], Redis], prefix: str) -> None:
    one, two, waits, redis = recorded
    rate = Rate(1, 10.0)  # one every 10 s: far longer than the test takes, on any machine
    start = await redis_ms(redis)
    for i in range(10):
        await (one, two)[i % 2].acquire("wa:1", rate, 200)
    # Ten slots reserved one after another in one bucket: the next free slot is 10 intervals on,
    # and every acquire after the first was told to wait for its slot, the n-th about n intervals.
    next_slot = float(await redis.get(Keys(prefix).rate("wa:1")))
    assert next_slot - start >= 100_000
    assert len(waits) == 9
    assert [round(w / 10) for w in waits] == list(range(1, 10))


async def test_a_burst_goes_at_once_then_the_rate_applies(
        recorded: tuple[RateLimiter, RateLimiter, list[float], Redis]) -> None:
    limiter, _, waits, _ = recorded
    rate = Rate(1, 10.0, burst=5)  # one every 10 s after a burst of five
    for _ in range(5):
        await limiter.acquire("tg:1", rate, 5)
    assert waits == []  # the burst went without waiting
    with pytest.raises(TransientError) as caught:  # the sixth must wait for the rate
        await limiter.acquire("tg:1", rate, 0)
    assert 0 < (caught.value.retry_after or 0) <= 10


async def test_too_long_a_wait_is_transient_and_reserves_nothing(
        two_processes: tuple[RateLimiter, RateLimiter]) -> None:
    limiter = two_processes[0]
    rate = Rate(1, 10.0)
    await limiter.acquire("slow", rate, 0)
    for _ in range(3):
        with pytest.raises(TransientError) as caught:
            await limiter.acquire("slow", rate, 1)
        assert 9 < (caught.value.retry_after or 0) <= 10  # not pushed further by the refusals


async def counting(redis: Redis, log: str, window: float) -> int:
    """Places the cap's log counts now, by Redis's clock: in flight, or answered < a window ago.

    A log entry's score is when its request reached the platform at the latest (send plus the
    longest flight while in flight, the arrival once answered), in microseconds.
    """
    seconds, micros = await redis.time()
    now = seconds * 1_000_000 + micros
    return int(await redis.zcount(log, now - int(window * 1_000_000) + 1, "+inf"))


async def test_the_cap_counts_each_request_until_a_window_after_its_answer(
        two_processes: tuple[RateLimiter, RateLimiter], redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    log = Keys(prefix).rate("cap:1:log")
    seen: list[int] = []

    async def request(limiter: RateLimiter, flight: float) -> None:
        async with limiter.capped("cap:1", 3, longest_flight=10, arrival_allowance=1,
                                  window=0.3):
            seen.append(await counting(redis, log, 0.3))  # this one and the others counted
            await asyncio.sleep(flight)  # in flight: the platform counts it somewhere in here

    await asyncio.gather(*(request(two_processes[i % 2], 0.01 * (i % 4)) for i in range(10)))
    after = await counting(redis, log, 0.3)
    await redis.aclose()
    assert len(seen) == 10
    assert max(seen) <= 3  # never more than the cap in any window, whatever the timing
    assert after >= 1  # answers count on for a window after they arrive


async def test_a_slow_answer_counts_from_the_arrival_allowance(
        two_processes: tuple[RateLimiter, RateLimiter], redis_url: str, prefix: str) -> None:
    first, second = two_processes
    log = Keys(prefix).cap_log("cap:3")
    redis = Redis.from_url(redis_url)
    inside, answer = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with first.capped("cap:3", 1, longest_flight=10, arrival_allowance=0.05,
                                window=0.3):
            inside.set()
            await answer.wait()  # answered late: it reached the platform by 0.05 s

    task = asyncio.create_task(slow())
    await inside.wait()
    ((_, held),) = await redis.zrange(log, 0, -1, withscores=True)  # send + longest flight
    await asyncio.sleep(0.06)  # later than the allowance: the answer is the slow kind
    answer.set()
    await task
    ((_, counted),) = await redis.zrange(log, 0, -1, withscores=True)
    await redis.aclose()
    # It counts from send + allowance (µs), not from the late answer: its place frees a window
    # after that, which is when the second request gets in.
    assert held - counted == 9_950_000  # 10 s of flight less the 0.05 s allowance
    async with second.capped("cap:3", 1, longest_flight=10, arrival_allowance=0.05, window=0.3):
        pass


async def test_a_place_whose_sender_died_frees_after_the_longest_flight(
        two_processes: tuple[RateLimiter, RateLimiter], redis_url: str, prefix: str) -> None:
    dead, alive = two_processes
    redis = Redis.from_url(redis_url)
    log = Keys(prefix).rate("cap:2:log")
    entered = asyncio.Event()

    async def hang() -> None:
        async with dead.capped("cap:2", 1, longest_flight=0.2, arrival_allowance=1,
                               window=0.1):
            entered.set()
            await asyncio.sleep(30)  # never answered

    hung = asyncio.create_task(hang())
    await entered.wait()
    ((_, reached),) = await redis.zrange(log, 0, -1, withscores=True)  # send + longest flight
    async with alive.capped("cap:2", 1, longest_flight=0.2, arrival_allowance=1, window=0.1):
        seconds, micros = await redis.time()
        # Let in only once the dead place's flight and its window are over, by Redis's clock.
        assert seconds * 1_000_000 + micros >= reached + 100_000
    hung.cancel()
    await redis.aclose()


class Looked(Exception):
    """Raised by a sleep that records the wait it was asked for instead of sleeping it."""


async def test_a_full_cap_says_how_long_to_sleep_instead_of_being_polled(
        redis_url: str, prefix: str) -> None:
    waits: list[float] = []

    async def look_once(seconds: float) -> None:
        waits.append(seconds)
        raise Looked

    redis = Redis.from_url(redis_url)
    limiter = RateLimiter(redis, Keys(prefix), sleep=look_once)
    inside = asyncio.Event()
    answer = asyncio.Event()

    async def in_flight(bucket: str, allowance: float, window: float) -> None:
        async with limiter.capped(bucket, 1, arrival_allowance=allowance, window=window):
            inside.set()
            await answer.wait()

    async def refused(bucket: str, allowance: float, window: float) -> None:
        with pytest.raises(Looked):
            async with limiter.capped(bucket, 1, arrival_allowance=allowance, window=window):
                pass

    # Answered: the place frees a window after the answer, which the log knows.
    async with limiter.capped("cap:answered", 1, window=10):
        pass
    await refused("cap:answered", 1, 10)
    # In flight and younger than the allowance: if answered now, it counts for a window.
    # In flight longer than allowance and window: it frees when answered; look again soon.
    for bucket, allowance, window in (("cap:young", 30, 10), ("cap:slow", 0, 0.000001)):
        inside.clear()
        task = asyncio.create_task(in_flight(bucket, allowance, window))
        await inside.wait()
        await refused(bucket, allowance, window)
        answer.set()
        await task
        answer.clear()
    await redis.aclose()
    assert 5 < waits[0] <= 10  # the window, less the moments since the answer
    assert waits[1:] == [10, SLOW_ANSWER_RECHECK]


async def test_senders_waiting_under_a_full_cap_take_turns(redis_url: str, prefix: str) -> None:
    waits: list[float] = []
    looked = asyncio.Event()

    async def look_and_stay(seconds: float) -> None:
        waits.append(seconds)
        looked.set()
        await asyncio.Event().wait()  # until cancelled

    redis = Redis.from_url(redis_url)
    limiter = RateLimiter(redis, Keys(prefix), sleep=look_and_stay)
    # Two places, as the limiter keeps them: one answered 5 s ago, one sent just now, in flight.
    seconds, micros = await redis.time()
    now_us = seconds * 1_000_000 + micros
    await redis.zadd(Keys(prefix).cap_log("cap:5"), {"answered": now_us - 5_000_000,
                                                     "in-flight": now_us + 60_000_000})

    async def waiter() -> None:
        async with limiter.capped("cap:5", 2, longest_flight=60, arrival_allowance=30,
                                  window=10):
            pass

    waiting: list[asyncio.Task[None]] = []
    for _ in range(3):  # one after another, so the order of their turns is known
        looked.clear()
        waiting.append(asyncio.create_task(waiter()))
        await looked.wait()
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    left = await redis.zcard(Keys(prefix).cap_waiting("cap:5"))
    await redis.aclose()
    # The first waits for the answered place (free 10 s after its answer, 5 s from now); the
    # second for the one in flight (if answered now, free in 10 s), not for the first again;
    # the third for the last place known (then it looks again).
    assert 4 < waits[0] < 6
    assert waits[1:] == [10, 10]
    assert left == 0  # cancelled waiters gave their turns up


async def test_retries_are_bounded() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientError("busy", retry_after=0.01)
        return "ok"

    assert await retry_transient(flaky, Pacing(attempts=3)) == "ok"
    calls = -10
    with pytest.raises(TransientError):
        await retry_transient(flaky, Pacing(attempts=3))
    with pytest.raises(TransientError):  # the platform asks for longer than we may wait
        await retry_transient(_wait_a_minute, Pacing(max_wait=30))


async def _wait_a_minute() -> str:
    raise TransientError("flood control", retry_after=60)


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    first, second = "a" * 60, "b" * 30
    assert split_text(f"{first}\n\n{second}", 100) == [f"{first}\n\n{second}"]
    assert split_text(f"{first}\n\n{second}", 80) == [first, second]
    assert split_text(f"{first}\n{second} {second}", 80) == [first, f"{second} {second}"]
    assert split_text("kata " * 30, 24) == ["kata kata kata kata kata"] * 6
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("  \n ", 10) == []
