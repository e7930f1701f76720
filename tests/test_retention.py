"""Retention probes: anonymous senders leave with their conversation; the inbox is capped by
age and size and opens one page at a time however long it is."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from bot.admin.inbox import UnansweredStore
from bot.app import Runtime
from bot.broadcast.heartbeat import beat, sending_channels
from bot.channels.delivery import DeliveryStatus, DeliveryStatuses
from bot.handoffs import Handoff, HandoffStore
from bot.keys import DELIVERY_STATUS_TTL, WORKER_SEEN_SECONDS
from tests.conftest import TODAY, Conversation


async def test_a_sender_who_gave_nothing_expires_with_the_conversation(
        runtime: Runtime) -> None:
    await Conversation(runtime, "idle").say("halo")
    key = runtime.keys.profile("rest", "idle")
    ttl = await runtime.redis.ttl(key)
    assert 0 < ttl <= runtime.config.dialogue.anonymous_profile_ttl_minutes * 60


async def test_a_sender_who_gave_data_is_kept(runtime: Runtime) -> None:
    worker = Conversation(runtime, "giver")
    for text in ("mau didata", "setuju", "Budi Santoso", "ojol", "Kel. Ketabang, Kec. Genteng",
                 "081234567890"):
        await worker.say(text)
    key = runtime.keys.profile("rest", "giver")
    assert await runtime.redis.ttl(key) == -1  # the contacts sweep keeps it while active
    await worker.say("halo")
    assert await runtime.redis.ttl(key) == -1
    retention = timedelta(days=runtime.config.dialogue.profile_ttl_days)
    assert await runtime.contacts.sweep(TODAY + retention - timedelta(days=1)) == 0
    assert await runtime.contacts.sweep(TODAY + retention + timedelta(days=1)) == 1
    assert not await runtime.redis.exists(key)


async def test_inbox_drops_entries_older_than_the_age_cap(runtime: Runtime) -> None:
    stream = runtime.keys.fallbacks()
    old = TODAY - timedelta(days=runtime.config.inbox.max_age_days + 1)
    await runtime.redis.xadd(stream, {"text": "lama sekali", "channel": "rest"},
                             id=f"{int(old.timestamp() * 1000)}-0")
    await Conversation(runtime, "x").say("zzq qwx vbnm")
    texts = [fields["text"] for _, fields in await runtime.redis.xrange(stream)]
    assert texts == ["zzq qwx vbnm"]


async def test_inbox_pages_cover_every_entry_once(runtime: Runtime) -> None:
    stream = runtime.keys.fallbacks()
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for i in range(1050):
            pipe.xadd(stream, {"text": f"pesan {i}", "channel": "rest", "at": "", "intent": ""})
        await pipe.execute()
    inbox = UnansweredStore(runtime.redis, runtime.keys, window=300)
    seen: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        page, before = await inbox.recent(before)
        seen += [m.text for m in page]
        pages += 1
        if before is None:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) == 1050
    assert seen[0] == "pesan 1049"


async def test_only_senders_who_gave_data_enter_the_contacts_index(runtime: Runtime) -> None:
    def indexed(user_id: str) -> Any:
        shard = runtime.keys.contacts_shard("telegram", user_id)
        assert shard is not None
        return runtime.redis.sismember(shard, user_id)

    await Conversation(runtime, "501", channel="telegram").say("halo")
    assert not await indexed("501")
    giver = Conversation(runtime, "502", channel="telegram")
    for text in ("mau didata", "setuju", "Budi Santoso", "ojol", "Kel. Ketabang, Kec. Genteng",
                 "081234567890"):
        await giver.say(text)
    assert await indexed("502")
    size, drawn = await runtime.contacts.draw(10)
    assert (size, [c.user_id for c in drawn]) == (1, ["502"])


async def test_a_channel_no_broadcast_reaches_is_not_indexed(runtime: Runtime) -> None:
    await runtime.contacts.update("rest", "pemberi", {"consent": "opt_in"})
    assert runtime.keys.contacts_shard("rest", "pemberi") is None
    assert await runtime.contacts.draw(10) == (0, [])


async def test_a_contact_who_gives_data_while_a_scan_drops_them_stays_indexed(
        runtime: Runtime) -> None:
    """A reader saw no profile (expired), then the worker gave data before the removal."""
    await runtime.contacts.update("whatsapp", "628555", {"consent": "opt_in"})
    await runtime.contacts.forget_stale(["whatsapp:628555"], [None])
    shard = runtime.keys.contacts_shard("whatsapp", "628555")
    assert shard is not None
    assert await runtime.redis.sismember(shard, "628555")  # type: ignore[misc]
    await runtime.redis.delete(runtime.keys.profile("whatsapp", "628555"))
    await runtime.contacts.forget_stale(["whatsapp:628555"], [None])
    assert not await runtime.redis.sismember(shard, "628555")  # type: ignore[misc]


async def test_closed_handoffs_leave_their_index_once_expired(runtime: Runtime) -> None:
    store = HandoffStore(runtime.redis, runtime.keys)
    ids = []
    for user in ("701", "702"):
        handoff = await store.create(Handoff("", "telegram", user, "", "", "", "open", "", ""),
                                     [])
        ids.append(handoff.id)
    assert await store.move(ids[0], ("open",), "closed", {}) == "open"
    assert await store.ids("closed") == [ids[0]]
    # The first one's keep time has passed; the next close notices.
    await runtime.redis.delete(runtime.keys.handoff(ids[0]),
                               runtime.keys.handoff_messages(ids[0]))
    await store.move(ids[1], ("open",), "closed", {})
    assert await store.ids("closed") == [ids[1]]


async def test_workers_gone_long_ago_leave_the_heartbeat_keys(runtime: Runtime) -> None:
    seen, sends = runtime.keys.workers_seen(), runtime.keys.workers_channels()
    await beat(runtime.redis, runtime.keys, "old-worker", ["telegram"])
    await runtime.redis.zadd(seen, {"old-worker": time.time() - 11 * WORKER_SEEN_SECONDS})
    await beat(runtime.redis, runtime.keys, "new-worker", ["whatsapp"])
    assert await runtime.redis.zrange(seen, 0, -1) == ["new-worker"]
    assert await runtime.redis.hgetall(sends) == {"new-worker": "whatsapp"}  # type: ignore[misc]
    assert await sending_channels(runtime.redis, runtime.keys) == {"whatsapp"}


async def test_a_contact_s_inbox_index_drops_entries_the_inbox_aged_out(
        runtime: Runtime) -> None:
    index = runtime.keys.contact_inbox("rest", "x")
    old = TODAY - timedelta(days=runtime.config.inbox.max_age_days + 1)
    await runtime.redis.sadd(index, f"{int(old.timestamp() * 1000)}-0")  # type: ignore[misc]
    await Conversation(runtime, "x").say("zzq qwx vbnm")
    kept = await runtime.redis.smembers(index)  # type: ignore[misc]
    entries = [entry_id for entry_id, _ in await runtime.redis.xrange(runtime.keys.fallbacks())]
    assert kept == set(entries)
    assert len(entries) == 1


async def test_a_contact_s_delivery_index_drops_ids_whose_status_expired(
        runtime: Runtime) -> None:
    statuses = DeliveryStatuses(runtime.redis, runtime.keys, "whatsapp")
    index = runtime.keys.contact_deliveries("whatsapp", "628111")
    # An index an earlier release kept as a plain set, with one id whose status is long gone.
    await runtime.redis.sadd(index, "wamid.from-last-release")
    await statuses.record(DeliveryStatus("wamid.1", "sent", TODAY, "628111"))
    assert set(await runtime.redis.zrange(index, 0, -1)) == {"wamid.from-last-release",
                                                             "wamid.1"}
    # Scored by when the status last moved: one that moved a TTL ago has expired with its hash.
    now, _ = await runtime.redis.time()
    await runtime.redis.zadd(index, {"wamid.from-last-release": now - DELIVERY_STATUS_TTL - 1})
    await statuses.record(DeliveryStatus("wamid.2", "sent", TODAY, "628111"))
    assert set(await runtime.redis.zrange(index, 0, -1)) == {"wamid.1", "wamid.2"}
    assert 0 < await runtime.redis.ttl(index) <= DELIVERY_STATUS_TTL
    await runtime.eraser.erase("whatsapp", "628111")
    assert not await runtime.redis.exists(index, runtime.keys.delivery_status("whatsapp",
                                                                              "wamid.1"))


async def test_erasure_reads_a_delivery_index_kept_as_a_set(runtime: Runtime) -> None:
    statuses = DeliveryStatuses(runtime.redis, runtime.keys, "whatsapp")
    await statuses.record(DeliveryStatus("wamid.9", "sent", TODAY, "628222"))
    index = runtime.keys.contact_deliveries("whatsapp", "628222")
    await runtime.redis.delete(index)
    await runtime.redis.sadd(index, "wamid.9")  # as the release before kept it
    await runtime.eraser.erase("whatsapp", "628222")
    assert not await runtime.redis.exists(index, runtime.keys.delivery_status("whatsapp",
                                                                              "wamid.9"))
