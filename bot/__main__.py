"""Command line: `python -m bot serve|chat|nlu|faq|leads`. Verbs only; the work is elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import yaml

from bot.app import Runtime, jakarta_now, open_runtime, stored_knowledge, train_and_publish
from bot.errors import ConfigError
from bot.knowledge.base import merge_answers, read_answers_file
from bot.leads import write_csv
from bot.messages import IncomingMessage
from bot.nlu import evaluate
from bot.nlu.data import load_examples, load_nlu_data
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

    where = "REDIS_URL" if settings.redis_url else f"embedded Redis in {settings.sapa_data_dir}"
    print(f"Sapa Pekerja starting on http://{args.host}:{args.port} (state: {where}).")
    print("Talk to it from another terminal:  .venv/bin/python -m bot chat")
    print(f"or: curl -s -X POST http://{args.host}:{args.port}/webhooks/rest/webhook "
          "-H 'Content-Type: application/json' "
          "-d '{\"sender\": \"budi\", \"message\": \"brp iuran bpjs tk buat ojol\"}'")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                access_log=False, loop="uvloop", http="httptools")
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """A terminal conversation with the bot, like `rasa shell`. Numbers pick a button."""

    async def work(rt: Runtime) -> int:
        print("Ketik pesan (Ctrl-D atau /keluar untuk selesai). Angka memilih tombol.")
        buttons: list[str] = []
        while True:
            try:
                line = await asyncio.to_thread(input, "Anda: ")
            except EOFError:
                print()
                return 0
            if line.strip() in ("/keluar", "/exit", "/quit"):
                return 0
            if line.strip().isdigit() and 0 < int(line) <= len(buttons):
                line = buttons[int(line) - 1]
            if not line.strip():
                continue
            message = IncomingMessage("cli", args.sender, line, jakarta_now())
            buttons = []
            for reply in await rt.engine.handle(message):
                print(f"Bot: {reply.text}")
                for b in reply.buttons:
                    buttons.append(b.payload)
                    print(f"   [{len(buttons)}] {b.title}")

    return asyncio.run(_with_runtime(settings, work))


def cmd_nlu_train(settings: Settings, args: argparse.Namespace) -> int:
    """Train on nlu_data/ plus the knowledge base's FAQs and publish to every process."""

    async def work(rt: Runtime) -> int:
        model = await train_and_publish(settings, rt.config, rt.knowledge.current,
                                        rt.model_store)
        out = Path(args.out or settings.sapa_data_dir / "models" / f"nlu-{model.fingerprint}.joblib")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(model.dumps())
        print(f"model {model.fingerprint}: {len(model.intents)} intents, "
              f"{out.stat().st_size / 1e6:.1f} MB -> {out}; published to Redis")
        return 0

    return asyncio.run(_with_runtime(settings, work))


def cmd_nlu_test(settings: Settings, args: argparse.Namespace) -> int:
    """Score a fresh model on a held-out file (or k-fold on the training data); write reports."""
    config = load_config(settings.sapa_config)
    data = load_nlu_data(settings.sapa_nlu_data)
    faq = asyncio.run(stored_knowledge(settings)).faq_examples()
    out_dir = Path(args.out)
    if args.cross_validation:
        result = evaluate.cross_validate(data, faq, config, args.cross_validation)
        print(evaluate.format_table(result))
        for path in evaluate.write_reports(result, out_dir, "cross_validation"):
            print(f"wrote {path}")
        return 0
    test_file = Path(args.file)
    try:
        examples = load_examples(test_file)
    except FileNotFoundError as exc:
        raise ConfigError(f"test file not found: {test_file}") from exc
    model, report = train(data, faq, config)
    print(f"trained in {report.seconds:.1f}s on {report.examples} examples; "
          f"testing on {len(examples)} from {test_file}")
    result = evaluate.evaluate_model(model, examples)
    baseline = evaluate.evaluate_baseline([*data.examples, *faq], examples)
    print(evaluate.format_table(result))
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
            answers = read_answers_file(Path(args.file))
            document = merge_answers(kb.document, answers, date.today())
            version = await rt.knowledge_store.save(document)
            print(f"imported {len(answers)} answers: knowledge base version {version}")
            refreshed = await rt.knowledge_store.load()
            assert refreshed is not None
            print("retraining the NLU so new questions are understood ...")
            model = await train_and_publish(settings, rt.config, refreshed, rt.model_store)
            print(f"model {model.fingerprint} published; running processes switch within "
                  f"{rt.config.knowledge.reload_interval_seconds:.0f} s")
        return 0

    return asyncio.run(_with_runtime(settings, work))


def cmd_leads(settings: Settings, args: argparse.Namespace) -> int:
    """Export registration leads (pendataan) as CSV."""

    async def work(rt: Runtime) -> int:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            count = await write_csv(rt.leads.all(), out)
        print(f"wrote {count} leads to {args.out}")
        return 0

    return asyncio.run(_with_runtime(settings, work))


def build_parser() -> argparse.ArgumentParser:
    """The CLI grammar."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Sapa Pekerja")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web app (REST channel, webhooks, health)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5005)
    serve.set_defaults(run=cmd_serve)
    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--sender", default="terminal")
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
    leads = sub.add_parser("leads", help="registration leads").add_subparsers(
        dest="leads_command", required=True)
    leads_export = leads.add_parser("export")
    leads_export.add_argument("--out", required=True)
    leads_export.set_defaults(run=cmd_leads)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn configuration errors into a clear message."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(Settings(), args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
