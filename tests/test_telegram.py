"""Telegram end to end: recorded updates over HTTP into `serve`, replies to a Bot API stand-in."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update

from bot.app import Runtime
from bot.broadcast.ledger import Ledger
from bot.channels import telegram
from bot.channels.inbound import LOCATION_REPLY, MEDIA_REPLY, SORRY_REPLY, ChannelContext
from bot.channels.outbound import Outbox
from bot.channels.ratelimit import RateLimiter
from bot.channels.switchboard import describe
from bot.channels.telegram import TelegramChannel
from bot.erasure import tombstone
from bot.errors import ConfigError, RecipientError
from bot.handoffs import Handoff, HandoffMessage
from bot.knowledge.base import KnowledgeBase
from bot.messages import Button, IncomingMessage, Reply
from bot.settings import Settings
from tests.conftest import TG_SECRET as SECRET
from tests.conftest import TODAY, Opener, Served, everything_stored, telegram_settings
from tests.standins import BOT_TOKEN, BotApiStandIn, LocalServer, serve_bot

DATA = Path(__file__).parent / "data" / "telegram"
CHAT = "5111222333"
URL = "/webhooks/telegram"


def update(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    return data


@pytest.fixture
def served(tg_served: Served) -> Served:
    return tg_served


@pytest.fixture
def channel(rt: Runtime) -> TelegramChannel:
    assert rt.channels.telegram is not None
    return rt.channels.telegram


async def post(client: httpx.AsyncClient, body: dict[str, Any] | bytes,
               secret: str | None = SECRET) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    if isinstance(body, bytes):
        return await client.post(URL, content=body, headers=headers)
    return await client.post(URL, json=body, headers=headers)


async def test_text_is_answered_in_html_with_an_inline_keyboard(
        client: httpx.AsyncClient, bot_api: BotApiStandIn, rt: Runtime) -> None:
    response = await post(client, update("text"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "update": "text"}
    (call,) = await bot_api.recorder.wait_for("sendMessage")
    assert call.params["chat_id"] == CHAT
    assert call.params["parse_mode"] == "HTML"
    assert "<b>Rp16.800</b>" in call.params["text"]
    assert "*" not in call.params["text"]
    rows = call.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in rows] == ["/cara_daftar", "/cara_bayar",
                                                        "/tanya_manfaat"]
    contact = await rt.contacts.get("telegram", CHAT)
    assert contact is not None
    assert contact.get("display_name") == "Siti Aminah"
    assert contact.get("last_inbound")


async def test_callback_query_is_acknowledged_and_its_payload_answered(
        client: httpx.AsyncClient, bot_api: BotApiStandIn) -> None:
    response = await post(client, update("callback_query"))
    assert response.json()["update"] == "callback"
    (ack,) = await bot_api.recorder.wait_for("answerCallbackQuery")
    assert ack.params["callback_query_id"] == "4382bfdwdsb323b2d9"
    sent = await bot_api.recorder.wait_for("sendMessage", 2)
    assert "JMO" in sent[0].params["text"]


@pytest.mark.parametrize(("command", "expected"), [
    ("/iuran@SapaPekerjaBot", "Rp16.800"), ("/manfaat", "Pekerja mandiri (BPU) ikut"),
    ("/daftar", "Daftar bisa lewat"), ("/menu", "Ketik nomornya"), ("/start kode", "Halo")])
async def test_menu_commands_are_payloads(client: httpx.AsyncClient, bot_api: BotApiStandIn,
                                          command: str, expected: str) -> None:
    body = update("command")
    body["message"]["text"] = command
    await post(client, body)
    sent = await bot_api.recorder.wait_for("sendMessage")
    assert expected in sent[0].params["text"]


async def test_berhenti_records_the_opt_out(client: httpx.AsyncClient, bot_api: BotApiStandIn,
                                            rt: Runtime) -> None:
    body = update("command")
    body["message"]["text"] = "/berhenti"
    await post(client, body)
    await bot_api.recorder.wait_for("sendMessage")
    contact = await rt.contacts.get("telegram", CHAT)
    assert contact is not None
    assert contact.get("consent") == "opt_out"


@pytest.mark.parametrize(("name", "kind", "reply"), [
    ("voice", "media", MEDIA_REPLY), ("photo", "media", MEDIA_REPLY),
    ("sticker", "media", MEDIA_REPLY), ("location", "location", LOCATION_REPLY)])
async def test_media_and_places_get_a_helpful_reply(
        client: httpx.AsyncClient, bot_api: BotApiStandIn, rt: Runtime, name: str, kind: str,
        reply: str) -> None:
    response = await post(client, update(name))
    assert response.json()["update"] == kind
    (call,) = await bot_api.recorder.wait_for("sendMessage")
    assert call.params["text"] == telegram.to_html(rt.knowledge.current.answer(reply).text)


async def test_a_shared_contact_gets_a_reply(client: httpx.AsyncClient,
                                             bot_api: BotApiStandIn) -> None:
    assert (await post(client, update("contact"))).json()["update"] == "contact"
    (call,) = await bot_api.recorder.wait_for("sendMessage")
    assert "kontak" in call.params["text"]


@pytest.mark.parametrize("name", ["edited_message", "group_message", "channel_post", "poll"])
async def test_other_updates_are_ignored_by_design(
        client: httpx.AsyncClient, bot_api: BotApiStandIn, name: str) -> None:
    response = await post(client, update(name))
    assert response.status_code == 200
    assert response.json()["update"] == "ignored"


async def test_an_update_type_from_the_future_is_ignored(
        client: httpx.AsyncClient) -> None:
    body = {"update_id": 730000199, "some_future_update": {"id": "x", "stars": 5}}
    assert (await post(client, body)).json() == {"ok": True, "update": "ignored"}


async def test_ignored_updates_send_nothing(client: httpx.AsyncClient,
                                            bot_api: BotApiStandIn) -> None:
    for name in ("edited_message", "group_message", "channel_post", "poll"):
        await post(client, update(name))
    await post(client, update("text"))  # answered after the ignored ones, in the same order
    (call,) = await bot_api.recorder.wait_for("sendMessage")
    assert call.params["chat_id"] == CHAT
    assert len(bot_api.recorder.of("sendMessage")) == 1


@pytest.mark.parametrize("secret", [None, "wrong", SECRET + "x"])
async def test_requests_without_the_secret_token_are_refused(
        client: httpx.AsyncClient, bot_api: BotApiStandIn, rt: Runtime,
        secret: str | None) -> None:
    response = await post(client, update("text"), secret=secret)
    assert response.status_code == 403
    assert await rt.contacts.get("telegram", CHAT) is None
    # Refused before dedupe: the real delivery of the same update is still answered.
    assert (await post(client, update("text"))).json()["update"] == "text"


async def test_a_redelivered_update_is_answered_once(client: httpx.AsyncClient,
                                                     bot_api: BotApiStandIn) -> None:
    first = await post(client, update("text"))
    again = await post(client, update("text"))
    assert first.json()["update"] == "text"
    assert again.json()["update"] == "duplicate"
    await bot_api.recorder.wait_for("sendMessage")
    # the duplicate was answered without a job, so nothing else can come
    assert len(bot_api.recorder.of("sendMessage")) == 1


async def test_an_answer_telegram_did_not_take_is_sent_on_redelivery_not_made_again(
        client: httpx.AsyncClient, bot_api: BotApiStandIn, rt: Runtime) -> None:
    """Answered, then sendMessage fails (a 429 longer than a reply may wait): the update is
    not acknowledged, and its redelivery sends the kept answer without running the engine."""
    body = update("text")
    body["message"]["text"] = "mau didata"  # a form step: answering twice would show
    bot_api.throttle(retry_after=120)
    refused = await post(client, body)
    assert refused.status_code == 503  # Telegram keeps the update and delivers it again
    (failed,) = bot_api.recorder.of("sendMessage")
    redelivered = await post(client, body)
    assert redelivered.json() == {"ok": True, "update": "resent"}
    sent = bot_api.recorder.of("sendMessage")
    assert [c.params["text"] for c in sent] == [failed.params["text"]] * 2
    assert (await post(client, body)).json()["update"] == "duplicate"
    assert len(bot_api.recorder.of("sendMessage")) == 2
    state = await rt.conversations.load("telegram", CHAT)
    assert [who for who, *_ in state.recent].count("pekerja") == 1  # the engine ran once
    assert not await rt.redis.exists(rt.keys.unsent("telegram", CHAT))


async def test_two_processes_answer_an_update_once(
        settings: Settings, bot_api: BotApiStandIn, published: Opener) -> None:
    tg = telegram_settings(settings, bot_api, SECRET)
    async with serve_bot(tg, published) as (one, _), serve_bot(tg, published) as (two, _):
        async with httpx.AsyncClient() as http:
            answers = await asyncio.gather(*(
                http.post(f"{server.url}{URL}", json=update("text"),
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                for server in (one, two, one, two)))
        assert sorted(r.json()["update"] for r in answers) == ["duplicate"] * 3 + ["text"]
        await bot_api.recorder.wait_for("sendMessage")
        # the three duplicates were answered without a job, so nothing else can come
        assert len(bot_api.recorder.of("sendMessage")) == 1


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"message": {"text": "hi"}}',
                                  b'{"update_id": "7"}', b"\xff\xfe"])
async def test_malformed_signed_bodies_are_acknowledged_with_a_warning(
        client: httpx.AsyncClient, body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    response = await post(client, body)  # authenticated: a 4xx would only bring retries
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert any(r.levelname == "WARNING" for r in caplog.records)


async def test_an_update_ptb_cannot_read_is_acknowledged(client: httpx.AsyncClient,
                                                         bot_api: BotApiStandIn) -> None:
    """A 4xx would make Telegram redeliver it for hours; it is skipped with a log line."""
    broken = {"update_id": 7, "message": {"text": "hi"}}
    old_poll = update("poll")
    for option in old_poll["poll"]["options"]:
        del option["persistent_id"]  # required by PTB 22.8 since Bot API 9.6
    for body in (broken, old_poll):
        response = await post(client, body)
        assert response.status_code == 200
        assert response.json()["update"] == "unreadable"
    await post(client, update("text"))
    await bot_api.recorder.wait_for("sendMessage")
    assert len(bot_api.recorder.of("sendMessage")) == 1


async def test_webhook_is_off_without_a_secret(settings: Settings, bot_api: BotApiStandIn,
                                               published: Opener) -> None:
    tg = telegram_settings(settings, bot_api, None)
    assert "set TELEGRAM_WEBHOOK_SECRET" in describe(tg)[0]
    async with serve_bot(tg, published) as (server, _), httpx.AsyncClient() as http:
        response = await http.post(f"{server.url}{URL}", json=update("text"))
    assert response.status_code == 404


async def test_a_user_who_blocked_the_bot_is_marked_unreachable(
        client: httpx.AsyncClient, bot_api: BotApiStandIn, rt: Runtime,
        server: LocalServer) -> None:
    bot_api.block(CHAT)
    assert (await post(client, update("text"))).status_code == 200
    await server.idle()  # the answer, refused by Telegram, goes after the 200
    assert len(bot_api.recorder.of("sendMessage")) >= 1
    contact = await rt.contacts.get("telegram", CHAT)
    assert contact is not None
    assert contact.get("unreachable") == "blocked"
    # Writing again (after unblocking) clears the mark.
    bot_api.blocked.clear()
    await post(client, update("text", update_id=730000150))
    await bot_api.recorder.wait_for("sendMessage", 2)
    contact_now = await rt.contacts.get("telegram", CHAT)
    assert contact_now is not None
    assert contact_now.get("unreachable") is None


async def test_blocking_the_bot_marks_the_contact(client: httpx.AsyncClient,
                                                  bot_api: BotApiStandIn, rt: Runtime,
                                                  server: LocalServer) -> None:
    await post(client, update("text"))
    await bot_api.recorder.wait_for("sendMessage")
    response = await post(client, update("my_chat_member_kicked"))
    assert response.json()["update"] == "blocked"
    await server.idle()
    contact = await rt.contacts.get("telegram", CHAT)
    assert contact is not None
    assert contact.get("unreachable") == "blocked"


async def test_send_to_a_blocked_user_raises_recipient_error(
        channel: TelegramChannel, bot_api: BotApiStandIn) -> None:
    bot_api.block(CHAT)
    with pytest.raises(RecipientError) as caught:
        await channel.send(CHAT, [Reply("Info iuran")])
    assert caught.value.reason == "blocked"


async def test_429_is_retried_after_retry_after(channel: TelegramChannel,
                                                bot_api: BotApiStandIn,
                                                caplog: pytest.LogCaptureFixture) -> None:
    bot_api.throttle(retry_after=1)
    with caplog.at_level("WARNING", logger="bot.channels.ratelimit"):
        ids = await channel.send(CHAT, [Reply("Halo")])
    assert len(ids) == 1
    assert len(bot_api.recorder.of("sendMessage")) == 2  # refused once, then sent
    assert "retrying in 1.0 s" in caplog.text  # after the Retry-After Telegram gave


async def test_a_bad_token_is_a_config_error(runtime: Runtime, bot_api: BotApiStandIn) -> None:
    assert runtime.channels.telegram is None  # no TELEGRAM_BOT_TOKEN: the channel is off
    ctx = ChannelContext(runtime.engine, runtime.conversations, runtime.contacts, runtime.redis,
                         runtime.keys, runtime.sending.outbox, lambda: TODAY)
    bad = TelegramChannel(ctx, "7000000001:wrong", base_url=bot_api.base_url,
                          webhook_secret=None)
    try:
        with pytest.raises(ConfigError):
            await bad.send(CHAT, [Reply("Halo")])
    finally:
        await bad.close()


async def test_long_replies_are_split_and_escaped(channel: TelegramChannel,
                                                  bot_api: BotApiStandIn) -> None:
    paragraph = "Iuran <JKK> & JKM: *Rp16.800* per bulan. " * 40
    text = "\n\n".join([paragraph.strip()] * 6)
    ids = await channel.send(CHAT, [Reply(text, (Button("Menu", "/menu"),))])
    calls = bot_api.recorder.of("sendMessage")
    assert len(ids) == len(calls) > 1
    assert all(len(c.params["text"].replace("&lt;", "<").replace("&gt;", ">")
                   .replace("&amp;", "&").replace("<b>", "*").replace("</b>", "*")) <= 4096
               for c in calls)
    assert "&lt;JKK&gt; &amp; JKM: <b>Rp16.800</b>" in calls[0].params["text"]
    assert [("reply_markup" in c.params) for c in calls] == [False] * (len(calls) - 1) + [True]


async def test_a_payload_over_64_bytes_sends_the_title(channel: TelegramChannel,
                                                       bot_api: BotApiStandIn) -> None:
    long_payload = '/tanya_manfaat{"program": "JKK", "pekerjaan": "pengemudi ojek online"}'
    await channel.send(CHAT, [Reply("Pilih", (Button("Manfaat JKK", long_payload),))])
    (call,) = bot_api.recorder.of("sendMessage")
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "Manfaat JKK"


async def test_polling_answers_updates_and_moves_the_offset(
        channel: TelegramChannel, bot_api: BotApiStandIn) -> None:
    bot_api.push_update(update("text"))
    stop = asyncio.Event()
    polling = asyncio.create_task(telegram.poll(channel, long_poll_seconds=1, stop=stop))
    try:
        await bot_api.recorder.wait_for("sendMessage")
        calls = await bot_api.recorder.wait_for("getUpdates", 2)
    finally:
        stop.set()
        await polling
    assert bot_api.recorder.of("deleteWebhook")
    assert calls[1].params["offset"] == "730000102"
    commands = bot_api.recorder.of("setMyCommands")[0].params["commands"]
    assert [c["command"] for c in commands] == ["start", "menu", "iuran", "manfaat", "daftar",
                                                "berhenti"]
    assert commands[1]["description"] == "Menu utama"  # texts.yml telegram_perintah_menu


async def test_polling_keeps_an_answer_telegram_did_not_take_and_sends_it_next_time(
        channel: TelegramChannel, bot_api: BotApiStandIn, rt: Runtime) -> None:
    body = update("text")
    body["message"]["text"] = "mau didata"
    bot_api.push_update(body)
    bot_api.throttle(retry_after=120)
    stop = asyncio.Event()
    polling = asyncio.create_task(telegram.poll(channel, long_poll_seconds=1, stop=stop,
                                                backoff=0.01))
    try:
        failed, resent = await bot_api.recorder.wait_for("sendMessage", 2)
        # the offset moves past the update only once its answer is out
        await bot_api.recorder.wait_for("getUpdates", 3)
    finally:
        stop.set()
        await polling
    assert resent.params["text"] == failed.params["text"]
    offsets = [c.params.get("offset") for c in bot_api.recorder.of("getUpdates")]
    assert offsets[:2] == [None, None]  # asked again after the failed send
    assert offsets[-1] == "730000102"
    state = await rt.conversations.load("telegram", CHAT)
    assert [who for who, *_ in state.recent].count("pekerja") == 1


async def test_set_webhook_sends_the_secret_and_the_menu(channel: TelegramChannel,
                                                         bot_api: BotApiStandIn) -> None:
    info = await telegram.set_webhook(channel, "https://bot.example.id/webhooks/telegram")
    assert info.url == "https://bot.example.id/webhooks/telegram"
    (call,) = bot_api.recorder.of("setWebhook")
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == list(telegram.ALLOWED_UPDATES)
    assert bot_api.recorder.of("setMyCommands")


class BrokenEngine:
    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        raise RuntimeError("the model file is corrupt")

    def canned(self, answer_id: str) -> Reply:
        return self.knowledge.reply(answer_id)

    async def delivered(self, message: IncomingMessage) -> None:
        pass


async def test_an_engine_failure_gets_an_apology_not_a_trace(
        rt: Runtime, bot_api: BotApiStandIn) -> None:
    ctx = ChannelContext(BrokenEngine(rt.knowledge.current), rt.conversations, rt.contacts,
                         rt.redis, rt.keys, rt.sending.outbox, lambda: TODAY)
    broken = TelegramChannel(ctx, BOT_TOKEN, base_url=bot_api.base_url, webhook_secret=SECRET)
    try:
        handoff = await broken.accept(Update.de_json(update("text"), broken.bot))
        assert handoff.job is not None
        await handoff.job()
    finally:
        await broken.close()
    (call,) = bot_api.recorder.of("sendMessage")
    assert call.params["text"] == telegram.to_html(rt.knowledge.current.text(SORRY_REPLY))
    assert "Traceback" not in call.params["text"]


async def test_sends_to_one_chat_are_paced(rt: Runtime, bot_api: BotApiStandIn) -> None:
    """About one message a second per chat, after a burst of three: the fourth waits its slot."""
    waits: list[float] = []

    async def recorded(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    outbox = Outbox(rt.contacts, RateLimiter(rt.redis, rt.keys, sleep=recorded), lambda: TODAY)
    ctx = ChannelContext(rt.engine, rt.conversations, rt.contacts, rt.redis, rt.keys, outbox,
                         lambda: TODAY)
    paced = TelegramChannel(ctx, BOT_TOKEN, base_url=bot_api.base_url, webhook_secret=None)
    try:
        await paced.send(CHAT, [Reply(f"Pesan {i}") for i in range(4)])
    finally:
        await paced.close()
    assert len(bot_api.recorder.of("sendMessage")) == 4
    assert len(waits) == 1  # the burst of three went at once; only the fourth waited
    assert 0 < waits[0] <= 1.0


def test_html_escaping_and_bold() -> None:
    assert telegram.to_html("a < b & *c* * d") == "a &lt; b &amp; <b>c</b> * d"
    assert telegram.command_payload("/iuran@SapaPekerjaBot") == "/tanya_iuran"
    assert telegram.command_payload("/unknown") == "/unknown"
    assert telegram.command_payload("iuran") == "iuran"


async def test_hapus_data_saya_on_telegram_leaves_nothing(
        client: httpx.AsyncClient, bot_api: BotApiStandIn, rt: Runtime, redis_url: str,
        prefix: str) -> None:
    """Pendataan, inbox entry, a closed handoff and a campaign tap, then "hapus data saya":
    no key or value names the chat, the worker's name or phone, not even the send pacing."""
    name, phone = "Sulastri Wahyuningsih", "081398765432"
    for i, text in enumerate(["mau didata", "setuju", name, "pedagang pasar",
                              "Kel. Ketabang, Kec. Genteng", phone, "ya",
                              f"zzq qwx nama saya {name} {phone}"]):
        body = update("text", update_id=730001000 + i)
        body["message"]["text"] = text
        assert (await post(client, body)).status_code == 200
    handoff = await rt.handoffs.store.create(
        Handoff("", "telegram", CHAT, name, "Surabaya", "minta", "open", "t", "t"),
        [HandoffMessage("pekerja", f"hp saya {phone}", "t")])
    assert await rt.handoffs.store.move(handoff.id, ["open"], "closed", {})
    await Ledger(rt.redis, rt.keys).enqueue("c1", [f"telegram:{CHAT}"], TODAY, last=False)
    await rt.redis.zadd(rt.keys.campaigns_index(), {"c1": TODAY.timestamp()})
    await rt.redis.hset(rt.keys.campaign_taps("c1"), f"telegram:{CHAT}", "Hadir")  # type: ignore[misc]
    before = everything_stored(redis_url, prefix)
    for trace in (CHAT, phone, "Sulastri", "Siti Aminah", rt.keys.chat_pace("telegram", CHAT)):
        assert trace in before, trace

    body = update("text", update_id=730001100)
    body["message"]["text"] = "hapus data saya"
    assert (await post(client, body)).status_code == 200  # answered before the 200
    assert "sudah kami hapus" in bot_api.recorder.of("sendMessage")[-1].params["text"]
    after = everything_stored(redis_url, prefix)
    for trace in (CHAT, phone, "Sulastri", "Wahyuningsih", "Siti", "Aminah", "3987"):
        assert trace not in after, trace
    assert await rt.redis.hgetall(rt.keys.campaign_taps("c1")) == {  # type: ignore[misc]
        tombstone("telegram", CHAT): "Hadir"}
