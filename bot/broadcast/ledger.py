"""The per-recipient ledger of a campaign: the one place that decides "send" or "not again".

Each recipient (`channel:user_id`) has one field in the campaign's outcomes hash, moved only by
Lua scripts, so every transition is atomic across workers:

    queued "q" --claim--> sending "w" --finish--> sent "S" | skipped "K" | failed "F"
       ^                     |--release (transient error)--> queued "q|<attempts>"
       |                     +--claimed again (its worker died mid-send)--> unknown "U"
    enqueue: HSETNX, so a recipient enters a campaign once however often the segment is read.

A send is marked "sending" before the HTTP call and "sent" after. A queue entry that comes back
(its worker was killed) and finds "sending" is recorded as unknown and never resent: a message
may have left, and a duplicate is the worse failure for a broadcast. Counters (queued, finished,
sent, skipped:<reason> ...) move in the same scripts, and the script that finishes the last
recipient of a fully enqueued campaign marks it done.

On a Redis Cluster a master acknowledges a write before its replica has it, so a failover can
forget a claim whose message then leaves, and the recipient would be queued again. So there the
claim goes with a WAIT for one replica, on the same connection, before anything is sent: once a
replica holds "sending", a promoted replica turns the recipient into unknown, never into a
second send. (A master without a replica, or one that does not answer within `replica_wait_ms`,
is not waited for longer: sending goes on, as on a single server.)

Memory: a pending recipient costs one small hash field ("q") and one stream entry (its id).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from bot.keys import Keys

QUEUED, SENDING, SENT, SKIPPED, FAILED, UNKNOWN = "q", "w", "S", "K", "F", "U"
STATES = {QUEUED: "queued", SENDING: "sending", SENT: "sent", SKIPPED: "skipped",
          FAILED: "failed", UNKNOWN: "unknown"}

# Every script: KEYS = campaign, outcomes, counts, queue.
_SETTLE = """
local function settle(now)
  if redis.call('HGET', KEYS[1], 'enqueued') ~= '1' then return 0 end
  local c = redis.call('HMGET', KEYS[3], 'queued', 'finished')
  if tonumber(c[1] or '0') ~= tonumber(c[2] or '0') then return 0 end
  local status = redis.call('HGET', KEYS[1], 'status')
  if status ~= 'running' and status ~= 'paused' then return 0 end
  redis.call('HSET', KEYS[1], 'status', 'done', 'finished_at', now)
  return 1
end
"""

# ARGV: now, "1" when this is the last batch, recipient ids... Returns {added, done}; added is
# -1 when the campaign was cancelled meanwhile (nothing added).
_ENQUEUE = _SETTLE + """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'running' and status ~= 'paused' then return {-1, 0} end
local added = 0
for i = 3, #ARGV do
  if redis.call('HSETNX', KEYS[2], ARGV[i], 'q') == 1 then
    redis.call('XADD', KEYS[4], '*', 'r', ARGV[i])
    added = added + 1
  end
end
if added > 0 then redis.call('HINCRBY', KEYS[3], 'queued', added) end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'enqueued', '1')
  return {added, settle(ARGV[1])}
end
return {added, 0}
"""

# ARGV: recipient, now. Returns {kind, attempts so far, done}: "go" (now marked sending),
# "held" (the campaign is not running), "unknown" (it was left sending: now recorded unknown),
# "done" (already finished: a repeated entry) or "gone" (not in this campaign).
_CLAIM = _SETTLE + """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return {'held', 0, 0} end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return {'gone', 0, 0} end
local state = string.sub(current, 1, 1)
if state == 'q' then
  local attempts = tonumber(string.match(current, '^q|(%d+)') or '0')
  redis.call('HSET', KEYS[2], ARGV[1], 'w|' .. ARGV[2] .. '|' .. attempts)
  return {'go', attempts, 0}
end
if state == 'w' then
  redis.call('HSET', KEYS[2], ARGV[1], 'U|' .. ARGV[2])
  redis.call('HINCRBY', KEYS[3], 'unknown', 1)
  redis.call('HINCRBY', KEYS[3], 'finished', 1)
  return {'unknown', 0, settle(ARGV[2])}
end
return {'done', 0, 0}
"""

# ARGV: recipient, expected state letter, new value, now, counters to increment...
# Returns {moved, done}. A terminal value (not "q...") also counts as finished.
_FINISH = _SETTLE + """
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current or string.sub(current, 1, 1) ~= ARGV[2] then return {0, 0} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
for i = 5, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
if string.sub(ARGV[3], 1, 1) == 'q' then return {1, 0} end
redis.call('HINCRBY', KEYS[3], 'finished', 1)
return {1, settle(ARGV[4])}
"""


@dataclass(frozen=True)
class Claim:
    """The answer to "may I send to this recipient?"."""

    kind: str
    attempts: int
    done: bool  # this step finished the campaign


@dataclass(frozen=True)
class Outcome:
    """A new state for a recipient: its stored value and the counters it moves."""

    value: str
    counters: tuple[str, ...]


def sent(now: datetime, via: str, message_id: str) -> Outcome:
    """Delivered to the platform (`via` "text" or "template")."""
    counters = ("sent", "sent:template") if via == "template" else ("sent",)
    return Outcome(f"{SENT}|{now.isoformat()}|{via}|{message_id}", counters)


def skipped(now: datetime, reason: str) -> Outcome:
    """Not sent on purpose: opted out, blocked, outside the window, invalid ..."""
    return Outcome(f"{SKIPPED}|{now.isoformat()}|{reason}", ("skipped", f"skipped:{reason}"))


def failed(now: datetime, reason: str) -> Outcome:
    """Not sent after every attempt."""
    return Outcome(f"{FAILED}|{now.isoformat()}|{reason.replace('|', '/')}", ("failed",))


def retry(attempts: int) -> Outcome:
    """Back to the queue after a transient error, remembering how many rounds were tried."""
    return Outcome(f"{QUEUED}|{attempts}", ("retries",))


@dataclass(frozen=True)
class Entry:
    """A recipient's stored state, decoded."""

    recipient: str
    state: str  # a key of STATES
    at: str = ""
    detail: str = ""  # reason (skipped, failed), or via (sent)
    message_id: str = ""

    @classmethod
    def parse(cls, recipient: str, value: str) -> Entry:
        """From the stored value."""
        parts = value.split("|")
        state, at = parts[0], parts[1] if len(parts) > 1 and parts[0] != QUEUED else ""
        if state == SENT:
            return cls(recipient, state, at, parts[2], parts[3])
        if state in (SKIPPED, FAILED):
            return cls(recipient, state, at, parts[2])
        return cls(recipient, state, at)


class Ledger:
    """Recipient states, counters and the queue of one or more campaigns."""

    def __init__(self, redis: Redis, keys: Keys, replica_wait_ms: int = 250) -> None:
        self._redis = redis
        self._keys = keys
        self._replica_wait_ms = replica_wait_ms
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._finish = redis.register_script(_FINISH)

    def _campaign_keys(self, campaign_id: str) -> list[str]:
        k = self._keys
        return [k.campaign(campaign_id), k.campaign_outcomes(campaign_id),
                k.campaign_counts(campaign_id), k.campaign_queue(campaign_id)]

    async def enqueue(self, campaign_id: str, recipients: list[str], now: datetime,
                      last: bool) -> tuple[int, bool]:
        """Queue recipients not yet in the campaign; returns (added or -1 if cancelled, done)."""
        added, done = await self._enqueue(keys=self._campaign_keys(campaign_id),
                                          args=[now.isoformat(), int(last), *recipients])
        return int(added), bool(done)

    async def claim(self, campaign_id: str, recipient: str, now: datetime) -> Claim:
        """Mark a queued recipient as sending, atomically; see the module docstring."""
        keys, args = self._campaign_keys(campaign_id), [recipient, now.isoformat()]
        if isinstance(self._redis, RedisCluster) and self._replica_wait_ms:
            try:
                kind, attempts, done = await self._claim_on_a_replica(keys, args)
            except NoScriptError:  # a new master (failover) or a restart: load it, once
                await self._redis.script_load(_CLAIM)
                kind, attempts, done = await self._claim_on_a_replica(keys, args)
        else:
            kind, attempts, done = await self._claim(keys=keys, args=args)
        return Claim(str(kind), int(attempts), bool(done))

    async def _claim_on_a_replica(self, keys: list[str], args: list[str]) -> list[Any]:
        # A cluster pipeline sends a node's commands on one connection, in order, and WAIT
        # waits for that connection's writes. (EVALSHA by name: the cluster pipeline refuses
        # the evalsha method, not the command.)
        assert isinstance(self._redis, RedisCluster)
        node = self._redis.get_node_from_key(keys[0])
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.execute_command("EVALSHA", self._claim.sha, len(keys), *keys, *args)
            pipe.execute_command("WAIT", 1, self._replica_wait_ms, target_nodes=node)
            reply, _ = await pipe.execute()
        return list(reply)

    async def finish(self, campaign_id: str, recipient: str, outcome: Outcome, now: datetime,
                     expected: str = SENDING) -> tuple[bool, bool]:
        """Move a recipient from `expected` to `outcome`; returns (moved, campaign done)."""
        moved, done = await self._finish(
            keys=self._campaign_keys(campaign_id),
            args=[recipient, expected, outcome.value, now.isoformat(), *outcome.counters])
        return bool(moved), bool(done)

    async def counts(self, campaign_id: str) -> dict[str, int]:
        """The campaign's counters."""
        raw: dict[str, str] = await self._redis.hgetall(  # type: ignore[misc]
            self._keys.campaign_counts(campaign_id))
        return {name: int(value) for name, value in raw.items()}

    async def entries(self, campaign_id: str, batch: int = 1000) -> AsyncIterator[list[Entry]]:
        """Every recipient's state, a batch at a time (HSCAN: flat memory)."""
        cursor = 0
        while True:
            cursor, page = await self._redis.hscan(self._keys.campaign_outcomes(campaign_id),
                                                   cursor, count=batch)
            yield [Entry.parse(recipient, value) for recipient, value in page.items()]
            if cursor == 0:
                return
