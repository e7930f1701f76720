"""Stored model benchmark: bytes in Redis, time to write them and time to load them.

Trains once as `nlu train` does, then serializes with `NLU.dumps` and loads with `NLU.loads`
(what every process does when a new model is published). Loads are timed nine times; the
median and the fastest are printed. Checks that the loaded model parses the held-out units file
exactly as the trained one.

    .venv/bin/python bench/model_store.py
"""

from __future__ import annotations

import statistics
import time

from bot.knowledge.base import KnowledgeBase, load_seed
from bot.nlu.data import load_examples, load_nlu_data
from bot.nlu.model import NLU, train
from bot.settings import PROJECT_ROOT, load_config

LOADS = 9


def main() -> None:
    """Train, store, load; print one table."""
    config = load_config(PROJECT_ROOT / "config.yml")
    data = load_nlu_data(PROJECT_ROOT / "nlu_data")
    model, _ = train(data, KnowledgeBase(load_seed()).training_examples(), config)
    started = time.perf_counter()
    blob = model.dumps()
    dump_ms = (time.perf_counter() - started) * 1000
    loads: list[float] = []
    for _ in range(LOADS):
        started = time.perf_counter()
        loaded = NLU.loads(blob)
        loads.append((time.perf_counter() - started) * 1000)
    held_out = load_examples(PROJECT_ROOT / "tests/data/nlu_units_test.yml")
    differ = sum(loaded.parse(e.text) != model.parse(e.text) for e in held_out)
    print("| measure | measured |\n|---|---|")
    print(f"| stored model | {len(blob) / 1e6:.2f} MB |")
    print(f"| dump | {dump_ms:.0f} ms |")
    print(f"| load, median / fastest of {LOADS} | {statistics.median(loads):.0f} ms / "
          f"{min(loads):.0f} ms |")
    print(f"| loaded model parses differently | {differ} of {len(held_out)} |")


if __name__ == "__main__":
    main()
