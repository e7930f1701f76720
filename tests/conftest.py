"""Shared fixtures: a real Redis (the machine's, or an embedded one), a trained model, a runtime.

Tests use Redis db 15 under their own key prefix and delete their keys after each test, so they
never touch a developer's data. Set TEST_REDIS_URL to use another server.

Modules marked `redis_cluster` run their Redis tests twice: on the standalone server and on a
real Redis Cluster (3 masters, 3 replicas on loopback, started once per run by tests/cluster.py),
through the same client factory the processes use. TEST_REDIS=standalone or TEST_REDIS=cluster
runs one of the two.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import orjson
import pytest
import redis as sync_redis
import yaml
from argon2 import PasswordHasher
from pydantic import SecretStr
from redis.asyncio import Redis
from starlette.testclient import TestClient

import bot.app as app_module
from actions.registry import registry
from bot.admin.accounts import RedisUserStore, User
from bot.app import JAKARTA, Runtime, connect_redis, open_runtime
from bot.broadcast.cli import WORKER_READY
from bot.broadcast.heartbeat import beat
from bot.broadcast.ledger import Ledger
from bot.dialogue.engine import Engine
from bot.embedded_redis import ensure_embedded_redis
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase, load_seed
from bot.knowledge.store import Live
from bot.memory import (
    MemoryBusyNotices,
    MemoryContacts,
    MemoryConversations,
    MemoryEraser,
    MemoryFallbacks,
    MemoryLeads,
    MemoryTally,
)
from bot.messages import IncomingMessage, Reply
from bot.nlu.data import load_nlu_data
from bot.nlu.model import NLU, train
from bot.settings import PROJECT_ROOT, Settings, load_config
from bot.web import create_app
from tests.cluster import LocalCluster
from tests.standins import (
    BOT_TOKEN,
    GRAPH_TOKEN,
    GRAPH_VERSION,
    PHONE_NUMBER_ID,
    BotApiStandIn,
    GraphApiStandIn,
    LocalServer,
    serve_bot,
    whatsapp_signature,
)

TODAY = datetime(2026, 11, 21, 10, 0, tzinfo=JAKARTA)


def _reachable(url: str) -> bool:
    try:
        return bool(sync_redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except sync_redis.RedisError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redis_cluster: run the module's Redis tests on a Redis "
                            "Cluster as well as on a standalone server")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis_kind" not in metafunc.fixturenames:
        return
    kinds = ["standalone"]
    if metafunc.definition.get_closest_marker("redis_cluster"):
        kinds.append("cluster")
    wanted = os.environ.get("TEST_REDIS")
    metafunc.parametrize("redis_kind", [k for k in kinds if wanted in (None, k)] or kinds[:1],
                         indirect=True, scope="session")


@pytest.fixture(scope="session")
def redis_kind(request: pytest.FixtureRequest) -> str:
    """"standalone" or "cluster" (parametrised in pytest_generate_tests)."""
    return str(request.param)


@pytest.fixture(scope="session")
def standalone_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The machine's Redis (db 15) if it answers, else an embedded server for this run."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    if _reachable(url):
        return url
    return ensure_embedded_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A real 3 + 3 Redis Cluster on free loopback ports, for the whole run."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_url(redis_kind: str, request: pytest.FixtureRequest) -> str:
    """Where this test's Redis is: the standalone server's URL, or a cluster node's."""
    if redis_kind == "cluster":
        return request.getfixturevalue("redis_cluster").url  # type: ignore[no-any-return]
    return request.getfixturevalue("standalone_url")  # type: ignore[no-any-return]


def is_cluster(url: str) -> bool:
    """Whether `url` names a node of a Redis Cluster."""
    client = sync_redis.Redis.from_url(url)
    enabled = client.info("cluster").get("cluster_enabled") == 1
    client.close()
    return enabled


def sync_client(url: str) -> sync_redis.Redis:
    """A synchronous client for test set-up: a cluster client when `url` is a cluster node."""
    if is_cluster(url):
        return sync_redis.RedisCluster.from_url(url)  # type: ignore[return-value]
    return sync_redis.Redis.from_url(url)


@pytest.fixture(scope="session")
def config_path() -> Path:
    return PROJECT_ROOT / "config.yml"


@pytest.fixture(scope="session")
def seed_kb() -> KnowledgeBase:
    return KnowledgeBase(load_seed())


@pytest.fixture(scope="session")
def trained_model(seed_kb: KnowledgeBase, config_path: Path) -> NLU:
    """One model for the whole run, trained exactly as `nlu train` does."""
    data = load_nlu_data(PROJECT_ROOT / "nlu_data")
    model, _ = train(data, seed_kb.training_examples(), load_config(config_path))
    return model


@pytest.fixture(scope="session")
def model_blob(trained_model: NLU) -> bytes:
    return trained_model.dumps()


def delete_prefix(url: str, prefix: str) -> None:
    client = sync_client(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, deleted afterwards."""
    value = f"sptest-{uuid.uuid4().hex[:8]}"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture
def settings(redis_url: str, redis_kind: str, prefix: str, config_path: Path) -> Settings:
    return Settings(redis_url=redis_url, redis_cluster=redis_kind == "cluster",
                    sapa_key_prefix=prefix, sapa_config=config_path)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A client of this test's Redis (the cluster client on a cluster), as processes make it."""
    client = connect_redis(settings)
    yield client
    await client.aclose()


async def publish_model(redis_url: str, prefix: str, blob: bytes, fingerprint: str) -> None:
    """Put a trained model where `open_runtime` looks, as `nlu train` would."""
    client = connect_redis(Settings(redis_url=redis_url, redis_cluster=is_cluster(redis_url)),
                     decode_responses=False)
    keys = Keys(prefix)
    await client.set(keys.model_blob(), blob)
    await client.set(keys.model_version(), fingerprint)
    await client.aclose()


@pytest.fixture
async def runtime(settings: Settings, redis_url: str, prefix: str, model_blob: bytes,
                  trained_model: NLU) -> AsyncIterator[Runtime]:
    """A fully wired runtime on real Redis, with the clock at 21 November 2026, 10:00 WIB."""
    await publish_model(redis_url, prefix, model_blob, trained_model.fingerprint)
    rt = await open_runtime(settings, clock=lambda: TODAY, model=trained_model)
    yield rt
    await rt.close()


@dataclass
class MemoryBot:
    """The engine on in-memory stores (bot/memory.py): a conversation in plain function calls.

    Wired as `open_runtime` wires the Redis stores, without a desk or campaign taps (as the REST
    channel and `chat` have no person to hand over to).
    """

    engine: Engine
    contacts: MemoryContacts
    conversations: MemoryConversations
    leads: MemoryLeads
    fallbacks: MemoryFallbacks
    eraser: MemoryEraser
    tally: MemoryTally


def memory_bot(model: NLU, kb: KnowledgeBase, clock: Callable[[], datetime] = lambda: TODAY,
               ) -> MemoryBot:
    """An engine on fresh in-memory stores, answering with `model` from `kb` at `clock`."""
    contacts = MemoryContacts()
    conversations, leads = MemoryConversations(contacts), MemoryLeads()
    fallbacks, eraser, tally = MemoryFallbacks(), MemoryEraser(), MemoryTally()
    engine = Engine(nlu=Live(model, model.fingerprint),
                    knowledge=Live(kb, kb.version), conversations=conversations,
                    contacts=contacts, leads=leads, actions=registry(), fallbacks=fallbacks,
                    counters=tally, clock=clock, eraser=eraser, notices=MemoryBusyNotices(),
                    max_chars=load_config(PROJECT_ROOT / "config.yml").limits.max_parse_chars)
    return MemoryBot(engine, contacts, conversations, leads, fallbacks, eraser, tally)


@pytest.fixture
def bot(trained_model: NLU, seed_kb: KnowledgeBase) -> MemoryBot:
    """The engine on in-memory stores at 21 November 2026, 10:00 WIB."""
    return memory_bot(trained_model, seed_kb)


class Conversation:
    """A worker talking to the engine, one message at a time."""

    def __init__(self, rt: Runtime | MemoryBot, user_id: str = "628111",
                 channel: str = "rest") -> None:
        self.engine = rt.engine
        self.user_id = user_id
        self.channel = channel

    async def say(self, text: str) -> list[Reply]:
        """Send a message and take the replies, as the REST channel does."""
        message = IncomingMessage(self.channel, self.user_id, text, TODAY)
        replies = await self.engine.handle(message)
        await self.engine.delivered(message)
        return replies

    async def text(self, text: str) -> str:
        return "\n".join(r.text for r in await self.say(text))


@pytest.fixture
def worker(bot: MemoryBot) -> Conversation:
    """A worker talking to the engine on in-memory stores (Conversation(runtime) for Redis)."""
    return Conversation(bot)


# -- helpers several test modules share (no test module imports another) ----------------------

PASSWORD = "kata-sandi-panjang"
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)
NEW_FAQ = {"text": "Lomba foto peserta dibuka tiap Agustus; info di kantor cabang.",
           "questions": ["ada lomba foto bpjs?", "lomba foto peserta bpjs kapan",
                         "info lomba foto bpjs ketenagakerjaan"],
           "tags": ["lomba"], "facts": []}


async def add_users(redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    users = RedisUserStore(redis, Keys(prefix))
    await users.save(User("ani", "admin", "2026-11-01T08:00:00+07:00"), PASSWORD_HASH)
    await users.save(User("budi", "staff", "2026-11-01T08:00:00+07:00"), PASSWORD_HASH)
    await redis.aclose()


def clueless(model: NLU) -> bytes:
    """The model with a fallback threshold no message reaches: every message goes unanswered,
    so inbox tests do not depend on what the training data happens to cover."""
    copy = NLU.loads(model.dumps())
    copy.threshold = 1.01
    return copy.dumps()


async def add_contact(sender: Runtime, channel: str, user_id: str, *, seen: datetime,
                      consent: str | None = "opt_in", **profile: str) -> None:
    """A contact who wrote at `seen` and (by default) opted in."""
    await sender.conversations.touch(IncomingMessage(channel, user_id, "halo", seen,
                                                profile.pop("display_name", None)))
    values = dict(profile)
    if consent:
        values.update(consent=consent, consent_at=seen.isoformat(), consent_channel=channel)
    await sender.contacts.update(channel, user_id, values)


def now() -> datetime:
    return datetime.now(JAKARTA)


def worker_config(tmp_path: Path, rate: float = 30.0) -> Path:
    """config.yml with quick broadcast timings (30 a second: Telegram's limit)."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    config["broadcast"] = {"rates": {"telegram": rate}, "claim_idle_seconds": 1.0,
                           "refresh_seconds": 0.2, "concurrency": 16}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def spawn_bot(settings: Settings, *args: str, stdout: int, stderr: int,
                    **env: str) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` on this test's Redis and key prefix, with `env` added."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr,
        env={**os.environ, "REDIS_URL": settings.redis_url or "",
             "REDIS_CLUSTER": str(settings.redis_cluster).lower(),
             "SAPA_KEY_PREFIX": settings.sapa_key_prefix, **env})


async def spawn_worker(settings: Settings, config: Path, bot_api: BotApiStandIn, *,
                       drain: bool = False) -> asyncio.subprocess.Process:
    """`python -m bot worker` on the Telegram stand-in, once it says it is heard (its first
    heartbeat written: staff can start campaigns). `drain`: it exits once nothing is left to
    send, so a test waits for the process instead of polling the campaign (and not for the
    line: a worker with nothing to do may finish before its first heartbeat)."""
    process = await spawn_bot(
        settings, "worker", *(["--drain"] if drain else []),
        stdout=asyncio.subprocess.DEVNULL if drain else asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, SAPA_CONFIG=str(config),
        TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_BASE_URL=bot_api.base_url)
    if process.stdout is not None:
        await wait_for_line(process, process.stdout, WORKER_READY.encode())
    return process


async def assert_each_recipient_once(bot_api: BotApiStandIn, ledger: Ledger, campaign_id: str,
                                     recipients: int) -> None:
    """No chat got the campaign twice, and every recipient ended sent, skipped, failed or unknown
    (a send that may have reached the platform), with the ledger's counters agreeing."""
    calls = Counter(str(c.params["chat_id"]) for c in bot_api.recorder.of("sendMessage"))
    assert max(calls.values()) == 1, "a recipient got the campaign twice"
    states = {}
    async for batch in ledger.entries(campaign_id):
        states.update({e.recipient.split(":")[1]: e.state for e in batch})
    assert len(states) == recipients
    assert set(states.values()) <= {"S", "K", "F", "U"}, "a recipient was lost"
    sent = {user for user, state in states.items() if state == "S"}
    unknown = {user for user, state in states.items() if state == "U"}
    assert sent <= set(calls) <= sent | unknown
    counts = await ledger.counts(campaign_id)
    assert counts["sent"] == len(sent)
    assert counts.get("unknown", 0) == len(unknown)
    assert counts["finished"] == counts["queued"] == recipients


def everything_stored(redis_url: str, prefix: str) -> str:
    """Every key and value under the prefix, as one text to search (binary values decoded)."""
    db = sync_client(redis_url)
    out: list[bytes] = []
    for key in db.scan_iter(match=f"{prefix}:*", count=1000):
        if key.startswith(tuple(f"{prefix}:{part}:".encode() for part in ("{nlu}", "{kb}"))):
            continue  # the model and the knowledge base: shipped data, nobody's
        out.append(key)
        kind = db.type(key)
        if kind == b"string":
            out.append(db.get(key) or b"")
        elif kind == b"hash":
            out += [k + b"=" + v for k, v in db.hgetall(key).items()]
        elif kind == b"set":
            out += list(db.smembers(key))
        elif kind == b"zset":
            out += db.zrange(key, 0, -1)
        elif kind == b"list":
            out += db.lrange(key, 0, -1)
        elif kind == b"stream":
            out += [k + b"=" + v for _, fields in db.xrange(key) for k, v in fields.items()]
    db.close()
    return b"\n".join(out).decode(errors="replace")


# -- the console app, for tests of its pages and API ------------------------------------------

def make_client(settings: Settings, redis_url: str, prefix: str, blob: bytes,
                model: NLU) -> TestClient:
    """The app on `model`, published as `blob` (so the runtime need not load it)."""
    asyncio.run(publish_model(redis_url, prefix, blob, model.fingerprint))
    asyncio.run(add_users(redis_url, prefix))
    return TestClient(create_app(settings, runtime=lambda s: open_runtime(
        s, clock=lambda: TODAY, model=model)))


@pytest.fixture
def retrains(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace the retrain with one that records the knowledge-base version and keeps the model."""
    seen: list[int] = []

    async def stand_in(settings: Settings, config: Any, kb: KnowledgeBase, store: Any) -> NLU:
        seen.append(kb.version)
        model = await store.load()
        assert model is not None
        return model

    monkeypatch.setattr(app_module, "current_model", stand_in)
    return seen


def worker_running(settings: Settings, channels: tuple[str, ...] = ("telegram", "whatsapp"),
                   ) -> None:
    """A broadcast worker's heartbeat, as `python -m bot worker` writes it."""
    async def go() -> None:
        redis = Redis.from_url(settings.redis_url or "", decode_responses=True)
        await beat(redis, Keys(settings.sapa_key_prefix), "test-worker", channels)
        await redis.aclose()

    asyncio.run(go())


@pytest.fixture
def console_client(settings: Settings, redis_url: str, prefix: str, model_blob: bytes,
                   trained_model: NLU, retrains: list[int]) -> Iterator[TestClient]:
    """An app with a broadcast worker running (campaigns can start)."""
    worker_running(settings)
    with make_client(settings, redis_url, prefix, model_blob, trained_model) as test_client:
        yield test_client
        settle(test_client)


def site_of(client: TestClient) -> Any:
    """The console's Site of the app under test."""
    app: Any = client.app
    return next(r for r in app.routes if getattr(r, "path", "") == "/admin").app.state.site


def settle(client: TestClient) -> None:
    """Wait for background retrains (in the app's event loop) before the keys are deleted."""
    site = site_of(client)

    async def settled() -> None:
        await site.runtime().retrainer.settled()

    client.portal.call(settled)


def login(client: TestClient, username: str = "ani") -> str:
    """Log in through the JSON API; returns the CSRF token (the cookie stays in the client)."""
    client.cookies.clear()
    response = client.post("/admin/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf"])


def page_csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


# -- Telegram over loopback: `serve` with Telegram on, a Bot API stand-in ---------------------

TG_SECRET = "s3cret-token_for-tests"


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as api:
        yield api


def telegram_settings(settings: Settings, api: BotApiStandIn,
                      secret: str | None = TG_SECRET) -> Settings:
    return settings.model_copy(update={
        "telegram_bot_token": SecretStr(BOT_TOKEN), "telegram_api_base_url": api.base_url,
        "telegram_webhook_secret": SecretStr(secret) if secret else None})


# -- WhatsApp over loopback: `serve` with WhatsApp on, a Graph API stand-in -------------------

WA_DATA = Path(__file__).parent / "data" / "whatsapp"
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "sapa-verify-2026"
WA_ID = "6281234567890"
WA_URL = "/webhooks/whatsapp"


def notification(name: str, *, message_id: str | None = None) -> dict[str, Any]:
    """A recorded notification; messages are dated now (the tests' clock), as Meta would."""
    data: dict[str, Any] = json.loads((WA_DATA / f"{name}.json").read_text(encoding="utf-8"))
    for message in data["entry"][0]["changes"][0]["value"].get("messages", []):
        message["timestamp"] = str(int(TODAY.timestamp()))
        if message_id:
            message["id"] = message_id
    return data


@pytest.fixture
async def graph() -> AsyncIterator[GraphApiStandIn]:
    async with GraphApiStandIn() as api:
        yield api


def whatsapp_settings(settings: Settings, graph: GraphApiStandIn) -> Settings:
    return settings.model_copy(update={
        "whatsapp_access_token": SecretStr(GRAPH_TOKEN),
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_app_secret": SecretStr(APP_SECRET),
        "whatsapp_verify_token": SecretStr(VERIFY_TOKEN), "whatsapp_api_base_url": graph.url,
        "whatsapp_api_version": GRAPH_VERSION})


async def whatsapp_post(client: httpx.AsyncClient, body: dict[str, Any] | bytes,
               signature: str | None = "sign") -> httpx.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = whatsapp_signature(raw, APP_SECRET)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post(WA_URL, content=raw, headers=headers)


# -- either channel's `serve` on loopback -------------------------------------------------------

Opener = Callable[[Settings], Awaitable[Runtime]]
Served = tuple[httpx.AsyncClient, Runtime, LocalServer]


@pytest.fixture
async def published(redis_url: str, prefix: str, model_blob: bytes, trained_model: NLU,
                    ) -> Opener:
    """The model published, and how a test opens a runtime on it at test time."""
    await publish_model(redis_url, prefix, model_blob, trained_model.fingerprint)

    async def at_test_time(settings: Settings) -> Runtime:
        return await open_runtime(settings, clock=lambda: TODAY, model=trained_model)

    return at_test_time


@asynccontextmanager
async def serving(settings: Settings, opener: Opener) -> AsyncIterator[Served]:
    """`serve` on loopback with `settings`, and a client posting to it as a platform would."""
    async with serve_bot(settings, opener) as (server, rt), httpx.AsyncClient(
            base_url=server.url) as client:
        yield client, rt, server


@pytest.fixture
async def wa_served(settings: Settings, graph: GraphApiStandIn, published: Opener,
                    ) -> AsyncIterator[Served]:
    """`serve` with WhatsApp on, and a client posting to it as Meta would."""
    async with serving(whatsapp_settings(settings, graph), published) as served:
        yield served


@pytest.fixture
async def tg_served(settings: Settings, bot_api: BotApiStandIn, published: Opener,
                    ) -> AsyncIterator[Served]:
    """`serve` with Telegram on, and a client posting to it as Telegram would."""
    async with serving(telegram_settings(settings, bot_api), published) as served:
        yield served


# A module whose tests talk to one channel's `serve` defines `served` (as its channel's
# tg_served or wa_served); these name its parts.

@pytest.fixture
def client(served: Served) -> httpx.AsyncClient:
    return served[0]


@pytest.fixture
def rt(served: Served) -> Runtime:
    return served[1]


@pytest.fixture
def server(served: Served) -> LocalServer:
    return served[2]


# -- processes the tests start -------------------------------------------------------------------

SERVING = b"Uvicorn running on"  # what `python -m bot serve` logs once it accepts requests
READERS: set[asyncio.Task[bytes]] = set()  # read on what the started processes write


async def wait_for_line(process: asyncio.subprocess.Process, output: asyncio.StreamReader,
                        needle: bytes) -> None:
    """Wait until `output` (of `process`) has a line holding `needle`: `await_line` in an event
    loop. The rest is read on in the background, so a full pipe never stalls the process.
    Raises if it exits first."""
    async for line in output:
        if needle in line:
            break
    else:
        raise RuntimeError(f"the process exited ({await process.wait()}) before saying "
                           f"{needle!r}")
    reader = asyncio.create_task(output.read())
    READERS.add(reader)
    reader.add_done_callback(READERS.discard)


def await_line(process: subprocess.Popen[bytes], needle: bytes,
               log: BinaryIO) -> threading.Thread:
    """Block until `process` writes a line holding `needle` (its output copied to `log`); the
    rest of its output keeps flowing to `log` from the returned thread, which ends when the
    process does. Raises if it exits first."""
    assert process.stdout is not None
    stdout = process.stdout
    for line in iter(stdout.readline, b""):
        log.write(line)
        log.flush()
        if needle in line:
            rest = threading.Thread(target=lambda: log.writelines(stdout), daemon=True)
            rest.start()
            return rest
    process.wait()
    raise RuntimeError(f"the process exited ({process.returncode}) before saying {needle!r}")
