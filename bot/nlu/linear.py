"""The trained featurizers and classifier, compiled for one message at a time.

scikit-learn spends over a millisecond validating and stacking a single document; the model itself
is a few hundred multiply-adds. This computes exactly what `TfidfVectorizer.transform` (with
`sublinear_tf` and l2 norm per featurizer, hstacked) followed by multinomial
`LogisticRegression.predict_proba` compute, with a dictionary lookup per n-gram and one small
matrix product. `tests/test_nlu.py` checks it against scikit-learn.

The analyzers (word n-grams, `char_wb` n-grams) are written out here rather than taken from the
fitted vectorizer, so a compiled model holds no scikit-learn object: a serving process loads it
without importing scikit-learn, about 80 MB of its memory. A compiled model is plain data (term
lists, settings, numpy arrays), which is how bot/nlu/model.py stores it: without pickle.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's char_wb analyzer collapses them


class CompiledTfidf:
    """One fitted TF-IDF featurizer: analyzer settings, vocabulary and idf weights."""

    def __init__(self, terms: Sequence[str], idf: np.ndarray, offset: int, *, chars: bool,
                 ngram_range: tuple[int, int], sublinear: bool = True, lowercase: bool = True,
                 token_pattern: str = r"\S+") -> None:
        if len(terms) != len(idf):
            raise ValueError(f"{len(terms)} terms but {len(idf)} idf weights")
        # term i is column offset + i; the dict keeps that order, which `settings` lists
        self.vocabulary: dict[str, int] = {term: i for i, term in enumerate(terms)}
        if len(self.vocabulary) != len(terms):
            raise ValueError("a term is listed twice")
        self.idf = np.asarray(idf, dtype=np.float64)
        self.sublinear = sublinear
        self.offset = offset
        self.chars = chars
        self.lowercase = lowercase
        low, high = ngram_range
        self.ngram_range = (int(low), int(high))
        self.token_pattern = re.compile(token_pattern)

    @classmethod
    def compile(cls, vectorizer: TfidfVectorizer, offset: int) -> CompiledTfidf:
        """The parts of a fitted scikit-learn vectorizer this needs."""
        if vectorizer.analyzer not in ("word", "char_wb") or vectorizer.preprocessor \
                or vectorizer.tokenizer or vectorizer.stop_words or vectorizer.strip_accents:
            raise ValueError("only plain word and char_wb TF-IDF featurizers can be compiled")
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        return cls([str(t) for t in terms], vectorizer.idf_, offset,
                   chars=vectorizer.analyzer == "char_wb",
                   ngram_range=tuple(vectorizer.ngram_range),
                   sublinear=bool(vectorizer.sublinear_tf),
                   lowercase=bool(vectorizer.lowercase), token_pattern=vectorizer.token_pattern)

    def settings(self) -> dict[str, Any]:
        """Everything but the idf weights, as JSON values (what `from_settings` reads)."""
        return {"terms": list(self.vocabulary), "chars": self.chars,
                "ngram_range": list(self.ngram_range), "sublinear": self.sublinear,
                "lowercase": self.lowercase, "token_pattern": self.token_pattern.pattern}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], idf: np.ndarray, offset: int,
                      ) -> CompiledTfidf:
        """The featurizer `settings()` described, with its idf weights."""
        low, high = settings["ngram_range"]
        return cls([str(t) for t in settings["terms"]], idf, offset,
                   chars=bool(settings["chars"]), ngram_range=(int(low), int(high)),
                   sublinear=bool(settings["sublinear"]), lowercase=bool(settings["lowercase"]),
                   token_pattern=str(settings["token_pattern"]))

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

    def __init__(self, featurizers: Sequence[CompiledTfidf], classes: Sequence[str],
                 weights: np.ndarray, bias: np.ndarray) -> None:
        columns = sum(len(f.vocabulary) for f in featurizers)
        if weights.shape != (columns, len(classes)) or bias.shape != (len(classes),):
            raise ValueError(f"weights {weights.shape} and bias {bias.shape} do not fit "
                             f"{columns} features and {len(classes)} classes")
        self.featurizers = list(featurizers)
        self.classes: tuple[str, ...] = tuple(classes)
        # rows = features, so a message's few hundred active features are one gather
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float64)

    @classmethod
    def compile(cls, vectorizers: Sequence[TfidfVectorizer], classifier: LogisticRegression,
                ) -> CompiledClassifier:
        """The fitted featurizers (stacked in this order) and classifier, as plain data."""
        featurizers: list[CompiledTfidf] = []
        offset = 0
        for vectorizer in vectorizers:
            featurizers.append(CompiledTfidf.compile(vectorizer, offset))
            offset += len(vectorizer.vocabulary_)
        return cls(featurizers, [str(c) for c in classifier.classes_], classifier.coef_.T,
                   classifier.intercept_)

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
