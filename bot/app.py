"""The composition root: builds Redis -> stores -> knowledge base -> NLU -> engine -> channels.

Every process (serve, worker, chat and every CLI verb) calls `open_runtime` and gets the same
world: one Redis client factory (`connect_redis`), one set of stores, the engine, the channels,
the sending context of the broadcast worker and the knowledge-change path with its retrain loop.
Nothing connects at import time, and nothing else builds stores.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from actions.registry import registry
from bot.admin.accounts import RedisUserStore
from bot.admin.audit import RedisAuditLog
from bot.admin.campaigns import Campaigns
from bot.admin.changes import KnowledgeChanges, KnowledgeWrites, Retrainer, TrainingStatus
from bot.admin.history import RedisKnowledgeHistory
from bot.admin.inbox import UnansweredStore
from bot.admin.sessions import LoginLimiter, RedisSessionStore, SessionStore
from bot.broadcast.taps import RedisCampaignTaps
from bot.broadcast.worker import SendingContext
from bot.channels.inbound import ChannelContext
from bot.channels.outbound import Outbox
from bot.channels.ratelimit import RateLimiter
from bot.channels.switchboard import Channels, open_channels
from bot.contacts import RedisContactStore
from bot.dialogue.counters import DailyCounters
from bot.dialogue.engine import Engine, FallbackLog
from bot.dialogue.flood import RedisBusyNotices
from bot.dialogue.state import RedisConversations
from bot.embedded_redis import ensure_embedded_redis
from bot.erasure import RedisEraser
from bot.errors import ConfigError
from bot.handoffs import Handoffs, HandoffStore
from bot.keys import Keys
from bot.knowledge.base import KnowledgeBase, load_seed
from bot.knowledge.store import (
    KnowledgeStore,
    Live,
    ModelStore,
    RedisKnowledgeStore,
    RedisModelStore,
)
from bot.leads import RedisLeadStore
from bot.migrate import migrate_untagged_keys
from bot.nlu.data import load_nlu_data
from bot.nlu.model import NLU, fingerprint, train
from bot.settings import BotConfig, Settings, load_config
from bot.tasks import every

log = logging.getLogger(__name__)

CLOSE_SECONDS = 10  # how long a stopping process waits for its background tasks
JAKARTA = ZoneInfo("Asia/Jakarta")
HANDOFF_SWEEP_SECONDS = 30.0  # how often idle handoffs are looked for (idle times are minutes)
# How often each answering process asks whether the daily contacts sweep is due (a SET NX).
CONTACT_SWEEP_CHECK_SECONDS = 600.0


def jakarta_now() -> datetime:
    """The bot's clock: facts with validity periods apply on the day in Western Indonesia."""
    return datetime.now(JAKARTA)


def clock_on(day: date | None) -> Callable[[], datetime]:
    """The clock for SAPA_TODAY: that day in WIB at the real time of day (None: the real date)."""
    if day is None:
        return jakarta_now

    def on_day() -> datetime:
        return datetime.combine(day, jakarta_now().timetz())

    return on_day


def redis_url(settings: Settings) -> str:
    """REDIS_URL, or the embedded server under the data folder."""
    if settings.redis_cluster and not settings.redis_url:
        raise ConfigError("REDIS_CLUSTER=true needs REDIS_URL naming a node of the cluster, "
                          "e.g. redis://10.0.0.5:6379 (the embedded Redis is a single server)")
    return settings.redis_url or ensure_embedded_redis(settings.sapa_data_dir)


def connect_redis(settings: Settings, *, decode_responses: bool = True) -> Redis:
    """The one Redis client factory every process uses (text replies unless told otherwise).

    With REDIS_CLUSTER=true, REDIS_URL names any node of a Redis Cluster and the client is a
    `RedisCluster`: it learns the slot map from that node, sends each command to the master of
    its key's slot and follows MOVED, ASK and failovers. The stores are typed against `Redis`;
    `RedisCluster` is not its subclass but offers the same commands, and every operation the
    stores make stays in one slot (see bot/keys.py), which the tests check on a real cluster.

    Every connect and command gives up after `redis_timeout_seconds`, with one quick retry:
    redis-py's default (three retries, up to ten seconds of backoff) left a request hanging for
    as long as Redis was paused. Beyond it the request fails with a RedisError, which the edge
    turns into a 503, and the next command reconnects by itself once Redis is back.
    """
    url = redis_url(settings)
    timeout = settings.redis_timeout_seconds
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1)
    if settings.redis_cluster:
        return cast(Redis, RedisCluster.from_url(
            url, decode_responses=decode_responses, socket_connect_timeout=timeout,
            socket_timeout=timeout, retry=retry))
    client: Redis = Redis.from_url(url, decode_responses=decode_responses,
                                   socket_connect_timeout=timeout, socket_timeout=timeout,
                                   retry=retry)
    return client


@dataclass
class Runtime:
    """Everything a process needs, built once by `open_runtime`."""

    settings: Settings
    config: BotConfig
    keys: Keys
    redis: Redis
    redis_bytes: Redis
    knowledge_store: KnowledgeStore
    model_store: ModelStore
    knowledge: Live[KnowledgeBase]
    nlu: Live[NLU]
    contacts: RedisContactStore
    leads: RedisLeadStore
    conversations: RedisConversations
    counters: DailyCounters
    engine: Engine
    channels: Channels
    sending: SendingContext
    audit: RedisAuditLog
    history: RedisKnowledgeHistory
    training: TrainingStatus
    retrainer: Retrainer
    changes: KnowledgeChanges
    users: RedisUserStore
    sessions: SessionStore
    login_limiter: LoginLimiter
    inbox: UnansweredStore
    campaigns: Campaigns
    handoffs: Handoffs
    eraser: RedisEraser
    clock: Callable[[], datetime] = jakarta_now
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    trained_at_start: bool = False  # the published model was older: this start made a new one

    def follow_changes(self, *, answering: bool = True) -> None:
        """Start polling Redis so new FAQs and models reach this process without a restart.

        `answering`: the process answers workers (serve, telegram poll), so it also follows the
        model, hands idle handoffs back and takes its turn at the daily contacts sweep; a
        broadcast worker only follows the texts it sends.
        """
        interval = self.config.knowledge.reload_interval_seconds
        self.tasks.append(asyncio.create_task(self.knowledge.follow(
            self.knowledge_store.version, self.knowledge_store.load, interval)))
        if answering:
            self.tasks += [
                asyncio.create_task(self.nlu.follow(
                    self.model_store.version, self.model_store.load, interval)),
                asyncio.create_task(every(HANDOFF_SWEEP_SECONDS, self.handoffs.sweep,
                                          "handoff sweep")),
                asyncio.create_task(every(
                    CONTACT_SWEEP_CHECK_SECONDS,
                    lambda: self.contacts.sweep_when_due(self.clock()), "contacts sweep")),
            ]

    async def close(self) -> None:
        """Stop background tasks and close connections.

        A task that does not stop within CLOSE_SECONDS of being cancelled (a last flush
        waiting on a Redis that went away) is logged and left: a stop never hangs.
        """
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _, stuck = await asyncio.wait(self.tasks, timeout=CLOSE_SECONDS)
            for task in stuck:
                log.warning("background task %s did not stop within %d s", task.get_name(),
                            CLOSE_SECONDS)
        await self.channels.close()
        await self.redis.aclose()
        await self.redis_bytes.aclose()


async def train_and_publish(settings: Settings, config: BotConfig, kb: KnowledgeBase,
                            store: ModelStore) -> NLU:
    """Train on nlu_data/ plus the knowledge base's examples and make the model current."""
    data = load_nlu_data(settings.sapa_nlu_data)
    examples = kb.training_examples()
    log.info("melatih model bahasa dari %d contoh (sekali, setelah data berubah) ...",
             len(data.examples) + len(examples))
    progress = asyncio.create_task(_still_training(time.perf_counter()))
    try:
        model, report = await asyncio.to_thread(train, data, examples, config)
    finally:
        progress.cancel()
    await store.publish(model)
    log.info("trained NLU %s: %d examples, %d intents, %.1fs", report.fingerprint,
             report.examples, report.intents, report.seconds)
    return model


async def _still_training(started: float, every: float = 5.0) -> None:
    """Say every few seconds that training goes on, so a first start never looks stuck."""
    while True:
        await asyncio.sleep(every)
        log.info("masih melatih model bahasa ... %.0f s", time.perf_counter() - started)


async def current_model(settings: Settings, config: BotConfig, kb: KnowledgeBase,
                        store: ModelStore) -> NLU:
    """The published model if it matches the data; otherwise train one now."""
    data = load_nlu_data(settings.sapa_nlu_data)
    expected = fingerprint(data, kb.training_examples(), config)
    if await store.version() == expected:
        model = await store.load()
        if model is not None:
            return model
    return await train_and_publish(settings, config, kb, store)


async def start_model(settings: Settings, config: BotConfig, kb: KnowledgeBase,
                      store: ModelStore, training: TrainingStatus) -> NLU:
    """`current_model` at start-up, one process at a time.

    Processes started together (web and worker in docker compose) train once: the others wait
    for the training lock and then load what the first one published.
    """
    async with training.lock():
        return await current_model(settings, config, kb, store)


async def open_runtime(settings: Settings, *, clock: Callable[[], datetime] | None = None,
                       model: NLU | None = None) -> Runtime:
    """Connect, seed, load or train, and wire every store, the engine and the channels.

    `clock`: every component's clock (tests fix it). Without it, answers follow SAPA_TODAY's
    day in WIB (or the real date) and everything else (broadcast schedules, quiet hours, audit
    times) the real clock.
    `model`: an already trained model to serve instead of loading the published one (tests
    train one per run); it must be the one the data and configuration make.
    """
    answer_clock = clock or clock_on(settings.sapa_today)
    clock = clock or jakarta_now
    config = load_config(settings.sapa_config)
    redis = connect_redis(settings)
    redis_bytes = connect_redis(settings, decode_responses=False)
    keys = Keys(settings.sapa_key_prefix)
    if not settings.redis_cluster:
        await migrate_untagged_keys(redis, keys)
    knowledge_store = RedisKnowledgeStore(redis, keys)
    model_store = RedisModelStore(redis_bytes, keys)
    training = TrainingStatus(redis, keys)
    audit = RedisAuditLog(redis, keys)
    history = RedisKnowledgeHistory(redis_bytes, keys)
    writes = KnowledgeWrites(redis, keys, knowledge_store, history, audit, clock)
    kb = await writes.start(load_seed())
    trained_at_start = False
    if model is None:
        published = await model_store.version()
        model = await start_model(settings, config, kb, model_store, training)
        trained_at_start = published != model.fingerprint
    knowledge = Live(kb, kb.version)
    nlu = Live(model, model.fingerprint)
    contacts = RedisContactStore(redis, keys, config.dialogue.profile_ttl_days * 86400)
    leads = RedisLeadStore(redis, keys, config.dialogue.lead_retention_days)
    conversations = RedisConversations(
        redis, keys, state_ttl_seconds=config.dialogue.session_ttl_minutes * 60,
        anonymous_ttl_seconds=config.dialogue.anonymous_profile_ttl_minutes * 60)
    counters = DailyCounters(redis, keys)
    handoff_store = HandoffStore(redis, keys)
    handoffs = Handoffs(handoff_store, contacts, audit, config.handoff, clock,
                        lambda: knowledge.current)
    eraser = RedisEraser(redis, keys, handoff_store)
    engine = Engine(nlu=nlu, knowledge=knowledge, conversations=conversations, contacts=contacts,
                    leads=leads,
                    actions=registry(), fallbacks=FallbackLog(redis, keys, config.inbox.max_entries,
                                                             config.inbox.max_age_days),
                    counters=counters, clock=answer_clock, taps=RedisCampaignTaps(redis, keys),
                    desk=handoffs, eraser=eraser,
                    notices=RedisBusyNotices(redis, keys),
                    max_chars=config.limits.max_parse_chars)
    limiter = RateLimiter(redis, keys)
    outbox = Outbox(contacts, limiter, clock)  # the one send pipeline, replies and broadcasts
    channels = open_channels(settings, ChannelContext(engine, conversations, contacts, redis,
                                                      keys, outbox, clock))
    handoffs.outbound = channels.outbound
    handoffs.staff_chat = (settings.telegram_staff_chat_id or "").strip() or None
    sending = SendingContext(redis, keys, contacts, channels.outbound(), limiter, outbox,
                             config.broadcast, clock, lambda text: knowledge.current.text(text))

    def serve_model(trained: NLU) -> None:
        """This process answers with a just-trained model at once."""
        nlu.current, nlu.version = trained, trained.fingerprint

    def serve_knowledge(saved: KnowledgeBase) -> None:
        """This process answers from a just-saved knowledge base at once (never an older one)."""
        if saved.version > knowledge.current.version:
            knowledge.current, knowledge.version = saved, saved.version

    # Retraining goes through `current_model`: an edit that changes no training example (an
    # answer's text, a fact) reuses the published model instead of training a new one.
    retrainer = Retrainer(knowledge_store,
                          lambda kb: current_model(settings, config, kb, model_store),
                          training, clock, serve_model)
    changes = KnowledgeChanges(writes, retrainer, serve_knowledge)
    return Runtime(
        settings, config, keys, redis, redis_bytes, knowledge_store, model_store, knowledge, nlu,
        contacts, leads, conversations, counters, engine, channels, sending, audit, history,
        training, retrainer, changes, RedisUserStore(redis, keys), RedisSessionStore(redis, keys),
        LoginLimiter(redis, keys, clock), UnansweredStore(redis, keys, config.inbox.page_size),
        Campaigns(redis, keys, contacts, audit, clock, config.broadcast.quiet_hours,
                  config.broadcast.outcome_days), handoffs, eraser, clock,
        tasks=[asyncio.create_task(counters.run()), asyncio.create_task(retrainer.run())],
        trained_at_start=trained_at_start)
