"""East Java (Jawa Timur) place names: kota/kabupaten, kecamatan and kelurahan/desa.

The gazetteer is read from `nlu_data/gazetteer/jatim.tsv` (Kemendagri region codes, province 35;
see the README beside it for how that file was made). For every place mention it yields two
entities over the same span: `wilayah` (the canonical name: "Sukun", "Kota Malang",
"Kabupaten Blitar") and `kabupaten` (the kota/kabupaten it lies in, for routing to a branch).

How names are matched:

* kota/kabupaten names bare ("blitar") or after "kab", "kab.", "kabupaten" or "kota". A bare
  name shared by a kota and a kabupaten ("malang") means the kota, unless "kab"/"kabupaten"
  precedes it or another place in the same message lies in the kabupaten and none in the kota.
* kecamatan names bare unless they are also common words (`COMMON_WORDS`), and always after
  "kec", "kec." or "kecamatan". "kota pare" (a kecamatan's town) is accepted too.
* kelurahan/desa names only after "kel", "kel.", "kelurahan", "desa", "ds" or "ds.".

Names are compared with spaces, hyphens, dots and apostrophes removed, so "sumber pucung",
"Sumberpucung", "guluk-guluk", "guluk2" and "ra'as" all match. Spans cover the name without its
prefix ("kec [Sukun]"), as the training data annotates them. Lookups are dict hits on token
n-grams, so a ten-word message takes a few microseconds whatever the size of the gazetteer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot.messages import Entity

LEVELS: Final = ("kabupaten", "kota", "kecamatan", "kelurahan", "desa")

# Kecamatan names that are also everyday Indonesian/Javanese words (or better known as places
# outside East Java): matched only after "kec"/"kecamatan". Keys are names without spaces.
COMMON_WORDS: Final = frozenset({
    "babat",        # tripe (soto babat)
    "bandar",       # port, dealer
    "bandung",      # the West Java city
    "bangsal",      # ward, shed
    "bantaran",     # riverbank
    "barat",        # west
    "bareng",       # together
    "bendungan",    # dam
    "besuk",        # visit the sick; "tomorrow" in Javanese
    "bungah",       # glad (Javanese)
    "candi",        # temple
    "dagangan",     # merchandise
    "deket",        # near
    "dukun",        # healer, shaman
    "gading",       # ivory
    "gapura",       # gate
    "gedeg",        # bamboo wall; fed up (Javanese)
    "geger",        # uproar
    "genteng",      # roof tile
    "jangkar",      # anchor
    "kampak",       # axe
    "kapas",        # cotton
    "karangan",     # essay, wreath
    "kare",         # curry
    "kendal",       # the Central Java regency
    "ketapang",     # tree; the West Kalimantan regency; Banyuwangi's port (another desa)
    "kota",         # town
    "kudu",         # must (Javanese)
    "kunir",        # turmeric
    "larangan",     # prohibition
    "licin",        # slippery
    "pace",         # noni fruit
    "padang",       # field; the West Sumatra city; nasi padang
    "pagelaran",    # performance
    "pagu",         # ceiling (budget)
    "pakem",        # rule
    "pakis",        # fern (sayur pakis)
    "palang",       # barrier
    "panggul",      # kuli panggul (porter)
    "panji",        # banner
    "panti",        # home (panti asuhan)
    "parang",       # machete
    "pare",         # bitter gourd
    "perak",        # silver
    "pesantren",    # Islamic boarding school
    "pitu",         # seven (Javanese)
    "pucuk",        # shoot, top
    "puri",         # palace, housing estate
    "rembang",      # the Central Java regency
    "sekar",        # flower
    "semen",        # cement
    "sendang",      # spring, pond (Sendang Biru is a hamlet in Kabupaten Malang)
    "sempol",       # a snack
    "sepulu",       # "sepuluh" misspelt
    "soko",         # from (Javanese)
    "suboh",        # dawn prayer misspelt
    "sumber",       # source
    "suruh",        # order
    "taman",        # garden, park
    "tambak",       # fish pond
    "tanahmerah",   # red soil
    "tanggul",      # embankment
    "tarik",        # pull
    "tempeh",       # tempe
    "tugu",         # monument
    "tulangan",     # reinforcing bars
    "turi",         # a tree; Pasar Turi in Surabaya
    "tutur",        # speech
})

# Words that follow "desa"/"kelurahan" in ordinary sentences ("didaftarin desa, sudah ...") and
# happen to be the names of desa somewhere in East Java: not taken as names even after a prefix.
NOT_AFTER_PREFIX: Final = frozenset({
    "apaan", "bagi", "banget", "bener", "butuh", "dadi", "dapet", "dateng", "gaji", "gampang",
    "jadi", "kebun", "kerjo", "kudu", "menang", "pesen", "punten", "salam", "sewulan", "soko",
    "sudah", "sugeng", "surat", "tahunan", "tanggung", "tulung",
})

# Bare kota/kabupaten names that are also words: not a place next to these words.
_BARE_GUARDS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    "batu": (
        frozenset({"tukang", "kuli", "pemecah", "penambang", "tambang", "pecah", "batu", "sakit",
                   "pasir", "jual", "dagang"}),
        frozenset({"bata", "ginjal", "empedu", "akik", "kali", "kapur", "alam", "nisan", "split",
                   "koral", "sungai", "bara", "gunung", "batu", "kerikil", "hias", "asah"}),
    ),
    "malang": (
        frozenset({"nasib", "bernasib", "sungguh", "amat", "sangat", "kasihan"}),
        frozenset({"nian", "sekali", "banget", "benar", "bener"}),
    ),
}

# Everyday names for kota/kabupaten: surface (without spaces) -> bare official name key.
ALIASES: Final = {"suroboyo": "surabaya", "sby": "surabaya", "mlg": "malang", "ngalam": "malang"}

# Other common ways of writing kecamatan whose official names are long.
_KECAMATAN_ALIASES: Final = {
    "sumbermanjing": "sumbermanjingwetan",
    "tenggilis": "tenggilismejoyo",
    "jambesari": "jambesaridarussholah",
}

_KAB, _KOTA, _KEC, _KEL = 0, 1, 2, 3
_PREFIXES: Final = {
    "kab": _KAB, "kabupaten": _KAB, "kota": _KOTA,
    "kec": _KEC, "kecamatan": _KEC,
    "kel": _KEL, "kelurahan": _KEL, "desa": _KEL, "ds": _KEL,
}
_MAX_TOKENS: Final = 4
_TOKEN = re.compile(r"[a-z0-9]+(?:['’`][a-z0-9]+)*")
_APOSTROPHES = str.maketrans("", "", "'’`")
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_REDUPLICATED = re.compile(r"\b([a-z]+)-\1\b")
_KAB_PREFIX = re.compile(r"^(kabupaten|kota) ", re.IGNORECASE)
_JOINS = " \t-.'’`"  # what may stand between the words of one name
_AFTER_PREFIX = " \t.:"  # what may stand between a prefix and the name


def name_key(name: str) -> str:
    """The lookup key of a name: lowercase letters and digits ("Oro-oro Ombo" -> "orooroombo")."""
    return _NOT_KEY.sub("", name.lower())


@dataclass(frozen=True)
class Place:
    """One row of the gazetteer."""

    code: str
    level: str
    name: str
    kecamatan: str
    kabupaten: str


@dataclass(frozen=True)
class _Match:
    start: int  # char offsets of the name
    end: int
    next_token: int
    candidates: tuple[int, ...]  # row ids, in order of preference


class PlaceGazetteer:
    """Finds East Java place names in a message; a stored model keeps its `rows()`."""

    def __init__(self, places: Iterable[Place]) -> None:
        rows = list(places)
        by_code = {p.code: i for i, p in enumerate(rows)}
        kab_by_name = {p.name: i for i, p in enumerate(rows) if p.level in ("kabupaten", "kota")}
        self._codes: tuple[str, ...] = tuple(p.code for p in rows)
        self._names: tuple[str, ...] = tuple(p.name for p in rows)
        self._levels: tuple[int, ...] = tuple(LEVELS.index(p.level) for p in rows)
        kab_of: list[int] = []
        kec_of: list[int] = []
        for p in rows:
            parts = p.code.split(".")
            kab_of.append(by_code.get(".".join(parts[:2]), kab_by_name.get(p.kabupaten, -1)))
            kec_of.append(by_code.get(".".join(parts[:3]), -1) if len(parts) >= 3 else -1)
        self._kab_of: tuple[int, ...] = tuple(kab_of)
        self._kec_of: tuple[int, ...] = tuple(kec_of)

        kota: dict[str, list[int]] = {}
        kabupaten: dict[str, list[int]] = {}
        kecamatan: dict[str, list[int]] = {}
        kelurahan: dict[str, list[int]] = {}
        for i, p in enumerate(rows):
            if p.level in ("kabupaten", "kota"):
                target = kota if p.level == "kota" else kabupaten
                for key in _keys(_KAB_PREFIX.sub("", p.name)):
                    target.setdefault(key, []).append(i)
            else:
                target = kecamatan if p.level == "kecamatan" else kelurahan
                for key in _keys(p.name):
                    target.setdefault(key, []).append(i)
                if p.name.startswith("P. "):  # "P. Mandangin": Pulau Mandangin
                    for key in _keys("Pulau " + p.name[3:]):
                        target.setdefault(key, []).append(i)
        for alias, key in ALIASES.items():
            for table in (kota, kabupaten):
                if key in table:
                    table.setdefault(alias, list(table[key]))
        for alias, key in _KECAMATAN_ALIASES.items():
            if key in kecamatan:
                kecamatan.setdefault(alias, list(kecamatan[key]))

        self._kota = {k: tuple(v) for k, v in kota.items()}
        self._kabupaten = {k: tuple(v) for k, v in kabupaten.items()}
        self._kecamatan = {k: tuple(v) for k, v in kecamatan.items()}
        self._kelurahan = {k: tuple(v) for k, v in kelurahan.items()}
        # Bare mentions: kota before kabupaten (the documented choice), then kecamatan.
        bare: dict[str, tuple[int, ...]] = {}
        for k in self._kecamatan.keys() - COMMON_WORDS:
            bare[k] = self._kecamatan[k]
        for k in self._kota.keys() | self._kabupaten.keys():
            bare[k] = self._kota.get(k, ()) + self._kabupaten.get(k, ())
        self._bare = bare
        # Every beginning of every key: an n-gram that is none of these cannot grow into a name.
        every = (self._kota, self._kabupaten, self._kecamatan, self._kelurahan)
        self._starts = frozenset(k[:n] for table in every for k in table
                                 for n in range(1, len(k) + 1))

    @classmethod
    def load(cls, path: Path) -> PlaceGazetteer:
        """Read the TSV: `#` comments, a header, then kode, level, name, kecamatan, kabupaten."""
        places: list[Place] = []
        header_seen = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if not header_seen:
                header_seen = True
                if fields[:3] == ["kode", "level", "name"]:
                    continue
            if len(fields) != 5 or fields[1] not in LEVELS:
                raise ValueError(f"{path}:{number}: expected 5 tab-separated fields, got {line!r}")
            places.append(Place(*(f.strip() for f in fields)))
        return cls(places)

    def __len__(self) -> int:
        return len(self._names)

    def place(self, row: int) -> Place:
        """The row behind a match, mostly for tests and debugging."""
        kab = self._kab_of[row]
        kec = self._kec_of[row]
        return Place(self._codes[row], LEVELS[self._levels[row]], self._names[row],
                     self._names[kec] if kec >= 0 else "",
                     self._names[kab] if kab >= 0 else "")

    def rows(self) -> list[Place]:
        """Every row, in order: `PlaceGazetteer(g.rows())` finds what `g` finds."""
        return [self.place(row) for row in range(len(self))]

    def lookup(self, name: str) -> list[Place]:
        """Every place called `name` (any level, without prefix), in code order."""
        key = name_key(name)
        rows = [*self._kota.get(key, ()), *self._kabupaten.get(key, ()),
                *self._kecamatan.get(key, ()), *self._kelurahan.get(key, ())]
        return [self.place(r) for r in rows]

    def find(self, lowered: str, original: str) -> Iterable[Entity]:
        """`wilayah` and `kabupaten` entities for every place mention, in text order."""
        matches = list(self._matches(lowered))
        if not matches:
            return ()
        found: list[Entity] = []
        for m in matches:
            row = self._resolve(m, matches) if len(m.candidates) > 1 else m.candidates[0]
            kab = self._kab_of[row]
            text = original[m.start:m.end]
            found.append(Entity("wilayah", self._names[row], m.start, m.end, text))
            found.append(Entity("kabupaten", self._names[kab if kab >= 0 else row],
                                m.start, m.end, text))
        return found

    # -- matching --------------------------------------------------------------------------

    def _matches(self, lowered: str) -> list[_Match]:
        tokens: list[tuple[int, int, str]] = []
        for m in _TOKEN.finditer(lowered):
            word = m.group()
            if not word.isalnum():
                word = word.translate(_APOSTROPHES)
            tokens.append((m.start(), m.end(), word))
        found: list[_Match] = []
        count = len(tokens)
        starts = self._starts
        i = 0
        while i < count:
            word = tokens[i][2]
            best: _Match | None = None
            kind = _PREFIXES.get(word)
            if kind is not None and i + 1 < count \
                    and not lowered[tokens[i][1]:tokens[i + 1][0]].strip(_AFTER_PREFIX):
                best = self._after_prefix(kind, lowered, tokens, i + 1)
            if word in starts:
                bare = self._longest(lowered, tokens, i, self._bare, guarded=True)
                if bare is not None and (best is None or bare.next_token > best.next_token):
                    best = bare
            if best is None:
                i += 1
            else:
                found.append(best)
                i = best.next_token
        return found

    def _after_prefix(self, kind: int, lowered: str, tokens: list[tuple[int, int, str]],
                      first: int) -> _Match | None:
        if tokens[first][2] not in self._starts:
            return None
        tables: tuple[dict[str, tuple[int, ...]], ...]
        if kind == _KAB:
            tables = (self._kabupaten, self._kota)
        elif kind == _KOTA:
            tables = (self._kota, self._kabupaten, self._kecamatan)
        elif kind == _KEC:
            tables = (self._kecamatan, self._kelurahan)
        else:
            tables = (self._kelurahan, self._kecamatan)
        for table in tables:
            found = self._longest(lowered, tokens, first, table, guarded=False)
            if found is not None:
                return found
        return None

    def _longest(self, lowered: str, tokens: list[tuple[int, int, str]], first: int,
                 table: dict[str, tuple[int, ...]], *, guarded: bool) -> _Match | None:
        """The longest name in `table` that starts at token `first`."""
        starts = self._starts
        key = ""
        longest: _Match | None = None
        for j in range(first, min(len(tokens), first + _MAX_TOKENS)):
            if j > first and lowered[tokens[j - 1][1]:tokens[j][0]].strip(_JOINS):
                break  # a comma or the like: the next word belongs to another name
            key += tokens[j][2]
            if key not in starts:
                break
            rows = table.get(key)
            if rows is None:
                continue
            if guarded:
                if self._guarded(key, tokens, first, j):
                    continue
            elif key in NOT_AFTER_PREFIX:
                continue
            longest = _Match(tokens[first][0], tokens[j][1], j + 1, rows)
        return longest

    @staticmethod
    def _guarded(key: str, tokens: list[tuple[int, int, str]], first: int, last: int) -> bool:
        guard = _BARE_GUARDS.get(key)
        if guard is None:
            return False
        before = tokens[first - 1][2] if first > 0 else ""
        after = tokens[last + 1][2] if last + 1 < len(tokens) else ""
        return before in guard[0] or after in guard[1]

    # -- ambiguity -------------------------------------------------------------------------

    def _resolve(self, match: _Match, matches: list[_Match]) -> int:
        """The candidate best supported by the other places in the message; ties: first."""
        others = [m for m in matches if m is not match]
        if not others:
            return match.candidates[0]
        best, best_score = match.candidates[0], -1
        for row in match.candidates:
            score = sum(max(self._related(row, other) for other in m.candidates) for m in others)
            if score > best_score:
                best, best_score = row, score
        return best

    def _related(self, a: int, b: int) -> int:
        """2: same kecamatan (or one is the other's kecamatan); 1: same kota/kabupaten; else 0."""
        kec = self._kec_of[a]
        if kec >= 0 and kec == self._kec_of[b]:
            return 2
        return 1 if self._kab_of[a] == self._kab_of[b] else 0


def _keys(name: str) -> set[str]:
    """Lookup keys of an official name: plain, and "guluk2" for "Guluk-Guluk"."""
    keys = {name_key(name)}
    short = _REDUPLICATED.sub(r"\g<1>2", name.lower())
    if short != name.lower():
        keys.add(name_key(short))
    return keys
