"""The NLU engine: compiled inference equals scikit-learn, normalization, entities, payloads."""

import io
import pickle
import random
import re
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from bot.admin.names import INTENT_NAMES
from bot.knowledge.base import KnowledgeBase
from bot.nlu.data import load_examples, load_examples_with_metadata, parse_example
from bot.nlu.entities import EntityExtractor, Gazetteer
from bot.nlu.linear import CompiledClassifier, CompiledTfidf
from bot.nlu.model import FALLBACK_INTENT, NLU, ModelFormatError, build_vectorizers
from bot.nlu.normalize import Normalizer
from bot.settings import PROJECT_ROOT, load_config

TEXTS = ["brp iuran bpjs tk", "cara daftar bpjs", "klaim jht gmn", "harga cabe", "iuran sebulan",
         "daftar lewat jmo", "jht cair kapan", "cabe rawit mahal", "bayar iuran dmn", "menu"]
LABELS = ["iuran", "daftar", "klaim", "oos", "iuran", "daftar", "klaim", "oos", "iuran", "menu"]

# Files written apart from nlu_data/ and never trained on. The units files label every message
# with an answer unit (`nlu_units_heldout.yml`, written last, also with every core intent).
HELD_OUT_FILES = ("nlu_test.yml", "nlu_units_test.yml", "nlu_units_heldout.yml")
CORE_INTENTS = frozenset(INTENT_NAMES) - {FALLBACK_INTENT}


def test_compiled_classifier_matches_scikit_learn(config_path: Path) -> None:
    vectorizers = build_vectorizers(load_config(config_path))
    matrix = sparse.hstack([v.fit_transform(TEXTS) for v in vectorizers]).tocsr()
    classifier = LogisticRegression(C=20.0, max_iter=2000).fit(matrix, LABELS)
    compiled = CompiledClassifier.compile(vectorizers, classifier)
    for text in [*TEXTS, "iuran jht brp", "kata yang tidak dikenal sama sekali",
                 "a  b   IURAN\tjht  x", "jht", ""]:
        row = sparse.hstack([v.transform([text]) for v in vectorizers]).tocsr()
        expected = classifier.predict_proba(row)[0]
        assert np.allclose(compiled.probabilities([text, text]), expected, atol=1e-5)


def test_a_serving_process_never_loads_scikit_learn(trained_model: NLU, tmp_path: Path) -> None:
    model = tmp_path / "model.npz"
    model.write_bytes(trained_model.dumps())
    script = ("import sys; import bot.__main__, bot.web; from bot.nlu.model import NLU; "
              f"m = NLU.loads(open({str(model)!r}, 'rb').read()); "
              "assert m.parse('brp iuran bpjs tk').intent.name == 'tanya_iuran'; "
              "print(sorted({n.split('.')[0] for n in sys.modules} & {'sklearn', 'scipy'}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, check=True)
    assert result.stdout.strip() == "[]"  # about 80 MB a web process does not need


def test_normalizer_handles_slang_repeats_amounts_and_emoji() -> None:
    normalize = Normalizer({"brp": "berapa", "piro": "berapa", "sak": "satu", "wulan": "bulan"})
    assert normalize("Brp iuranyaaa??? 😅") == "berapa iuranya"
    assert normalize("iurane piro sak wulan") == "iurane berapa satu bulan"
    assert normalize("gaji 2jt") == normalize("gaji Rp 3.500.000") == "gaji nominaluang"


def test_rasa_annotations_are_stripped_and_kept() -> None:
    example = parse_example("gaji [2 juta](uang) ikut [jht]{\"entity\": \"program\"}", "x")
    assert example.text == "gaji 2 juta ikut jht"
    assert example.entities == (("uang", "2 juta"), ("program", "jht"))


@pytest.mark.parametrize(
    ("text", "intent"),
    [("brp iuran bpjs tk buat ojol", "tanya_iuran"),
     ("harga cabe rawit hari ini brp", "out_of_scope"),
     ("iuran bpjs kesehatan kelas 3 brp", "bpjs_kesehatan"),
     ("gmn cara daftar bpjs tk", "cara_daftar")],
)
def test_ordinary_phrasings(trained_model: NLU, text: str, intent: str) -> None:
    assert trained_model.parse(text).intent.name == intent


def test_entities_in_a_message(trained_model: NLU) -> None:
    parse = trained_model.parse("sy ojol gaji 2,5jt klo ikut jht bayar 3 bulan brp")
    found = {e.entity: e.value for e in parse.entities}
    assert found == {"pekerjaan": "ojol", "uang": 2_500_000, "program": "JHT", "bulan": 3}


def test_button_payloads_bypass_the_classifier(trained_model: NLU) -> None:
    parse = trained_model.parse('/cara_klaim{"program":"JHT"}')
    assert parse.intent.name == "cara_klaim"
    assert parse.intent.confidence == 1.0
    assert parse.first("program") is not None


def test_model_survives_serialization(trained_model: NLU) -> None:
    blob = trained_model.dumps()
    with np.load(io.BytesIO(blob), allow_pickle=False) as stored:  # arrays only, no objects
        assert all(stored[name].dtype != object for name in stored.files)
    clone = NLU.loads(blob)
    assert clone.fingerprint == trained_model.fingerprint
    for text in ["klo jatuh dr motor pas nganter orderan ditanggung gak", "sy petani di sukun",
                 "iuran jht 2jt sebulan brp", "pencairan jht kpn", '/cara_klaim{"program":"JHT"}']:
        assert clone.parse(text) == trained_model.parse(text)


class _Touch:
    """A pickle that creates a file when unpickled: what a hostile stored model could do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (self.path,)


def test_a_pickled_model_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    for blob in (pickle.dumps(_Touch(ran)), zlib.compress(pickle.dumps(_Touch(ran)))):
        with pytest.raises(ModelFormatError, match=r"older format.*nlu train"):
            NLU.loads(blob)
    assert not ran.exists()


def test_an_unreadable_model_says_to_train_again(trained_model: NLU) -> None:
    blob = trained_model.dumps()
    headers = []
    for header in (b'{"format": 2}', b'["not", "a", "header"]', b'{"format": 3}'):
        buffer = io.BytesIO()
        np.savez(buffer, header=np.frombuffer(header, np.uint8))
        headers.append(buffer.getvalue())
    for bad in (blob[:len(blob) // 2], *headers):
        with pytest.raises(ModelFormatError, match="nlu train"):
            NLU.loads(bad)


def test_damaged_model_bytes_load_or_say_to_train_again() -> None:
    words = CompiledTfidf(["iuran", "klaim", "jht"], np.ones(3), 0, chars=False,
                          ngram_range=(1, 1))
    chars = CompiledTfidf([" i", "iu", "ur"], np.ones(3), 3, chars=True, ngram_range=(2, 2))
    model = NLU(Normalizer({"brp": "berapa"}), None,
                CompiledClassifier([words, chars], ["a", "b"], np.ones((6, 2)), np.zeros(2)),
                EntityExtractor([Gazetteer("program", {"jht": "JHT"})]), threshold=0.3,
                ambiguity_threshold=0.0, fingerprint="kecil")
    blob = model.dumps()
    rng, outcomes = random.Random(13), Counter[str]()
    for _ in range(500):
        damaged = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            NLU.loads(bytes(damaged))
            outcomes["loaded"] += 1
        except ModelFormatError as exc:  # any other exception fails the test
            outcomes["train again" if "nlu train" in str(exc) else str(exc)] += 1
    assert set(outcomes) == {"loaded", "train again"}, outcomes


def test_held_out_file_is_never_in_training_data(seed_kb) -> None:
    from bot.nlu.data import load_nlu_data

    def plain(text: str) -> str:
        return re.sub(r"[^\w ]", "", text.lower()).strip()

    held_out = {plain(e.text) for name in HELD_OUT_FILES
                for e in load_examples(PROJECT_ROOT / "tests/data" / name)}
    training = [*load_nlu_data(PROJECT_ROOT / "nlu_data").examples, *seed_kb.training_examples()]
    assert held_out & {plain(e.text) for e in training} == set()


@pytest.mark.parametrize(("name", "size", "core"), [
    ("nlu_units_test.yml", 1000, frozenset()),
    ("nlu_units_heldout.yml", 1100, CORE_INTENTS),
])
def test_units_held_out_files_cover_every_unit_and_how_workers_write(
        seed_kb, name: str, size: int, core: frozenset[str]) -> None:
    styled = load_examples_with_metadata(PROJECT_ROOT / "tests/data" / name)
    assert len(styled) >= size
    labels = Counter(example.intent for example, _ in styled)
    assert {u: labels[u] for u in answer_units(seed_kb) | core if labels[u] < 20} == {}
    assert "out_of_scope" in labels
    assert sum(meta["jawa"] for _, meta in styled) / len(styled) >= 0.30
    assert sum(meta["typo"] for _, meta in styled) / len(styled) >= 0.20


def test_held_out_units_file_labels_only_units_and_core_intents(seed_kb) -> None:
    labels = {e.intent for e in load_examples(PROJECT_ROOT / "tests/data/nlu_units_heldout.yml")}
    assert labels - answer_units(seed_kb) - CORE_INTENTS == set()


def answer_units(kb: KnowledgeBase) -> set[str]:
    """The retrieval intents `topic/unit` of the knowledge base (not the FAQ entries)."""
    return {a.intent for a in kb.document.answers if a.is_retrieval and not a.is_faq}
