"""Hostile probes through every route, in process: a bad-input corpus, oversized bodies, huge
amounts, malformed but signed webhooks, the REST token, opt-out disguises, CSV cells and a
flooding sender. No probe may get a 500, and valid messages beside bad ones are still answered.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from bot.admin.accounts import Passwords, RedisUserStore, User
from bot.app import Runtime
from bot.bodylimit import ROUTE_LIMITS, limit_for
from bot.dialogue.flood import BUSY_NOTICE_TTL, FLOOD_BURST, FLOOD_INTERVAL, MAX_WAITING, FloodGate
from bot.dialogue.policy import keyword_intent
from bot.leads import csv_cell
from bot.settings import Settings
from tests.conftest import TG_SECRET as SECRET
from tests.conftest import (
    TODAY,
    Conversation,
    Opener,
    telegram_settings,
    whatsapp_post,
    whatsapp_settings,
)
from tests.standins import BotApiStandIn, GraphApiStandIn, bot_in_process

DATA = Path(__file__).parent / "data"
REST = "/webhooks/rest/webhook"
PASSWORD = "kata-sandi-rahasia"
HUGE = ["gaji rp 20000000000000000000", "gaji " + "9" * 400, "iuran kalau gaji " + "1" * 400,
        "gaji 1e308 juta", "gaji nan juta", "gaji 99999999999999999999 m", "gaji -5 juta",
        "gaji 0,0000001 jt", "dua juta juta juta juta juta juta juta juta juta juta"]
TEXTS = [*HUGE, "", " ", "\x00\x00", "😀" * 2000, "a" * 5000, "\u202e\u200b\u2066",
         "<script>alert(1)</script>", "{{7*7}}", "' OR 1=1 --", "%s%s%n", "\ud800" * 0,
         "3578/0123/4567/0001", "/start " + "x" * 300, "menu" * 500, "\n" * 3000]
BODIES: list[bytes] = [b"", b"{", b"[]", b"null", b"1", b'"x"', b"\xff\xfe", b"[" * 5000,
                       b'{"a":' * 2000, orjson.dumps({"x": "y" * 1000}), b"{}" * 100]


@pytest.fixture
async def apis() -> AsyncIterator[tuple[BotApiStandIn, GraphApiStandIn]]:
    async with BotApiStandIn() as bot_api, GraphApiStandIn() as graph:
        yield bot_api, graph


@pytest.fixture
async def served(settings: Settings, apis: tuple[BotApiStandIn, GraphApiStandIn],
                 published: Opener) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The whole app with every channel on, over httpx's in-process ASGI transport."""

    async def runtime(s: Settings) -> Runtime:
        rt = await published(s)
        await RedisUserStore(rt.redis, rt.keys).save(
            User("ani", "admin", TODAY.isoformat()), await Passwords().hash(PASSWORD))
        return rt

    bot_api, graph = apis
    async with bot_in_process(whatsapp_settings(telegram_settings(settings, bot_api), graph),
                              runtime) as served:
        yield served


def whatsapp_text(text: str, message_id: str, timestamp: Any = None,
                  wa_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "whatsapp" / "text.json").read_text())
    value = data["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    message.update(id=message_id, timestamp=str(int(TODAY.timestamp()))
                   if timestamp is None else timestamp)
    message["text"]["body"] = text
    if wa_id is not None:
        message["from"] = value["contacts"][0]["wa_id"] = wa_id
    return data


def telegram_text(text: str, update_id: int, chat_id: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "telegram" / "text.json").read_text())
    data["update_id"] = update_id
    data["message"]["text"] = text
    if chat_id is not None:
        data["message"]["chat"]["id"] = data["message"]["from"]["id"] = chat_id
    return data


async def telegram(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post("/webhooks/telegram", content=body, headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})


async def test_bad_input_corpus_never_gets_a_500(
        served: tuple[httpx.AsyncClient, Runtime],
        apis: tuple[BotApiStandIn, GraphApiStandIn]) -> None:
    """Each text from a sender of its own, so Telegram's per-chat pace (one a second) does not
    make the probes wait for each other; every text reaches the engine on every route."""
    client, _ = served
    bot_api = apis[0]
    statuses: Counter[int] = Counter()
    for i, text in enumerate(TEXTS):
        probes = [client.post(REST, json={"sender": f"p{i}", "message": text}),
                  whatsapp_post(client, orjson.dumps(whatsapp_text(text, f"wamid.p{i}",
                                                            wa_id=f"62811000{i:04d}"))),
                  telegram(client, orjson.dumps(telegram_text(text, 5000 + i, 7000 + i)))]
        rest, whatsapp, tg = await asyncio.gather(*probes)
        for response in (rest, whatsapp, tg):
            statuses[response.status_code] += 1
        # Taken in, not dropped: WhatsApp counts the message, Telegram answers before its 200.
        if text.strip():  # an empty text is ignored by design
            assert whatsapp.json().get("messages") == 1, (text, whatsapp.text)
        if tg.json().get("update") == "text":
            assert any(c.params["chat_id"] == str(7000 + i)
                       for c in bot_api.recorder.of("sendMessage")), text
    for body in BODIES:
        for response in await asyncio.gather(
                client.post(REST, content=body), whatsapp_post(client, body),
                telegram(client, body),
                client.post("/admin/api/login", content=body),
                client.post("/admin/login", content=body,
                            headers={"content-type": "application/x-www-form-urlencoded"})):
            statuses[response.status_code] += 1
    assert statuses[500] == 0, statuses
    assert all(code < 500 for code in statuses), statuses


@pytest.mark.parametrize("timestamp", ["-1", "-99999999999999999999", "99999999999999999999",
                                       "0", "1e400"])
async def test_absurd_whatsapp_timestamps_are_answered(
        served: tuple[httpx.AsyncClient, Runtime], apis: tuple[BotApiStandIn, GraphApiStandIn],
        timestamp: str) -> None:
    client, _ = served
    body = orjson.dumps(whatsapp_text("halo", "wamid.ts", timestamp))
    response = await whatsapp_post(client, body)
    assert response.status_code == 200
    await apis[1].recorder.wait_for("messages")


async def test_a_malformed_item_does_not_cost_the_valid_message_beside_it(
        served: tuple[httpx.AsyncClient, Runtime], apis: tuple[BotApiStandIn, GraphApiStandIn],
        caplog: pytest.LogCaptureFixture) -> None:
    client, _ = served
    body = whatsapp_text("halo", "wamid.good")
    messages = body["entry"][0]["changes"][0]["value"]["messages"]
    messages.insert(0, {"type": "text", "text": {"body": "no id, no sender"}})
    body["entry"][0]["changes"][0]["value"]["statuses"] = [{"id": 5}]
    response = await whatsapp_post(client, orjson.dumps(body))
    assert response.status_code == 200
    assert response.json()["messages"] == 1
    assert response.json()["unreadable"] == 2
    await apis[1].recorder.wait_for("messages")
    assert any("unreadable" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("route", [REST, "/webhooks/whatsapp", "/webhooks/telegram",
                                   "/admin/api/login", "/elsewhere"])
async def test_oversized_bodies_are_refused_while_reading(
        served: tuple[httpx.AsyncClient, Runtime], route: str) -> None:
    client, _ = served
    limit = limit_for(route)
    declared = await client.post(route, content=b"x" * (limit + 1))
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    streamed = await client.post(route, content=chunks())
    assert streamed.status_code == 413
    assert "terlalu panjang" in streamed.json()["text"]


def test_every_route_family_has_a_limit() -> None:
    assert [prefix for prefix, _ in ROUTE_LIMITS] == [
        "/webhooks/rest/", "/webhooks/whatsapp", "/webhooks/telegram", "/admin"]
    assert limit_for("/webhooks/rest/webhook") < 64 * 1024


async def test_huge_amounts_in_chat_and_the_console_try_box(
        served: tuple[httpx.AsyncClient, Runtime]) -> None:
    client, _ = served
    for text in HUGE:
        response = await client.post(REST, json={"sender": "kaya", "message": text})
        assert response.status_code == 200, text
    after = await client.post(REST, json={"sender": "kaya", "message": "halo"})
    assert after.status_code == 200  # and the sender is not left waiting for a turn
    login = await client.post("/admin/api/login", json={"username": "ani", "password": PASSWORD})
    csrf = login.json()["csrf"]
    for text in HUGE:
        tried = await client.get("/admin/api/try", params={"q": text},
                                 headers={"x-csrf-token": csrf})
        assert tried.status_code in (200, 422), (text, tried.status_code)


async def test_rest_token_is_required_when_set(settings: Settings, published: Opener) -> None:
    async with bot_in_process(settings.model_copy(update={
            "rest_channel_token": SecretStr("t0ken")}), published) as (client, _):
        body = {"sender": "budi", "message": "halo"}
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "t0ken"},
                        {"Authorization": "Basic t0ken"}):
            assert (await client.post(REST, json=body, headers=headers)).status_code == 401
        ok = await client.post(REST, json=body, headers={"Authorization": "Bearer t0ken"})
        assert ok.status_code == 200


@pytest.mark.parametrize("text", ["ＳＴＯＰ", "s t o p", "unsub", "S T O P !",
                                  "s\u200bt\u200bo\u200bp", "Ｕｎｓｕｂ", "b e r h e n t i",
                                  "UNSUBSCRIBE."])
def test_disguised_opt_out_words_opt_out(text: str) -> None:
    assert keyword_intent(text) == "berhenti_langganan"


@pytest.mark.parametrize("text", ["stop dulu ya nanti saya tanya lagi", "stopkontak", "setop"])
def test_opt_out_needs_the_whole_message(text: str) -> None:
    assert keyword_intent(text) is None


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("value", ["Genteng{d}=1+1", "=1+1", "Genteng{d} +62{d}@SUM(A1)",
                                   "Kel. Ketabang{d}-2+3"])
def test_csv_cells_are_safe_whatever_the_delimiter(delimiter: str, value: str) -> None:
    cell = csv_cell(value.format(d=delimiter))
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    for reader_delimiter in (",", ";", "\t", "|"):
        row = next(csv.reader(io.StringIO(out.getvalue()), delimiter=reader_delimiter))
        for piece in row:
            for part in piece.split(delimiter):
                assert part.lstrip()[:1] not in ("=", "+", "-", "@"), (piece, part)


async def test_a_flooding_sender_gets_one_wait_notice_not_errors(runtime: Runtime) -> None:
    busy = runtime.knowledge.current.reply("tunggu_sebentar")
    flooder = Conversation(runtime, "banjir")
    results = await asyncio.gather(*(flooder.say(f"iuran {i}") for i in range(500)))
    notices = sum(reply == busy for replies in results for reply in replies)
    answered = sum(1 for replies in results if replies and busy not in replies)
    assert notices == 1
    assert answered >= 1
    other = await Conversation(runtime, "tetangga").text("halo")
    assert other


def test_the_flood_gate_allows_a_burst_then_a_typist_pace_and_tells_once() -> None:
    now = [0.0]
    gate = FloodGate(clock=lambda: now[0])
    who = ("rest", "banjir")
    admitted = 0
    while gate.admit(who):  # answered one at a time, as fast as a machine can send
        gate.leave(who)
        admitted += 1
    assert admitted == FLOOD_BURST
    now[0] += FLOOD_INTERVAL
    assert gate.admit(who)  # the pace frees one message per interval
    gate.leave(who)
    assert not gate.admit(who)
    assert gate.admit(("rest", "tetangga"))  # others are not counted with the flooder
    assert [gate.tell(who), gate.tell(who)] == [True, False]
    now[0] += BUSY_NOTICE_TTL
    assert gate.tell(who)


def test_the_flood_gate_holds_at_most_a_few_waiting_messages_of_one_sender() -> None:
    gate = FloodGate(clock=lambda: 0.0)
    who = ("telegram", "1")
    assert [gate.admit(who) for _ in range(MAX_WAITING + 1)] == [True] * MAX_WAITING + [False]
    gate.leave(who)
    assert gate.admit(who)
