"""The trained featurizers and classifier, compiled for one message at a time.

scikit-learn spends over a millisecond validating and stacking a single document; the model itself
is a few hundred multiply-adds. This computes exactly what `TfidfVectorizer.transform` (with
`sublinear_tf` and l2 norm per featurizer, hstacked) followed by multinomial
`LogisticRegression.predict_proba` compute, with a dictionary lookup per n-gram and one small
matrix product. `tests/test_nlu.py` checks it against scikit-learn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


class CompiledTfidf:
    """One fitted TF-IDF featurizer: analyzer, vocabulary and idf weights."""

    def __init__(self, vectorizer: TfidfVectorizer, offset: int) -> None:
        self.vectorizer = vectorizer
        self.vocabulary: dict[str, int] = {
            str(k): int(v) for k, v in vectorizer.vocabulary_.items()
        }
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.offset = offset
        self._analyzer: Callable[[str], list[str]] = vectorizer.build_analyzer()
        vectorizer.stop_words_ = None  # pruned terms, kept only for inspection: keep files small

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_analyzer"]  # rebuilt on load: closures are not worth pickling
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._analyzer = self.vectorizer.build_analyzer()

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices (in the stacked space) and l2-normalized tf-idf values."""
        counts = Counter(self._analyzer(text))
        pairs = [(self.vocabulary[t], c) for t, c in counts.items() if t in self.vocabulary]
        if not pairs:
            return np.empty(0, dtype=np.intp), np.empty(0)
        index = np.fromiter((p[0] for p in pairs), dtype=np.intp, count=len(pairs))
        values = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs))
        if self.sublinear:
            values = 1.0 + np.log(values)
        values *= self.idf[index]
        norm = np.sqrt(values @ values)
        return index + self.offset, values / norm if norm else values


class CompiledClassifier:
    """Stacked TF-IDF featurizers feeding a multinomial logistic regression."""

    def __init__(self, vectorizers: Sequence[TfidfVectorizer], classifier: LogisticRegression,
                 ) -> None:
        self.featurizers: list[CompiledTfidf] = []
        offset = 0
        for vectorizer in vectorizers:
            self.featurizers.append(CompiledTfidf(vectorizer, offset))
            offset += len(vectorizer.vocabulary_)
        self.classes: tuple[str, ...] = tuple(str(c) for c in classifier.classes_)
        # rows = features, so a message's few hundred active features are one gather
        self.weights = np.ascontiguousarray(classifier.coef_.T, dtype=np.float32)
        self.bias = np.asarray(classifier.intercept_, dtype=np.float64)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities of one message given as each featurizer's input text."""
        parts = [f.features(t) for f, t in zip(self.featurizers, texts, strict=True)]
        index = np.concatenate([p[0] for p in parts])
        values = np.concatenate([p[1] for p in parts])
        logits = values @ self.weights[index] + self.bias if index.size else self.bias.copy()
        logits = logits - logits.max()
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum())
