"""The console's users resource: logging in and out, and admins managing accounts.

Every change is audited; a changed role or password and a deletion end the user's sessions. The
stores (accounts, sessions, the login limiter) stay behind this: the HTTP edge asks here for the
session behind a cookie.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from bot.admin.accounts import Passwords, User, UserStore, check_user
from bot.admin.audit import AuditLog
from bot.admin.sessions import Attempt, LoginLimiter, Session, SessionStore
from bot.errors import Denied, Invalid, NotFound, Throttled


def throttled(retry_after: int) -> Throttled:
    """Too many failed logins, with the wait in seconds or minutes."""
    wait = (f"{retry_after} detik" if retry_after < 60
            else f"{max(1, round(retry_after / 60))} menit")
    return Throttled(f"Terlalu banyak percobaan masuk. Coba lagi dalam {wait}.", retry_after)


class Users:
    """Console accounts and their sessions."""

    def __init__(self, store: UserStore, passwords: Passwords, sessions: SessionStore,
                 limiter: LoginLimiter, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._passwords = passwords
        self._sessions = sessions
        self._limiter = limiter
        self._audit = audit
        self._clock = clock

    async def login(self, username: str, password: str, ip: str) -> tuple[str, Session]:
        """Check a password (throttled) and start a session; returns the cookie token.

        The attempt is counted before the password is checked, and every failure is audited.
        """
        username = username.strip().lower()[:64]
        attempt = await self._limiter.begin(username, ip)
        if not isinstance(attempt, Attempt):
            await self._audit.record(self._clock(), username, "masuk.ditahan", username, ip)
            raise throttled(math.ceil(attempt))
        user = await self._store.get(username)
        matched = await self._passwords.verify(await self._store.password_hash(username),
                                               password)
        if not matched or user is None:
            await self._audit.record(self._clock(), username[:64] or "-", "masuk.gagal",
                                     username[:64], f"dari {ip}")
            raise Denied("Nama pengguna atau kata sandi salah.")
        await self._limiter.succeeded(attempt)
        now = self._clock()
        await self._store.save(User(user.username, user.role, user.created_at,
                                    now.isoformat(timespec="seconds")))
        await self._audit.record(now, username, "masuk", username)
        token = await self._sessions.create(user)
        session = await self._sessions.get(token)
        assert session is not None  # just created
        return token, session

    async def session(self, token: str) -> Session | None:
        """The session behind a cookie's token (restarting its idle timer), or None."""
        return await self._sessions.get(token) if token else None

    async def logout(self, token: str) -> None:
        """End one session."""
        await self._sessions.end(token)

    async def all(self) -> list[User]:
        """Every user, by username."""
        return await self._store.all()

    async def add(self, actor: str, username: str, role: str, password: str) -> User:
        """Create a user (refused when the name is taken or the input unusable), audited."""
        username = username.strip().lower()
        check_user(username, role, password)
        if await self._store.get(username) is not None:
            raise Invalid({"username": f"pengguna {username} sudah ada"})
        now = self._clock()
        user = User(username, role, now.isoformat(timespec="seconds"))
        await self._store.save(user, await self._passwords.hash(password))
        await self._audit.record(now, actor, "pengguna.tambah", username, role)
        return user

    async def change(self, actor: str, username: str, role: str, password: str) -> None:
        """Change a user's role and/or password; their open sessions end."""
        user = await self._store.get(username)
        if user is None:
            raise NotFound(f"Pengguna {username} tidak ada.")
        if username == actor and role != user.role:
            raise Invalid({"role": "Anda tidak bisa mengubah peran Anda sendiri."})
        check_user(username, role, password or None)
        new_hash = await self._passwords.hash(password) if password else None
        await self._store.save(User(user.username, role, user.created_at, user.last_login),
                               new_hash)
        await self._sessions.end_all(username)
        changes = [f"peran {user.role} -> {role}"] if role != user.role else []
        await self._audit.record(self._clock(), actor, "pengguna.ubah", username,
                                 ", ".join([*changes, *(["kata sandi"] if password else [])]))

    async def unlock(self, actor: str, username: str) -> None:
        """Lift the login delay of an account that guessers slowed down."""
        if await self._store.get(username) is None:
            raise NotFound(f"Pengguna {username} tidak ada.")
        await self._limiter.unlock(username)
        await self._audit.record(self._clock(), actor, "pengguna.buka_kunci", username)

    async def remove(self, actor: str, username: str) -> None:
        """Delete a user and end their sessions (never yourself)."""
        if username == actor:
            raise Invalid({"": "Anda tidak bisa menghapus akun Anda sendiri."})
        if not await self._store.delete(username):
            raise NotFound(f"Pengguna {username} tidak ada.")
        await self._sessions.end_all(username)
        await self._audit.record(self._clock(), actor, "pengguna.hapus", username)
