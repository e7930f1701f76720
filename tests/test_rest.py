"""Rasa's REST channel contract and bad input, through the ASGI app with its lifespan."""

import asyncio
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from bot.app import open_runtime
from bot.nlu.model import NLU
from bot.settings import Settings
from bot.web import create_app
from tests.conftest import TODAY, publish_model

URL = "/webhooks/rest/webhook"


@pytest.fixture
def client(settings: Settings, redis_url: str, prefix: str, model_blob: bytes,
           trained_model: NLU) -> Iterator[TestClient]:
    asyncio.run(publish_model(redis_url, prefix, model_blob, trained_model.fingerprint))
    app = create_app(settings, runtime=lambda s: open_runtime(s, clock=lambda: TODAY,
                                                                    model=trained_model))
    with TestClient(app) as test_client:
        yield test_client


def test_reply_shape_is_rasa_rest(client: TestClient) -> None:
    response = client.post(URL, json={"sender": "ani", "message": "halo"})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert body
    assert set(body[0]) <= {"recipient_id", "text", "buttons"}
    assert body[0]["recipient_id"] == "ani"
    assert all({"title", "payload"} == set(b) for item in body for b in item.get("buttons", []))


@pytest.mark.redis_cluster
def test_multi_turn_over_http(client: TestClient) -> None:
    client.post(URL, json={"sender": "budi", "message": "berapa iuran bpjs tk"})
    body = client.post(URL, json={"sender": "budi", "message": "2 juta"}).json()
    assert "Rp26.800" in body[0]["text"]


def test_button_payload_is_a_message(client: TestClient) -> None:
    body = client.post(URL, json={"sender": "cici", "message": "/cara_daftar"}).json()
    assert "JMO" in body[0]["text"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [(b"{not json", 400), (b"[]", 422), (b'{"sender": "x"}', 422),
     (b'{"message": "halo"}', 422), (b'{"sender": "", "message": "halo"}', 422),
     (b'{"sender": 5, "message": "halo"}', 422)],
)
def test_bad_input_gets_a_clear_4xx(client: TestClient, payload: bytes, status: int) -> None:
    response = client.post(URL, content=payload, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert "error" in response.json()


def test_over_long_message_is_413(client: TestClient) -> None:
    response = client.post(URL, json={"sender": "x", "message": "a" * 5000})
    assert response.status_code == 413
    assert "2000" in response.json()["error"]


@pytest.mark.redis_cluster
def test_health_reports_redis_and_model(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["redis"] == "ok"
    assert body["model"] == "ok"
    assert body["knowledge_base"] == "ok"
    assert body["serving"]["intents"] > 20


def test_process_survives_bad_input(client: TestClient) -> None:
    client.post(URL, content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert client.post(URL, json={"sender": "d", "message": "halo"}).status_code == 200


# Issue 11's examples, as a worker meets them: over HTTP through the REST route, on Redis. Each
# is (what the worker said before, what they asked, what the reply must say). The dialogue
# behind each is tested in depth on the in-memory engine (tests/test_units.py,
# tests/test_dialogue_rest.py); this checks that the channel carries it all.
CONVERSATIONS = [
    ([], "klo jatuh dr motor pas nganter orderan ditanggung gak",
     "Ya, ditanggung JKK, termasuk perjalanan kerja"),
    (["kemarin sy kecelakaan pas nyari ikan, belum ikut bpjs"],
     "klo daftar skrg trus bs diklaim gk", "Tidak, kecelakaan yang terjadi sebelum jadi peserta"),
    (["ada orang ngaku petugas bpjs minta aku transfer duit, iku penipuan ta?"],
     "trus aku kudu piye", "175"),
    ([], "mau tny jkm itu apa", "JKM (Jaminan Kematian)"),
    ([], "daftar dong", "JMO"),
    ([], "lupa no kartu peserta", "Nomor kartu peserta (KPJ)"),
    ([], "minta dihubungi petugas", "setuju"),
    ([], "aku bakul sayur nang pasar, iso melu bpjs tk ta?", "Iya, bisa"),
    (["/minta_didata", "/setuju", "Slamet"], "lho iurane nelayan piro?",
     "lanjutkan pendataan"),
    (["/minta_didata", "/setuju", "Slamet", "nelayan", "Kel. Ketabang, Kec. Genteng"],
     "0812 3344 556", "0812-3344-556"),
    ([], "iuran bpjs tk brp, penghasilan 50rb sehari", "Rp1.500.000 sebulan"),
    (["menu"], "5", "klaim"),
]


@pytest.mark.parametrize(("before", "asked", "says"), CONVERSATIONS,
                         ids=[asked for _, asked, _ in CONVERSATIONS])
def test_issue_examples_over_the_rest_channel(client: TestClient, before: list[str], asked: str,
                                              says: str) -> None:
    sender = f"pekerja-{abs(hash(asked))}"
    for text in before:
        assert client.post(URL, json={"sender": sender, "message": text}).status_code == 200
    body = client.post(URL, json={"sender": sender, "message": asked}).json()
    texts = "\n".join(str(item.get("text", "")) for item in body)
    assert says.lower() in texts.lower(), texts
