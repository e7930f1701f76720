"""Redis faults on a Redis of the test's own (never the shared one): paused, stopped, restarted
empty. Requests fail fast with a clear 503 and recover by themselves; /health tells a Redis
that lost the knowledge base from a healthy one; a Telegram update is not acknowledged until it
has been answered.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as sync_redis

from bot.app import Runtime, open_runtime
from bot.nlu.model import NLU
from bot.settings import Settings
from tests.conftest import TG_SECRET as SECRET
from tests.conftest import TODAY, publish_model, telegram_settings
from tests.standins import BotApiStandIn, bot_in_process

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REST = "/webhooks/rest/webhook"
DATA = Path(__file__).parent / "data" / "telegram"
pytestmark = pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="needs redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A redis-server of this test on a free loopback port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = sync_redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        for _ in range(500):  # until it accepts connections (each try waits on the socket)
            try:
                if client.ping():
                    return
            except sync_redis.ConnectionError:
                client.connection_pool.disconnect()
                try:
                    self.process.wait(timeout=0.01)
                except subprocess.TimeoutExpired:
                    continue
                raise RuntimeError("redis-server exited") from None
        raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.resume()
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def served(own_redis: OwnRedis, bot_api: BotApiStandIn, model_blob: bytes,
                 trained_model: NLU) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    settings = telegram_settings(Settings(redis_url=own_redis.url, sapa_key_prefix="sp",
                                          redis_timeout_seconds=0.3), bot_api)
    await publish_model(own_redis.url, "sp", model_blob, trained_model.fingerprint)
    async with bot_in_process(settings, lambda s: open_runtime(s, clock=lambda: TODAY)) as served:
        yield served


def telegram_update(update_id: int, text: str) -> bytes:
    data: dict[str, Any] = json.loads((DATA / "text.json").read_text(encoding="utf-8"))
    data["update_id"] = update_id
    data["message"]["text"] = text
    return json.dumps(data).encode()


async def telegram(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post("/webhooks/telegram", content=body, headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})


async def test_paused_redis_gives_a_clear_503_and_recovers_by_itself(
        served: tuple[httpx.AsyncClient, Runtime], own_redis: OwnRedis) -> None:
    client, _ = served
    assert (await client.post(REST, json={"sender": "a", "message": "halo"})).status_code == 200
    assert (await client.get("/health")).status_code == 200
    own_redis.pause()
    try:
        down = await client.post(REST, json={"sender": "a", "message": "iuran ojol"})
        assert down.status_code == 503
        assert "gangguan" in down.json()["text"]  # an Indonesian apology, not a trace
        health = await client.get("/health")
        assert health.status_code == 503
        assert health.json()["redis"] == "unreachable"
    finally:
        own_redis.resume()
    again = await client.post(REST, json={"sender": "a", "message": "iuran ojol"})
    assert again.status_code == 200
    assert (await client.get("/health")).status_code == 200


async def test_health_fails_when_redis_restarted_empty(
        served: tuple[httpx.AsyncClient, Runtime], own_redis: OwnRedis) -> None:
    client, _ = served
    own_redis.stop()
    assert (await client.get("/health")).status_code == 503
    own_redis.start()  # same port, nothing in it: PING answers, the knowledge base is gone
    health = await client.get("/health")
    assert health.status_code == 503
    assert health.json()["redis"] == "ok"
    assert health.json()["knowledge_base"] == "missing"
    assert health.json()["model"] == "missing"


async def test_a_telegram_update_is_acknowledged_only_once_answered(
        served: tuple[httpx.AsyncClient, Runtime], own_redis: OwnRedis,
        bot_api: BotApiStandIn) -> None:
    client, _ = served
    own_redis.pause()
    try:
        refused = await telegram(client, telegram_update(900, "brp iuran ojol"))
        assert refused.status_code == 503  # Telegram keeps it and delivers it again
    finally:
        own_redis.resume()
    # Redis is back; the claim of the refused delivery lapses or was given back.
    redelivered = await telegram(client, telegram_update(900, "brp iuran ojol"))
    assert redelivered.status_code == 200
    assert redelivered.json()["update"] == "text"
    (sent,) = await bot_api.recorder.wait_for("sendMessage")
    assert "Rp" in str(sent.params)
    duplicate = await telegram(client, telegram_update(900, "brp iuran ojol"))
    assert duplicate.json()["update"] == "duplicate"
