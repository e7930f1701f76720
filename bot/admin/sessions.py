"""Console sessions and login throttling, in Redis.

The cookie holds an opaque random token; Redis holds only its SHA-256, so a copy of the database
does not hand out live sessions. A session expires after `ADMIN_SESSION_TTL` idle seconds and
carries its own CSRF token (synchronizer pattern: forms post it, JSON calls send it in
`X-CSRF-Token`). Ending a user's sessions (password reset, role change, deletion) is one call.

Failed logins are counted per username and per client IP over a fixed window: a username that
failed `per_user` times, or an IP that failed `per_ip` times, is refused (HTTP 429) before the
password is even hashed, until the window ends. A success clears the username's counter.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
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


class LoginLimiter:
    """Failed-login counters per username and per IP, each over a fixed window."""

    def __init__(self, redis: Redis, keys: Keys, *, per_user: int = 5, per_ip: int = 20,
                 window_seconds: int = LOGIN_FAILURE_WINDOW) -> None:
        self._redis = redis
        self._keys = keys
        self._limits = {"user": per_user, "ip": per_ip}
        self._window = window_seconds

    def _counters(self, username: str, ip: str) -> dict[str, str]:
        return {"user": self._keys.admin_login_failures("user", username.lower()),
                "ip": self._keys.admin_login_failures("ip", ip)}

    async def retry_after(self, username: str, ip: str) -> int:
        """Seconds until this username and IP may try again (0: they may now)."""
        counters = self._counters(username, ip)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in counters.values():
                pipe.get(key)
                pipe.ttl(key)
            values = await pipe.execute()
        wait = 0
        for i, scope in enumerate(counters):
            count, ttl = values[2 * i], values[2 * i + 1]
            if int(count or 0) >= self._limits[scope]:
                wait = max(wait, int(ttl) if int(ttl) > 0 else self._window)
        return wait

    async def failed(self, username: str, ip: str) -> None:
        """Count one failed attempt for both the username and the IP."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in self._counters(username, ip).values():
                pipe.set(key, 0, ex=self._window, nx=True)  # the window starts at the first
                pipe.incr(key)
            await pipe.execute()

    async def succeeded(self, username: str) -> None:
        """Forget the username's failures (the IP's stay: one good password proves little)."""
        await self._redis.delete(self._keys.admin_login_failures("user", username.lower()))
