"""The NLU model: normalizer + TF-IDF (words and character n-grams) + logistic regression.

A trained `NLU` is self-contained (it carries its slang map and gazetteers), so a process can load
it from Redis without the training files. It is stored as numpy arrays (weights, idf) and one JSON
header (vocabularies, slang, gazetteers, settings) in an `.npz` archive read with
`allow_pickle=False`: every process loads the model from a shared store, and unpickling what a
shared store holds can run any code. `parse` is the hot path: one normalization, one sparse
transform, one small matrix product. scikit-learn is imported only to train, so a process that
only serves never loads it (see bot/nlu/linear.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.messages import IntentScore, ParseResult
from bot.nlu.data import PROGRAMS, Example, NLUData
from bot.nlu.entities import EntityExtractor, Finder, Gazetteer
from bot.nlu.linear import CompiledClassifier, CompiledTfidf
from bot.nlu.normalize import Normalizer
from bot.nlu.places import Place, PlaceGazetteer
from bot.nlu.stem import Stemmer
from bot.settings import BotConfig

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

FALLBACK_INTENT = "nlu_fallback"
# Part of the fingerprint and of the stored header: bump it when the stored form changes, so a
# model an older release stored in Redis is retrained at start-up instead of loaded
# (2: own analyzers, pickled; 3: numpy arrays and JSON, no pickle).
MODEL_FORMAT = 3
_ZIP = b"PK\x03\x04"  # what an .npz archive starts with; a pickled model (format 2) does not
_PAYLOAD = re.compile(r"^/(?P<intent>[\w/]+)(?P<entities>\{.*\})?$", re.DOTALL)


class ModelFormatError(ValueError):
    """Stored bytes that are not a model this release reads (an older format): train again."""


@dataclass(frozen=True)
class TrainingReport:
    """What a training run did."""

    examples: int
    intents: int
    seconds: float
    fingerprint: str


class NLU:
    """A trained parser: text in, intent and entities out."""

    def __init__(
        self,
        normalizer: Normalizer,
        stemmer: Stemmer | None,
        classifier: CompiledClassifier,
        extractor: EntityExtractor,
        *,
        threshold: float,
        ambiguity_threshold: float,
        fingerprint: str,
    ) -> None:
        self.normalizer = normalizer
        self.stemmer = stemmer
        self.classifier = classifier
        self.extractor = extractor
        self.threshold = threshold
        self.ambiguity_threshold = ambiguity_threshold
        self.fingerprint = fingerprint
        self.intents: tuple[str, ...] = classifier.classes

    def parse(self, text: str) -> ParseResult:
        """Classify one message. Button payloads (`/intent{"k": "v"}`) bypass the classifier."""
        payload = self._parse_payload(text)
        if payload is not None:
            return payload
        entities = self.extractor.extract(text)
        plain = self.normalizer(text, entities)
        probabilities = self.classifier.probabilities(featurizer_inputs(plain, self.stemmer))
        order = np.argsort(probabilities)[::-1][:5]
        ranking = tuple(IntentScore(self.intents[i], float(probabilities[i])) for i in order)
        top = ranking[0]
        ambiguous = (
            len(ranking) > 1 and top.confidence - ranking[1].confidence < self.ambiguity_threshold
        )
        if top.confidence < self.threshold or ambiguous:
            top = IntentScore(FALLBACK_INTENT, top.confidence)
        return ParseResult(text=text, intent=top, entities=entities, ranking=ranking)

    def _parse_payload(self, text: str) -> ParseResult | None:
        match = _PAYLOAD.match(text.strip())
        if match is None or match.group("intent") not in self.intents:
            return None
        extracted = self.extractor.extract(match.group("entities") or "")
        return ParseResult(
            text=text,
            intent=IntentScore(match.group("intent"), 1.0),
            entities=extracted,
            ranking=(IntentScore(match.group("intent"), 1.0),),
        )

    def dumps(self) -> bytes:
        """Serialize for Redis or a file: an .npz archive of arrays and a JSON header."""
        header = {
            "format": MODEL_FORMAT,
            "fingerprint": self.fingerprint,
            "threshold": self.threshold,
            "ambiguity_threshold": self.ambiguity_threshold,
            "slang": self.normalizer.slang,
            "stems": None if self.stemmer is None else self.stemmer.known(),
            "classes": list(self.intents),
            "featurizers": [f.settings() for f in self.classifier.featurizers],
            "finders": [_finder_settings(f) for f in self.extractor.finders],
        }
        arrays: dict[str, Any] = {
            "header": np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), np.uint8),
            "weights": self.classifier.weights, "bias": self.classifier.bias,
            **{f"idf_{i}": f.idf for i, f in enumerate(self.classifier.featurizers)},
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @staticmethod
    def loads(blob: bytes) -> NLU:
        """Load a model written by `dumps`; `ModelFormatError` for anything else."""
        if not blob.startswith(_ZIP):
            raise ModelFormatError("the stored NLU model is in an older format (pickle), which "
                                   "this release no longer loads; train again: "
                                   "python -m bot nlu train")
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
                header = json.loads(bytes(stored["header"]))
                if header.get("format") != MODEL_FORMAT:
                    raise ModelFormatError(f"the stored NLU model has format "
                                           f"{header.get('format')}, this release reads "
                                           f"{MODEL_FORMAT}; train again: python -m bot nlu train")
                featurizers, offset = [], 0
                for i, settings in enumerate(header["featurizers"]):
                    featurizers.append(CompiledTfidf.from_settings(settings, stored[f"idf_{i}"],
                                                                   offset))
                    offset += len(featurizers[-1].vocabulary)
                classifier = CompiledClassifier(featurizers, [str(c) for c in header["classes"]],
                                                stored["weights"], stored["bias"])
            stems = header["stems"]
            return NLU(Normalizer(header["slang"]), None if stems is None else Stemmer(stems),
                       classifier, EntityExtractor(_finder(f) for f in header["finders"]),
                       threshold=float(header["threshold"]),
                       ambiguity_threshold=float(header["ambiguity_threshold"]),
                       fingerprint=str(header["fingerprint"]))
        except ModelFormatError:
            raise
        except Exception as exc:  # stored bytes are input: zipfile, zlib, numpy, json and the
            # constructors each fail their own way (flipped bytes even raise NotImplementedError)
            raise ModelFormatError(f"the stored NLU model cannot be read ({exc}); "
                                   "train again: python -m bot nlu train") from exc


def _finder_settings(finder: Finder) -> dict[str, Any]:
    """A gazetteer as JSON values (what `_finder` rebuilds it from)."""
    if isinstance(finder, Gazetteer):
        return {"entity": finder.entity, "forms": finder.forms}
    if isinstance(finder, PlaceGazetteer):
        return {"places": [[p.code, p.level, p.name, p.kecamatan, p.kabupaten]
                           for p in finder.rows()]}
    raise TypeError(f"{type(finder).__name__} cannot be stored in a model")


def _finder(settings: dict[str, Any]) -> Finder:
    if "places" in settings:
        return PlaceGazetteer(Place(*map(str, row)) for row in settings["places"])
    return Gazetteer(str(settings["entity"]), settings["forms"])


def build_extractor(data: NLUData) -> EntityExtractor:
    """Gazetteers for programs and occupations (synonyms, lookup tables) and East Java places."""
    programs = {p.lower(): p for p in PROGRAMS}
    occupations: dict[str, str] = {}
    for surface, canonical in data.synonyms.items():
        if canonical.upper() in PROGRAMS:
            programs[surface] = canonical.upper()
        else:
            occupations[surface] = canonical.lower()
            occupations.setdefault(canonical.lower(), canonical.lower())
    for surface in data.lookups.get("pekerjaan", []):
        occupations.setdefault(surface, data.synonyms.get(surface, surface).lower())
    finders: list[Finder] = [Gazetteer("program", programs), Gazetteer("pekerjaan", occupations)]
    if data.places is not None:
        finders.append(data.places)
    return EntityExtractor(finders)


def fingerprint(data: NLUData, faq: Sequence[Example], config: BotConfig) -> str:
    """A stable hash of everything that shapes a model: retrain exactly when it changes."""
    payload = {
        "format": MODEL_FORMAT,
        "examples": sorted((e.text, e.intent) for e in [*data.examples, *faq]),
        "synonyms": sorted(data.synonyms.items()),
        "lookups": {k: sorted(v) for k, v in sorted(data.lookups.items())},
        "slang": sorted(data.slang.items()),
        "places": len(data.places) if data.places is not None else 0,
        "pipeline": [s.model_dump() for s in config.pipeline],
    }
    encoded = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def build_vectorizers(config: BotConfig) -> list[TfidfVectorizer]:
    """The featurizers named in config.yml's pipeline: words, then characters."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # training only: see above

    word = config.step("WordTfidfFeaturizer")
    char = config.step("CharTfidfFeaturizer")
    return [
        TfidfVectorizer(analyzer="word", token_pattern=r"\S+",
                        ngram_range=tuple(word["ngram_range"]),
                        sublinear_tf=bool(word["sublinear_tf"])),
        TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char["ngram_range"]),
                        sublinear_tf=bool(char["sublinear_tf"])),
    ]


def featurizer_inputs(plain: str, stemmer: Stemmer | None) -> tuple[str, str]:
    """What each featurizer reads: words with stems appended, characters of the plain text."""
    return (stemmer.augment(plain) if stemmer else plain, plain)


def train(data: NLUData, faq: Iterable[Example], config: BotConfig) -> tuple[NLU, TrainingReport]:
    """Fit a model on the training data plus the knowledge base's FAQ questions."""
    from scipy import sparse  # training only, as scikit-learn: see the module docstring
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    faq_examples = list(faq)
    examples = [*data.examples, *faq_examples]
    stemmer = Stemmer() if any(s.name == "IndonesianStemmer" for s in config.pipeline) else None
    normalizer = Normalizer(data.slang)
    vectorizers = build_vectorizers(config)
    clf_params = config.step("LogisticRegressionClassifier")
    classifier = LogisticRegression(
        C=float(clf_params["C"]), max_iter=int(clf_params["max_iter"]),
        tol=float(clf_params["tol"]),
        class_weight=clf_params["class_weight"],
    )
    extractor = build_extractor(data)
    inputs = [featurizer_inputs(normalizer(e.text, extractor.extract(e.text)), stemmer)
              for e in examples]
    matrix = sparse.hstack([v.fit_transform([row[i] for row in inputs])
                            for i, v in enumerate(vectorizers)]).tocsr()
    # One BLAS thread: beside a serving process on two cores, two threads contend and the fit
    # takes four times longer, too slow for an admin's new FAQ to be answered within 10 s.
    with threadpool_limits(limits=1):
        classifier.fit(matrix, [e.intent for e in examples])
    fallback = config.step("FallbackClassifier")
    nlu = NLU(
        normalizer,
        stemmer,
        CompiledClassifier.compile(vectorizers, classifier),
        extractor,
        threshold=float(fallback["threshold"]),
        ambiguity_threshold=float(fallback["ambiguity_threshold"]),
        fingerprint=fingerprint(data, faq_examples, config),
    )
    report = TrainingReport(
        len(examples), len(nlu.intents), time.perf_counter() - started, nlu.fingerprint
    )
    return nlu, report
