"""A Redis Cluster master killed with SIGKILL mid-campaign and under REST load.

Its own 3 + 3 cluster (the run's shared one stays whole). Two real `python -m bot worker`
processes send a campaign through the Bot API stand-in while REST senders talk to the web app;
the master holding the campaign's slot is killed. Its replica takes over; the web app answers 503
with the Indonesian apology while the slot has no master, and answers again without a restart;
the campaign finishes with no chat messaged twice and every recipient accounted for (sent,
skipped, failed, or unknown when a send was in flight at the kill).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.app import Runtime, open_runtime
from bot.broadcast.campaigns import CampaignStore, Message
from bot.broadcast.ledger import Ledger
from bot.broadcast.segments import Segment
from bot.channels.inbound import SORRY_REPLY
from bot.knowledge.base import KnowledgeBase, load_seed
from bot.nlu.model import NLU
from bot.settings import Settings
from bot.web import create_app
from tests.cluster import LocalCluster, until
from tests.conftest import (
    add_contact,
    assert_each_recipient_once,
    now,
    publish_model,
    spawn_worker,
    worker_config,
)
from tests.standins import BotApiStandIn, LocalServer

RECIPIENTS = 150
SENDERS = 12


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path / "cluster").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster_settings(own_cluster: LocalCluster, tmp_path: Path) -> Settings:
    return Settings(redis_url=own_cluster.url, redis_cluster=True, sapa_key_prefix="failover",
                    sapa_config=worker_config(tmp_path))


@pytest.fixture
async def sender(cluster_settings: Settings, trained_model: NLU) -> AsyncIterator[Runtime]:
    opened = await open_runtime(cluster_settings, model=trained_model)
    yield opened
    await opened.close()


class RestLoad:
    """SENDERS workers messaging the REST channel in turn until stopped; every answer kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[str, int, str]] = []  # sender, status, body
        self.stop = asyncio.Event()

    async def talk(self, client: httpx.AsyncClient, sender: str) -> tuple[int, str]:
        response = await client.post(f"{self.url}/webhooks/rest/webhook",
                                     json={"sender": sender, "message": "brp iuran jkk"})
        self.answers.append((sender, response.status_code, response.text))
        return response.status_code, response.text

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            async def one(index: int) -> None:
                while not self.stop.is_set():
                    await self.talk(client, f"beban-{index}")

            await asyncio.gather(*(one(i) for i in range(SENDERS)))

    def refused(self) -> list[str]:
        return [body for _, status, body in self.answers if status == 503]


@pytest.mark.timeout(300)  # its own cluster, 2 worker processes and a web app on 2 cores
async def test_a_killed_master_fails_over_without_duplicates_or_losses(
        own_cluster: LocalCluster, cluster_settings: Settings, sender: Runtime,
        model_blob: bytes, trained_model: NLU) -> None:
    t = now()
    for user in range(1, RECIPIENTS + 1):
        await add_contact(sender, "telegram", str(user), seen=t)
    store, ledger = CampaignStore(sender.redis, sender.keys), Ledger(sender.redis, sender.keys)
    campaign = await store.create("Pengingat iuran", Segment(), Message("Halo {nama}"),
                                  quiet_hours=None, now=t)
    assert await store.start(campaign.id, t) == "started"
    await publish_model(cluster_settings.redis_url or "", cluster_settings.sapa_key_prefix,
                        model_blob, trained_model.fingerprint)
    victim = own_cluster.master_of(sender.keys.campaign(campaign.id))
    successor = own_cluster.replica_of(victim)

    async with BotApiStandIn(latency=0.03) as bot_api, \
            LocalServer(create_app(cluster_settings)) as web:
        config = Path(cluster_settings.sapa_config)
        workers = [await spawn_worker(cluster_settings, config, bot_api, drain=True)
                   for _ in range(2)]
        load = RestLoad(web.url)
        talking = asyncio.create_task(load.run())
        try:
            await bot_api.recorder.wait_for("sendMessage", RECIPIENTS // 3, timeout=60)
            own_cluster.kill(victim)
            await asyncio.to_thread(until, lambda: successor.info("replication").get(
                "role") == "master", "the replica to take over")
            refused_during = len(load.refused())
            await asyncio.to_thread(own_cluster.wait_healthy)
            load.stop.set()
            await talking
            # Recovered, same process: every sender, new or old, is answered again.
            async with httpx.AsyncClient(timeout=30) as client:
                after = [await load.talk(client, f"sesudah-{i}") for i in range(SENDERS)]
            async with asyncio.timeout(60):  # both exit once every recipient has an outcome
                codes = [await worker.wait() for worker in workers]
        finally:
            load.stop.set()
            for worker in workers:
                if worker.returncode is None:
                    worker.send_signal(signal.SIGTERM)
            codes = [await worker.wait() for worker in workers]
            await asyncio.gather(talking, return_exceptions=True)

    assert codes == [0, 0], "a worker did not survive the failover"
    assert (await store.require(campaign.id)).status == "done"
    assert refused_during > 0, "no REST request met the failover"
    apology = KnowledgeBase(load_seed()).text(SORRY_REPLY)
    assert all(apology in body for body in load.refused())
    assert {status for status, _ in after} == {200}

    await assert_each_recipient_once(bot_api, ledger, campaign.id, RECIPIENTS)
