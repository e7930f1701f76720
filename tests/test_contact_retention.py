"""A contact who gave data is kept `profile_ttl_days` after their last message or import, by the
daily sweep rather than a TTL on each profile; an anonymous sender keeps the short TTL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.app import Runtime
from bot.broadcast.imports import import_contacts
from bot.contacts import RedisContactStore
from bot.dialogue.state import RedisConversations
from bot.keys import CONTACT_SWEEP_EVERY, Keys
from bot.messages import IncomingMessage
from bot.settings import Settings
from tests.conftest import TODAY, now, spawn_bot

pytestmark = pytest.mark.redis_cluster  # SCAN over every master: on a cluster too

RETENTION_DAYS = 365


def days(n: int) -> timedelta:
    return timedelta(days=n)


class Contacts:
    """The contact store and the conversations that touch it, on this test's keys."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.store = RedisContactStore(redis, self.keys, RETENTION_DAYS * 86400)
        self.conversations = RedisConversations(redis, self.keys, state_ttl_seconds=3600,
                                                anonymous_ttl_seconds=3600)

    async def say(self, channel: str, user_id: str, day: int) -> None:
        await self.conversations.touch(IncomingMessage(channel, user_id, "halo",
                                                       TODAY + days(day)))

    async def ttl(self, channel: str, user_id: str) -> int:
        return int(await self.redis.ttl(self.keys.profile(channel, user_id)))

    async def indexed(self, user_id: str) -> bool:
        shard = self.keys.contacts_shard("whatsapp", user_id)
        assert shard is not None
        return bool(await self.redis.sismember(shard, user_id))  # type: ignore[misc]


@pytest.fixture
def contacts(redis: Redis, prefix: str) -> Contacts:
    return Contacts(redis, prefix)


async def test_an_imported_contact_goes_a_retention_after_the_import_or_their_last_message(
        contacts: Contacts) -> None:
    rows = [{"telepon": "081230000001", "persetujuan": "ya", "nama": "Ani"},
            {"telepon": "081230000002", "persetujuan": "ya"}]
    await import_contacts(contacts.store, rows, TODAY, "kader RW 05")
    assert await contacts.ttl("whatsapp", "6281230000001") == -1
    await contacts.say("whatsapp", "6281230000002", 200)

    assert await contacts.store.sweep(TODAY + days(RETENTION_DAYS - 1)) == 0
    assert await contacts.store.sweep(TODAY + days(RETENTION_DAYS + 1)) == 1
    assert await contacts.store.get("whatsapp", "6281230000001") is None
    assert not await contacts.indexed("6281230000001")
    kept = await contacts.store.get("whatsapp", "6281230000002")
    assert kept is not None
    assert kept.consent is not None
    assert await contacts.indexed("6281230000002")

    assert await contacts.store.sweep(TODAY + days(200 + RETENTION_DAYS + 1), batch=1) == 1
    assert not await contacts.indexed("6281230000002")


async def test_an_import_again_restarts_the_retention(contacts: Contacts) -> None:
    row = {"telepon": "081230000003", "persetujuan": "ya"}
    await import_contacts(contacts.store, [row], TODAY, "kader")
    await import_contacts(contacts.store, [row], TODAY + days(100), "kader")
    assert await contacts.store.sweep(TODAY + days(RETENTION_DAYS + 1)) == 0
    assert await contacts.store.sweep(TODAY + days(100 + RETENTION_DAYS + 1)) == 1


async def test_a_worker_who_gave_data_in_the_chat_is_swept_on_any_channel(
        contacts: Contacts) -> None:
    for channel, user in (("rest", "pemberi"), ("telegram", "5001")):
        await contacts.say(channel, user, 0)
        await contacts.store.update(channel, user, {"consent": "opt_in"})
        assert await contacts.ttl(channel, user) == -1
    assert await contacts.store.sweep(TODAY + days(RETENTION_DAYS + 1)) == 2
    assert await contacts.store.get("rest", "pemberi") is None
    assert await contacts.store.draw(10) == (0, [])


async def test_an_anonymous_sender_keeps_the_short_ttl_and_the_sweep_leaves_them(
        contacts: Contacts) -> None:
    await contacts.say("whatsapp", "628555", 0)
    assert 0 < await contacts.ttl("whatsapp", "628555") <= 3600
    assert await contacts.store.sweep(TODAY + days(1)) == 0
    assert await contacts.store.get("whatsapp", "628555") is not None
    assert 0 < await contacts.ttl("whatsapp", "628555") <= 3600  # its own TTL, not a retention


async def test_a_profile_an_older_release_gave_a_ttl_keeps_it_until_the_worker_writes(
        contacts: Contacts) -> None:
    key = contacts.keys.profile("whatsapp", "628666")
    await contacts.store.update("whatsapp", "628666", {"nama": "Budi"})
    await contacts.redis.expire(key, 1000)  # as an older release left it
    assert await contacts.store.sweep(TODAY + days(10 * RETENTION_DAYS)) == 0
    assert 0 < await contacts.ttl("whatsapp", "628666") <= 1000
    await contacts.say("whatsapp", "628666", 0)  # the next message: the sweep keeps it now
    assert await contacts.ttl("whatsapp", "628666") == -1


async def test_an_older_release_s_longer_ttl_does_not_outlive_a_shorter_retention(
        contacts: Contacts) -> None:
    await contacts.say("whatsapp", "628668", 0)
    await contacts.store.update("whatsapp", "628668", {"nama": "Sri"})
    await contacts.redis.expire(contacts.keys.profile("whatsapp", "628668"), 400 * 86400)
    assert await contacts.store.sweep(TODAY + days(RETENTION_DAYS - 1)) == 0
    assert await contacts.store.sweep(TODAY + days(RETENTION_DAYS + 1)) == 1
    assert not await contacts.indexed("628668")


async def test_a_prefix_with_glob_characters_sweeps_its_own_profiles_only(
        redis: Redis, prefix: str) -> None:
    mine, look_alike = Contacts(redis, f"{prefix}[x]"), Contacts(redis, f"{prefix}x")
    for contacts in (mine, look_alike):
        await contacts.say("whatsapp", "628669", 0)
        await contacts.store.update("whatsapp", "628669", {"nama": "Tono"})
    assert await mine.store.sweep(TODAY + days(RETENTION_DAYS + 1)) == 1
    assert await mine.store.get("whatsapp", "628669") is None
    assert await look_alike.store.get("whatsapp", "628669") is not None


async def test_a_profile_with_data_and_no_time_gets_the_retention_as_a_ttl(
        contacts: Contacts) -> None:
    await contacts.store.update("whatsapp", "628777", {"pekerjaan": "ojol"})
    assert await contacts.store.sweep(TODAY) == 0
    assert RETENTION_DAYS * 86400 - 60 < await contacts.ttl("whatsapp", "628777") \
        <= RETENTION_DAYS * 86400


async def test_one_process_takes_the_daily_sweep(contacts: Contacts, redis: Redis) -> None:
    await import_contacts(contacts.store, [{"telepon": "081230000009", "persetujuan": "ya"}],
                          TODAY, "kader")
    later = TODAY + days(RETENTION_DAYS + 1)
    other = RedisContactStore(redis, contacts.keys, RETENTION_DAYS * 86400)
    assert await contacts.store.sweep_when_due(later) == 1
    assert await other.sweep_when_due(later) is None
    assert 0 < await redis.ttl(contacts.keys.contacts_sweep()) <= CONTACT_SWEEP_EVERY


class FailingSweep(RedisContactStore):
    """A process whose sweep breaks off (a failover under it)."""

    async def sweep(self, now: datetime, batch: int = 1000) -> int:
        raise ConnectionError("the master went away")


async def test_a_sweep_that_fails_gives_the_turn_back(contacts: Contacts, redis: Redis) -> None:
    failing = FailingSweep(redis, contacts.keys, RETENTION_DAYS * 86400)
    with pytest.raises(ConnectionError):
        await failing.sweep_when_due(TODAY)
    assert await contacts.store.sweep_when_due(TODAY) == 0


async def test_contacts_sweep_deletes_the_idle_now(runtime: Runtime, settings: Settings) -> None:
    today, retention = now(), runtime.config.dialogue.profile_ttl_days  # the CLI's: real ones
    await import_contacts(runtime.contacts, [{"telepon": "081230000010", "persetujuan": "ya"}],
                          today - days(retention + 30), "kader")
    await import_contacts(runtime.contacts, [{"telepon": "081230000011", "persetujuan": "ya"}],
                          today - days(retention - 1), "kader")
    process = await spawn_bot(settings, "contacts", "sweep",
                              stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith("1 contacts deleted")
    assert await runtime.contacts.get("whatsapp", "6281230000010") is None
    assert await runtime.contacts.get("whatsapp", "6281230000011") is not None
