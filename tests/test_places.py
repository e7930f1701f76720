from collections import Counter
from functools import cache
from pathlib import Path

from bot.nlu.places import COMMON_WORDS, PlaceGazetteer

TSV = Path(__file__).resolve().parent.parent / "nlu_data" / "gazetteer" / "jatim.tsv"


@cache
def gazetteer() -> PlaceGazetteer:
    return PlaceGazetteer.load(TSV)


def places(text: str) -> list[tuple[str, str, str]]:
    """(surface, wilayah, kabupaten) per mention, checking both entities share one span."""
    found = list(gazetteer().find(text.lower(), text))
    assert len(found) % 2 == 0
    result = []
    for wilayah, kabupaten in zip(found[::2], found[1::2], strict=True):
        assert (wilayah.entity, kabupaten.entity) == ("wilayah", "kabupaten")
        assert (wilayah.start, wilayah.end) == (kabupaten.start, kabupaten.end)
        assert text[wilayah.start:wilayah.end] == wilayah.text
        result.append((wilayah.text, str(wilayah.value), str(kabupaten.value)))
    return result


def test_tsv_has_every_level_of_east_java() -> None:
    lines = TSV.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# source: ")
    assert lines[1].split("\t") == ["kode", "level", "name", "kecamatan", "kabupaten"]
    levels = Counter(line.split("\t")[1] for line in lines[2:])
    assert levels["kabupaten"] + levels["kota"] == 38
    assert levels["kota"] == 9
    assert levels["kecamatan"] > 600
    assert levels["kelurahan"] + levels["desa"] > 8000
    assert set(levels) == {"kabupaten", "kota", "kecamatan", "kelurahan", "desa"}


def test_bare_kabupaten() -> None:
    assert places("kantor bpjs di banyuwangi dimana") == [
        ("banyuwangi", "Kabupaten Banyuwangi", "Kabupaten Banyuwangi")]
    assert places("alamat bpjs tk Sidoarjo") == [
        ("Sidoarjo", "Kabupaten Sidoarjo", "Kabupaten Sidoarjo")]
    assert places("gaji umr surabaya") == [("surabaya", "Kota Surabaya", "Kota Surabaya")]


def test_shared_name_means_the_kota_unless_kab_precedes() -> None:
    assert places("kantor bpjs di blitar dimana") == [("blitar", "Kota Blitar", "Kota Blitar")]
    assert places("kota malang") == [("malang", "Kota Malang", "Kota Malang")]
    for text in ("kab malang", "kab. malang", "Kabupaten Malang", "kab.malang"):
        assert places(text) == [(text[-6:], "Kabupaten Malang", "Kabupaten Malang")], text
    # another place of the kabupaten in the message decides too
    assert places("kec kepanjen malang")[1] == ("malang", "Kabupaten Malang", "Kabupaten Malang")
    assert places("daerah lowokwaru malang")[1] == ("malang", "Kota Malang", "Kota Malang")


def test_kecamatan_with_prefix_and_its_kabupaten() -> None:
    assert places("sy tinggal di kec sukun") == [("sukun", "Sukun", "Kota Malang")]
    assert places("Kecamatan Wlingi") == [("Wlingi", "Wlingi", "Kabupaten Blitar")]
    assert places("kec. kota sumenep") == [("kota sumenep", "Kota Sumenep", "Kabupaten Sumenep")]


def test_bare_kecamatan_and_spelling_variants() -> None:
    assert places("aku wong kepanjen") == [("kepanjen", "Kepanjen", "Kabupaten Malang")]
    assert places("rumah di ngajum") == [("ngajum", "Ngajum", "Kabupaten Malang")]
    assert places("sumber pucung") == [("sumber pucung", "Sumberpucung", "Kabupaten Malang")]
    assert places("sy di guluk2") == [("guluk2", "Guluk-Guluk", "Kabupaten Sumenep")]
    assert places("kota batu") == [("batu", "Kota Batu", "Kota Batu")]


def test_kelurahan_and_desa_only_after_a_prefix() -> None:
    assert places("kelurahan ketabang kec genteng") == [
        ("ketabang", "Ketabang", "Kota Surabaya"), ("genteng", "Genteng", "Kota Surabaya")]
    assert places("desa wlingi") == [("wlingi", "Wlingi", "Kabupaten Blitar")]
    assert places("ds. ketabang") == [("ketabang", "Ketabang", "Kota Surabaya")]
    assert places("sy di ketabang") == []
    assert places("didaftarin desa, sudah lama") == []


def test_common_words_are_not_places() -> None:
    for text in ("harga di pasar baru", "beli sayur di pasar", "ke sumber air",
                 "ada dukun pijat", "genteng bocor", "tukang batu", "warga didata bareng"):
        assert places(text) == [], text
    assert places("kec pakis") == [("pakis", "Pakis", "Kabupaten Malang")]
    gaz = gazetteer()
    assert all(gaz.lookup(word) for word in COMMON_WORDS)  # every stopword is a real name


def test_ambiguous_name_resolved_by_mentioned_kabupaten() -> None:
    assert places("kec genteng")[0][2] == "Kabupaten Banyuwangi"  # the first by code
    assert places("kec genteng surabaya")[0] == ("genteng", "Genteng", "Kota Surabaya")
    assert places("kel kauman tulungagung")[0] == ("kauman", "Kauman", "Kabupaten Tulungagung")
    assert places("desa paciran lamongan")[0] == ("paciran", "Paciran", "Kabupaten Lamongan")


def test_longest_match_and_no_overlaps() -> None:
    found = list(gazetteer().find("kec kota sumenep", "kec kota sumenep"))
    assert len(found) == 2
    spans = [(e.start, e.end) for e in gazetteer().find("sy di sumber pucung malang", "x" * 26)]
    assert spans == [(6, 19), (6, 19), (20, 26), (20, 26)]


def test_rebuilt_from_its_rows() -> None:
    again = PlaceGazetteer(gazetteer().rows())
    assert again.rows() == gazetteer().rows()
    text = "kelurahan Ketabang kec Genteng"
    assert list(again.find(text.lower(), text)) == list(gazetteer().find(text.lower(), text))
