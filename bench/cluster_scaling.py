"""Standalone Redis vs Redis Cluster, side by side in one run: REST scaling, commands, bytes.

Starts its own redis-server and its own 3-master, 3-replica cluster (tests/cluster.py) on free
loopback ports. For each: publishes a model (`nlu train`), then runs 1, 2 and 4 `python -m bot
serve` processes and saturates them together over `--connections` keep-alive connections
(bench/rest_load.py's client) for `--seconds`, measuring throughput, the servers' CPU per
message and the Redis commands per message (total_commands_processed of the masters). Then
sends a campaign of `--recipients` with an in-process worker to the Bot API stand-in, for the
commands per send, and reads the bytes of a conversation state and of a finished recipient
(MEMORY USAGE). Prints markdown tables.

    .venv/bin/python bench/cluster_scaling.py [--seconds 8] [--connections 32]
        [--recipients 2000] [--broadcast-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import redis as sync_redis
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rest_load import cpu_seconds, saturate
from bot.app import open_runtime
from bot.broadcast.campaigns import JAKARTA, CampaignStore, Message
from bot.broadcast.segments import Segment
from bot.broadcast.worker import Worker
from bot.messages import IncomingMessage
from bot.settings import PROJECT_ROOT, BroadcastConfig, Settings
from tests.cluster import LocalCluster, free_ports, pings, until
from tests.standins import BOT_TOKEN, BotApiStandIn


def masters_commands(urls: list[str]) -> int:
    total = 0
    for url in urls:
        client = sync_redis.Redis.from_url(url)
        info = client.info("all")
        if info.get("role") == "master":
            total += int(info["total_commands_processed"])
        client.close()
    return total


def serve_many(env: dict[str, str], ports: list[int]) -> list[subprocess.Popen[bytes]]:
    servers = [subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for port in ports]

    def healthy(port: int) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return True
        except OSError:
            return False

    for port in ports:
        until(lambda p=port: healthy(p), f"serve on {port}", 180)  # type: ignore[misc]
    return servers


async def saturate_all(ports: list[int], seconds: float, connections: int) -> tuple[int, int]:
    results = await asyncio.gather(*(saturate(port, seconds, connections // len(ports))
                                     for port in ports))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def rest(name: str, env: dict[str, str], nodes: list[str], seconds: float,
         connections: int) -> list[str]:
    subprocess.run([sys.executable, "-m", "bot", "nlu", "train"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    for count in (1, 2, 4):
        ports = free_ports(count)
        servers = serve_many(env, ports)
        try:
            asyncio.run(saturate_all(ports, 2, connections))  # warm-up
            cpu = [cpu_seconds(s.pid) for s in servers]
            commands = masters_commands(nodes)
            ok, failed = asyncio.run(saturate_all(ports, seconds, connections))
            used = sum(cpu_seconds(s.pid) - c for s, c in zip(servers, cpu, strict=True))
            per_message = (masters_commands(nodes) - commands) / max(ok, 1)
        finally:
            for server in servers:
                server.send_signal(signal.SIGINT)
            for server in servers:
                server.wait(timeout=30)
        rows.append(f"| {name} | {count} | {ok / seconds:,.0f} ({failed} non-200) | "
                    f"{used / max(ok + failed, 1) * 1000:.2f} ms | {per_message:.1f} |")
    return rows


async def broadcast(name: str, settings: Settings, nodes: list[str],
                    recipients: int) -> tuple[str, float, int, float]:
    async with BotApiStandIn() as bot_api:
        rt = await open_runtime(settings.model_copy(update={
            "telegram_bot_token": SecretStr(BOT_TOKEN),
            "telegram_api_base_url": bot_api.base_url}))
        now = datetime.now(JAKARTA)
        for i in range(recipients):
            user = str(7_000_000 + i)
            await rt.contacts.enrol("telegram", user, {"consent": "opt_in",
                                                       "consent_at": now.isoformat()})
        # One conversation, for the bytes of a state.
        await rt.engine.handle(IncomingMessage("rest", "ukur", "brp iuran ojol", now))
        state = await rt.redis.memory_usage(rt.keys.state("rest", "ukur"), samples=0) or 0
        store = CampaignStore(rt.redis, rt.keys)
        campaign = await store.create("ukur", Segment(), Message("Halo"), quiet_hours=None,
                                      now=now)
        config = BroadcastConfig(rates={"telegram": 1000.0}, quiet_hours="off",
                                 concurrency=32, refresh_seconds=0.1)
        ctx = replace(rt.sending, config=config, clock=lambda: datetime.now(JAKARTA))
        await store.start(campaign.id, now)
        commands = masters_commands(nodes)
        stop = asyncio.Event()
        task = asyncio.create_task(Worker(ctx, "bench").run(stop))
        while (await store.require(campaign.id)).status != "done":  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the status is written by the worker's scripts
        stop.set()
        await task
        per_send = (masters_commands(nodes) - commands) / recipients
        outcomes = await rt.redis.memory_usage(rt.keys.campaign_outcomes(campaign.id),
                                               samples=0) or 0
        await rt.close()
    return name, per_send, state, outcomes / recipients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--broadcast-only", action="store_true",
                        help="skip the REST part (the commands per broadcast send, quickly)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    port = free_ports(1)[0]
    standalone = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    cluster = LocalCluster(folder / "cluster").start()
    try:
        until(lambda: pings(f"redis://127.0.0.1:{port}"), "standalone redis")
        targets = [("standalone", f"redis://127.0.0.1:{port}", False,
                    [f"redis://127.0.0.1:{port}"]),
                   ("cluster 3+3", cluster.url, True,
                    [f"redis://127.0.0.1:{n.port}" for n in cluster.nodes])]
        rows, sends = [], []
        for name, url, is_cluster, nodes in targets:
            env = {**os.environ, "REDIS_URL": url, "REDIS_CLUSTER": str(is_cluster).lower(),
                   "SAPA_KEY_PREFIX": "bench", "SAPA_DATA_DIR": str(folder / "data")}
            if not args.broadcast_only:
                rows += rest(name, env, nodes, args.seconds, args.connections)
            settings = Settings(redis_url=url, redis_cluster=is_cluster, sapa_key_prefix="bench",
                                sapa_config=PROJECT_ROOT / "config.yml")
            sends.append(asyncio.run(broadcast(name, settings, nodes, args.recipients)))
        if rows:
            print(f"REST, {args.connections} connections shared by the processes, "
                  f"{args.seconds:.0f} s each\n")
            print("| Redis | serve processes | messages/s | server CPU per message | "
                  "Redis commands per message |\n|---|---|---|---|---|")
            print("\n".join(rows))
        print(f"\nBroadcast, {args.recipients} recipients, one worker\n")
        print("| Redis | commands per send | bytes of a conversation state | "
              "bytes per finished recipient (outcomes hash) |\n|---|---|---|---|")
        for name, per_send, state, finished in sends:
            print(f"| {name} | {per_send:.1f} | {state} | {finished:.1f} |")
    finally:
        cluster.stop()
        standalone.terminate()
        standalone.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
