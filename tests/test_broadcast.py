"""Broadcast campaigns in one process: consent, segments, import, sending, retries, report.

Real Redis, and the Telegram and WhatsApp stand-ins over loopback; the worker runs in this
event loop with short timings. tests/test_broadcast_kill.py runs real worker processes.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.app import Runtime, open_runtime
from bot.broadcast.campaigns import (
    JAKARTA,
    Campaign,
    CampaignStore,
    Message,
    QuietHours,
    tap_payload,
)
from bot.broadcast.heartbeat import sending_channels
from bot.broadcast.imports import import_contacts, whatsapp_id
from bot.broadcast.ledger import Ledger
from bot.broadcast.report import progress, write_report
from bot.broadcast.segments import Segment, preview
from bot.broadcast.worker import Worker, enqueue_campaign
from bot.channels.base import Template
from bot.channels.delivery import DeliveryStatus, DeliveryStatuses
from bot.errors import Invalid
from bot.messages import Button, IncomingMessage
from bot.nlu.model import NLU
from bot.settings import BroadcastConfig, Settings
from tests.conftest import (
    Conversation,
    MemoryBot,
    add_contact,
    now,
    publish_model,
    telegram_settings,
    whatsapp_settings,
)
from tests.standins import (
    BotApiStandIn,
    GraphApiStandIn,
)

pytestmark = pytest.mark.redis_cluster  # Redis operations: on a cluster too

FAST = BroadcastConfig(rates={"telegram": 200.0, "whatsapp": 200.0}, quiet_hours="off",
                       concurrency=8, claim_idle_seconds=0.5, refresh_seconds=0.1,
                       max_attempts=3)


@pytest.fixture
async def sender(settings: Settings, redis_url: str, model_blob: bytes, trained_model: NLU,
                 bot_api: BotApiStandIn, graph: GraphApiStandIn) -> AsyncIterator[Runtime]:
    await publish_model(redis_url, settings.sapa_key_prefix, model_blob, trained_model.fingerprint)
    both = whatsapp_settings(telegram_settings(settings, bot_api), graph)  # both at the stand-ins
    opened = await open_runtime(both, model=trained_model)
    yield opened
    await opened.close()


async def run_until_settled(sender: Runtime, campaign_id: str, *, config: BroadcastConfig = FAST,
                            clock: Callable[[], datetime] = now) -> Campaign:
    """Run one in-process worker until nothing can be sent now; the campaign as it then stands
    (done, or still running when quiet hours or a later start hold it)."""
    ctx = replace(sender.sending, config=config, clock=clock)
    async with asyncio.timeout(30) as deadline:
        await Worker(ctx, "test-worker").run(asyncio.Event(), drain=True)
    assert not deadline.expired()  # a worker that swallowed the timeout's cancellation
    return await CampaignStore(sender.redis, sender.keys).require(campaign_id)


async def test_a_worker_is_ready_once_staff_can_see_it(sender: Runtime) -> None:
    # `python -m bot worker` prints its ready line here: the heartbeat is in Redis by then.
    stop, ready = asyncio.Event(), asyncio.Event()
    working = asyncio.create_task(Worker(sender.sending, "test-worker").run(stop,
                                                                         ready=ready.set))
    await ready.wait()
    assert await sending_channels(sender.redis, sender.keys) == {"telegram", "whatsapp"}
    stop.set()
    await working


async def create(sender: Runtime, message: Message, segment: Segment | None = None,
                 quiet: QuietHours | None = None) -> Campaign:
    return await CampaignStore(sender.redis, sender.keys).create(
        "Undangan FGD", segment or Segment(), message, quiet_hours=quiet, now=now(),
        created_by="test")


def telegram_texts(bot_api: BotApiStandIn) -> dict[str, list[str]]:
    sent: dict[str, list[str]] = {}
    for call in bot_api.recorder.of("sendMessage"):
        sent.setdefault(str(call.params["chat_id"]), []).append(call.params["text"])
    return sent


# --- consent, segments, import -----------------------------------------------------------------


async def test_an_ended_campaign_is_kept_outcome_days_and_then_forgotten(
        sender: Runtime) -> None:
    t = now()
    await add_contact(sender, "telegram", "1", seen=t)
    campaign = await create(sender, Message("Halo {nama}"))
    store, keys = CampaignStore(sender.redis, sender.keys), sender.keys
    assert await store.start(campaign.id, t) == "started"
    await run_until_settled(sender, campaign.id)
    keep = FAST.outcome_days * 86400
    for key in (keys.campaign(campaign.id), keys.campaign_outcomes(campaign.id),
                keys.campaign_counts(campaign.id)):
        assert keep - 60 < await sender.redis.ttl(key) <= keep
    assert not await sender.redis.exists(keys.campaign_queue(campaign.id))
    await sender.redis.delete(keys.campaign(campaign.id))  # as its TTL would
    assert campaign.id not in [c.id for c in await store.recent()]
    assert await sender.redis.zscore(keys.campaigns_index(), campaign.id) is None


async def test_segments_filter_on_profile_fields_and_only_reach_opted_in(sender: Runtime) -> None:
    t = now()
    await add_contact(sender, "telegram", "1", seen=t, pekerjaan="ojol",
                      wilayah="Kel. Ketabang, Kec. Genteng", kabupaten="Kota Surabaya")
    await add_contact(sender, "whatsapp", "6281111", seen=t - timedelta(days=40),
                      pekerjaan="pedagang sayur", wilayah="Kec. Genteng", tags="pasar,fgd",
                      terdaftar="tidak")
    await add_contact(sender, "telegram", "2", seen=t, consent="opt_out", pekerjaan="ojol")
    await add_contact(sender, "telegram", "3", seen=t, consent=None, pekerjaan="ojol")
    await add_contact(sender, "rest", "web-user", seen=t, pekerjaan="ojol")

    async def count(segment: Segment) -> int:
        return (await preview(sender.contacts, segment, t)).total

    assert await count(Segment()) == 2  # opted in, and on a channel broadcasts can reach
    assert await count(Segment(opted_in=None)) == 4
    assert await count(Segment(pekerjaan=("OJOL",))) == 1
    assert await count(Segment(pekerjaan=("pedagang",), wilayah=("genteng",))) == 1
    assert await count(Segment(wilayah=("genteng",))) == 2
    assert await count(Segment(kabupaten=("surabaya",))) == 1
    assert await count(Segment(tags=("fgd", "lain"))) == 1
    assert await count(Segment(active_within_days=30)) == 1
    assert await count(Segment(registered=False)) == 1
    assert await count(Segment(registered=True)) == 0
    assert await count(Segment(channels=("whatsapp",))) == 1
    found = await preview(sender.contacts, Segment(), t)
    assert found.by_channel == {"telegram": 1, "whatsapp": 1}
    assert found.outside_window == 1  # the trader last wrote 40 days ago
    assert {c.user_id for c in found.sample} == {"1", "6281111"}


async def test_a_preview_over_budget_estimates_from_a_random_draw(sender: Runtime) -> None:
    t = now()
    for i in range(60):
        await add_contact(sender, "telegram", str(i), seen=t,
                          pekerjaan="ojol" if i % 2 else "nelayan")

    exact = await preview(sender.contacts, Segment(pekerjaan=("ojol",)), t)
    assert (exact.total, exact.estimated) == (30, False)
    within = await preview(sender.contacts, Segment(pekerjaan=("ojol",)), t, budget=60)
    assert (within.total, within.estimated) == (30, False)  # the registry fits: drawn whole
    everyone = await preview(sender.contacts, Segment(), t, budget=20)
    assert (everyone.total, everyone.estimated) == (60, True)  # 20 of 20 drawn match, x3
    half = await preview(sender.contacts, Segment(pekerjaan=("ojol",)), t, budget=40)
    assert half.estimated
    assert 15 <= half.total <= 45  # 1.5 x the matches among 40 of 60 (about 20)
    assert len(half.sample) == 5


async def test_campaigns_refuse_contacts_without_consent_and_oversized_messages(
        sender: Runtime) -> None:
    with pytest.raises(Invalid, match="opted in"):
        await create(sender, Message("Halo"), Segment(opted_in=None))
    with pytest.raises(Invalid, match="at most 3 buttons"):
        await create(sender, Message("Halo", tuple(Button(str(i), str(i)) for i in range(4))))
    with pytest.raises(Invalid, match="characters"):
        await create(sender, Message("x" * 1000))


async def test_csv_import_records_consent_and_never_overrides_an_opt_out(sender: Runtime) -> None:
    t = now()
    await add_contact(sender, "whatsapp", "6281200000002", seen=t, consent="opt_out",
                      pekerjaan="nelayan")
    rows = csv.DictReader(io.StringIO(
        "telepon,nama,pekerjaan,wilayah,tags,terdaftar,persetujuan,tanggal_persetujuan,sumber\n"
        "0812-0000-0001,Siti,pedagang,Kec. Genteng,pasar;FGD,tidak,ya,2026-11-01,Kader RW 05\n"
        "+62 812 0000 0002,Budi,ojol,Kec. Tegalsari,,,ya,,\n"
        "08120000003,Ani,petani,,,,tidak,,\n"
        "12345,Rudi,,,,,ya,,\n"))
    result = await import_contacts(sender.contacts, rows, t, "daftar-rw05.csv")
    assert (result.added, result.updated, result.without_consent, result.kept_opt_out) == \
        (1, 1, 1, 1)
    assert [line for line, _ in result.invalid] == [5]
    siti = await sender.contacts.get("whatsapp", "6281200000001")
    assert siti is not None
    assert siti.get("consent") == "opt_in"
    assert siti.get("consent_channel") == "import"
    assert siti.get("consent_at") == "2026-11-01T00:00:00+07:00"
    assert siti.get("consent_source") == "Kader RW 05"
    assert siti.get("tags") == "fgd,pasar"
    budi = await sender.contacts.get("whatsapp", "6281200000002")
    assert budi is not None
    assert budi.get("consent") == "opt_out"
    assert budi.get("pekerjaan") == "nelayan"
    assert budi.get("nama") == "Budi"
    assert await sender.contacts.get("whatsapp", "628120000003") is None
    assert whatsapp_id("081234567890") == "6281234567890"
    assert whatsapp_id("021555") is None


def test_quiet_hours_cross_midnight() -> None:
    quiet = QuietHours.parse("21:00-07:00")
    assert quiet is not None
    assert QuietHours.parse("off") is None
    assert quiet.holds(datetime(2026, 11, 21, 22, 0, tzinfo=JAKARTA))
    assert quiet.holds(datetime(2026, 11, 22, 6, 59, tzinfo=JAKARTA))
    assert not quiet.holds(datetime(2026, 11, 22, 7, 0, tzinfo=JAKARTA))
    assert quiet.ends_after(datetime(2026, 11, 21, 22, 0, tzinfo=JAKARTA)) == \
        datetime(2026, 11, 22, 7, 0, tzinfo=JAKARTA)
    with pytest.raises(Invalid):
        QuietHours.parse("malam")


# --- sending -----------------------------------------------------------------------------------


async def test_a_campaign_reaches_each_contact_once_personalised_and_is_reported(
        sender: Runtime, bot_api: BotApiStandIn, graph: GraphApiStandIn) -> None:
    t = now()
    await add_contact(sender, "telegram", "101", seen=t, display_name="Siti Aminah")
    await add_contact(sender, "telegram", "102", seen=t, nama="Pak Budi")
    await add_contact(sender, "telegram", "103", seen=t)  # will have blocked the bot
    await add_contact(sender, "telegram", "104", seen=t)  # opts out after the campaign starts
    await add_contact(sender, "whatsapp", "6281300000001", seen=t, nama="Bu Ani")
    await add_contact(sender, "whatsapp", "6281300000002", seen=t - timedelta(days=3),
                      nama="Mas Joko")  # outside the 24-hour window: gets the template
    await add_contact(sender, "telegram", "105", seen=t, consent="opt_out")  # never queued
    bot_api.block(103)
    message = Message("Halo {nama}, ada FGD di kelurahan besok jam 9.",
                      (Button("Saya datang", "/setuju"),),
                      Template("undangan_fgd", "id", ("{nama}", "besok jam 9")))
    campaign = await create(sender, message)
    store, ledger = CampaignStore(sender.redis, sender.keys), Ledger(sender.redis, sender.keys)
    assert await store.start(campaign.id, t) == "started"
    assert await store.start(campaign.id, t) == "running"  # starting twice starts once
    await enqueue_campaign(sender.contacts, ledger, campaign, now)  # as the worker's first job
    await sender.contacts.update("telegram", "104", {"consent": "opt_out"})

    finished = await run_until_settled(sender, campaign.id)

    assert finished.status == "done"
    texts = telegram_texts(bot_api)
    assert set(texts) == {"101", "102", "103"}
    assert all(len(v) == 1 for v in texts.values())
    assert texts["101"][0].startswith("Halo Siti Aminah, ada FGD")
    assert "Halo Pak Budi" in texts["102"][0]
    assert "stop" in texts["102"][0]
    keyboard = bot_api.recorder.of("sendMessage")[0].params["reply_markup"]
    assert keyboard["inline_keyboard"][0][0]["text"] == "Saya datang"
    wa = {c.params["to"]: c.params for c in graph.recorder.of("messages")}
    assert set(wa) == {"6281300000001", "6281300000002"}
    assert wa["6281300000001"]["type"] == "interactive"
    assert "Halo Bu Ani" in wa["6281300000001"]["interactive"]["body"]["text"]
    template = wa["6281300000002"]["template"]
    assert template["name"] == "undangan_fgd"
    assert template["components"][0]["parameters"][0]["text"] == "Mas Joko"

    p = await progress(store, ledger, campaign.id)
    assert (p.count("queued"), p.count("sent"), p.count("sent:template"), p.pending) == \
        (6, 4, 1, 0)
    assert p.skipped == {"blocked": 1, "opted_out": 1}

    # WhatsApp statuses arrive; Bu Ani reads and replies, Mas Joko opts out.
    statuses = DeliveryStatuses(sender.redis, sender.keys, "whatsapp")
    later = now() + timedelta(minutes=5)
    ids = {row: None for row in wa}
    async for batch in ledger.entries(campaign.id):
        for e in batch:
            if e.recipient.startswith("whatsapp:"):
                ids[e.recipient.split(":")[1]] = e.message_id
    await statuses.record(DeliveryStatus(ids["6281300000001"] or "", "read", later,
                                         "6281300000001"))
    await statuses.record(DeliveryStatus(ids["6281300000002"] or "", "delivered", later,
                                         "6281300000002"))
    await sender.conversations.touch(IncomingMessage("whatsapp", "6281300000001", "ya", later))
    await sender.contacts.update("whatsapp", "6281300000002",
                                 {"consent": "opt_out", "consent_at": later.isoformat()})
    out = io.StringIO()
    summary = await write_report(sender.redis, sender.keys, ledger, sender.contacts,
                                 await store.require(campaign.id), out)
    assert (summary.rows, summary.delivered, summary.read, summary.replied,
            summary.opted_out_after) == (6, 2, 1, 1, 1)
    report = {r["user_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert report["103"]["status"] == "skipped"
    assert report["103"]["reason"] == "blocked"
    assert report["6281300000002"]["via"] == "template"
    assert report["6281300000001"]["delivery"] == "read"


async def test_whatsapp_outside_the_window_without_template_is_skipped_and_counted(
        sender: Runtime, graph: GraphApiStandIn) -> None:
    await add_contact(sender, "whatsapp", "6281400000001", seen=now() - timedelta(days=2))
    campaign = await create(sender, Message("Halo {nama}"))
    await CampaignStore(sender.redis, sender.keys).start(campaign.id, now())
    await run_until_settled(sender, campaign.id)
    p = await progress(CampaignStore(sender.redis, sender.keys),
                       Ledger(sender.redis, sender.keys), campaign.id)
    assert p.skipped == {"outside_window": 1}
    assert graph.recorder.of("messages") == []


async def test_throttling_is_retried_in_the_workers_rounds(sender: Runtime,
                                                             bot_api: BotApiStandIn) -> None:
    await add_contact(sender, "telegram", "201", seen=now())
    bot_api.throttle(retry_after=1, times=2)
    campaign = await create(sender, Message("Halo"))
    await CampaignStore(sender.redis, sender.keys).start(campaign.id, now())
    await run_until_settled(sender, campaign.id)
    # One retry level: each throttled request is one round of the worker (max_attempts 3),
    # not a round of the channel's own retries.
    assert len(bot_api.recorder.of("sendMessage")) == 3  # 2 throttled, then delivered
    assert list(telegram_texts(bot_api)) == ["201"]
    counts = await Ledger(sender.redis, sender.keys).counts(campaign.id)
    assert counts["sent"] == 1
    assert counts["retries"] == 2


async def test_throttling_past_the_last_round_fails_the_recipient(
        sender: Runtime, bot_api: BotApiStandIn) -> None:
    await add_contact(sender, "telegram", "202", seen=now())
    bot_api.throttle(retry_after=1, times=3)  # as many as the rounds (max_attempts 3)
    campaign = await create(sender, Message("Halo"))
    await CampaignStore(sender.redis, sender.keys).start(campaign.id, now())
    await run_until_settled(sender, campaign.id)
    assert len(bot_api.recorder.of("sendMessage")) == 3
    counts = await Ledger(sender.redis, sender.keys).counts(campaign.id)
    assert (counts.get("sent", 0), counts["failed"], counts["retries"]) == (0, 1, 2)


async def test_a_send_left_midway_is_reported_unknown_not_resent(sender: Runtime,
                                                                 bot_api: BotApiStandIn) -> None:
    for user in ("301", "302"):
        await add_contact(sender, "telegram", user, seen=now())
    campaign = await create(sender, Message("Halo"))
    store, ledger = CampaignStore(sender.redis, sender.keys), Ledger(sender.redis, sender.keys)
    await store.start(campaign.id, now())
    # A worker that read the queue, marked 301 as sending, and died before the reply came.
    await enqueue_campaign(sender.contacts, ledger, campaign, now)
    queue = sender.keys.campaign_queue(campaign.id)
    await sender.redis.xreadgroup("workers", "dead-worker", {queue: ">"}, count=3)
    assert (await ledger.claim(campaign.id, "telegram:301", now())).kind == "go"

    await run_until_settled(sender, campaign.id)
    assert list(telegram_texts(bot_api)) == ["302"]
    p = await progress(store, ledger, campaign.id)
    assert (p.count("sent"), p.count("unknown"), p.pending) == (1, 1, 0)


async def test_pause_resume_cancel_and_scheduled_start(sender: Runtime,
                                                       bot_api: BotApiStandIn) -> None:
    for user in range(401, 406):
        await add_contact(sender, "telegram", str(user), seen=now())
    store = CampaignStore(sender.redis, sender.keys)
    campaign = await create(sender, Message("Halo"))
    await store.start(campaign.id, now(), send_at=now() + timedelta(hours=1))
    held = await run_until_settled(sender, campaign.id)  # the worker finds nothing to send now
    assert held.status == "running"
    assert bot_api.recorder.of("sendMessage") == []  # scheduled in an hour

    assert await store.pause(campaign.id) == "running"
    assert await store.resume(campaign.id) == "paused"
    assert await store.cancel(campaign.id, now()) == "running"
    assert await store.resume(campaign.id) == "cancelled"  # nothing moves a cancelled one
    assert not await sender.redis.exists(sender.keys.campaign_queue(campaign.id))
    out = io.StringIO()
    await write_report(sender.redis, sender.keys, Ledger(sender.redis, sender.keys),
                       sender.contacts, await store.require(campaign.id), out)
    assert bot_api.recorder.of("sendMessage") == []


async def test_quiet_hours_hold_sends_until_morning(sender: Runtime,
                                                    bot_api: BotApiStandIn) -> None:
    await add_contact(sender, "telegram", "501", seen=now())
    campaign = await create(sender, Message("Halo"), quiet=QuietHours.parse("21:00-07:00"))
    store = CampaignStore(sender.redis, sender.keys)
    await store.start(campaign.id, now())
    night = datetime(2026, 11, 21, 22, 30, tzinfo=JAKARTA)
    held = await run_until_settled(sender, campaign.id, clock=lambda: night)
    assert held.status == "running"
    assert bot_api.recorder.of("sendMessage") == []
    morning = datetime(2026, 11, 22, 7, 1, tzinfo=JAKARTA)
    assert (await run_until_settled(sender, campaign.id, clock=lambda: morning)).status == "done"
    assert list(telegram_texts(bot_api)) == ["501"]


# --- consent in the chat -----------------------------------------------------------------------


async def test_pendataan_ends_with_the_subscription_question(worker: Conversation,
                                                             bot: MemoryBot) -> None:
    await worker.text("saya mau ikut, tolong didata")
    for answer in ("setuju", "Siti Aminah", "pedagang sayur", "Kel. Ketabang, Kec. Genteng"):
        await worker.text(answer)
    assert "Mau menerima info" in await worker.text("081234567890")
    assert "Ketik *stop*" in await worker.text("ya")
    contact = await bot.contacts.get("rest", worker.user_id)
    assert contact is not None
    assert contact.get("nama") == "Siti Aminah"
    assert contact.get("consent") == "opt_in"
    assert contact.get("consent_channel") == "rest"


@pytest.mark.parametrize("text", ["stop", "berhenti", "unsubscribe", "/berhenti",
                                  "/berhenti_langganan"])
async def test_every_opt_out_word_opts_out_at_once(worker: Conversation, bot: MemoryBot,
                                                    text: str) -> None:
    await worker.text("/langganan")
    await worker.text("ya")
    confirm = await worker.text(text)
    assert "tidak akan menerima pesan info lagi" in confirm
    contact = await bot.contacts.get("rest", worker.user_id)
    assert contact is not None
    assert contact.get("consent") == "opt_out"


# --- campaign buttons with their own replies ---------------------------------------------------


async def test_campaign_buttons_answer_with_their_replies_and_taps_are_reported(
        sender: Runtime, bot_api: BotApiStandIn) -> None:
    t = now()
    await add_contact(sender, "telegram", "301", seen=t, nama="Bu Sri")
    await add_contact(sender, "telegram", "302", seen=t)
    await add_contact(sender, "telegram", "303", seen=t)
    message = Message("Halo {nama}, FGD Sabtu jam 9 di balai RW. Datang?",
                      (Button("Saya datang", "/setuju"), Button("Tidak bisa datang", "/tolak"),
                       Button("Menu", "/menu")),
                      answers=("Terima kasih, {nama}, kami tunggu Sabtu jam 9 di balai RW.",
                               "Baik, terima kasih kabarnya.", ""))
    campaign = await create(sender, message)
    store, ledger = CampaignStore(sender.redis, sender.keys), Ledger(sender.redis, sender.keys)
    await store.start(campaign.id, t)
    await enqueue_campaign(sender.contacts, ledger, campaign, now)
    await run_until_settled(sender, campaign.id)
    keyboard = bot_api.recorder.of("sendMessage")[0].params["reply_markup"]["inline_keyboard"]
    payloads = [row[0]["callback_data"] for row in keyboard]
    assert all(p.startswith("/kampanye:") for p in payloads)

    sri, other, third = (Conversation(sender, user, "telegram") for user in ("301", "302", "303"))
    assert await sri.text(payloads[0]) == \
        "Terima kasih, Bu Sri, kami tunggu Sabtu jam 9 di balai RW."
    assert await other.text(payloads[1]) == "Baik, terima kasih kabarnya."
    menu = await third.text(payloads[2])  # no reply of its own: its payload is read
    assert menu == sender.knowledge.current.answer("menu").text

    out = io.StringIO()
    summary = await write_report(sender.redis, sender.keys, ledger, sender.contacts,
                                 await store.require(campaign.id), out)
    assert summary.taps == {"Saya datang": 1, "Tidak bisa datang": 1, "Menu": 1}
    report = {r["user_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert report["301"]["button"] == "Saya datang"
    assert report["302"]["button"] == "Tidak bisa datang"


async def test_a_yes_or_no_button_without_a_reply_is_acknowledged_as_recorded(
        runtime: Runtime) -> None:
    # The README's example button ("Saya datang=/setuju") has no reply of its own: the tap
    # answers the campaign, not whatever the bot asked last (here: an offer of the pendataan).
    message = Message("FGD Sabtu jam 9 di balai RW. Datang?",
                      (Button("Saya datang", "/setuju"),
                       Button("Tidak bisa datang", "/tidak_setuju"),
                       Button("Cara daftar", "/cara_daftar")))
    campaign = await create(runtime, message)
    taps = [tap_payload(campaign.id, i) for i in range(3)]
    worker = Conversation(runtime, "w-rsvp", "rest")
    await worker.text("daftar dong")  # ends with "Mau dibantu petugas?"
    came = await worker.text(taps[0])
    assert "Saya datang" in came
    assert "kami catat" in came
    assert "Setuju?" not in came  # the pendataan was not started by the tap
    declined = await worker.text(taps[1])
    assert "Tidak bisa datang" in declined
    assert "kami catat" in declined
    how = await worker.text(taps[2])  # a question for the bot is still answered as one
    assert "kami catat" not in how
    assert "KTP" in how


async def test_a_tap_on_an_unknown_campaign_says_the_button_is_old(runtime: Runtime) -> None:
    worker = Conversation(runtime, "309", "telegram")
    assert await worker.text("/kampanye:nope:0") == \
        runtime.knowledge.current.answer("kampanye_tombol_lama").text
