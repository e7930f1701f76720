"""The trained featurizers and classifier, compiled for one message at a time.

scikit-learn spends over a millisecond validating and stacking a single document; the model itself
is a few hundred multiply-adds. This computes exactly what `TfidfVectorizer.transform` (with
`sublinear_tf` and l2 norm per featurizer, hstacked) followed by multinomial
`LogisticRegression.predict_proba` compute, with a dictionary lookup per n-gram and one small
matrix product. `tests/test_nlu.py` checks it against scikit-learn.

The analyzers (word n-grams, `char_wb` n-grams) are written out here rather than taken from the
fitted vectorizer, so a compiled model holds no scikit-learn object: a serving process loads it
without importing scikit-learn, about 80 MB of its memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's char_wb analyzer collapses them


class CompiledTfidf:
    """One fitted TF-IDF featurizer: analyzer settings, vocabulary and idf weights."""

    def __init__(self, vectorizer: TfidfVectorizer, offset: int) -> None:
        if vectorizer.analyzer not in ("word", "char_wb") or vectorizer.preprocessor \
                or vectorizer.tokenizer or vectorizer.stop_words or vectorizer.strip_accents:
            raise ValueError("only plain word and char_wb TF-IDF featurizers can be compiled")
        self.vocabulary: dict[str, int] = {
            str(k): int(v) for k, v in vectorizer.vocabulary_.items()
        }
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.offset = offset
        self.chars = vectorizer.analyzer == "char_wb"
        self.lowercase = bool(vectorizer.lowercase)
        self.ngram_range: tuple[int, int] = tuple(vectorizer.ngram_range)
        self.token_pattern = re.compile(vectorizer.token_pattern)

    def analyze(self, text: str) -> list[str]:
        """The terms of one text, as `TfidfVectorizer.build_analyzer()` gives them."""
        if self.lowercase:
            text = text.lower()
        low, high = self.ngram_range
        if self.chars:
            grams: list[str] = []
            for word in _WHITE_SPACES.sub(" ", text).split():
                padded = f" {word} "
                size = len(padded)
                for n in range(low, high + 1):
                    if size <= n:  # the whole word is shorter: counted once, for this n only
                        grams.append(padded)
                        break
                    grams += [padded[i:i + n] for i in range(size - n + 1)]
            return grams
        tokens: list[str] = self.token_pattern.findall(text)
        terms = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            terms += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        return terms

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices (in the stacked space) and l2-normalized tf-idf values.

        Terms are looked up and counted in C (`map` into a `Counter`); out-of-vocabulary terms
        all count under None, dropped once.
        """
        counts = Counter(map(self.vocabulary.get, self.analyze(text)))
        counts.pop(None, None)
        size = len(counts)
        index = np.fromiter(counts.keys(), dtype=np.intp, count=size)
        values = np.fromiter(counts.values(), dtype=np.float64, count=size)
        if not size:
            return index, values
        if self.sublinear:
            values = np.log(values)
            values += 1.0
        values *= self.idf[index]
        values /= np.sqrt(values @ values)
        index += self.offset
        return index, values


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
        logits = self.bias.copy()
        for featurizer, text in zip(self.featurizers, texts, strict=True):
            index, values = featurizer.features(text)
            if index.size:
                logits += values.astype(np.float32) @ self.weights[index]
        logits -= logits.max()
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum())
