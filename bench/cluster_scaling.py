"""Standalone Redis vs Redis Cluster, side by side in one run: REST CPU, commands, bytes.

Starts its own redis-server and its own 3-master, 3-replica cluster (tests/cluster.py) on free
loopback ports, trains once (`nlu train`) and copies the model to the cluster, starts 4 `python
-m bot serve` processes on each, then saturates 1, 2 and 4 of them, each Redis in turn, over
`--connections` keep-alive connections (bench/rest_load.py's client), `--rounds` times for
`--seconds` each, so both see the same load on a shared machine: throughput, the servers' CPU
time per message (not wall time) and the Redis commands per message (total_commands_processed
of the masters). Then sends a campaign of `--recipients` with an in-process worker to the Bot
API stand-in, for the commands per send, and reads the bytes of a conversation state and of a
finished recipient (MEMORY USAGE). Prints markdown tables and the load average; about three
minutes with the defaults.

    .venv/bin/python bench/cluster_scaling.py [--seconds 3] [--rounds 3] [--connections 32]
        [--recipients 600] [--broadcast-only]
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
import time
import urllib.request
from dataclasses import dataclass, field, replace
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
from bot.keys import SERVER_ARGS, Keys
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


@dataclass
class Target:
    """A Redis to measure against: the environment its processes get and the nodes to count."""

    name: str
    env: dict[str, str]
    nodes: list[str]


@dataclass
class Tally:
    """What the rounds of one target at one process count added up to."""

    ok: int = 0
    failed: int = 0
    cpu: float = 0.0
    commands: int = 0
    per_round: list[float] = field(default_factory=list)  # CPU ms per message, each round


COUNTS = (1, 2, 4)  # serve processes


def publish_once(standalone: Target, cluster: Target) -> None:
    """Train on the standalone server and copy the model to the cluster (one training)."""
    subprocess.run([sys.executable, "-m", "bot", "nlu", "train"], env=standalone.env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    keys = Keys(standalone.env["SAPA_KEY_PREFIX"])
    source = sync_redis.Redis.from_url(standalone.env["REDIS_URL"])
    target = sync_redis.RedisCluster.from_url(cluster.env["REDIS_URL"])
    for key in (keys.model_blob(), keys.model_version()):
        target.restore(key, 0, source.dump(key), replace=True)
    source.close()
    target.close()


def rest(targets: list[Target], seconds: float, connections: int, rounds: int) -> list[str]:
    """4 serve processes per target started once; for 1, 2 and 4 of them, the targets are
    saturated in turn, `rounds` times, so both see the same load on the shared machine. The
    CPU counted is the saturated processes' CPU time (the idle ones only poll)."""
    ports = {t.name: free_ports(max(COUNTS)) for t in targets}
    servers = {t.name: serve_many(t.env, ports[t.name]) for t in targets}
    rows = []
    try:
        for t in targets:
            asyncio.run(saturate_all(ports[t.name], 1.5, connections))  # warm-up
        for count in COUNTS:
            tallies = {t.name: Tally() for t in targets}
            for _ in range(rounds):
                for t in targets:
                    tally, procs = tallies[t.name], servers[t.name][:count]
                    cpu = [cpu_seconds(p.pid) for p in procs]
                    commands = masters_commands(t.nodes)
                    ok, failed = asyncio.run(saturate_all(ports[t.name][:count], seconds,
                                                          connections))
                    used = sum(cpu_seconds(p.pid) - c for p, c in zip(procs, cpu, strict=True))
                    tally.commands += masters_commands(t.nodes) - commands
                    tally.ok, tally.failed, tally.cpu = (tally.ok + ok, tally.failed + failed,
                                                         tally.cpu + used)
                    tally.per_round.append(used / max(ok + failed, 1) * 1000)
            rows += _rows(count, targets, tallies, seconds * rounds)
    finally:
        for procs in servers.values():
            for server in procs:
                server.send_signal(signal.SIGINT)
        for procs in servers.values():
            for server in procs:
                _stop(server)
    return rows


def _rows(count: int, targets: list[Target], tallies: dict[str, Tally],
          seconds: float) -> list[str]:
    base = tallies[targets[0].name]
    base_ms = base.cpu / max(base.ok + base.failed, 1) * 1000
    rows = []
    for t in targets:
        tally = tallies[t.name]
        ms = tally.cpu / max(tally.ok + tally.failed, 1) * 1000
        rows.append(
            f"| {count} | {t.name} | {tally.ok / seconds:,.0f} | "
            f"{ms:.2f} ms ({min(tally.per_round):.2f}-{max(tally.per_round):.2f}) | "
            f"{'' if tally is base else f'{ms / base_ms - 1:+.0%}'} | "
            f"{tally.commands / max(tally.ok, 1):.1f} | {tally.failed} |")
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
                                                       "consent_at": now.isoformat()}, now)
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
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--recipients", type=int, default=600)
    parser.add_argument("--broadcast-only", action="store_true",
                        help="skip the REST part (the commands per broadcast send, quickly)")
    args = parser.parse_args()
    started, load = time.monotonic(), os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    port = free_ports(1)[0]
    standalone = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(folder), *SERVER_ARGS], stdout=subprocess.DEVNULL)
    cluster = LocalCluster(folder / "cluster").start()
    try:
        until(lambda: pings(f"redis://127.0.0.1:{port}"), "standalone redis")
        targets = [Target("standalone", _env(f"redis://127.0.0.1:{port}", False, folder),
                          [f"redis://127.0.0.1:{port}"]),
                   Target("cluster 3+3", _env(cluster.url, True, folder),
                          [f"redis://127.0.0.1:{n.port}" for n in cluster.nodes])]
        rows = []
        if not args.broadcast_only:
            publish_once(*targets)
            print(f"trained and published: {time.monotonic() - started:.0f} s", file=sys.stderr)
            rows = rest(targets, args.seconds, args.connections, args.rounds)
        print(f"REST done: {time.monotonic() - started:.0f} s", file=sys.stderr)
        sends = []
        for t in targets:
            settings = Settings(redis_url=t.env["REDIS_URL"],
                                redis_cluster=t.env["REDIS_CLUSTER"] == "true",
                                sapa_key_prefix="bench", sapa_config=PROJECT_ROOT / "config.yml")
            sends.append(asyncio.run(broadcast(t.name, settings, t.nodes, args.recipients)))
        if rows:
            print(f"REST: {args.connections} connections shared by the serve processes; each "
                  f"Redis in turn, {args.rounds} rounds of {args.seconds:.0f} s; CPU time of "
                  "the serve processes (all rounds, and the lowest-highest round)\n")
            print("| serve processes | Redis | messages/s | server CPU per message | "
                  "CPU vs standalone | Redis commands per message | non-200 |\n"
                  "|---|---|---|---|---|---|---|")
            print("\n".join(rows))
        print(f"\nBroadcast, {args.recipients} recipients, one worker\n")
        print("| Redis | commands per send | bytes of a conversation state | "
              "bytes per finished recipient (outcomes hash) |\n|---|---|---|---|")
        for name, per_send, state, finished in sends:
            print(f"| {name} | {per_send:.1f} | {state} | {finished:.1f} |")
        print(f"\nload average (1, 5, 15 min) at the start {_load(load)}, at the end "
              f"{_load(os.getloadavg())}; {time.monotonic() - started:.0f} s in all")
    finally:
        cluster.stop()
        standalone.terminate()
        standalone.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Wait for a serve process told to stop; one still closing connections after 30 s is
    killed (its figures are already taken)."""
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _env(url: str, cluster: bool, folder: Path) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": url, "REDIS_CLUSTER": str(cluster).lower(),
            "SAPA_KEY_PREFIX": "bench", "SAPA_DATA_DIR": str(folder / "data")}


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.1f}" for x in load)


if __name__ == "__main__":
    main()
