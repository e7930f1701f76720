"""Evaluation like `rasa test nlu`: per-intent precision/recall/F1, errors, confusion matrix.

Also k-fold cross-validation on the training data, and a plain baseline (TF-IDF words + logistic
regression, no normalization) scored on the same examples so the gain of each part is visible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from bot.nlu.data import Example, NLUData
from bot.nlu.model import NLU, train
from bot.settings import BotConfig


@dataclass(frozen=True)
class Evaluation:
    """Scores of one run."""

    accuracy: float
    macro_f1: float
    report: dict[str, Any]
    errors: list[dict[str, Any]]
    labels: list[str]
    confusion: list[list[int]]


def score(expected: Sequence[str], predicted: Sequence[str], texts: Sequence[str],
          confidences: Sequence[float]) -> Evaluation:
    """Metrics for predictions against gold labels.

    Averages run over the gold intents: a fallback (or any label absent from the gold data)
    counts as a miss of the intent it should have been, not as a class of its own with F1 0.
    """
    labels = sorted(set(expected) | set(predicted))
    report = classification_report(expected, predicted, labels=sorted(set(expected)),
                                   output_dict=True, zero_division=0)
    errors = [{"text": t, "intent": e, "predicted": p, "confidence": round(c, 3)}
              for t, e, p, c in zip(texts, expected, predicted, confidences, strict=True)
              if e != p]
    matrix = confusion_matrix(expected, predicted, labels=labels).tolist()
    return Evaluation(float(accuracy_score(expected, predicted)),
                      float(report["macro avg"]["f1-score"]), report, errors, labels, matrix)


def evaluate_model(model: NLU, examples: Sequence[Example]) -> Evaluation:
    """Parse every example with the full model (fallback threshold included)."""
    texts = [e.text for e in examples]
    parsed = [model.parse(t) for t in texts]
    return score([e.intent for e in examples], [p.intent.name for p in parsed], texts,
                 [p.intent.confidence for p in parsed])


def evaluate_baseline(train_examples: Sequence[Example], examples: Sequence[Example],
                      ) -> Evaluation:
    """TF-IDF on raw words + logistic regression: what the features and normalizer add to."""
    baseline = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000))
    baseline.fit([e.text for e in train_examples], [e.intent for e in train_examples])
    texts = [e.text for e in examples]
    probabilities = baseline.predict_proba(texts)
    predicted = [str(baseline.classes_[i]) for i in np.argmax(probabilities, axis=1)]
    return score([e.intent for e in examples], predicted, texts,
                 [float(p.max()) for p in probabilities])


def cross_validate(data: NLUData, faq: Sequence[Example], config: BotConfig, folds: int,
                   ) -> Evaluation:
    """K-fold cross-validation over the training examples (FAQ questions included)."""
    examples = [*data.examples, *faq]
    intents = [e.intent for e in examples]
    expected: list[str] = []
    predicted: list[str] = []
    texts: list[str] = []
    confidences: list[float] = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=13)
    for train_idx, test_idx in splitter.split(np.zeros(len(examples)), intents):
        fold = NLUData([examples[i] for i in train_idx], data.synonyms, data.lookups, data.slang)
        model, _ = train(fold, [], config)
        result = [model.parse(examples[i].text) for i in test_idx]
        expected += [intents[i] for i in test_idx]
        predicted += [r.intent.name for r in result]
        texts += [examples[i].text for i in test_idx]
        confidences += [r.intent.confidence for r in result]
    return score(expected, predicted, texts, confidences)


def write_reports(evaluation: Evaluation, out_dir: Path, name: str) -> list[Path]:
    """`<name>_report.json`, `<name>_errors.json` and `<name>_confusion.png` under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / f"{name}_report.json"
    errors = out_dir / f"{name}_errors.json"
    image = out_dir / f"{name}_confusion.png"
    report.write_text(json.dumps({"accuracy": evaluation.accuracy, "macro_f1": evaluation.macro_f1,
                                  "intents": evaluation.report,
                                  "topic_confusions": topic_confusions(evaluation)},
                                 indent=2, ensure_ascii=False))
    errors.write_text(json.dumps(evaluation.errors, indent=2, ensure_ascii=False))
    plot_confusion(evaluation, image)
    return [report, errors, image]


def plot_confusion(evaluation: Evaluation, path: Path) -> None:
    """The confusion matrix as a PNG (rows: true intent, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(8.0, len(evaluation.labels) * 0.35)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(np.array(evaluation.confusion), cmap="Blues")
    ax.set_xticks(range(len(evaluation.labels)), evaluation.labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(evaluation.labels)), evaluation.labels, fontsize=7)
    for i, row in enumerate(evaluation.confusion):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=6,
                        color="white" if i == j else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true intent")
    ax.set_title(f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def topic_confusions(evaluation: Evaluation) -> dict[str, list[tuple[str, str, int]]]:
    """Mistakes between answer units of one topic (`jkk/upah` read as `jkk/cacat`), by topic.

    Each topic lists (expected, predicted, count), most frequent first; units mistaken for
    something outside their topic are in the per-intent table and the errors file.
    """
    counts: dict[tuple[str, str], int] = {}
    for error in evaluation.errors:
        expected, predicted = str(error["intent"]), str(error["predicted"])
        if "/" in expected and expected.split("/")[0] == predicted.split("/")[0]:
            counts[(expected, predicted)] = counts.get((expected, predicted), 0) + 1
    topics: dict[str, list[tuple[str, str, int]]] = {}
    for (expected, predicted), count in sorted(counts.items(), key=lambda kv: -kv[1]):
        topics.setdefault(expected.split("/")[0], []).append((expected, predicted, count))
    return topics


def format_topic_confusions(evaluation: Evaluation) -> str:
    """Per topic: how many of its units' examples were right, and the confusions inside it."""
    gold: dict[str, list[str]] = {}
    for label in evaluation.labels:
        row = evaluation.report.get(label)
        if "/" in label and isinstance(row, dict):
            gold.setdefault(label.split("/")[0], []).append(label)
    confusions = topic_confusions(evaluation)
    lines = []
    for topic, units in sorted(gold.items()):
        support = sum(int(evaluation.report[u]["support"]) for u in units)
        right = sum(round(evaluation.report[u]["recall"] * evaluation.report[u]["support"])
                    for u in units)
        inside = confusions.get(topic, [])
        lines.append(f"{topic}: {len(units)} units, {right}/{support} right, "
                     f"{sum(c for _, _, c in inside)} confused inside the topic")
        lines += [f"    {expected} -> {predicted}: {n}" for expected, predicted, n in inside]
    return "\n".join(lines)


def accuracy_by_style(evaluation: Evaluation,
                      styled: Sequence[tuple[Example, Mapping[str, Any]]]) -> dict[str, float]:
    """Accuracy over the examples whose block metadata marks a style (`jawa`, `typo`)."""
    wrong = {(str(e["text"]), str(e["intent"])) for e in evaluation.errors}
    styles = sorted({k for _, meta in styled for k, v in meta.items() if v is True})
    result = {}
    for style in styles:
        marked = [(x.text, x.intent) for x, meta in styled if meta.get(style) is True]
        result[style] = 1 - sum(pair in wrong for pair in marked) / len(marked)
    return result


def format_table(evaluation: Evaluation) -> str:
    """Per-intent precision, recall, F1 and support, as `rasa test nlu` prints."""
    lines = [f"{'intent':<32} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}"]
    for label in evaluation.labels:
        row = evaluation.report.get(label)
        if isinstance(row, dict):
            lines.append(f"{label:<32} {row['precision']:6.3f} {row['recall']:6.3f} "
                         f"{row['f1-score']:6.3f} {int(row['support']):5d}")
    lines.append(f"{'accuracy':<32} {evaluation.accuracy:6.3f}")
    lines.append(f"{'macro F1':<32} {evaluation.macro_f1:6.3f}")
    return "\n".join(lines)
