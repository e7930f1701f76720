"""WhatsApp end to end: signed recorded notifications into `serve`, sends to a Graph stand-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from bot.app import Runtime
from bot.channels.base import Template
from bot.channels.inbound import LOCATION_REPLY, MEDIA_REPLY, ChannelContext
from bot.channels.ratelimit import Pacing
from bot.channels.switchboard import describe
from bot.channels.whatsapp import (
    ListLabels,
    WhatsAppChannel,
    WhatsAppConfig,
    graph_error,
    render,
)
from bot.errors import ConfigError, RecipientError, TransientError
from bot.messages import Button, Reply
from bot.settings import Settings
from tests.conftest import (
    APP_SECRET,
    TODAY,
    VERIFY_TOKEN,
    WA_ID,
    Served,
    notification,
)
from tests.conftest import WA_URL as URL
from tests.conftest import whatsapp_post as post
from tests.standins import (
    GRAPH_ERRORS,
    GRAPH_TOKEN,
    GRAPH_VERSION,
    PHONE_NUMBER_ID,
    GraphApiStandIn,
    whatsapp_signature,
)


@pytest.fixture
def served(wa_served: Served) -> Served:
    return wa_served


@pytest.fixture
def channel(rt: Runtime) -> WhatsAppChannel:
    assert rt.channels.whatsapp is not None
    return rt.channels.whatsapp


@pytest.fixture
async def quick(rt: Runtime, graph: GraphApiStandIn) -> AsyncIterator[WhatsAppChannel]:
    """The same channel with retries 50 ms apart, to test error handling without waiting."""
    ctx = ChannelContext(rt.engine, rt.conversations, rt.contacts, rt.redis, rt.keys,
                         rt.sending.outbox, lambda: TODAY)
    config = WhatsAppConfig(GRAPH_TOKEN, PHONE_NUMBER_ID, APP_SECRET, VERIFY_TOKEN, graph.url,
                            GRAPH_VERSION)
    channel = WhatsAppChannel(ctx, config, pacing=Pacing(backoff=0.05))
    yield channel
    await channel.close()


async def open_window(rt: Runtime, user: str = WA_ID, hours_ago: float = 1) -> None:
    await rt.contacts.update("whatsapp", user, {
        "last_inbound": (TODAY - timedelta(hours=hours_ago)).isoformat()})


async def test_verify_handshake(client: httpx.AsyncClient) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
              "hub.challenge": "1158201444"}
    response = await client.get(URL, params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"
    for wrong in ({"hub.verify_token": "nope"}, {"hub.mode": "unsubscribe"}):
        assert (await client.get(URL, params={**params, **wrong})).status_code == 403


async def test_text_is_answered_with_buttons(client: httpx.AsyncClient, graph: GraphApiStandIn,
                                             rt: Runtime) -> None:
    response = await post(client, notification("text"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "messages": 1}
    (call,) = await graph.recorder.wait_for("messages")
    body = call.params
    assert body["messaging_product"] == "whatsapp"
    assert body["to"] == WA_ID
    assert body["type"] == "interactive"
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert "*Rp16.800*" in interactive["body"]["text"]  # WhatsApp renders *bold* itself
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["/cara_daftar", "/cara_bayar",
                                                  "/tanya_manfaat"]
    assert all(len(b["reply"]["title"]) <= 20 for b in buttons)
    contact = await rt.contacts.get("whatsapp", WA_ID)
    assert contact is not None
    assert contact.get("display_name") == "Sri Wahyuni"
    assert contact.get("last_inbound") == TODAY.isoformat()


@pytest.mark.parametrize(("name", "expected"), [
    ("button_reply", "Daftar bisa lewat"), ("list_reply", "klaim"),
    ("template_button", "tidak akan menerima pesan info lagi")])
async def test_replies_to_buttons_and_lists_are_payloads(
        client: httpx.AsyncClient, graph: GraphApiStandIn, name: str, expected: str) -> None:
    assert (await post(client, notification(name))).json()["messages"] == 1
    calls = await graph.recorder.wait_for("messages")
    first = calls[0].params
    text = first["text"]["body"] if first["type"] == "text" else \
        first["interactive"]["body"]["text"]
    assert expected in text


@pytest.mark.parametrize(("name", "reply"), [
    ("location", LOCATION_REPLY), ("image", MEDIA_REPLY), ("voice", MEDIA_REPLY),
    ("unsupported", MEDIA_REPLY)])
async def test_places_media_and_unknown_types_get_a_polite_reply(
        client: httpx.AsyncClient, graph: GraphApiStandIn, rt: Runtime, name: str,
        reply: str) -> None:
    assert (await post(client, notification(name))).json()["messages"] == 1
    (call,) = await graph.recorder.wait_for("messages")
    assert call.params["interactive"]["body"]["text"] == rt.knowledge.current.answer(reply).text
    contact = await rt.contacts.get("whatsapp", WA_ID)  # it opened the 24-hour window
    assert contact is not None
    assert contact.get("last_inbound") == TODAY.isoformat()


async def test_reactions_are_ignored(client: httpx.AsyncClient, graph: GraphApiStandIn) -> None:
    assert (await post(client, notification("reaction"))).json() == {"ok": True, "ignored": 1}
    await post(client, notification("text"))
    await graph.recorder.wait_for("messages")
    assert len(graph.recorder.of("messages")) == 1


@pytest.mark.parametrize(("signature", "status"), [
    (None, 401), ("", 401), ("sha256=" + "0" * 64, 403), ("sha1=abc", 403),
    (whatsapp_signature(b"another body", APP_SECRET), 403),
    (whatsapp_signature(b"x", "not-the-app-secret"), 403)])
async def test_forged_or_missing_signatures_are_refused_unprocessed(
        client: httpx.AsyncClient, graph: GraphApiStandIn, rt: Runtime,
        signature: str | None, status: int) -> None:
    response = await post(client, notification("text"), signature=signature)
    assert response.status_code == status
    assert await rt.contacts.get("whatsapp", WA_ID) is None
    # Nothing was claimed either: Meta's genuine delivery is still answered.
    assert (await post(client, notification("text"))).json()["messages"] == 1
    await graph.recorder.wait_for("messages")


async def test_signature_is_checked_on_the_raw_bytes(client: httpx.AsyncClient) -> None:
    """Re-serialising the JSON (spaces, key order) would break Meta's signature."""
    raw = json.dumps(notification("text"), indent=1).encode()
    assert (await post(client, raw)).status_code == 200
    reordered = json.dumps(json.loads(raw), sort_keys=True).encode()
    signed_for_raw = whatsapp_signature(raw, APP_SECRET)
    assert (await post(client, reordered, signature=signed_for_raw)).status_code == 403


async def test_a_redelivered_message_is_answered_once(client: httpx.AsyncClient,
                                                      graph: GraphApiStandIn) -> None:
    assert (await post(client, notification("text"))).json() == {"ok": True, "messages": 1}
    assert (await post(client, notification("text"))).json() == {"ok": True, "duplicates": 1}
    await graph.recorder.wait_for("messages")
    # the duplicate was answered without a job, so nothing else can come
    assert len(graph.recorder.of("messages")) == 1


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"entry": "x"}',
                                  b'{"entry": [{"changes": [{"field": "messages", '
                                  b'"value": {"messages": [{"type": "text"}]}}]}]}'])
async def test_malformed_signed_bodies_are_acknowledged_with_a_warning(
        client: httpx.AsyncClient, body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    response = await post(client, body)  # authenticated: a 4xx would only bring retries
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert any(r.levelname == "WARNING" for r in caplog.records)


async def test_other_fields_and_numbers_are_ignored(client: httpx.AsyncClient) -> None:
    other_field = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "message_template_status_update",
         "value": {"event": "APPROVED", "message_template_name": "pengingat_iuran"}}]}]}
    assert (await post(client, other_field)).json() == {"ok": True}
    other_number = notification("text")
    other_number["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert (await post(client, other_number)).json() == {"ok": True, "other_number": 1}


async def test_statuses_never_move_backwards(client: httpx.AsyncClient,
                                             channel: WhatsAppChannel, rt: Runtime) -> None:
    await open_window(rt)  # statuses are kept for known contacts only (erasure drops the rest)
    data = notification("statuses")
    statuses = data["entry"][0]["changes"][0]["value"]["statuses"]
    sent, delivered, read = statuses
    wamid = sent["id"]
    for status in (delivered, read, sent, delivered):  # out of order, repeated
        data["entry"][0]["changes"][0]["value"]["statuses"] = [status]
        assert (await post(client, data)).json() == {"ok": True, "statuses": 1}
    stored = await channel.statuses.get(wamid)
    assert stored is not None
    assert stored.status == "read"
    assert stored.recipient == WA_ID
    assert int(stored.at.timestamp()) == int(read["timestamp"])


async def test_failed_is_terminal_and_marks_undeliverable(
        client: httpx.AsyncClient, channel: WhatsAppChannel, rt: Runtime) -> None:
    await post(client, notification("text"))  # the contact exists
    await post(client, notification("status_failed"))
    late = notification("statuses")  # "read" after "failed" changes nothing
    assert (await post(client, late)).json()["statuses"] == 3
    stored = await channel.statuses.get(late["entry"][0]["changes"][0]["value"]["statuses"][0]
                                        ["id"])
    assert stored is not None
    assert stored.status == "failed"
    assert stored.error == "131026 Message undeliverable"
    contact = await rt.contacts.get("whatsapp", WA_ID)
    assert contact is not None
    assert contact.get("unreachable") == "undeliverable"


async def test_outside_the_window_only_templates_are_sent(
        channel: WhatsAppChannel, graph: GraphApiStandIn, rt: Runtime) -> None:
    with pytest.raises(RecipientError) as never_wrote:
        await channel.send(WA_ID, [Reply("Info iuran")])
    await open_window(rt, hours_ago=25)
    with pytest.raises(RecipientError) as too_late:
        await channel.send(WA_ID, [Reply("Info iuran")])
    assert never_wrote.value.reason == too_late.value.reason == "outside_window"
    assert graph.recorder.of("messages") == []
    wamid = await channel.send_template(WA_ID, Template("pengingat_iuran", "id", ("Sri", "Mei")))
    (call,) = graph.recorder.of("messages")
    assert wamid.startswith("wamid.")
    assert call.params["template"] == {
        "name": "pengingat_iuran", "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sri"},
                                                       {"type": "text", "text": "Mei"}]}]}


async def test_more_than_three_buttons_become_a_list(channel: WhatsAppChannel,
                                                     graph: GraphApiStandIn,
                                                     rt: Runtime) -> None:
    await open_window(rt)
    buttons = tuple(Button(f"Pilihan nomor {i} yang panjang sekali", f"/p{i}")
                    for i in range(12))
    await channel.send(WA_ID, [Reply("Pilih topik:", buttons)])
    (call,) = graph.recorder.of("messages")
    interactive = call.params["interactive"]
    assert interactive["type"] == "list"
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert all(len(r["title"]) <= 24 for r in rows)
    assert rows[0]["description"] == "Pilihan nomor 0 yang panjang sekali"
    assert len(interactive["action"]["button"]) <= 20


async def test_long_text_is_split_and_buttons_follow(channel: WhatsAppChannel,
                                                     graph: GraphApiStandIn,
                                                     rt: Runtime) -> None:
    await open_window(rt)
    text = "\n\n".join(["Paragraf tentang iuran dan manfaat program. " * 20] * 10)
    ids = await channel.send(WA_ID, [Reply(text, (Button("Menu", "/menu"),))])
    calls = graph.recorder.of("messages")
    assert len(ids) == len(calls) >= 3
    assert all(c.params["type"] == "text" and len(c.params["text"]["body"]) <= 4096
               for c in calls[:-1])
    assert calls[-1].params["interactive"]["body"]["text"] == "Silakan pilih:"


@pytest.mark.parametrize(("code", "error", "reason"), [
    (131047, RecipientError, "outside_window"), (131026, RecipientError, "undeliverable"),
    (130429, TransientError, None), (131056, TransientError, None),
    (131000, TransientError, None), (132001, ConfigError, None), (190, ConfigError, None)])
def test_graph_errors_say_what_to_do(code: int, error: type[Exception],
                                     reason: str | None) -> None:
    status, message, details = GRAPH_ERRORS[code]
    body = {"error": {"message": message, "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details}}}
    mapped = graph_error(httpx.Response(status, json=body))
    assert type(mapped) is error
    assert str(code) in str(mapped)
    assert getattr(mapped, "reason", None) == reason


@pytest.mark.parametrize(("status", "body", "error"), [
    (502, b"<html>Bad Gateway</html>", TransientError), (429, b"", TransientError),
    (401, b"", ConfigError), (400, b'{"error": {"code": 200}}', ConfigError),
    (400, b'{"error": {"code": 100, "message": "Invalid parameter"}}', RecipientError)])
def test_graph_errors_without_a_known_code_go_by_status(status: int, body: bytes,
                                                        error: type[Exception]) -> None:
    assert type(graph_error(httpx.Response(status, content=body))) is error


async def test_transient_errors_are_retried(quick: WhatsAppChannel, graph: GraphApiStandIn,
                                            rt: Runtime) -> None:
    await open_window(rt)
    graph.fail_next(130429)
    graph.fail_next(131000)
    ids = await quick.send(WA_ID, [Reply("Halo")])
    assert len(ids) == 1
    assert len(graph.recorder.of("messages")) == 3


async def test_a_wrong_token_is_a_config_error(channel: WhatsAppChannel,
                                               graph: GraphApiStandIn, rt: Runtime) -> None:
    await open_window(rt)
    graph.token = "EAAG-rotated"
    with pytest.raises(ConfigError):
        await channel.send(WA_ID, [Reply("Halo")])


def test_a_list_is_labelled_with_the_knowledge_bases_words() -> None:
    """An admin's words for the list (texts.yml wa_*) are what WhatsApp gets, cut to its limits."""
    labels = ListLabels("Buka daftar pilihan di sini", "Mau yang mana", "Pilih salah satu ya:")
    many = tuple(Button(f"Pilihan {i}", f"/p{i}") for i in range(4))
    text, chooser = render(Reply("x" * 1100, many), labels)
    assert text["type"] == "text"
    action = chooser["interactive"]["action"]
    assert chooser["interactive"]["body"]["text"] == "Pilih salah satu ya:"
    assert (action["button"], action["sections"][0]["title"]) == (
        "Buka daftar pilihan…", "Mau yang mana")


def test_missing_settings_turn_the_channel_off(settings: Settings) -> None:
    partial = settings.model_copy(update={"whatsapp_access_token": SecretStr("x"),
                                          "whatsapp_phone_number_id": "1"})
    line = describe(partial)[1]
    assert line.startswith("WhatsApp: off")
    assert "WHATSAPP_APP_SECRET" in line
    assert "WHATSAPP_ACCESS_TOKEN" not in line
