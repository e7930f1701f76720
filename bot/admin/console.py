"""What the console does, over the runtime's Redis: one method per use case.

Pages (`pages.py`) and the JSON API (`api.py`) decode input, call one method here and present
the result, so both behave alike and are tested alike. A `Console` holds nothing of its own: its
stores, the knowledge-change path and the retrain loop come from the process's `Runtime`.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.admin.accounts import (
    Passwords,
    User,
    UserStore,
    check_user,
)
from bot.admin.audit import AuditLog
from bot.admin.campaigns import FUNNEL
from bot.admin.changes import Edited
from bot.admin.dashboard import (
    LineChart,
    Row,
    StackedChart,
    fallback_rates,
    funnel_rows,
    messages_by_channel,
    top_rows,
    total_intents,
)
from bot.admin.editor import (
    add_examples,
    changed_fields,
    fingerprint,
    make_answer,
    make_fact,
    put_answer,
    put_fact,
    remove_answer,
    remove_fact,
)
from bot.admin.history import ItemChange, VersionInfo, diff, item_changes
from bot.admin.inbox import Group, group
from bot.admin.leads import (
    LEAD_FUNNEL,
    AreaRow,
    LeadFilter,
    by_area,
    by_kecamatan,
    lead_funnel,
    matching,
)
from bot.admin.names import intent_name, training_shown
from bot.admin.sessions import Attempt, Session
from bot.app import Runtime
from bot.errors import Denied, Invalid, NotFound, Throttled
from bot.knowledge.base import AnswerModel, FactModel, KnowledgeBase, KnowledgeDocument
from bot.leads import LEAD_STATUSES, Lead
from bot.messages import Reply
from bot.nlu.model import FALLBACK_INTENT
from bot.nlu.places import PlaceGazetteer

CONFLICT = ("{what} ini sudah diubah orang lain sejak Anda membukanya. Perubahan Anda belum "
            "disimpan: salin teks Anda, buka ulang halaman ini, lalu terapkan lagi.")


def throttled(retry_after: int) -> Throttled:
    """Too many failed logins, said with the wait in seconds or minutes."""
    wait = (f"{retry_after} detik" if retry_after < 60
            else f"{max(1, round(retry_after / 60))} menit")
    return Throttled(f"Terlalu banyak percobaan masuk. Coba lagi dalam {wait}.", retry_after)


def what_if_day(text: str) -> date | None:
    """The console's "coba" date (YYYY-MM-DD); empty means today."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("Tanggal harus ditulis TTTT-BB-HH, misalnya 2027-01-01.") from None


@dataclass(frozen=True)
class TryResult:
    """How the bot answers a question right now."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    replies: tuple[Reply, ...]
    on: str = ""  # the what-if date asked for (YYYY-MM-DD), empty for today


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    days: int
    messages: int
    fallback_rate: float
    leads: int
    unanswered: int
    per_day: StackedChart
    fallbacks: LineChart
    intents: list[Row]
    areas: list[Row]
    funnel: dict[str, int]  # the campaigns' funnel by stage (campaigns.FUNNEL), theirs only
    funnel_bars: list[Row]
    follow_up: dict[str, int]  # every lead of the period and its follow-up (leads.LEAD_FUNNEL)
    follow_up_bars: list[Row]
    by_area: list[AreaRow]  # leads by kecamatan and kelurahan, with their follow-up
    intent_names: dict[str, str]  # the top intents as staff call them

    def named_intents(self) -> list[Row]:
        """The top intents' bars labelled in Indonesian."""
        return [replace(row, label=self.intent_names.get(row.label, row.label))
                for row in self.intents]


async def register_user(users: UserStore, passwords: Passwords, audit: AuditLog, actor: str,
                        username: str, role: str, password: str, now: datetime) -> User:
    """Create a console user (refused when the name is taken or the input unusable), audited."""
    username = username.strip().lower()
    check_user(username, role, password)
    if await users.get(username) is not None:
        raise Invalid({"username": f"pengguna {username} sudah ada"})
    user = User(username, role, now.isoformat(timespec="seconds"))
    await users.save(user, await passwords.hash(password))
    await audit.record(now, actor, "pengguna.tambah", username, role)
    return user


def contact_ref(channel: str, user_id: str) -> str:
    """A contact as the audit log names it: the channel and a digest, never a phone number."""
    return f"{channel}:{hashlib.sha256(user_id.encode()).hexdigest()[:10]}"


class Console:
    """The console's use cases."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.users = rt.users
        self.passwords = Passwords()
        self.sessions = rt.sessions
        self.limiter = rt.login_limiter
        self.audit = rt.audit
        self.history = rt.history
        self.training = rt.training
        self.retrainer = rt.retrainer
        self.changes = rt.changes
        self.counters = rt.counters
        self.inbox = rt.inbox
        self.campaigns = rt.campaigns
        self._gazetteer: PlaceGazetteer | None = None

    # -- sessions ---------------------------------------------------------------------------

    async def login(self, username: str, password: str, ip: str) -> tuple[str, Session]:
        """Check a password (throttled) and start a session; returns the cookie token.

        The attempt is counted before the password is checked, and every failure is audited.
        """
        username = username.strip().lower()[:64]
        attempt = await self.limiter.begin(username, ip)
        if not isinstance(attempt, Attempt):
            await self.audit.record(self.rt.clock(), username, "masuk.ditahan", username, ip)
            raise throttled(math.ceil(attempt))
        user = await self.users.get(username)
        matched = await self.passwords.verify(await self.users.password_hash(username), password)
        if not matched or user is None:
            await self.audit.record(self.rt.clock(), username[:64] or "-", "masuk.gagal",
                                    username[:64], f"dari {ip}")
            raise Denied("Nama pengguna atau kata sandi salah.")
        await self.limiter.succeeded(attempt)
        now = self.rt.clock()
        await self.users.save(User(user.username, user.role, user.created_at,
                                   now.isoformat(timespec="seconds")))
        await self.audit.record(now, username, "masuk", username)
        token = await self.sessions.create(user)
        session = await self.sessions.get(token)
        assert session is not None  # just created
        return token, session

    # -- knowledge base ---------------------------------------------------------------------

    async def knowledge(self) -> KnowledgeBase:
        """The latest stored knowledge base (what the next reload of every process will serve)."""
        kb = await self.rt.knowledge_store.load()
        return kb if kb is not None else self.rt.knowledge.current

    async def save_answer(self, user: str, values: Mapping[str, Any], answer_id: str | None,
                          base: str | None, inbox_ids: Sequence[str] = ()) -> AnswerModel:
        """Add (no `answer_id`) or change an answer, and mark the inbox messages it answers.

        `base` is the entry's fingerprint when the form was opened: a parallel edit is refused,
        never overwritten.
        """
        today = self.rt.clock().date()
        saved: list[AnswerModel] = []

        def edit(document: KnowledgeDocument) -> Edited:
            existing = next((a for a in document.answers if a.id == answer_id), None)
            if answer_id is not None and existing is None:
                raise Invalid({"": f"Jawaban {answer_id} sudah dihapus orang lain."})
            if base is not None and fingerprint(existing) != base:
                raise Invalid({"": CONFLICT.format(what="Jawaban")})
            answer = make_answer(values, existing, today)
            saved.append(answer)
            return Edited(put_answer(document, answer, new=existing is None), answer.id,
                          changed_fields(existing, answer))

        await self.changes.apply(user, "faq.ubah" if answer_id else "faq.tambah", edit)
        await self.inbox.handled(inbox_ids)
        return saved[0]

    async def delete_answer(self, user: str, answer_id: str) -> None:
        """Remove an FAQ entry."""
        await self.changes.apply(user, "faq.hapus", lambda document: Edited(
            remove_answer(document, answer_id), answer_id))

    async def save_fact(self, user: str, values: Mapping[str, Any], fact_id: str | None,
                        base: str | None) -> FactModel:
        """Add (no `fact_id`) or change a fact, refusing to overwrite a parallel edit."""
        saved: list[FactModel] = []

        def edit(document: KnowledgeDocument) -> Edited:
            existing = next((f for f in document.facts if f.id == fact_id), None)
            if fact_id is not None and existing is None:
                raise Invalid({"": f"Fakta {fact_id} sudah dihapus orang lain."})
            if base is not None and fingerprint(existing) != base:
                raise Invalid({"": CONFLICT.format(what="Fakta")})
            fact = make_fact(values, existing)
            saved.append(fact)
            return Edited(put_fact(document, fact, new=existing is None), fact.id,
                          changed_fields(existing, fact))

        await self.changes.apply(user, "fakta.ubah" if fact_id else "fakta.tambah", edit)
        return saved[0]

    async def delete_fact(self, user: str, fact_id: str) -> None:
        """Remove a fact nothing cites."""
        await self.changes.apply(user, "fakta.hapus", lambda document: Edited(
            remove_fact(document, fact_id), fact_id))

    def example_intents(self, kb: KnowledgeBase) -> list[str]:
        """Intents an inbox group can teach: the model's core intents and every FAQ."""
        core = [i for i in self.rt.nlu.current.intents
                if i != FALLBACK_INTENT and not i.startswith("faq/")]
        return sorted({*core, *(a.intent for a in kb.document.answers if a.is_faq)})

    async def teach(self, user: str, intent: str, ids: Sequence[str]) -> int:
        """Add inbox messages as training examples of an intent and mark them handled."""
        if intent not in self.example_intents(await self.knowledge()):
            raise Invalid({"intent": f"intent {intent} tidak dikenal"})
        texts = list(dict.fromkeys(m.text for m in await self.inbox.get(ids)))
        if not texts:
            raise Invalid({"": "Pesan-pesan ini sudah ditangani."})
        await self.changes.apply(user, "contoh.tambah", lambda document: Edited(
            add_examples(document, intent, texts), intent,
            f"{len(texts)} contoh dari kotak masuk"))
        await self.inbox.handled(ids)
        return len(texts)

    async def versions(self) -> list[VersionInfo]:
        """Kept knowledge-base versions, newest first (the current one always among them)."""
        await self.history.keep_current(await self.knowledge(), self.rt.clock())
        return await self.history.versions()

    async def _version_pair(self, version: int,
                            ) -> tuple[int | None, KnowledgeDocument, KnowledgeDocument]:
        """The kept version before `version` (None when it is the oldest kept), both documents."""
        await self.history.keep_current(await self.knowledge(), self.rt.clock())
        document = await self.history.document(version)
        if document is None:
            raise NotFound(f"Versi {version} tidak disimpan.")
        older = [v.version for v in await self.history.versions() if v.version < version]
        previous = older[0] if older else None
        before = await self.history.document(previous) if previous else None
        return previous, before or KnowledgeDocument(answers=[], facts=[]), document

    async def version_diff(self, version: int) -> tuple[int | None, list[str]]:
        """A version against the kept version before it, as a unified diff of the YAML."""
        previous, before, document = await self._version_pair(version)
        return previous, diff(before, document, f"versi {previous or '-'}", f"versi {version}")

    async def version_changes(self, version: int) -> tuple[int | None, list[ItemChange]]:
        """A version against the kept version before it, item by item, as staff read it."""
        previous, before, document = await self._version_pair(version)
        return previous, item_changes(before, document)

    async def rollback(self, user: str, version: int) -> int:
        """Restore a kept version as a new version; returns the new version number."""
        document = await self.history.document(version)
        if document is None:
            raise NotFound(f"Versi {version} tidak disimpan.")
        return await self.changes.apply(user, "versi.kembalikan", lambda _: Edited(
            document, f"versi {version}"))

    async def try_text(self, text: str, on: date | None = None) -> TryResult:
        """How the bot answers `text` now (or on the day `on`), touching no conversation."""
        parse, replies = await self.rt.engine.preview(text, on)
        return TryResult(text, parse.intent.name, parse.intent.confidence,
                         tuple((r.name, r.confidence) for r in parse.ranking), tuple(replies),
                         on.isoformat() if on else "")

    async def status(self) -> dict[str, Any]:
        """Stored and served versions of the knowledge base and model, and the last retrain."""
        return {"knowledge_version": await self.rt.knowledge_store.version(),
                "model_version": await self.rt.model_store.version(),
                "serving": {"knowledge_version": self.rt.knowledge.version,
                            "model_version": self.rt.nlu.version},
                "training": training_shown(await self.training.get())}

    # -- inbox, leads, dashboard ------------------------------------------------------------

    async def inbox_groups(self, before: str | None = None) -> tuple[list[Group], str | None]:
        """A page of unanswered messages grouped by similarity, and the next page's cursor."""
        messages, older = await self.inbox.recent(before)
        groups = await asyncio.to_thread(group, messages, self.rt.nlu.current.normalizer)
        return groups, older

    async def mark_handled(self, user: str, ids: Sequence[str]) -> int:
        """Remove messages from the inbox without changing the bot."""
        removed = await self.inbox.handled(ids)
        await self.audit.record(self.rt.clock(), user, "kotak_masuk.selesai", f"{removed} pesan")
        return removed

    async def leads(self, where: LeadFilter) -> list[Lead]:
        """Leads passing the filter, newest first."""
        return [lead async for lead in matching(self.rt.leads.all(), where)][::-1]

    def lead_rows(self, where: LeadFilter) -> AsyncIterator[Lead]:
        """Leads passing the filter as the store yields them (for the CSV export)."""
        return matching(self.rt.leads.all(), where)

    async def delete_lead(self, user: str, channel: str, user_id: str) -> None:
        """Honour a deletion request: the lead, the contact's profile and its conversation."""
        if not await self.rt.leads.delete(channel, user_id):
            raise NotFound("Data ini sudah tidak ada.")
        await asyncio.gather(self.rt.contacts.delete(channel, user_id),
                             self.rt.conversations.delete(channel, user_id))
        await self.audit.record(self.rt.clock(), user, "prospek.hapus",
                                contact_ref(channel, user_id))

    async def follow_up_lead(self, user: str, channel: str, user_id: str, status: str,
                             petugas: str | None = None) -> None:
        """Record staff's follow-up of a lead: its status (who, when) and who should call."""
        if status not in LEAD_STATUSES:
            raise Invalid({"status": "Pilih salah satu: " + ", ".join(LEAD_STATUSES) + "."})
        values = {"status": status, "status_by": user,
                  "status_at": self.rt.clock().isoformat(timespec="seconds")}
        if petugas is not None:
            values["petugas"] = petugas.strip()[:64]
        if not await self.rt.leads.follow_up(channel, user_id, values):
            raise NotFound("Data ini sudah tidak ada.")
        await self.audit.record(self.rt.clock(), user, "prospek.status",
                                contact_ref(channel, user_id), status)

    def gazetteer(self) -> PlaceGazetteer:
        """The East Java place list (Kemendagri codes), read once."""
        if self._gazetteer is None:
            self._gazetteer = PlaceGazetteer.load(
                self.rt.settings.sapa_nlu_data / "gazetteer" / "jatim.tsv")
        return self._gazetteer

    async def dashboard(self, days: int) -> Dashboard:
        """The last `days` days' counters, leads by area and the inbox size."""
        counts = await self.counters.days(self.rt.clock().date(), days)
        leads = [lead async for lead in self.rt.leads.all()]
        messages = sum(d.messages for d in counts)
        fallbacks = sum(d.intents.get(FALLBACK_INTENT, 0) for d in counts)
        funnel = await self.campaigns.funnel(days)
        follow_up = lead_funnel(leads, self.rt.clock().date() - timedelta(days=days - 1))
        top = top_rows(total_intents(counts))
        kb = self.rt.knowledge.current
        return Dashboard(
            days=days, messages=messages, fallback_rate=fallbacks / messages if messages else 0,
            leads=len(leads), unanswered=int(await self.rt.redis.xlen(self.rt.keys.fallbacks())),
            per_day=messages_by_channel(counts), fallbacks=fallback_rates(counts),
            intents=top, intent_names={row.label: intent_name(row.label, kb) for row in top},
            areas=top_rows(by_kecamatan(leads)),
            funnel=funnel, funnel_bars=funnel_rows([(label, funnel[key]) for key, label in FUNNEL]),
            follow_up=follow_up,
            follow_up_bars=funnel_rows([(label, follow_up[k]) for k, label in LEAD_FUNNEL]),
            by_area=await asyncio.to_thread(by_area, leads, self.gazetteer()))

    # -- users ------------------------------------------------------------------------------

    async def add_user(self, actor: str, username: str, role: str, password: str) -> User:
        """Create a console user."""
        return await register_user(self.users, self.passwords, self.audit, actor, username,
                                   role, password, self.rt.clock())

    async def change_user(self, actor: str, username: str, role: str, password: str) -> None:
        """Change a user's role and/or password; their open sessions end."""
        user = await self.users.get(username)
        if user is None:
            raise NotFound(f"Pengguna {username} tidak ada.")
        if username == actor and role != user.role:
            raise Invalid({"role": "Anda tidak bisa mengubah peran Anda sendiri."})
        check_user(username, role, password or None)
        new_hash = await self.passwords.hash(password) if password else None
        await self.users.save(User(user.username, role, user.created_at, user.last_login),
                              new_hash)
        await self.sessions.end_all(username)
        changes = [f"peran {user.role} -> {role}"] if role != user.role else []
        await self.audit.record(self.rt.clock(), actor, "pengguna.ubah", username,
                                ", ".join([*changes, *(["kata sandi"] if password else [])]))

    async def unlock_user(self, actor: str, username: str) -> None:
        """Lift the login delay of an account that guessers slowed down."""
        if await self.users.get(username) is None:
            raise NotFound(f"Pengguna {username} tidak ada.")
        await self.limiter.unlock(username)
        await self.audit.record(self.rt.clock(), actor, "pengguna.buka_kunci", username)

    async def remove_user(self, actor: str, username: str) -> None:
        """Delete a user and end their sessions (never yourself)."""
        if username == actor:
            raise Invalid({"": "Anda tidak bisa menghapus akun Anda sendiri."})
        if not await self.users.delete(username):
            raise NotFound(f"Pengguna {username} tidak ada.")
        await self.sessions.end_all(username)
        await self.audit.record(self.rt.clock(), actor, "pengguna.hapus", username)
