"""Answer-unit benchmark: held-out unit accuracy, what the bot does with each question, phone
lines of the replies, parse time.

Trains the model as `nlu train` does, then scores two files written apart from nlu_data/ and never
trained on (blocks marked East-Javanese and/or with typos):
  - dev: tests/data/nlu_units_test.yml, the first held-out file; training sentences were written
    after seeing its per-unit scores and its errors, so it flatters the model;
  - fresh: tests/data/nlu_units_heldout.yml, written later by someone who read neither nlu_data/
    nor the dev file, and not scored while tuning: the honest figure.
For each:
  - accuracy, macro-F1 (over the gold labels; a fallback is a miss), out-of-scope precision,
    accuracy on the East-Javanese and the misspelt examples;
  - what the policy does with each question in a fresh conversation: the right unit, the right
    topic's overview (the unit is among its buttons), the fallback, or something else.
Then:
  - phone lines (34 columns, buttons excluded, `bot.messages.phone_lines`) of every unit's reply
    and every pendataan form step as sent, of the topic overviews, and of every answer and
    dialogue text in the knowledge base;
  - parse p50/p99, one message at a time, in process.

    .venv/bin/python bench/units_bench.py
"""

from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path

from actions.pendataan import ORDER, prompt
from bot.dialogue.policy import next_action, unclear_topic
from bot.dialogue.state import ConversationState
from bot.knowledge.base import KnowledgeBase, load_seed
from bot.messages import phone_lines
from bot.nlu.data import load_examples_with_metadata, load_nlu_data
from bot.nlu.evaluate import accuracy_by_style, evaluate_model
from bot.nlu.model import NLU, train
from bot.settings import PROJECT_ROOT, load_config

HELD_OUT = {"dev": PROJECT_ROOT / "tests" / "data" / "nlu_units_test.yml",
            "fresh held-out": PROJECT_ROOT / "tests" / "data" / "nlu_units_heldout.yml"}


def quantiles(values: list[int] | list[float]) -> tuple[float, float, float]:
    """p50, p90, max."""
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=10, method="inclusive")
    return statistics.median(ordered), cuts[8], ordered[-1]


def outcomes(model: NLU, kb: KnowledgeBase, examples: list[tuple[str, str]]) -> dict[str, int]:
    """What a fresh conversation does with each held-out question."""
    counts = {"right unit or intent": 0, "overview offering the right unit": 0,
              "fallback (asks again)": 0, "something else": 0}
    for text, gold in examples:
        parse = model.parse(text)
        action = next_action(ConversationState(), parse)
        if action == "action_topic":
            offered = [s.name for s in parse.ranking if s.name.startswith(
                f"{unclear_topic(parse)}/")][:3]
            key = ("overview offering the right unit" if gold in offered else "something else")
        elif parse.intent.name == gold:
            key = "right unit or intent"
        elif action == "action_fallback":
            key = "fallback (asks again)"
        else:
            key = "something else"
        counts[key] += 1
    return counts


def form_steps(kb: KnowledgeBase) -> list[str]:
    """Every reply of the pendataan as a worker gets it (on the REST channel and on WhatsApp)."""
    hint = kb.text("pendataan_petunjuk_batal")
    asked = ["\n".join([prompt(kb, slot, channel), hint])
             for slot in ORDER for channel in ("rest", "whatsapp")]
    done = kb.text("pendataan_selesai", nama="Siti Aminah", pekerjaan="pedagang pasar",
                   wilayah="Kel. Ketabang, Kec. Genteng", telepon="0812-3344-5566")
    resumed = "\n".join([kb.text("pendataan_lanjut"), prompt(kb, "wilayah", "rest"), hint])
    return [*asked, done, resumed, *(kb.text(i) for i in (
        "pendataan_persetujuan", "pendataan_jawab_persetujuan", "pendataan_tinggalkan_tanya",
        "pendataan_dibatalkan", "pendataan_ditolak"))]


def score(model: NLU, kb: KnowledgeBase, name: str, path: Path) -> None:
    """Accuracy tables and outcomes of one held-out file."""
    styled = load_examples_with_metadata(path)
    test = [example for example, _ in styled]
    evaluation = evaluate_model(model, test)
    oos = evaluation.report.get("out_of_scope", {})
    gold_units = {e.intent for e in test if "/" in e.intent and not e.intent.startswith("faq/")}
    print(f"\n### {name}: {path.relative_to(PROJECT_ROOT)}, {len(test)} examples, "
          f"{len({e.intent for e in test})} labels ({len(gold_units)} answer units)\n")
    print("| measure | target | measured |")
    print("|---|---|---|")
    print(f"| accuracy | >= 0.92 | {evaluation.accuracy:.3f} |")
    print(f"| macro-F1 | >= 0.92 | {evaluation.macro_f1:.3f} |")
    print(f"| out-of-scope precision | >= 0.97 | "
          f"{float(oos.get('precision', 0.0)) if isinstance(oos, dict) else 0.0:.3f} |")
    for style, accuracy in accuracy_by_style(evaluation, styled).items():
        share = sum(meta.get(style) is True for _, meta in styled) / len(styled)
        print(f"| accuracy, {style} ({share:.0%} of the examples) | | {accuracy:.3f} |")

    print("\n| a fresh conversation answers the question with | share |")
    print("|---|---|")
    counted = outcomes(model, kb, [(e.text, e.intent) for e in test])
    for outcome, count in counted.items():
        print(f"| {outcome} | {count / len(test):.1%} |")


def main() -> None:
    config = load_config(PROJECT_ROOT / "config.yml")
    data = load_nlu_data(PROJECT_ROOT / "nlu_data")
    kb = KnowledgeBase(load_seed())

    wall, cpu = time.perf_counter(), time.process_time()
    model, report = train(data, kb.training_examples(), config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    units = [a for a in kb.document.answers if a.is_retrieval and not a.is_faq]
    print(f"training: {report.examples} examples, {report.intents} intents")
    for name, path in HELD_OUT.items():
        score(model, kb, name, path)

    unit_lines = [phone_lines(a.text) for a in units]
    step_lines = unit_lines + [phone_lines(text) for text in form_steps(kb)]
    overview_lines = [phone_lines(a.text) for a in kb.document.answers if a.overview_of]
    all_lines = [phone_lines(a.text) for a in kb.document.answers]
    print("\n| phone lines (34 columns, buttons excluded) | n | p50 | p90 | max | target |")
    print("|---|---|---|---|---|---|")
    for name, values, target in (("every answer unit", unit_lines, ""),
                                 ("every unit and pendataan form step", step_lines,
                                  "p50 <= 8, p90 <= 12"),
                                 ("topic overviews", overview_lines, ""),
                                 ("every answer and text in the knowledge base", all_lines, "")):
        p50, p90, top = quantiles(values)
        print(f"| {name} | {len(values)} | {p50:.0f} | {p90:.0f} | {top} | {target} |")

    texts = [e.text for path in HELD_OUT.values() for e, _ in load_examples_with_metadata(path)]
    for text in texts:  # warm-up
        model.parse(text)
    # Wall time is what a worker waits for; the thread's CPU time is what a parse costs, which
    # other processes on a busy machine barely move.
    wall_ms, cpu_ms = [], []
    gc.disable()
    for _ in range(10):
        for text in texts:
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            model.parse(text)
            cpu_ms.append((time.thread_time_ns() - c0) / 1e6)
            wall_ms.append((time.perf_counter_ns() - w0) / 1e6)
    gc.enable()
    print("\n| measure | target | measured |")
    print("|---|---|---|")
    for name, timings in (("wall", wall_ms), ("thread CPU", cpu_ms)):
        q = statistics.quantiles(timings, n=100)
        print(f"| parse p50 / p99, one message in process ({name}) | p99 < 1 ms | "
              f"{q[49]:.3f} ms / {q[98]:.3f} ms |")
    print(f"| training, {report.examples} examples (wall / CPU) | | {wall:.1f} s / {cpu:.1f} s |")
    print(f"| model file | | {len(model.dumps()) / 1e6:.1f} MB |")


if __name__ == "__main__":
    main()
