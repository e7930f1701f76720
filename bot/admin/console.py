"""The console's resources, one use-case object each, wired from the process's `Runtime`.

Pages (`pages.py`) and the JSON API (`api.py`) decode input, call the resource they need and
present the result, so both behave alike and are tested alike; no handler reaches past a
resource into a store. A resource owns its use cases and raises the core's refusals
(bot/errors.py), which the edge (`http.py`) turns into statuses. Every change to the knowledge
base, from answers, facts, versions or the inbox, goes through the runtime's `KnowledgeChanges`.

| resource  | module             | what it owns                                       |
|-----------|--------------------|----------------------------------------------------|
| users     | users.py           | login, sessions, accounts and their roles          |
| answers   | answers.py         | FAQ entries and core texts, the try box, import    |
| facts     | facts.py           | facts with their sources and citers                |
| versions  | versions.py        | kept versions, diffs, rollback, retrain status     |
| inbox     | inbox.py           | unanswered messages: grouped, dropped, taught      |
| leads     | leads.py           | leads, their follow-up, deletion requests          |
| campaigns | campaigns.py       | broadcast campaigns as staff run them              |
| handoffs  | bot/handoffs.py    | conversations handed to staff                      |
| stats     | dashboard.py       | the dashboard's numbers                            |
| audit     | audit.py           | the audit log (read only here)                     |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.admin.accounts import Passwords
from bot.admin.answers import Answers
from bot.admin.audit import AuditLog
from bot.admin.campaigns import Campaigns
from bot.admin.dashboard import Stats
from bot.admin.facts import Facts
from bot.admin.inbox import Inbox
from bot.admin.leads import Leads
from bot.admin.users import Users
from bot.admin.versions import Versions
from bot.app import Runtime
from bot.handoffs import Handoffs


@dataclass(frozen=True)
class Console:
    """The console's resources; `clock` is the process's clock (for times shown)."""

    users: Users
    answers: Answers
    facts: Facts
    versions: Versions
    inbox: Inbox
    leads: Leads
    campaigns: Campaigns
    handoffs: Handoffs
    stats: Stats
    audit: AuditLog
    clock: Callable[[], datetime]


def open_console(rt: Runtime) -> Console:
    """The console over the runtime's stores (nothing connects; cheap to call)."""
    return Console(
        users=Users(rt.users, Passwords(), rt.sessions, rt.login_limiter, rt.audit, rt.clock),
        answers=Answers(rt.changes, rt.inbox, rt.engine, rt.clock),
        facts=Facts(rt.changes),
        versions=Versions(rt.changes, rt.history, rt.knowledge_store, rt.model_store,
                          rt.knowledge, rt.nlu, rt.training, rt.clock),
        inbox=Inbox(rt.inbox, rt.changes, rt.nlu, rt.audit, rt.clock),
        leads=Leads(rt.leads, rt.contacts, rt.conversations, rt.eraser, rt.audit, rt.clock),
        campaigns=rt.campaigns,
        handoffs=rt.handoffs,
        stats=Stats(rt.counters, rt.leads, rt.campaigns, rt.inbox, rt.knowledge,
                    rt.settings.sapa_nlu_data / "gazetteer" / "jatim.tsv", rt.clock),
        audit=rt.audit,
        clock=rt.clock)
