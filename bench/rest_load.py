"""REST channel load benchmark: throughput, latency at a fixed rate, and server memory.

Publishes a model with `python -m bot nlu train`, then starts `python -m bot serve` as its
own process on loopback (Redis from REDIS_URL, default the machine's db 14, under a throwaway
key prefix), so it loads that model as a production process does, and drives it from this
process with a small keep-alive HTTP/1.1 client (httpx itself would be the bottleneck).
Prints a table.

    .venv/bin/python bench/rest_load.py [--seconds 10] [--connections 32] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import redis

MESSAGES = [
    "brp iuran bpjs tk buat ojol", "2 juta", "kalau JHT-nya?", "gmn cara daftar", "lewat hp bisa?",
    "klo jatuh dr motor pas nganter orderan ditanggung gak", "iurane piro sak wulan",
    "jht bs cair kpn", "harga cabe hari ini", "halo min", "makasih", "kantor cabang blitar dmn",
    "telat bayar 2 bulan gimana", "bayar iuran lewat apa aja", "menu",
]


async def post_rest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes,
                    ) -> tuple[int, bytes]:
    """One REST channel request over a bare connection: the status and the response body."""
    writer.write(b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: bench\r\n"
                 b"Content-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length)


def _body(sender: int) -> bytes:
    return orjson.dumps({"sender": f"bench-{sender}", "message": random.choice(MESSAGES)})


async def saturate(port: int, seconds: float, connections: int) -> tuple[int, int]:
    """Closed loop: each connection sends as fast as answers come back."""
    deadline = time.perf_counter() + seconds
    counts = [0, 0]

    async def one(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            status, _ = await post_rest(reader, writer, _body(random.randrange(2000)))
            counts[0 if status == 200 else 1] += 1
        writer.close()

    await asyncio.gather(*(one(i) for i in range(connections)))
    return counts[0], counts[1]


async def fixed_rate(port: int, seconds: float, rate: float, connections: int) -> list[float]:
    """Open loop: requests start on a fixed schedule; latency includes any queueing."""
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    start = time.perf_counter()
    total = int(seconds * rate)

    async def fire(i: int) -> None:
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        conn = await pool.get()
        status, _ = await post_rest(*conn, _body(random.randrange(2000)))
        latencies.append((time.perf_counter() - scheduled) * 1000)
        pool.put_nowait(conn)
        assert status == 200

    await asyncio.gather(*(fire(i) for i in range(total)))
    return latencies


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def trained_serve(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot serve` on `port` once it answers, with REDIS_URL and SAPA_KEY_PREFIX from
    `env`; on leaving, it is stopped and every key under the prefix deleted.

    As in production, the model is trained and published once; the server only loads it.
    """
    subprocess.run([sys.executable, "-m", "bot", "nlu", "train"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(1200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        client = redis.Redis.from_url(env["REDIS_URL"])
        for key in client.scan_iter(match=f"{env['SAPA_KEY_PREFIX']}:*", count=1000):
            client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    prefix = f"spbench-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "REDIS_URL": redis_url, "SAPA_KEY_PREFIX": prefix}
    with trained_serve(env, args.port) as server:
        asyncio.run(saturate(args.port, 2, args.connections))  # warm-up
        cpu_before = cpu_seconds(server.pid)
        ok, failed = asyncio.run(saturate(args.port, args.seconds, args.connections))
        cpu_per_message = (cpu_seconds(server.pid) - cpu_before) / max(ok + failed, 1)
        latencies = sorted(asyncio.run(fixed_rate(args.port, args.seconds, args.rate, 16)))
        memory = rss_mb(server.pid)
    p = statistics.quantiles(latencies, n=100)
    print("| metric | value |\n|---|---|")
    print(f"| throughput, {args.connections} connections, {args.seconds:.0f} s | "
          f"{ok / args.seconds:,.0f} messages/s ({failed} non-200) |")
    print(f"| server CPU per message (saturated) | {cpu_per_message * 1000:.2f} ms, "
          f"so at most {1 / cpu_per_message:,.0f} messages/s on a free core |")
    print(f"| latency at {args.rate:.0f} messages/s: p50 | {p[49]:.2f} ms |")
    print(f"| latency at {args.rate:.0f} messages/s: p99 | {p[98]:.2f} ms |")
    print(f"| server resident memory after the run | {memory:.0f} MB |")


if __name__ == "__main__":
    main()
