"""Console users: a role and an argon2id password hash each, in Redis.

Two roles, ordered: `staff` (dashboard, inbox, leads, later campaigns) and `admin` (all that, plus
FAQs, facts, versions, audit log and users). Hashing runs in a thread: argon2 takes tens of
milliseconds of CPU by design, and the message path shares the event loop. An unknown username is
checked against a dummy hash so its answer takes as long as a wrong password's.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict, dataclass, fields
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from bot.errors import Invalid
from bot.keys import Keys

ROLES = ("staff", "admin")
ROLE_NAMES = {"staff": "Staf", "admin": "Admin"}
USERNAME = re.compile(r"^[a-z0-9_.-]{3,32}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256


@dataclass(frozen=True)
class User:
    """A console user as stored (without the password hash)."""

    username: str
    role: str
    created_at: str
    last_login: str = ""

    def can(self, needed: str) -> bool:
        """Whether this user has the `needed` role or a higher one."""
        return has_role(self.role, needed)


USER_FIELDS = tuple(f.name for f in fields(User))


def has_role(role: str, needed: str) -> bool:
    """Roles are ordered: an admin can do everything staff can."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def check_user(username: str, role: str, password: str | None) -> None:
    """Refuse a username, role or new password (None: unchanged) that cannot be used."""
    problems = {}
    if not USERNAME.match(username):
        problems["username"] = "3-32 huruf kecil, angka, titik, - atau _"
    if role not in ROLES:
        problems["role"] = f"peran harus salah satu dari: {', '.join(ROLES)}"
    if password is not None and not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        problems["password"] = (f"kata sandi minimal {MIN_PASSWORD} karakter, "
                                 f"maksimal {MAX_PASSWORD}")
    if problems:
        raise Invalid(problems)


class Passwords:
    """argon2id hashing with the library's defaults (RFC 9106 low-memory profile).

    Each hash takes 64 MiB and tens of milliseconds of CPU by design, so at most `CONCURRENCY`
    run at once per process: a burst of logins queues instead of growing memory by 64 MiB each.
    Passwords longer than MAX_PASSWORD are refused before hashing.
    """

    CONCURRENCY = 2

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = ""  # made on the first unknown username, not at start-up
        self._slots = asyncio.Semaphore(self.CONCURRENCY)

    async def hash(self, password: str) -> str:
        """A new hash (random salt)."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether the password matches; None (no such user) costs the same and fails."""
        if stored is None and not self._dummy:
            self._dummy = await self.hash("not a password of anyone")
        if len(password) > MAX_PASSWORD:
            return False
        try:
            async with self._slots:
                matched = await asyncio.to_thread(self._hasher.verify, stored or self._dummy,
                                                  password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored is not None


class UserStore(Protocol):
    """Where console users live."""

    async def get(self, username: str) -> User | None:
        """A user, or None."""

    async def password_hash(self, username: str) -> str | None:
        """The stored password hash, or None for an unknown user."""

    async def save(self, user: User, password_hash: str | None = None) -> None:
        """Create or update a user (the hash is kept when None)."""

    async def delete(self, username: str) -> bool:
        """Remove a user; whether there was one."""

    async def all(self) -> list[User]:
        """Every user, by username."""


class RedisUserStore:
    """A hash per user plus a set of usernames."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, username: str) -> User | None:
        """A user, or None."""
        row = (await self._rows([username]))[0]
        return User(**{f: row.get(f, "") for f in USER_FIELDS}) if row else None

    async def password_hash(self, username: str) -> str | None:
        """The stored password hash, or None for an unknown user."""
        return (await self._rows([username]))[0].get("password")

    async def save(self, user: User, password_hash: str | None = None) -> None:
        """Create or update a user (the hash is kept when None)."""
        values = asdict(user)
        if password_hash is not None:
            values["password"] = password_hash
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.admin_user(user.username), mapping=values)
            pipe.sadd(self._keys.admin_users(), user.username)
            await pipe.execute()

    async def delete(self, username: str) -> bool:
        """Remove a user; whether there was one."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.admin_user(username))
            pipe.srem(self._keys.admin_users(), username)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def all(self) -> list[User]:
        """Every user, by username."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.smembers(self._keys.admin_users())
            (names,) = await pipe.execute()
        return [User(**{f: row.get(f, "") for f in USER_FIELDS})
                for row in await self._rows(sorted(names)) if row]

    async def _rows(self, usernames: list[str]) -> list[dict[str, str]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in usernames:
                pipe.hgetall(self._keys.admin_user(name))
            rows: list[dict[str, str]] = await pipe.execute()
        return rows
