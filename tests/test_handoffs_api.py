"""The handoff API over real HTTP: a worker on Telegram (the Bot API stand-in) asks for a person,
staff take, reply and close through /admin/api/handoffs, and the worker's chat shows it all.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.settings import Settings
from tests.conftest import PASSWORD, Opener, add_users, telegram_settings
from tests.conftest import TG_SECRET as SECRET
from tests.standins import BotApiStandIn, LocalServer, serve_bot

CHAT = "5111222333"
TEXT_UPDATE = json.loads((Path(__file__).parent / "data" / "telegram" / "text.json")
                         .read_text(encoding="utf-8"))
_ids = itertools.count(TEXT_UPDATE["update_id"] + 500)


def text_update(text: str) -> dict[str, Any]:
    """A private text message from the same worker, with a fresh update id."""
    return {**TEXT_UPDATE, "update_id": next(_ids),
            "message": {**TEXT_UPDATE["message"], "text": text}}


@pytest.fixture
async def bot(settings: Settings, redis_url: str, prefix: str, bot_api: BotApiStandIn,
              published: Opener,
              ) -> AsyncIterator[tuple[httpx.AsyncClient, BotApiStandIn, LocalServer]]:
    await add_users(redis_url, prefix)
    async with serve_bot(telegram_settings(settings, bot_api), published) as (
            server, _), httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client, bot_api, server


async def worker_says(client: httpx.AsyncClient, text: str) -> None:
    response = await client.post("/webhooks/telegram", json=text_update(text),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 200


async def log_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    client.cookies.clear()
    response = await client.post("/admin/api/login",
                                 json={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    return {"x-csrf-token": response.json()["csrf"]}


async def test_staff_take_reply_and_close_a_worker_s_conversation(
        bot: tuple[httpx.AsyncClient, BotApiStandIn, LocalServer]) -> None:
    client, api, server = bot
    await worker_says(client, "mau bicara dengan petugas")
    await worker_says(client, "/setuju")
    sent = await api.recorder.wait_for("sendMessage", 2)
    assert "diteruskan ke petugas" in sent[1].params["text"]

    headers = await log_in(client, "budi")
    waiting = (await client.get("/admin/api/handoffs?status=open")).json()
    assert [(h["channel"], h["user_id"], h["status_name"]) for h in waiting] == [
        ("telegram", CHAT, "menunggu")]
    handoff_id = waiting[0]["id"]
    assert (await client.get("/admin/api/handoffs?status=taken")).json() == []
    by_branch = "/admin/api/handoffs?status=open&branch="
    assert (await client.get(by_branch + "Kantor Cabang Malang")).json() == []
    assert [h["id"] for h in (await client.get(
        by_branch + waiting[0]["branch"])).json()] == [handoff_id]
    # The list page remembers the branch a browser chose, until "Semua cabang" (empty).
    malang = await client.get("/admin/percakapan", params={"cabang": "Kantor Cabang Malang"})
    assert "Tidak ada percakapan menunggu di Kantor Cabang Malang" in malang.text
    assert "Tidak ada percakapan menunggu di Kantor Cabang Malang" in (
        await client.get("/admin/percakapan")).text
    assert f"#{handoff_id} Buka" in (await client.get("/admin/percakapan?cabang=")).text
    assert f"#{handoff_id} Buka" in (await client.get("/admin/percakapan")).text
    assert (await client.get("/admin/api/handoffs?status=lain")).status_code == 422
    assert (await client.get("/admin/api/handoffs/999")).status_code == 404

    # The worker writes while waiting: the message reaches staff, the bot says nothing.
    await worker_says(client, "klaim JHT saya belum cair sebulan")
    before = len(api.recorder.of("sendMessage"))
    await server.idle()  # the message is taken in after the webhook's 200
    latest = (await client.get(f"/admin/api/handoffs/{handoff_id}")).json()["messages"][-1]
    assert (latest["text"], latest["who_name"], latest["by_staff"]) == (
        "klaim JHT saya belum cair sebulan", "Pekerja", False)
    assert len(api.recorder.of("sendMessage")) == before

    taken = await client.post(f"/admin/api/handoffs/{handoff_id}/take", headers=headers)
    assert taken.json()["status"] == "taken"
    assert taken.json()["taken_by"] == "budi"
    empty = await client.post(f"/admin/api/handoffs/{handoff_id}/reply", json={"text": ""},
                              headers=headers)
    assert empty.status_code == 422
    reply = await client.post(f"/admin/api/handoffs/{handoff_id}/reply",
                              json={"text": "Baik Bu, saya cek dulu ya."}, headers=headers)
    assert reply.status_code == 201
    assert reply.json()["who"] == "petugas:budi"
    delivered = await api.recorder.wait_for("sendMessage", before + 1)
    assert delivered[-1].params["chat_id"] == CHAT
    assert delivered[-1].params["text"] == "Baik Bu, saya cek dulu ya."

    closed = await client.post(f"/admin/api/handoffs/{handoff_id}/close", headers=headers)
    assert closed.json()["status"] == "closed"
    told = await api.recorder.wait_for("sendMessage", before + 2)
    assert "sudah selesai" in told[-1].params["text"]
    again = await client.post(f"/admin/api/handoffs/{handoff_id}/close", headers=headers)
    assert again.status_code == 409
    late = await client.post(f"/admin/api/handoffs/{handoff_id}/reply", json={"text": "x"},
                             headers=headers)
    assert late.status_code == 409

    await worker_says(client, "brp iuran bpjs tk buat ojol")  # the bot answers again
    answered = await api.recorder.wait_for("sendMessage", before + 3)
    assert "Rp" in answered[-1].params["text"]

    admin = await log_in(client, "ani")  # admins may do what staff do
    assert (await client.get("/admin/api/handoffs?status=closed")).json()[0]["id"] == handoff_id
    assert (await client.post(f"/admin/api/handoffs/{handoff_id}/take",
                              headers=admin)).status_code == 409
    audit = (await client.get("/admin/api/audit")).json()
    assert [e["action"] for e in audit if e["action"].startswith("percakapan.")][:4] == [
        "percakapan.tutup", "percakapan.balas", "percakapan.ambil", "percakapan.baru"]
