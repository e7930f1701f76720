"""NLU benchmark: held-out quality with an ablation, parse latency, training time, model size.

Scores the held-out file (tests/data/nlu_test.yml, never trained on) with:
  baseline        TF-IDF words + logistic regression, scikit-learn defaults, raw text
  +normalizer     the same on normalized text (slang, Javanese, repeats, amounts)
  +char n-grams   normalized words + character 2-5-grams (typo tolerance)
  full model      what the bot runs: the above, compiled, with the fallback threshold
and prints one table. Then times `parse` one message at a time in process.

    .venv/bin/python bench/nlu_bench.py
"""

from __future__ import annotations

import gc
import resource
import statistics
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from bot.knowledge.base import KnowledgeBase, load_seed
from bot.nlu.data import Example, load_examples, load_nlu_data
from bot.nlu.evaluate import Evaluation, evaluate_baseline, evaluate_model, score
from bot.nlu.model import train
from bot.nlu.normalize import Normalizer
from bot.settings import PROJECT_ROOT, load_config

HELD_OUT = PROJECT_ROOT / "tests" / "data" / "nlu_test.yml"


def oos_precision(evaluation: Evaluation) -> float:
    row = evaluation.report.get("out_of_scope", {})
    return float(row.get("precision", 0.0)) if isinstance(row, dict) else 0.0


def sklearn_variant(train_set: list[Example], test: list[Example], normalize: Normalizer,
                    chars: bool) -> Evaluation:
    parts = [("w", TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True))]
    if chars:
        parts.append(("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                           sublinear_tf=True)))
    model = make_pipeline(FeatureUnion(parts), LogisticRegression(C=20.0, max_iter=2000))
    model.fit([normalize(e.text) for e in train_set], [e.intent for e in train_set])
    probabilities = model.predict_proba([normalize(e.text) for e in test])
    predicted = [str(model.classes_[row.argmax()]) for row in probabilities]
    return score([e.intent for e in test], predicted, [e.text for e in test],
                 [float(row.max()) for row in probabilities])


def main() -> None:
    config = load_config(PROJECT_ROOT / "config.yml")
    data = load_nlu_data(PROJECT_ROOT / "nlu_data")
    kb_examples = KnowledgeBase(load_seed()).training_examples()
    test = load_examples(HELD_OUT)
    train_set = [*data.examples, *kb_examples]
    normalizer = Normalizer(data.slang)

    started = time.perf_counter()
    model, report = train(data, kb_examples, config)
    train_seconds = time.perf_counter() - started
    rows = [
        ("baseline (words, raw text)", evaluate_baseline(train_set, test)),
        ("+ normalizer, word 1-2-grams", sklearn_variant(train_set, test, normalizer, False)),
        ("+ char 2-5-grams", sklearn_variant(train_set, test, normalizer, chars=True)),
        ("full model (compiled, fallback)", evaluate_model(model, test)),
    ]
    print(f"held-out: {len(test)} examples, {len({e.intent for e in test})} intents; "
          f"training: {report.examples} examples\n")
    print("| variant | accuracy | macro F1 | out-of-scope precision |")
    print("|---|---|---|---|")
    for name, evaluation in rows:
        print(f"| {name} | {evaluation.accuracy:.3f} | {evaluation.macro_f1:.3f} | "
              f"{oos_precision(evaluation):.3f} |")

    texts = [e.text for e in test]
    for text in texts:  # warm-up
        model.parse(text)
    timings = []
    gc.disable()
    for _ in range(20):
        for text in texts:
            t0 = time.perf_counter_ns()
            model.parse(text)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
    gc.enable()
    q = statistics.quantiles(timings, n=100)
    size = len(model.dumps()) / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n| measure | ours | Rasa DIET on this data (brief) |")
    print("|---|---|---|")
    print(f"| parse p50 / p99 (one message, in process) | {q[49]:.3f} ms / {q[98]:.3f} ms "
          "| ~7 ms |")
    print(f"| training, full data | {train_seconds:.1f} s | minutes |")
    print(f"| model file | {size:.1f} MB | |")
    print(f"| peak resident memory of this benchmark process | {peak:.0f} MB | ~750 MB |")


if __name__ == "__main__":
    main()
