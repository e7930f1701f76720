"""Hostile probes on personal data: NIK shapes, the inbox, and "hapus data saya" end to end.

The erasure test runs the WhatsApp path (the hardest: the confirmation must leave inside the
24-hour window read from the profile it erases) and then scans every key and value under the
test's prefix for the person's ids, name and phone.
"""

from __future__ import annotations

import re

import httpx
import pytest

from bot.admin.leads import Leads
from bot.app import Runtime
from bot.broadcast.ledger import Ledger
from bot.erasure import tombstone
from bot.messages import IncomingMessage
from bot.nlu.entities import NIK_MASK, has_nik, mask_nik, mask_personal
from tests.conftest import (
    TODAY,
    WA_ID,
    Conversation,
    everything_stored,
    notification,
    whatsapp_post,
)
from tests.standins import GraphApiStandIn, LocalServer

DIGITS = "3578012345670001"
NIK_SHAPES = [
    DIGITS, "3578 0123 4567 0001", "3578.0123.4567.0001", "3578-0123-4567-0001",
    "3578/0123/4567/0001", "3578_0123_4567_0001", "3578\t0123\t4567\t0001",
    "3578\n0123\n4567\n0001", "3578–0123–4567–0001", "3578—0123—4567—0001",
    "3578\u200b0123\u200b4567\u200b0001", "3\u200c5\u200d7\ufeff8012345670001",
    "(3578) 0123 4567 0001", "[3578]-[0123]-[4567]-[0001]", "3578 / 0123-4567.0001",
    "３５７８０１２３４５６７０００１", "３５７８ ０１２３ ４５６７ ０００１",
    "35 78 01 23 45 67 00 01",
    "3 5 7 8 0 1 2 3 4 5 6 7 0 0 0 1", "357801 234567 0001", "35.78.01.234567.0001",
    "nik: 3578-0123 4567/0001 ya", "umur 45 3578 0123 4567 0001", "3578,0123,4567,0001",
    "3578 ‐ 0123 ‐ 4567 ‐ 0001", "3578\u00a00123\u00a04567\u00a00001", "3578*0123*4567*0001",
]
NOT_NIK = ["gaji rp 20000000000000000000", "iuran 16.800 x 12 = 201.600", "0812-3456-7890",
           "gaji 2.000.000 anak 3", "1" * 400, "halo", "umur 45 tahun, 3 anak",
           "+62 812 3456 7890"]


@pytest.mark.parametrize("text", NIK_SHAPES)
def test_every_nik_shape_is_found_and_masked(text: str) -> None:
    assert has_nik(text)
    masked = mask_nik(text)
    assert NIK_MASK + "0001" in masked
    assert not has_nik(masked)
    assert "0123" not in masked
    assert "３５" not in masked


@pytest.mark.parametrize("text", NOT_NIK)
def test_amounts_and_phones_are_not_niks(text: str) -> None:
    assert not has_nik(text)
    assert mask_nik(text) == text


@pytest.mark.parametrize(("text", "hidden"), [
    ("nama saya Budi Santoso, hp 0812-3456-7890", ("Budi", "Santoso", "3456")),
    ("namaku siti aminah", ("siti", "aminah")), ("wa saya +62 812 3456 7890", ("3456",)),
    ("Nama: Joko Widodo, 081234567890", ("Joko", "1234567890"))])
def test_inbox_text_hides_phones_and_names(text: str, hidden: tuple[str, ...]) -> None:
    masked = mask_personal(text)
    assert not any(part in masked for part in hidden)


@pytest.mark.parametrize("text", NIK_SHAPES)
async def test_no_nik_shape_is_stored_anywhere(runtime: Runtime, redis_url: str, prefix: str,
                                               text: str) -> None:
    worker = Conversation(runtime, "nikprobe")
    replies = await worker.say(f"zzq qwx {text}")  # not understood: it reaches the inbox
    assert "jangan kirim NIK" in replies[0].text
    stored = everything_stored(redis_url, prefix)
    digits = re.sub(r"\D", "", stored)
    assert "35780123" not in digits
    assert "01234567" not in digits
    assert "0123" not in stored


@pytest.mark.parametrize("slot_answers", [
    ("Budi Santoso", "3578/0123/4567/0001", "ojol"),
    ("Budi Santoso", "ojol", "(3578) 0123\u200b4567 0001")])
async def test_a_nik_typed_into_the_pendataan_is_refused_not_kept(
        runtime: Runtime, slot_answers: tuple[str, str, str]) -> None:
    worker = Conversation(runtime, "pendataan-nik")
    await worker.say("saya mau didata")
    await worker.say("setuju")
    texts = [await worker.text(answer) for answer in slot_answers]
    assert any("belum bisa mencatat" in t for t in texts)
    state = await runtime.conversations.load("rest", "pendataan-nik")
    assert not any(NIK_MASK in str(v) or "0123" in str(v) for v in state.slots.values())
    assert all("0123" not in t and NIK_MASK not in t.split("NIK")[-1] for t in texts[-1:])


async def test_inbox_masks_phones_and_names_without_consent(runtime: Runtime) -> None:
    await Conversation(runtime, "anon").say("zzq nama saya Sulastri wa 0812 3456 7890 qwx")
    entries = await runtime.redis.xrange(runtime.keys.fallbacks())
    (text,) = [fields["text"] for _, fields in entries]
    assert "Sulastri" not in text
    assert "3456" not in text
    assert "[nama]" in text
    assert "[nomor HP]" in text


async def sent_containing(api: GraphApiStandIn, needle: str) -> dict[str, object]:
    """The first message sent to the Graph stand-in whose body holds `needle` (waits for it)."""
    seen = 0
    while True:
        calls = await api.recorder.wait_for("messages", seen + 1)
        found = [c.params for c in calls if needle in str(c.params)]
        if found:
            return found[0]
        seen = len(calls)


async def test_hapus_data_saya_confirms_on_whatsapp_then_leaves_nothing(
        wa_served: tuple[httpx.AsyncClient, Runtime, LocalServer], graph: GraphApiStandIn,
        redis_url: str, prefix: str) -> None:
    client, rt, server = wa_served
    name, phone = "Sulastri Wahyuningsih", "081398765432"

    async def say(text: str, message_id: str) -> None:
        body = notification("text", message_id=message_id)
        body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = text
        assert (await whatsapp_post(client, body)).status_code == 200

    sent = 0
    for i, text in enumerate(["mau didata", "setuju", name, "pedagang pasar",
                              "Kel. Ketabang, Kec. Genteng", phone, "ya",
                              f"zzq qwx nama saya {name} {phone}"]):
        await say(text, f"wamid.erase{i}")
        sent = len(await graph.recorder.wait_for("messages", sent + 1))
    # A delivery status and a campaign place, both naming the person.
    statuses = notification("statuses")
    assert (await whatsapp_post(client, statuses)).status_code == 200
    ledger = Ledger(rt.redis, rt.keys)
    await rt.redis.hset(rt.keys.campaign("c1"), mapping={"status": "running"})
    await rt.redis.zadd(rt.keys.campaigns_index(), {"c1": TODAY.timestamp()})
    await ledger.enqueue("c1", [f"whatsapp:{WA_ID}"], TODAY, last=False)
    before = everything_stored(redis_url, prefix)
    assert WA_ID in before
    assert phone in before
    assert "Sulastri" in before

    await say("hapus data saya", "wamid.erase-final")
    confirmation = await sent_containing(graph, "sudah kami hapus")
    assert confirmation["to"] == WA_ID
    await server.idle()  # the erasure finishes once the confirmation is out
    assert not await rt.redis.exists(rt.keys.profile("whatsapp", WA_ID))
    # The confirmation's own "sent" status arrives after the erasure: nothing is kept for it.
    late = notification("statuses")
    late["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.late"
    assert (await whatsapp_post(client, late)).status_code == 200

    after = everything_stored(redis_url, prefix)
    for trace in (WA_ID, phone, "Sulastri", "Wahyuningsih", "3987"):
        assert trace not in after, trace
    outcomes = await rt.redis.hgetall(rt.keys.campaign_outcomes("c1"))
    assert list(outcomes) == [tombstone("whatsapp", WA_ID)]


async def test_erasure_on_rest_and_a_new_message_starts_afresh(runtime: Runtime) -> None:
    worker = Conversation(runtime, "ani")
    await worker.say("zzq qwx nama saya Ani")
    erase = IncomingMessage("rest", "ani", "hapus data saya", TODAY)
    assert "hapus" in (await runtime.engine.handle(erase))[0].text
    kept = await runtime.contacts.get("rest", "ani")  # until the reply is out
    assert kept is not None
    assert set(kept.fields) <= {"channel", "user_id", "last_inbound"}
    await runtime.engine.delivered(erase)
    assert await runtime.contacts.get("rest", "ani") is None
    assert await runtime.redis.xlen(runtime.keys.fallbacks()) == 0
    assert "Ani" not in await worker.text("halo")


async def test_a_lead_deleted_by_staff_takes_everything_of_the_person_with_it(
        runtime: Runtime, redis_url: str, prefix: str) -> None:
    worker = Conversation(runtime, "628177711122")
    for text in ("mau didata", "setuju", "Rahayu Lestari", "ojol", "Kel. Ketabang, Kec. Genteng",
                 "081398765432", "ya", "zzq qwx nama saya Rahayu 081398765432"):
        await worker.say(text)
    assert "628177711122" in everything_stored(redis_url, prefix)
    leads = Leads(runtime.leads, runtime.contacts, runtime.conversations, runtime.eraser,
                  runtime.audit, runtime.clock)
    await leads.delete("budi", "rest", "628177711122")
    after = everything_stored(redis_url, prefix)
    for trace in ("628177711122", "Rahayu", "081398765432"):
        assert trace not in after, trace
