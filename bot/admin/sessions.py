"""Console sessions and login throttling, in Redis.

The cookie holds an opaque random token; Redis holds only its SHA-256, so a copy of the database
does not hand out live sessions. A session expires after `ADMIN_SESSION_TTL` idle seconds and
carries its own CSRF token (synchronizer pattern: forms post it, JSON calls send it in
`X-CSRF-Token`). Ending a user's sessions (password reset, role change, deletion) is one call.

Login attempts are counted per username, per client IP and per pair, atomically and before the
password is hashed, with a progressive delay (see `LoginLimiter`): a refused attempt is an HTTP
429 with Retry-After. A success clears the username's counters and remembers the IP.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis

from bot.admin.accounts import User, has_role
from bot.keys import ADMIN_SESSION_TTL, LOGIN_FAILURE_WINDOW, Keys


@dataclass(frozen=True)
class Session:
    """A logged-in console user."""

    username: str
    role: str
    csrf: str

    def can(self, needed: str) -> bool:
        """Whether the session's role (as of login) includes `needed`."""
        return has_role(self.role, needed)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore(Protocol):
    """Where console sessions live."""

    async def create(self, user: User) -> str:
        """Start a session; returns the token for the cookie."""

    async def get(self, token: str) -> Session | None:
        """The session behind a token (restarting its idle timer), or None."""

    async def end(self, token: str) -> None:
        """Log out one session."""

    async def end_all(self, username: str) -> None:
        """Log out every session of a user."""


class RedisSessionStore:
    """A hash per session, keyed by the token's digest, plus a set per user."""

    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int = ADMIN_SESSION_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def create(self, user: User) -> str:
        """Start a session; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        key = self._keys.admin_session(_digest(token))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"username": user.username, "role": user.role,
                                    "csrf": secrets.token_urlsafe(32)})
            pipe.expire(key, self._ttl)
            pipe.sadd(self._keys.admin_user_sessions(user.username), _digest(token))
            await pipe.execute()
        return token

    async def get(self, token: str) -> Session | None:
        """The session behind a token (restarting its idle timer), or None."""
        key = self._keys.admin_session(_digest(token))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, self._ttl)
            row, _ = await pipe.execute()
        if not row:
            return None
        return Session(row["username"], row["role"], row["csrf"])

    async def end(self, token: str) -> None:
        """Log out one session."""
        await self._redis.delete(self._keys.admin_session(_digest(token)))

    async def end_all(self, username: str) -> None:
        """Log out every session of a user."""
        index = self._keys.admin_user_sessions(username)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.smembers(index)
            (digests,) = await pipe.execute()
        async with self._redis.pipeline(transaction=True) as pipe:
            for digest in digests:
                pipe.delete(self._keys.admin_session(digest))
            pipe.delete(index)
            await pipe.execute()


# Progressive delay (seconds) after the n-th failure in a scope: `free` failures cost nothing,
# then 1, 2, 4 ... seconds, never more than the window. Attempts are counted when they start, in
# one script, so a burst of simultaneous guesses is refused once the delay begins, before any
# password is hashed. KEYS: counters (hashes n, next); ARGV: now ms, window ms, then per key its
# free count. Returns the milliseconds to wait (0: go ahead, the attempt is now counted).
_ATTEMPT = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local ready = tonumber(redis.call('HGET', key, 'next') or '0')
  if ready > now and ready - now > wait then wait = ready - now end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local n = redis.call('HINCRBY', key, 'n', 1)
  local free = tonumber(ARGV[i + 2])
  local delay = 0
  if n >= free then delay = math.min(2 ^ (n - free) * 1000, window) end
  redis.call('HSET', key, 'next', now + delay)
  redis.call('PEXPIRE', key, window)
end
return 0
"""


# Attempts in a window before the delay starts, per scope.
FREE_ATTEMPTS = {"user": 3, "ip": 10, "pair": 3}


@dataclass(frozen=True)
class Attempt:
    """A login attempt that was let through: the counters it moved, for `succeeded`."""

    username: str
    ip: str
    known_ip: bool


class LoginLimiter:
    """Progressive delays per account, per IP and per account-and-IP pair.

    A guesser slows down everyone guessing that account from unknown addresses, but the owner,
    logging in from an address they used before (a "known IP"), is held back only by their own
    failures there: nobody can lock an admin out by guessing. Admins can also `unlock` an account.
    """

    KNOWN_IP_DAYS = 90

    def __init__(self, redis: Redis, keys: Keys, clock: Callable[[], datetime], *,
                 window_seconds: int = LOGIN_FAILURE_WINDOW) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._window = window_seconds
        self._attempt = redis.register_script(_ATTEMPT)

    def _key(self, scope: str, username: str, ip: str) -> str:
        value = {"user": username, "ip": ip, "pair": f"{username}|{ip}"}[scope]
        return self._keys.admin_login_failures(scope, value)

    async def begin(self, username: str, ip: str) -> Attempt | float:
        """Count an attempt before its password is checked; or the seconds to wait first."""
        username = username.lower()
        known = bool(await self._redis.sismember(  # type: ignore[misc]
            self._keys.admin_known_ips(username), _digest(ip)))
        scopes = ("ip", "pair") if known else ("ip", "user", "pair")
        wait_ms = await self._attempt(
            keys=[self._key(s, username, ip) for s in scopes],
            args=[int(self._clock().timestamp() * 1000), self._window * 1000,
                  *(FREE_ATTEMPTS[s] for s in scopes)])
        if int(wait_ms) > 0:
            return int(wait_ms) / 1000
        return Attempt(username, ip, known)

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: clear the account's counters, remember the IP."""
        known = self._keys.admin_known_ips(attempt.username)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._key("user", attempt.username, attempt.ip),
                        self._key("pair", attempt.username, attempt.ip))
            pipe.hincrby(self._key("ip", attempt.username, attempt.ip), "n", -1)
            pipe.sadd(known, _digest(attempt.ip))
            pipe.expire(known, self.KNOWN_IP_DAYS * 86400)
            await pipe.execute()

    async def unlock(self, username: str) -> None:
        """An admin lifts an account's delay (the per-IP delays of guessers stay)."""
        await self._redis.delete(self._key("user", username.lower(), ""))
