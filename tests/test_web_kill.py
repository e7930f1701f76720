"""Kill -9 of the web process in the middle of conversations: nothing is corrupted, and a new
process carries every conversation on (a real `python -m bot serve`, killed with SIGKILL)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket

import httpx
import orjson

from bot.settings import Settings
from tests.conftest import SERVING, Opener, spawn_bot, wait_for_line

REST = "/webhooks/rest/webhook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve(settings: Settings, port: int) -> asyncio.subprocess.Process:
    process = await spawn_bot(settings, "serve", "--port", str(port),
                              stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    await wait_for_line(process, process.stderr, SERVING)  # uvicorn logs to stderr
    return process


async def test_kill_9_mid_traffic_loses_no_conversation(settings: Settings,
                                                        published: Opener) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = await serve(settings, port)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for text in ("mau didata", "setuju", "Budi Santoso"):
                assert (await client.post(REST, json={"sender": "budi", "message": text})
                        ).status_code == 200

            answered = asyncio.Event()

            async def chatter(i: int) -> None:
                with contextlib.suppress(httpx.TransportError):  # in flight when it died
                    await client.post(REST, json={"sender": f"w{i}", "message": "iuran ojol"})
                    answered.set()

            burst = [asyncio.create_task(chatter(i)) for i in range(60)]
            await answered.wait()  # the burst reached the process: kill it mid-burst
            first.send_signal(signal.SIGKILL)
            await first.wait()
            await asyncio.gather(*burst)
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    second = await serve(settings, port)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            replies = []
            for text in ("pedagang pasar", "Kel. Ketabang, Kec. Genteng", "081234567890"):
                response = await client.post(REST, json={"sender": "budi", "message": text})
                assert response.status_code == 200
                replies.append(" ".join(r["text"] for r in response.json()))
            assert "Budi Santoso" in replies[-1]  # the name given before the kill was kept
            for i in range(60):  # every conversation the burst touched still reads
                response = await client.post(REST, json={"sender": f"w{i}", "message": "halo"})
                assert response.status_code == 200
                assert orjson.loads(response.content)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
