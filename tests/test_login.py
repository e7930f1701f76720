"""Console login under attack: a concurrent burst of guesses, lock-out of the owner, unlocking.

Drives `Users.login` (the console's users resource) directly on a real runtime: the limiter is
one Redis script, so the burst is as concurrent as over HTTP, and the audit log tells how many
passwords were really checked.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.admin.console import open_console
from bot.admin.http import status_of
from bot.admin.sessions import FREE_ATTEMPTS
from bot.admin.users import Users
from bot.app import Runtime
from bot.errors import Refused

PASSWORD = "kata-sandi-rahasia"
OFFICE, ATTACKER = "10.0.0.5", "203.0.113.9"


@pytest.fixture
async def users(runtime: Runtime) -> Users:
    users = open_console(runtime).users
    await users.add("cli", "ani", "admin", PASSWORD)
    await users.add("cli", "budi", "admin", PASSWORD)
    return users


async def attempt(users: Users, username: str, password: str, ip: str) -> str:
    try:
        await users.login(username, password, ip)
    except Refused as exc:
        return str(status_of(exc))
    return "200"


async def audited(runtime: Runtime) -> Counter[str]:
    return Counter(entry.action for entry in await runtime.audit.recent(1000))


async def test_a_burst_of_guesses_checks_only_a_few_passwords(users: Users,
                                                             runtime: Runtime) -> None:
    results = Counter(await asyncio.gather(
        *(attempt(users, "ani", f"salah-{i}", ATTACKER) for i in range(120))))
    assert results["401"] <= FREE_ATTEMPTS["user"]
    assert results["429"] >= 120 - FREE_ATTEMPTS["user"]
    assert results["200"] == 0
    actions = await audited(runtime)
    assert actions["masuk.gagal"] == results["401"]  # every failure is in the audit log
    assert actions["masuk.ditahan"] == results["429"]


async def test_guessers_do_not_lock_the_owner_out_of_a_known_ip(users: Users) -> None:
    assert await attempt(users, "ani", PASSWORD, OFFICE) == "200"  # the office becomes known
    await asyncio.gather(*(attempt(users, "ani", f"salah-{i}", ATTACKER) for i in range(60)))
    assert await attempt(users, "ani", PASSWORD, ATTACKER) == "429"
    assert await attempt(users, "ani", PASSWORD, "198.51.100.7") == "429"  # unknown address
    assert await attempt(users, "ani", PASSWORD, OFFICE) == "200"


async def test_an_admin_unlocks_an_account(users: Users, runtime: Runtime) -> None:
    for i in range(FREE_ATTEMPTS["user"]):
        assert await attempt(users, "ani", f"salah-{i}", ATTACKER) == "401"
    assert await attempt(users, "ani", PASSWORD, "198.51.100.7") == "429"
    await users.unlock("budi", "ani")
    assert await attempt(users, "ani", PASSWORD, "198.51.100.7") == "200"
    assert (await audited(runtime))["pengguna.buka_kunci"] == 1


async def test_one_ip_guessing_many_accounts_is_slowed(users: Users) -> None:
    results = Counter([await attempt(users, f"tamu{i}", "salah", ATTACKER) for i in range(30)])
    assert results["401"] <= FREE_ATTEMPTS["ip"]
    assert await attempt(users, "budi", PASSWORD, ATTACKER) == "429"
    assert await attempt(users, "budi", PASSWORD, OFFICE) == "200"


async def test_an_oversized_password_is_refused_without_hashing(users: Users) -> None:
    assert await attempt(users, "ani", "x" * 1_000_000, OFFICE) == "401"
