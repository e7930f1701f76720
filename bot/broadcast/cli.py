"""Command line for broadcasts: `python -m bot broadcast ...`, `contacts import`, `worker`.

Verbs and printing only; the work is in the modules beside this one, which the admin console
calls too. Times given on the command line are WIB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from bot.app import Runtime, open_runtime
from bot.broadcast.campaigns import (
    FINAL,
    JAKARTA,
    Campaign,
    CampaignStore,
    Message,
    QuietHours,
    Wording,
    button,
    wib,
)
from bot.broadcast.imports import import_contacts
from bot.broadcast.ledger import Ledger
from bot.broadcast.report import Progress, progress, write_report
from bot.broadcast.segments import Segment, preview, tag_set, yes_no
from bot.broadcast.worker import Worker
from bot.channels.base import Template
from bot.errors import ConfigError, Refused
from bot.settings import Settings


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[int]]) -> int:
    async def main() -> int:
        rt = await open_runtime(settings)
        try:
            return await work(rt)
        except Refused as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            await rt.close()

    return asyncio.run(main())


def _when(text: str) -> datetime:
    try:
        return wib(text)
    except ValueError as exc:
        raise ConfigError(f"--at wants a WIB time like '2026-11-22 08:00', not {text!r}") from exc


def segment_from(args: argparse.Namespace) -> Segment:
    """The segment options of `create`."""
    return Segment(tuple(args.channel), tuple(args.pekerjaan), tuple(args.wilayah),
                   tuple(args.kabupaten), tuple(sorted(tag_set(",".join(args.tag)))), True,
                   args.active_days, yes_no(args.registered))


def message_from(args: argparse.Namespace) -> Message:
    """The message options of `create`."""
    template = (Template(args.template, args.template_language, tuple(args.template_param))
                if args.template else None)
    parts = [[*b.split("=", 2), "", ""][:3] for b in args.button]  # TITLE[=PAYLOAD[=REPLY]]
    return Message(args.text, tuple(button(title, payload) for title, payload, _ in parts),
                   template, tuple(reply.strip() for _, _, reply in parts))


def describe(campaign: Campaign, now: datetime) -> str:
    """Status in words: running, scheduled or held by quiet hours, paused (why) ..."""
    status, why, until = campaign.situation(now)
    if until is not None:
        until = until.astimezone(JAKARTA)
        return f"{status}, {why.replace('_', ' ')} until {until:%Y-%m-%d %H:%M} WIB"
    return f"{status}: {why}" if why else status


def progress_line(p: Progress, now: datetime, width: int = 30) -> str:
    """A one-line progress bar with the main counters."""
    total, finished = p.count("queued"), p.count("finished")
    share = finished / total if total else 0.0
    filled = int(width * share)
    more = "" if p.campaign.enqueued else "+"
    return (f"[{'#' * filled}{'.' * (width - filled)}] {share:4.0%} {finished:,}/{total:,}{more}"
            f"  sent {p.count('sent'):,}  skipped {p.count('skipped'):,}"
            f"  failed {p.count('failed'):,}  unknown {p.count('unknown'):,}"
            f"  ({describe(p.campaign, now)})")


def print_progress(p: Progress, now: datetime) -> None:
    """The counters in full."""
    c = p.campaign
    print(f"{c.id}  {c.name}\n  status: {describe(c, now)}\n  audience: {c.segment.describe()}")
    print(f"  queued {p.count('queued'):,}{'' if c.enqueued else ' (still queueing)'}, "
          f"pending {p.pending:,}, sent {p.count('sent'):,} "
          f"(by template {p.count('sent:template'):,}), failed {p.count('failed'):,}, "
          f"unknown {p.count('unknown'):,}, skipped {p.count('skipped'):,}")
    for reason, n in p.skipped.items():
        print(f"    skipped, {reason}: {n:,}")


async def _preview(rt: Runtime, campaign: Campaign) -> None:
    now = rt.sending.clock()
    found = await preview(rt.contacts, campaign.segment, now)
    channels = ", ".join(f"{n:,} {name}" for name, n in sorted(found.by_channel.items()))
    print(f"audience now: {found.total:,} contacts ({channels or 'none'}); "
          f"{campaign.segment.describe()}")
    if found.outside_window:
        fate = (f"get template {campaign.message.template.name!r}" if campaign.message.template
                else "will be skipped (no template given)")
        print(f"  {found.outside_window:,} WhatsApp contacts have not written in 24 hours and "
              f"{fate}")
    wording = Wording.read(rt.knowledge.current.text)
    for contact in found.sample:
        print(f"  e.g. {contact.channel}:{contact.user_id} -> "
              f"{campaign.message.reply(contact, wording).text.splitlines()[0][:80]!r}")


def cmd_broadcast(settings: Settings, args: argparse.Namespace) -> int:
    """create, preview, start, status, list, pause, resume, cancel, report."""

    async def work(rt: Runtime) -> int:
        store = CampaignStore(rt.redis, rt.keys, rt.config.broadcast.outcome_days)
        ledger = Ledger(rt.redis,
                                                                          rt.keys)
        now = rt.sending.clock()
        verb = args.broadcast_command
        if verb == "create":
            quiet = QuietHours.parse(args.quiet_hours or rt.config.broadcast.quiet_hours)
            campaign = await store.create(args.name, segment_from(args), message_from(args),
                                          quiet_hours=quiet, now=now, created_by=args.by)
            print(f"created campaign {campaign.id} (draft); quiet hours {quiet or 'off'}")
            await _preview(rt, campaign)
            print(f"start it with: python -m bot broadcast start {campaign.id}")
        elif verb == "list":
            for c in await store.recent(args.limit):
                print(f"{c.id}  {c.status:<9}  {c.created_at:%Y-%m-%d %H:%M}  {c.name}")
        elif verb == "preview":
            await _preview(rt, await store.require(args.id))
        elif verb == "start":
            result = await store.start(args.id, now, _when(args.at) if args.at else None)
            print(f"campaign {args.id}: {result if result == 'started' else 'already ' + result}"
                  "; workers (python -m bot worker) send it")
        elif verb in ("pause", "resume", "cancel"):
            change = {"pause": lambda: store.pause(args.id, "paused by staff"),
                      "resume": lambda: store.resume(args.id),
                      "cancel": lambda: store.cancel(args.id, now)}
            before = await change[verb]()
            print(f"campaign {args.id}: was {before}, now "
                  f"{(await store.require(args.id)).status}")
        elif verb == "status":
            return await _status(rt, store, ledger, args.id, args.watch)
        elif verb == "report":
            campaign = await store.require(args.id)
            with await asyncio.to_thread(open, args.out, "w", newline="",
                                         encoding="utf-8") as out:
                s = await write_report(rt.redis, rt.keys, ledger, rt.contacts,
                                       campaign, out)
            statuses = ", ".join(f"{name} {n:,}" for name, n in s.statuses.most_common())
            print(f"wrote {s.rows:,} recipients to {args.out}: {statuses or 'none'}")
            print(f"WhatsApp delivered {s.delivered:,}, read {s.read:,}; after the message "
                  f"{s.replied:,} replied, {s.opted_out_after:,} opted out and {s.leads:,} "
                  "left a lead")
        return 0

    return _run(settings, work)


async def _status(rt: Runtime, store: CampaignStore, ledger: Ledger, campaign_id: str,
                  watch: bool) -> int:
    clock = rt.sending.clock
    if not watch:
        print_progress(await progress(store, ledger, campaign_id), clock())
        return 0
    while True:  # a live bar for staff, redrawn every second until the campaign ends
        current = await progress(store, ledger, campaign_id)
        sys.stdout.write("\r" + progress_line(current, clock()).ljust(120))
        sys.stdout.flush()
        if current.campaign.status in FINAL:
            print()
            print_progress(current, clock())
            return 0
        await asyncio.sleep(1.0)


def cmd_contacts_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import a CSV list of contacts who gave consent."""

    async def work(rt: Runtime) -> int:
        path = Path(args.file)
        with await asyncio.to_thread(path.open, newline="", encoding="utf-8-sig") as rows:
            result = await import_contacts(rt.contacts, csv.DictReader(rows),
                                           rt.sending.clock(), args.source or path.name)
        print(f"{result.added:,} contacts added, {result.updated:,} updated; "
              f"{result.without_consent:,} rows without consent not stored; "
              f"{result.kept_opt_out:,} had opted out and stay so")
        for line, problem in result.invalid:
            print(f"  line {line}: {problem}")
        return 1 if result.invalid else 0

    return _run(settings, work)


def cmd_contacts_sweep(settings: Settings, args: argparse.Namespace) -> int:
    """Delete now the contacts idle for `profile_ttl_days`: the daily sweep, at once."""

    async def work(rt: Runtime) -> int:
        removed = await rt.contacts.sweep(rt.clock())
        print(f"{removed:,} contacts deleted: no message and no import for "
              f"{rt.config.dialogue.profile_ttl_days} days (dialogue.profile_ttl_days)")
        return 0

    return _run(settings, work)


WORKER_READY = "broadcast worker"  # the start of the line a worker prints once it is heard


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Send campaigns until SIGTERM or Ctrl-C, then finish the sends in hand.

    With --drain it also stops once no campaign can be sent now.
    """

    async def work(rt: Runtime) -> int:
        if not rt.sending.channels:
            raise ConfigError("no channel is on: set TELEGRAM_BOT_TOKEN or the WHATSAPP_* "
                              "settings for the worker")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        rt.follow_changes(answering=False)  # a footer staff edit reaches the next sends
        worker = Worker(rt.sending)

        def ready() -> None:  # said once staff can see the worker (tests wait for this line)
            print(f"{WORKER_READY} {worker.consumer}: channels "
                  f"{', '.join(sorted(rt.sending.channels))}; rates "
                  f"{rt.config.broadcast.rates} per second, shared by all workers", flush=True)

        await worker.run(stop, drain=args.drain, ready=ready)
        return 0

    return _run(settings, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `broadcast`, `contacts` and `worker` verbs."""
    worker = sub.add_parser("worker", help="send broadcast campaigns (run one or more)")
    worker.add_argument("--drain", action="store_true",
                        help="exit once no campaign can be sent now (all finished, or held by "
                        "quiet hours or a later start), instead of waiting for new ones")
    worker.set_defaults(run=cmd_worker)
    contacts = sub.add_parser("contacts", help="contact lists").add_subparsers(
        dest="contacts_command", required=True)
    imp = contacts.add_parser("import", help="import a CSV list with consent (see README)")
    imp.add_argument("file")
    imp.add_argument("--source", help="who collected the list (default: the file name)")
    imp.set_defaults(run=cmd_contacts_import)
    contacts.add_parser("sweep", help="delete now the contacts idle for profile_ttl_days (the "
                        "daily sweep, at once)").set_defaults(run=cmd_contacts_sweep)
    bc = sub.add_parser("broadcast", help="broadcast campaigns").add_subparsers(
        dest="broadcast_command", required=True)
    create = bc.add_parser("create", help="create a draft campaign and preview its audience")
    create.add_argument("--name", required=True)
    create.add_argument("--text", required=True, help="message; {nama} becomes the name")
    create.add_argument("--button", action="append", default=[], metavar="TITLE[=PAYLOAD[=REPLY]]",
                        help="a reply button; REPLY is what the bot answers when it is tapped")
    create.add_argument("--template", help="approved WhatsApp template for contacts outside "
                                           "the 24-hour window")
    create.add_argument("--template-language", default="id")
    create.add_argument("--template-param", action="append", default=[],
                        help="template body parameter in order ({nama} allowed)")
    create.add_argument("--channel", action="append", default=[],
                        choices=["telegram", "whatsapp"])
    create.add_argument("--pekerjaan", action="append", default=[])
    create.add_argument("--wilayah", action="append", default=[],
                        help="part of the kelurahan/kecamatan, e.g. Genteng")
    create.add_argument("--kabupaten", action="append", default=[])
    create.add_argument("--tag", action="append", default=[])
    create.add_argument("--active-days", type=int, help="wrote to the bot within N days")
    create.add_argument("--registered", choices=["ya", "tidak"])
    create.add_argument("--quiet-hours", help="HH:MM-HH:MM in WIB, or off (default from "
                                              "config.yml)")
    create.add_argument("--by", default="", help="who creates it")
    create.set_defaults(run=cmd_broadcast)
    bc.add_parser("list", help="recent campaigns").add_argument("--limit", type=int, default=20)
    for verb, text in (("preview", "count and sample the audience now"),
                       ("start", "start now, or --at a WIB time"),
                       ("status", "counters; --watch for a live progress bar"),
                       ("pause", "hold sending"), ("resume", "go on after a pause"),
                       ("cancel", "stop for good"), ("report", "CSV of every recipient")):
        p = bc.add_parser(verb, help=text)
        p.add_argument("id")
        if verb == "start":
            p.add_argument("--at", help="WIB, e.g. '2026-11-22 08:00'")
        if verb == "status":
            p.add_argument("--watch", action="store_true")
        if verb == "report":
            p.add_argument("--out", required=True)
    for parser in bc.choices.values():
        parser.set_defaults(run=cmd_broadcast)
