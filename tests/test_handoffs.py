"""Handing a conversation to staff: the offer, the queue, silence while held, the way back.

The engine and the desk run on real Redis (the runtime fixture); the worker's channel is an
in-memory `OutboundChannel` that records what it was asked to send, since these tests are about
the handoff, not the wire (tests/test_admin_e2e.py drives the real Telegram path).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from bot.app import JAKARTA, Runtime
from bot.broadcast.campaigns import CampaignStore, Message, tap_payload
from bot.broadcast.segments import Segment
from bot.channels.base import Template
from bot.errors import Conflict, RecipientError
from bot.handoffs import Handoffs, next_opening, when_answered
from bot.knowledge.base import KnowledgeBase
from bot.messages import Button, Reply
from bot.settings import OfficeHours
from tests.conftest import TODAY, Conversation, MemoryBot

HOURS = OfficeHours(days=[1, 2, 3, 4, 5], open="08:00", close="16:00")


class Outbox:
    """An outbound channel that keeps what it sends; `outside_window` acts like WhatsApp's."""

    def __init__(self, name: str, *, outside_window: bool = False) -> None:
        self.name = name
        self.sent: list[tuple[str, str]] = []
        self.templates: list[tuple[str, Template]] = []
        self.outside_window = outside_window

    async def send(self, user_id: str, replies: Sequence[Reply]) -> list[str]:
        if self.outside_window:
            raise RecipientError("outside", "outside_window")
        self.sent += [(user_id, r.text) for r in replies]
        return [str(len(self.sent))]

    async def send_template(self, user_id: str, template: Template) -> str:
        self.templates.append((user_id, template))
        return "t1"


@pytest.fixture
def outbox(runtime: Runtime) -> Outbox:
    box = Outbox("telegram")
    runtime.handoffs.outbound = lambda: {"telegram": box}
    return box


async def handed_off(rt: Runtime, user: str = "5551") -> tuple[Conversation, str]:
    worker = Conversation(rt, user, "telegram")
    offer = await worker.say("mau bicara dengan petugas")
    assert [b.payload for b in offer[-1].buttons] == ["/setuju", "/tidak_setuju"]
    queued = await worker.text("/setuju")
    assert "diteruskan ke petugas" in queued
    contact = await rt.contacts.get("telegram", user)
    assert contact is not None
    handoff_id = contact.get("handoff")
    assert handoff_id
    return worker, handoff_id


def test_office_hours_say_honestly_when_staff_answer() -> None:
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=JAKARTA)
    assert next_opening(saturday, HOURS) == datetime(2026, 11, 23, 8, 0, tzinfo=JAKARTA)
    assert "hari Senin mulai pukul 08.00 WIB" in when_answered(saturday, HOURS)
    monday_early = datetime(2026, 11, 23, 6, 30, tzinfo=JAKARTA)
    assert "hari ini mulai pukul 08.00" in when_answered(monday_early, HOURS)
    monday_late = datetime(2026, 11, 23, 16, 0, tzinfo=JAKARTA)
    assert "besok mulai pukul 08.00" in when_answered(monday_late, HOURS)
    tuesday_noon = datetime(2026, 11, 24, 12, 0, tzinfo=JAKARTA)
    assert next_opening(tuesday_noon, HOURS) is None
    assert "sedang bertugas (Senin–Jumat 08.00–16.00 WIB)" in when_answered(tuesday_noon, HOURS)


async def test_a_worker_is_queued_and_the_bot_stays_silent_until_staff_close(
        runtime: Runtime, outbox: Outbox) -> None:
    worker, handoff_id = await handed_off(runtime)
    desk = runtime.handoffs
    # 21 November 2026 is a Saturday: the worker is told the office reopens on Monday.
    handoff, messages = await desk.detail(handoff_id)
    assert handoff.status == "open"
    assert handoff.branch == "Kantor Wilayah Jawa Timur"  # no area given: the default queue
    assert [m.who for m in messages] == ["pekerja", "bot", "pekerja"]  # the conversation so far
    assert await desk.waiting() == 1

    # Silent while held: only the NIK warning, which protects the worker whoever answers.
    warned = await worker.say("klaim jht saya belum cair, NIK 3578012345678901")
    assert warned == [runtime.knowledge.current.reply("nik_peringatan")]
    assert await worker.say("iuran ojol berapa?") == []
    _, messages = await desk.detail(handoff_id)
    assert "3578012345678901" not in " ".join(m.text for m in messages)
    assert messages[-1].text == "iuran ojol berapa?"

    await desk.take("budi", handoff_id)
    assert await desk.waiting() == 0
    await desk.reply("budi", handoff_id, "Halo, saya Budi dari kantor cabang.")
    assert outbox.sent == [("5551", "Halo, saya Budi dari kantor cabang.")]
    with pytest.raises(Conflict, match="ditangani budi"):
        await desk.reply("ani", handoff_id, "Saya juga")
    assert await worker.say("terima kasih pak") == []

    await desk.close("budi", handoff_id)
    assert "sudah selesai" in outbox.sent[-1][1]
    assert "Rp" in await worker.text("iuran ojol berapa?")  # the bot answers again
    with pytest.raises(Conflict, match="sudah selesai"):
        await desk.close("budi", handoff_id)
    actions = [e.action for e in await runtime.handoffs._audit.recent()]
    assert actions[:4] == ["percakapan.tutup", "percakapan.balas", "percakapan.ambil",
                           "percakapan.baru"]


async def test_opt_out_and_erasure_still_work_while_staff_hold_it(
        runtime: Runtime, outbox: Outbox) -> None:
    worker, handoff_id = await handed_off(runtime)
    assert await worker.say("stop") != []  # the opt-out is answered
    _, messages = await runtime.handoffs.detail(handoff_id)
    assert messages[-1].who == "sistem"
    assert await worker.say("hapus data saya") != []
    assert await runtime.handoffs.store.get(handoff_id) is None
    assert await runtime.contacts.get("telegram", "5551") is None


async def test_a_campaign_button_tapped_while_held_is_recorded_and_not_answered(
        runtime: Runtime, outbox: Outbox) -> None:
    store = CampaignStore(runtime.redis, runtime.keys)
    campaign = await store.create(
        "Undangan FGD", Segment(), Message(
            "FGD Sabtu jam 9. Datang?", (Button("Saya datang", "/setuju"),
                                         Button("Menu", "/menu"), Button("Stop", "/berhenti")),
            answers=("Terima kasih, kami tunggu Sabtu.", "", "")),
        quiet_hours=None, now=TODAY, created_by="test")
    before = Conversation(runtime, "5551", "telegram")
    assert await before.say(tap_payload(campaign.id, 1)) != []  # answered: nobody holds it yet
    worker, handoff_id = await handed_off(runtime)
    _, so_far = await runtime.handoffs.detail(handoff_id)
    assert so_far[0].text == "(menekan tombol kampanye: Menu)"  # staff read the tap, not a code
    # a button with its own reply, and one read as its payload: both reach staff, neither is
    # answered by the bot
    assert await worker.say(tap_payload(campaign.id, 0)) == []
    assert await worker.say(tap_payload(campaign.id, 1)) == []
    assert await worker.say("/kampanye:gone:0") == []  # a deleted campaign's button too
    _, messages = await runtime.handoffs.detail(handoff_id)
    assert [m.text for m in messages[-3:]] == [
        "(menekan tombol kampanye: Saya datang)", "(menekan tombol kampanye: Menu)",
        "(menekan tombol kampanye lama)"]
    taps = await runtime.redis.hgetall(runtime.keys.campaign_taps(campaign.id))
    assert taps == {"telegram:5551": "Menu"}  # recorded for the report (the latest tap)
    # an opt-out button is still answered, as typing "stop" is
    assert await worker.say(tap_payload(campaign.id, 2)) != []
    contact = await runtime.contacts.get("telegram", "5551")
    assert contact is not None
    assert contact.get("consent") == "opt_out"
    assert outbox.sent == []


async def test_staff_see_their_branch_s_queue(runtime: Runtime, outbox: Outbox) -> None:
    await runtime.contacts.update("telegram", "5552", {"kabupaten": "Malang"})
    _, in_malang = await handed_off(runtime, "5552")
    _, elsewhere = await handed_off(runtime, "5553")  # no area: the default queue
    desk = runtime.handoffs
    assert [h.id for h in await desk.listing("open", "Kantor Cabang Malang")] == [in_malang]
    assert [h.id for h in await desk.listing("open", "kantor cabang malang")] == [in_malang]
    assert [h.id for h in await desk.listing("open", desk.config.default_branch)] == [elsewhere]
    assert [h.id for h in await desk.listing("open")] == [elsewhere, in_malang]
    assert await desk.listing("taken", "Kantor Cabang Malang") == []
    assert "Kantor Cabang Malang" in desk.branches()
    assert desk.branches()[-1] == desk.config.default_branch


async def test_an_idle_handoff_returns_to_the_bot_and_the_worker_is_told(
        runtime: Runtime, outbox: Outbox) -> None:
    worker, handoff_id = await handed_off(runtime)
    desk = runtime.handoffs
    later = TODAY + timedelta(minutes=desk.config.idle_minutes + 1)
    sweeper = Handoffs(desk.store, runtime.contacts, desk._audit, desk.config,
                       lambda: later, lambda: runtime.knowledge.current)
    sweeper.outbound = desk.outbound
    assert await Handoffs(desk.store, runtime.contacts, desk._audit,
                          desk.config, lambda: TODAY, lambda: runtime.knowledge.current
                          ).sweep() == 0
    assert await sweeper.sweep() == 1
    assert "percakapan dengan petugas kami tutup" in outbox.sent[-1][1]
    assert (await desk.detail(handoff_id))[0].closed_by == "sistem"
    assert "Rp" in await worker.text("iuran ojol berapa?")


async def test_whatsapp_outside_the_window_needs_the_template(runtime: Runtime) -> None:
    box = Outbox("whatsapp", outside_window=True)
    runtime.handoffs.outbound = lambda: {"whatsapp": box}
    worker = Conversation(runtime, "628123", "whatsapp")
    await worker.say("petugas")
    await worker.say("/setuju")
    contact = await runtime.contacts.get("whatsapp", "628123")
    assert contact is not None
    handoff_id = str(contact.get("handoff"))
    with pytest.raises(Conflict, match="templat"):
        await runtime.handoffs.reply("budi", handoff_id, "Halo")
    runtime.handoffs.config = runtime.handoffs.config.model_copy(
        update={"whatsapp_template": "balasan_petugas"})
    await runtime.handoffs.reply("budi", handoff_id, "Halo")
    assert box.templates == [("628123", Template("balasan_petugas", "id", ("Halo",)))]


async def test_the_area_named_in_the_conversation_picks_the_branch(
        runtime: Runtime, outbox: Outbox) -> None:
    worker = Conversation(runtime, "5554", "telegram")
    assert "Rp" in await worker.text("aku tukang ojek nang Blitar, iurane piro")
    _, handoff_id = await handed_off(runtime, "5554")  # no profile: said in the conversation
    handoff, _ = await runtime.handoffs.detail(handoff_id)
    assert handoff.branch == "Kantor Cabang Blitar"


async def test_rest_offers_the_pendataan_instead(worker: Conversation,
                                                 seed_kb: KnowledgeBase) -> None:
    answer = await worker.say("mau bicara dengan petugas")
    assert answer[-1].text == seed_kb.reply("minta_petugas").text
    assert "/minta_didata" in [b.payload for b in answer[-1].buttons]  # leave data instead


async def test_two_failed_answers_in_a_row_bring_the_offer(bot: MemoryBot) -> None:
    telegram = Conversation(bot, "777", "telegram")
    first = await telegram.say("qwerty zxcv asdf")
    assert "Mau saya sambungkan" not in "\n".join(r.text for r in first)
    second = await telegram.text("zzkq wvvx")
    assert "Mau saya sambungkan dengan petugas" in second
    rest = Conversation(bot, "778", "rest")
    await rest.say("qwerty zxcv asdf")
    assert "Tinggalkan nama dan nomor HP" in await rest.text("zzkq wvvx")


async def test_an_answer_flagged_perlu_petugas_offers_a_person(
        bot: MemoryBot, seed_kb: KnowledgeBase) -> None:
    flagged = [a for a in seed_kb.document.answers if a.perlu_petugas and a.is_faq]
    assert flagged
    telegram = Conversation(bot, "779", "telegram")
    answer = await telegram.text(flagged[0].questions[0])
    assert flagged[0].text[:30] in answer
    assert "Mau saya sambungkan dengan petugas" in answer
