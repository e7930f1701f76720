"""Command line: `python -m bot serve|chat|nlu|faq|leads|broadcast|worker ...`. Verbs only."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.admin.changes import TrainingState, Unpublishable
from bot.admin.console import open_console
from bot.app import Runtime, open_runtime, train_and_publish
from bot.broadcast import cli as broadcast_cli
from bot.channels import switchboard
from bot.embedded_redis import embedded_redis_running, stop_embedded_redis
from bot.errors import ConfigError, Invalid
from bot.knowledge.base import KnowledgeBase, load_seed, read_answers_file
from bot.leads import write_csv
from bot.messages import IncomingMessage, Reply
from bot.nlu.data import load_examples_with_metadata, load_nlu_data
from bot.nlu.model import train
from bot.settings import PROJECT_ROOT, Settings, load_config

DEFAULT_TEST_FILE = PROJECT_ROOT / "tests" / "data" / "nlu_test.yml"


async def _with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[int]]) -> int:
    runtime = await open_runtime(settings)
    try:
        return await work(runtime)
    finally:
        await runtime.close()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the web app (REST channel, health) with uvicorn."""
    import uvicorn

    from bot.web import create_app

    where = ("REDIS_URL" + (" (Redis Cluster)" if settings.redis_cluster else "")
             if settings.redis_url else f"embedded Redis in {settings.sapa_data_dir}")
    print(f"Sapa Pekerja starting on http://{args.host}:{args.port} (state: {where}).")
    if settings.sapa_today:
        print(f"Answering as on {settings.sapa_today.isoformat()} (WIB), not today's date.")
    print("\n".join(switchboard.describe(settings)))
    print("Talk to it from another terminal:  .venv/bin/python -m bot chat")
    print(f"or: curl -s -X POST http://{args.host}:{args.port}/webhooks/rest/webhook "
          "-H 'Content-Type: application/json' "
          "-d '{\"sender\": \"budi\", \"message\": \"brp iuran bpjs tk buat ojol\"}'")
    # An embedded Redis this command starts is stopped with it (Ctrl-C); one already running
    # (another serve, a chat) is left alone.
    embedded = not settings.redis_url and not embedded_redis_running(settings.sapa_data_dir)
    try:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                    access_log=False, loop="uvloop", http="httptools",
                    timeout_graceful_shutdown=30)  # a stop finishes answers in hand, never hangs
    finally:
        if embedded:
            stop_embedded_redis(settings.sapa_data_dir)
            print(f"stopped the embedded Redis in {settings.sapa_data_dir / 'redis'}")
    return 0


def chat_shown(replies: Sequence[Reply]) -> tuple[list[str], int, list[str]]:
    """What `chat` prints for a turn, the number of its first button and the buttons' payloads.

    The buttons are numbered after the reply's own numbered list, so "5" after the menu stays
    its fifth item (the engine's pick), not a button.
    """
    first = 1 + max((len(r.choices) for r in replies), default=0)
    lines: list[str] = []
    payloads: list[str] = []
    for reply in replies:
        lines.append(f"Bot: {reply.text}")
        for b in reply.buttons:
            lines.append(f"   [{first + len(payloads)}] {b.title}")
            payloads.append(b.payload)
    return lines, first, payloads


def chat_pick(line: str, first: int, payloads: Sequence[str]) -> str:
    """The button's payload for its number; any other line as typed."""
    number = line.strip()
    if number.isdigit() and 0 <= int(number) - first < len(payloads):
        return payloads[int(number) - first]
    return line


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """A terminal conversation with the bot, like `rasa shell`. Numbers pick a button."""

    async def work(rt: Runtime) -> int:
        print("Ketik pesan (Ctrl-D atau /keluar untuk selesai). Angka memilih tombol.")
        if settings.sapa_today:
            print(f"Menjawab seperti pada tanggal {settings.sapa_today.isoformat()} (WIB).")
        buttons: list[str] = []
        first = 1
        while True:
            try:
                line = await asyncio.to_thread(input, "Anda: ")
            except EOFError:
                print()
                return 0
            if line.strip() in ("/keluar", "/exit", "/quit"):
                return 0
            line = chat_pick(line, first, buttons)
            if not line.strip():
                continue
            message = IncomingMessage("cli", args.sender, line, rt.clock())
            lines, first, buttons = chat_shown(await rt.engine.handle(message))
            print("\n".join(lines))

    return asyncio.run(_with_runtime(settings, work))


def cmd_nlu_train(settings: Settings, args: argparse.Namespace) -> int:
    """Train on nlu_data/ plus the knowledge base's FAQs and publish to every process."""

    async def work(rt: Runtime) -> int:
        # On an empty store (or changed data) opening the runtime just trained: once is enough.
        model = rt.nlu.current if rt.trained_at_start else await train_and_publish(
            settings, rt.config, rt.knowledge.current, rt.model_store)
        default = settings.sapa_data_dir / "models" / f"nlu-{model.fingerprint}.npz"
        out = Path(args.out or default)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(model.dumps())
        print(f"model {model.fingerprint}: {len(model.intents)} intents, "
              f"{out.stat().st_size / 1e6:.1f} MB -> {out}; published to Redis")
        return 0

    return asyncio.run(_with_runtime(settings, work))


def cmd_nlu_test(settings: Settings, args: argparse.Namespace) -> int:
    """Score a fresh model on a held-out file (or k-fold on the training data); write reports."""
    from bot.nlu import evaluate  # scikit-learn's metrics: only this command needs them

    config = load_config(settings.sapa_config)
    data = load_nlu_data(settings.sapa_nlu_data)
    # the repository's knowledge base, so a score is reproducible from a clean clone
    faq = KnowledgeBase(load_seed()).training_examples()
    out_dir = Path(args.out)
    if args.cross_validation:
        result = evaluate.cross_validate(data, faq, config, args.cross_validation)
        print(evaluate.format_table(result))
        for path in evaluate.write_reports(result, out_dir, "cross_validation"):
            print(f"wrote {path}")
        return 0
    test_file = Path(args.file)
    try:
        styled = load_examples_with_metadata(test_file)
        examples = [example for example, _ in styled]
    except FileNotFoundError as exc:
        raise ConfigError(f"test file not found: {test_file}") from exc
    model, report = train(data, faq, config)
    print(f"trained in {report.seconds:.1f}s on {report.examples} examples; "
          f"testing on {len(examples)} from {test_file}")
    result = evaluate.evaluate_model(model, examples)
    baseline = evaluate.evaluate_baseline([*data.examples, *faq], examples)
    print(evaluate.format_table(result))
    for style, accuracy in evaluate.accuracy_by_style(result, styled).items():
        share = sum(meta.get(style) is True for _, meta in styled) / len(styled)
        print(f"{'accuracy, ' + style:<32} {accuracy:6.3f}  ({share:.0%} of the examples)")
    confusions = evaluate.format_topic_confusions(result)
    if confusions:
        print(f"\nanswer units by topic (confusions inside a topic):\n{confusions}")
    print(f"\n{'':<20}{'ours':>8}{'baseline':>10}")
    print(f"{'accuracy':<20}{result.accuracy:8.3f}{baseline.accuracy:10.3f}")
    print(f"{'macro F1':<20}{result.macro_f1:8.3f}{baseline.macro_f1:10.3f}")
    for path in evaluate.write_reports(result, out_dir, "intent"):
        print(f"wrote {path}")
    return 0


def cmd_faq(settings: Settings, args: argparse.Namespace) -> int:
    """List, import or export knowledge-base answers."""

    async def work(rt: Runtime) -> int:
        kb = rt.knowledge.current
        if args.faq_command == "list":
            print(f"{'id':<28} {'intent':<30} {'questions':>9}  updated")
            for a in kb.document.answers:
                print(f"{a.id:<28} {a.intent:<30} {len(a.questions):>9}  {a.updated or '-'}")
            print(f"{len(kb.document.answers)} answers, knowledge base version {kb.version}")
        elif args.faq_command == "export":
            body = {"version": 1, "answers": [a.model_dump(exclude_defaults=True)
                                             for a in kb.document.answers]}
            text = yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)
            if args.out:
                Path(args.out).write_text(text, encoding="utf-8")
                print(f"wrote {len(kb.document.answers)} answers to {args.out}")
            else:
                sys.stdout.write(text)
        else:
            path = Path(args.file)
            answers = read_answers_file(path)
            # The console's path: guarded, locked, versioned, kept in the history, audited,
            # retrained.
            try:
                version = await open_console(rt).answers.merge("cli", path.name, answers)
            except Unpublishable as exc:
                print(f"error: {path.name} tidak diimpor, belum bisa diterbitkan:",
                      file=sys.stderr)
                for problem in exc.problems:
                    print(f"  - {problem}", file=sys.stderr)
                return 2
            print(f"imported {len(answers)} answers: knowledge base version {version}")
            print("retraining the NLU so new questions are understood ...")
            await rt.retrainer.settled()
            training = await rt.training.get()
            if training.state != TrainingState.READY:
                print(f"error: retraining failed: {training.error}", file=sys.stderr)
                return 1
            print(f"model {training.model} published; running processes switch within "
                  f"{rt.config.knowledge.reload_interval_seconds:.0f} s")
        return 0

    return asyncio.run(_with_runtime(settings, work))


def cmd_fees(settings: Settings, args: argparse.Namespace) -> int:
    """Print the fee table of docs/FEES.md from the shipped knowledge base's facts."""
    from actions.fees import TABLE_DAYS, fee_table

    days = tuple(args.day) if args.day else TABLE_DAYS
    print(fee_table(KnowledgeBase(load_seed()), days))
    return 0


def cmd_leads(settings: Settings, args: argparse.Namespace) -> int:
    """Export registration leads (pendataan) as CSV."""

    async def work(rt: Runtime) -> int:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            count = await write_csv(rt.leads.all(), out)
        print(f"wrote {count} leads to {args.out}")
        return 0

    return asyncio.run(_with_runtime(settings, work))


def cmd_telegram(settings: Settings, args: argparse.Namespace) -> int:
    """Telegram without a public URL (poll), or point Telegram at the webhook (set-webhook)."""
    from bot.channels import telegram

    async def work(rt: Runtime) -> int:
        channel = rt.channels.telegram
        if channel is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
        if args.telegram_command == "set-webhook":
            info = await telegram.set_webhook(channel, args.url)
            print(f"webhook set to {info.url} ({info.pending_update_count} updates waiting); "
                  "command menu published")
            return 0
        rt.follow_changes()
        print("Polling Telegram for updates (Ctrl-C to stop) ...")
        await telegram.poll(channel)
        return 0

    return asyncio.run(_with_runtime(settings, work))


def cmd_admin(settings: Settings, args: argparse.Namespace) -> int:
    """Create a console user (the first admin): password prompted twice, or one stdin line."""
    from getpass import getpass


    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass("Kata sandi: ")
        if getpass("Ulangi kata sandi: ") != password:
            print("error: kata sandi tidak sama", file=sys.stderr)
            return 2
    async def work(rt: Runtime) -> int:
        user = await open_console(rt).users.add("cli", args.username, args.role, password)
        print(f"user {user.username} ({user.role}) created; log in at /admin/login")
        return 0

    try:
        return asyncio.run(_with_runtime(settings, work))
    except Invalid as exc:
        for name, problem in exc.fields.items():
            print(f"error: {name}: {problem}", file=sys.stderr)
        return 2


def iso_day(text: str) -> date:
    """`--today 2027-01-01`, with a message that says what is expected."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The CLI grammar."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Sapa Pekerja")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web app (REST channel, webhooks, health)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5005)
    serve.add_argument("--today", type=iso_day, metavar="YYYY-MM-DD",
                       help="answer as on this day in WIB (overrides SAPA_TODAY)")
    serve.set_defaults(run=cmd_serve)
    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--sender", default="terminal")
    chat.add_argument("--today", type=iso_day, metavar="YYYY-MM-DD",
                      help="answer as on this day in WIB (overrides SAPA_TODAY)")
    chat.set_defaults(run=cmd_chat)
    nlu = sub.add_parser("nlu", help="train or evaluate the NLU model").add_subparsers(
        dest="nlu_command", required=True)
    nlu_train = nlu.add_parser("train", help="train and publish a model")
    nlu_train.add_argument("--out", help="also write the model file here")
    nlu_train.set_defaults(run=cmd_nlu_train)
    nlu_test = nlu.add_parser("test", help="evaluate on the held-out file or by k-fold")
    nlu_test.add_argument("--file", default=str(DEFAULT_TEST_FILE))
    nlu_test.add_argument("--cross-validation", type=int, metavar="K")
    nlu_test.add_argument("--out", default="results")
    nlu_test.set_defaults(run=cmd_nlu_test)
    faq = sub.add_parser("faq", help="knowledge-base answers").add_subparsers(
        dest="faq_command", required=True)
    faq.add_parser("list").set_defaults(run=cmd_faq)
    faq_export = faq.add_parser("export")
    faq_export.add_argument("--out")
    faq_export.set_defaults(run=cmd_faq)
    faq_import = faq.add_parser("import")
    faq_import.add_argument("file")
    faq_import.set_defaults(run=cmd_faq)
    fees = sub.add_parser("fees", help="BPU fee schedule").add_subparsers(
        dest="fees_command", required=True)
    fees_table = fees.add_parser("table", help="the table in docs/FEES.md (Markdown)")
    fees_table.add_argument("--day", type=iso_day, action="append", metavar="YYYY-MM-DD",
                            help="a day to show (repeatable); default: the days in docs/FEES.md")
    fees_table.set_defaults(run=cmd_fees)
    leads = sub.add_parser("leads", help="registration leads").add_subparsers(
        dest="leads_command", required=True)
    leads_export = leads.add_parser("export")
    leads_export.add_argument("--out", required=True)
    leads_export.set_defaults(run=cmd_leads)
    admin = sub.add_parser("admin", help="console users").add_subparsers(
        dest="admin_command", required=True)
    create_user = admin.add_parser("create-user", help="add a console user (admin or staff)")
    create_user.add_argument("username")
    create_user.add_argument("--role", choices=("admin", "staff"), default="staff")
    create_user.add_argument("--password-stdin", action="store_true",
                             help="read the password from one line of standard input")
    create_user.set_defaults(run=cmd_admin)
    tg = sub.add_parser("telegram", help="Telegram polling and webhook set-up").add_subparsers(
        dest="telegram_command", required=True)
    tg.add_parser("poll", help="answer by long polling (no public URL needed)").set_defaults(
        run=cmd_telegram)
    tg_webhook = tg.add_parser("set-webhook", help="point Telegram at serve's webhook")
    tg_webhook.add_argument("url", help="public HTTPS URL ending in /webhooks/telegram")
    tg_webhook.set_defaults(run=cmd_telegram)
    broadcast_cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn configuration errors into a clear message."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines show the bot token
    try:
        settings = Settings()
        if getattr(args, "today", None):
            settings = settings.model_copy(update={"sapa_today": args.today})
        return int(args.run(settings, args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # an environment variable such as SAPA_TODAY=2027-13-01
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in exc.errors())
        print(f"error: invalid setting: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
