"""The console end to end: `python -m bot serve` under uvicorn on loopback, Debian's chromium
driven by Playwright, and the bot asked through its REST channel.

Chromium comes from Debian (`apt-get install chromium`), never from Playwright's download
(which cannot reach its CDN here): the test command installs it (.ci/browser); without it the
tests are skipped, saying why. The campaign walk-through runs a real `python -m bot worker` against
the Bot API stand-in of tests/standins.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from bot.app import open_runtime
from bot.broadcast.campaigns import CampaignStore, Message
from bot.broadcast.segments import Segment
from bot.handoffs import Handoff, HandoffMessage
from bot.nlu.model import NLU
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import (
    NEW_FAQ,
    PASSWORD,
    SERVING,
    add_contact,
    add_users,
    await_line,
    clueless,
    delete_prefix,
    now,
    publish_model,
    spawn_worker,
    worker_config,
)
from tests.standins import BOT_TOKEN, BotApiStandIn

pytest.importorskip("playwright.async_api", reason="Playwright for Python (the dev extra)")
from playwright.async_api import Browser, Page, async_playwright, expect

SCRIPT = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, which the test command installs (.ci/browser)."""
    if not CHROMIUM.exists():
        pytest.skip(f"end-to-end console tests need a browser: {CHROMIUM} is missing "
                    "(.ci/browser installs it as root on Debian)")
    return str(CHROMIUM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(redis_url: str, prefix: str, blob: bytes, fingerprint: str, log_path: Path,
          extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m bot serve` on a free loopback port and this test's key prefix, with `blob` as
    the published model (so it starts without training)."""
    asyncio.run(publish_model(redis_url, prefix, blob, fingerprint))
    asyncio.run(add_users(redis_url, prefix))
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "SAPA_KEY_PREFIX": prefix, **(extra_env or {})}
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    copying: threading.Thread | None = None
    try:
        try:
            copying = await_line(process, SERVING, log)
        except RuntimeError as exc:
            raise RuntimeError(f"bot serve did not start: {log_path.read_text()[-2000:]}") \
                from exc
        assert healthy(base)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if copying is not None:
            copying.join()  # the output's end: the process is gone
        log.close()
        delete_prefix(redis_url, prefix)


@pytest.fixture
def server(redis_url: str, prefix: str, model_blob: bytes, trained_model: NLU,
           tmp_path: Path) -> Iterator[str]:
    """The bot as shipped."""
    with serve(redis_url, prefix, model_blob, trained_model.fingerprint,
               tmp_path / "serve.log") as base:
        yield base


@pytest.fixture
def clueless_server(redis_url: str, prefix: str, trained_model: NLU,
                    tmp_path: Path) -> Iterator[str]:
    """The bot with a model that understands nothing: every message reaches the inbox."""
    with serve(redis_url, prefix, clueless(trained_model), trained_model.fingerprint,
               tmp_path / "serve.log") as base:
        yield base


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"


async def screenshot(page: Page, name: str) -> None:
    """The whole page, named by what it shows and the viewport's width (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}
# Every tap target on the page that is smaller than 44 px either way: links, buttons, fields,
# the fold's summary (a checkbox or radio counts by its label). A link inside a sentence is
# exempt, as WCAG 2.5.8 exempts inline targets.
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary')]
  .filter((el) => el.getClientRects().length && !el.closest('p, .sr-only'))
  .map((el) => [el, (['checkbox', 'radio'].includes(el.type) && el.closest('label')) || el])
  .map(([el, target]) => [el, target.getBoundingClientRect()])
  .filter(([, box]) => box.height < 43.5 || box.width < 43.5)
  .map(([el, box]) => `${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim()
    .slice(0, 30)}" ${Math.round(box.width)}x${Math.round(box.height)}`)"""
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# Every piece of text in main smaller than 12 px as rendered (SVG text scaled with its drawing).
SMALL_TEXT = """() => [...document.querySelectorAll('main *')]
  .filter((el) => el.getClientRects().length && [...el.childNodes].some(
    (n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()))
  .map((el) => [el, parseFloat(getComputedStyle(el).fontSize)
    * (el instanceof SVGElement && el.getScreenCTM() ? el.getScreenCTM().a : 1)])
  .filter(([, px]) => px < 11.95)
  .map(([el, px]) => `text "${el.textContent.trim().slice(0, 20)}" ${px.toFixed(1)} px`)"""


async def phone_problems(page: Page, name: str) -> list[str]:
    """The page at 390 px: what scrolls sideways, every tap target under 44 px and every text
    under 12 px (an empty list when none); every menu item in sight; screenshots at the phone's
    and a desk's width."""
    await page.set_viewport_size(PHONE)
    await screenshot(page, name)
    problems = [f"{name}: {target}" for target in await page.evaluate(SMALL_TARGETS)]
    problems += [f"{name}: {text}" for text in await page.evaluate(SMALL_TEXT)]
    wider = await page.evaluate(OVERFLOW)
    if wider > 0:
        problems.append(f"{name}: {wider} px wider than the phone")
    menu = page.get_by_role("navigation", name="Menu utama")
    for link in await menu.get_by_role("link").all():
        await expect(link).to_be_in_viewport()
    await page.set_viewport_size(DESK)
    await screenshot(page, name)
    await page.set_viewport_size(PHONE)
    return problems


async def log_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/admin/")
    await expect(page).to_have_url(f"{base}/admin/login?next=%2Fadmin%2F")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.get_by_role("heading", name="Dasbor")).to_be_visible()


async def ask(base: str, question: str) -> str:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.post(f"{base}/webhooks/rest/webhook",
                                     json={"sender": "e2e-pekerja", "message": question})
        response.raise_for_status()  # no message is dropped while the model is swapped
        return "\n".join(item["text"] for item in response.json())


async def test_admin_adds_an_faq_and_the_bot_answers_it(server: str, browser: Browser) -> None:
    question = "ada lomba foto bpjs ga?"
    assert "Lomba foto" not in await ask(server, question)
    page = await browser.new_page()
    await log_in(page, server, "ani")
    await page.get_by_role("link", name="FAQ", exact=True).click()
    await page.get_by_role("link", name="+ FAQ baru").click()
    await page.fill("#id", "lomba_foto")
    await page.fill("#questions", "\n".join(NEW_FAQ["questions"]))
    await page.fill("#text", str(NEW_FAQ["text"]))
    await page.fill("#tags", "lomba")
    await page.click("text=Simpan & latih ulang")
    # the notice shows once: its code leaves the address, so a reload does not repeat it
    await expect(page).to_have_url(f"{server}/admin/faq/lomba_foto")
    await expect(page.locator(".notice.ok")).to_contain_text("Tersimpan")
    await ask(server, question)  # still answered (no 5xx) while the model retrains

    # The page's status line (console.js) follows the retrain to the end; then it is answered.
    # How soon is a benchmark (bench/faq_live.py), not a test: it is the machine's speed.
    await expect(page.locator("#model-status")).to_contain_text("siap", timeout=110_000)
    assert "Lomba foto" in await ask(server, question)
    await page.fill("#coba", question)
    await page.get_by_role("button", name="Coba").click()
    await expect(page.locator(".tried")).to_contain_text("faq/lomba_foto")
    await expect(page.locator(".tried .bubble")).to_contain_text("Lomba foto")


async def test_a_script_sent_by_a_worker_stays_text_in_the_inbox(
        clueless_server: str, browser: Browser) -> None:
    server = clueless_server
    await ask(server, SCRIPT)
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await log_in(page, server, "budi")
    await page.get_by_role("navigation").get_by_role("link", name="Kotak masuk").click()
    await expect(page.locator("article.group h2")).to_contain_text(SCRIPT)
    assert dialogs == []  # the alert never ran
    assert await page.get_by_role("button", name="Jadikan FAQ baru").count() == 0  # staff


async def test_staff_create_a_campaign_and_watch_it_sent(server: str, browser: Browser,
                                                         settings: Settings,
                                                         tmp_path: Path) -> None:
    sender = await open_runtime(settings)
    for user, name, job in (("7001", "Ani", "ojol"), ("7002", "Budi", "ojol motor"),
                            ("7003", "Citra", "ojol"), ("7004", "Dedi", "petani")):
        await add_contact(sender, "telegram", user, seen=now(), nama=name, pekerjaan=job)
    await add_contact(sender, "telegram", "7005", seen=now(), consent="opt_out", pekerjaan="ojol")
    await sender.close()
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # "Mulai kirim?"
    await log_in(page, server, "budi")
    await page.get_by_role("navigation").get_by_role("link", name="Kampanye").click()
    await page.get_by_role("link", name="+ Kampanye baru").click()

    count = page.locator("#live-count")
    await expect(count).to_have_text("4")  # everyone who opted in
    await page.fill("#pekerjaan", "ojol")
    await expect(count).to_have_text("3")  # counted again as the filter is typed
    await page.fill("#name", "Sosialisasi JKK ojol")
    await page.fill("#text", "Halo {nama}, ada sosialisasi *JKK* untuk ojol.")
    await page.fill("#bt0", "Saya ikut")
    await page.fill("#template", "sosialisasi_jkk")
    await page.fill("#template_params", "{nama}")
    sample = re.compile(r"^(Ani|Budi|Citra)$")
    telegram = page.locator("[data-chat=telegram] .bubble").first
    await expect(telegram).to_contain_text(re.compile(r"Halo (Ani|Budi|Citra), ada sosialisasi"))
    await expect(telegram.locator("b").first).to_have_text("JKK")
    await expect(page.locator("[data-chat=whatsapp] .key")).to_have_text("Saya ikut")
    await expect(page.locator("[data-template-params] li")).to_have_text(sample)
    await expect(page.locator("[data-preview-name]")).to_have_text(sample)
    await page.uncheck("input[name=quiet]")  # send at any hour the test runs
    await page.get_by_role("button", name="Simpan sebagai draf").click()
    await expect(page.locator(".notice.ok")).to_contain_text("draf")
    # No worker runs yet: the start is refused in words staff understand, nothing stalls.
    await page.get_by_role("button", name="Mulai kirim").click()
    await expect(page.locator(".notice.bad")).to_contain_text(
        "layanan pengirim pesan kampanye sedang tidak berjalan")
    await expect(page.locator(".notice.ok")).to_have_count(0)
    await screenshot(page, "kampanye-ditolak")

    async with BotApiStandIn() as bot_api:
        worker = await spawn_worker(settings, worker_config(tmp_path), bot_api)  # heard
        try:  # the page polls and reloads itself: nobody touches it from here
            await page.get_by_role("button", name="Mulai kirim").click()
            await expect(page.locator(".notice.ok")).to_contain_text("Kampanye dimulai")
            await expect(page.locator("[data-field=status_text]")).to_have_text(
                "selesai", timeout=60_000)
            await expect(page.locator("[data-key=sent] .value")).to_have_text("3")
            await expect(page.locator("[data-key=sent] progress")).to_have_attribute("value", "3")
        finally:
            worker.send_signal(signal.SIGTERM)
            assert await worker.wait() == 0
    chats = sorted(str(call.params["chat_id"]) for call in bot_api.recorder.of("sendMessage"))
    assert chats == ["7001", "7002", "7003"]


async def test_every_page_fits_a_phone(server: str, browser: Browser, settings: Settings) -> None:
    """Every page an admin opens (staff's are among them) at 390x844, with something on it."""
    rt = await open_runtime(settings)
    try:
        await add_contact(rt, "telegram", "7101", seen=now(), nama="Ani", pekerjaan="ojol")
        campaign = await CampaignStore(rt.redis, rt.keys).create(
            "Sosialisasi JKK ojol di Kecamatan Genteng", Segment(),
            Message("Halo {nama}, ada sosialisasi JKK.", answers=()),
            quiet_hours=None, now=now(), created_by="budi")
        stamp = now().isoformat(timespec="seconds")
        handoff = await rt.handoffs.store.create(
            Handoff("", "telegram", "7101", "Ani", "Kantor Cabang Surabaya Tanjung Perak",
                    "minta petugas", "open", stamp, stamp),
            [HandoffMessage("pekerja", "klaim JHT saya belum cair, sudah sebulan", stamp)])
    finally:
        await rt.close()
    for text in ["mau didata", "ya setuju", "Siti Aminah", "pedagang pasar",
                 "Kel. Ketabang, Kec. Genteng", "081234567890"]:
        await ask(server, text)
    await ask(server, "qwerty zxcv asdf")  # for the inbox

    page = await browser.new_page(viewport=PHONE)
    await page.goto(f"{server}/admin/login")
    problems = await phone_problems(page, "masuk")
    await log_in(page, server, "ani")
    # A fact changed through its form, so a version shows a statement's words.
    await page.goto(f"{server}/admin/facts/bpu_iuran_jkm")
    statement = page.locator("#statement")
    await expect(statement).to_contain_text("Iuran JKM BPU tetap Rp6.800 per bulan")
    await statement.fill("Iuran JKM BPU tetap Rp6.800 per bulan untuk semua kelompok "
                         "penghasilan.")
    await page.get_by_role("button", name="Simpan").click()
    await expect(page.locator(".notice.ok")).to_be_visible()
    await page.goto(f"{server}/admin/versions")
    await page.locator("td[data-label=Versi] a").first.click()
    await expect(page.locator(".change ins")).to_contain_text("untuk semua kelompok")
    problems += await phone_problems(page, "versi-detail")

    pages = {"dasbor": "/admin/", "percakapan": "/admin/percakapan",
             "percakapan-detail": f"/admin/percakapan/{handoff.id}",
             "kotak-masuk": "/admin/inbox", "prospek": "/admin/leads",
             "kampanye": "/admin/kampanye", "kampanye-baru": "/admin/kampanye/baru",
             "kampanye-detail": f"/admin/kampanye/{campaign.id}", "faq": "/admin/faq",
             "faq-baru": "/admin/faq/new", "faq-ubah": "/admin/faq/bayar",
             "fakta": "/admin/facts", "fakta-baru": "/admin/facts/new",
             "fakta-ubah": "/admin/facts/bpu_iuran_jkm", "versi": "/admin/versions",
             "audit": "/admin/audit", "pengguna": "/admin/users"}
    for name, path in pages.items():
        await page.goto(server + path)
        await expect(page.locator("main h1")).to_be_visible()
        problems += await phone_problems(page, name)
    assert problems == [], "\n".join(problems)
    await page.goto(f"{server}/admin/facts")
    await expect(page.locator("main")).to_contain_text("Iuran JKM BPU tetap Rp6.800")
    await expect(page.locator("main")).to_contain_text("keyakinan tinggi")
    await page.close()


TG_SECRET = "s3cret-token_for-e2e"
TG_UPDATE = json.loads((PROJECT_ROOT / "tests" / "data" / "telegram" / "text.json")
                       .read_text(encoding="utf-8"))
TG_CHAT = str(TG_UPDATE["message"]["chat"]["id"])


async def telegram_says(base: str, update_id: int, text: str, chat: int | None = None) -> None:
    """The worker writes on Telegram: the update as the Bot API posts it to our webhook."""
    message = {**TG_UPDATE["message"], "text": text}
    if chat is not None:  # another worker
        message = {**message, "chat": {**message["chat"], "id": chat},
                   "from": {**message["from"], "id": chat}}
    update = {**TG_UPDATE, "update_id": update_id, "message": message}
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.post(f"{base}/webhooks/telegram", json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
        response.raise_for_status()


async def test_staff_take_over_a_telegram_conversation_and_follow_a_lead(
        browser: Browser, redis_url: str, prefix: str, model_blob: bytes,
        trained_model: NLU, tmp_path: Path) -> None:
    async with BotApiStandIn() as bot_api:
        env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": bot_api.base_url,
               "TELEGRAM_WEBHOOK_SECRET": TG_SECRET}
        with ExitStack() as stack:  # `serve` blocks while it starts: not in this event loop
            server = await asyncio.to_thread(stack.enter_context, serve(
                redis_url, prefix, model_blob, trained_model.fingerprint,
                tmp_path / "serve.log", env))
            try:
                await handoff_walk_through(server, bot_api, browser)
            finally:
                await asyncio.to_thread(stack.close)


async def handoff_walk_through(server: str, bot_api: BotApiStandIn, browser: Browser) -> None:
    sent = bot_api.recorder
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await log_in(page, server, "budi")
    menu = page.get_by_role("navigation", name="Menu utama")
    for label in ("Dasbor", "Percakapan", "Kotak masuk", "Prospek", "Kampanye"):
        link = menu.get_by_role("link", name=re.compile(label))
        await expect(link).to_be_in_viewport()  # every menu item in sight on a phone
        box = await link.bounding_box()
        assert box is not None
        assert box["height"] >= 44
    await menu.get_by_role("link", name=re.compile("Percakapan")).click()
    await expect(page.locator("tbody")).to_contain_text("Tidak ada percakapan menunggu")

    # The worker asks while staff look at the empty queue: it shows up without a reload.
    await telegram_says(server, 900001, "mau bicara dengan petugas")
    await telegram_says(server, 900002, "/setuju")
    queued = await sent.wait_for("sendMessage", 2)
    assert "diteruskan ke petugas" in queued[1].params["text"]
    await expect(page.get_by_role("link", name=re.compile("#1 Buka"))).to_be_visible(
        timeout=20_000)
    await expect(menu.locator(".badge")).to_have_text("1")  # a new handoff waits
    await screenshot(page, "percakapan")
    # The queue by branch: the worker gave no area, so the default branch has it.
    await page.select_option("#cabang", "Kantor Cabang Malang")
    await page.get_by_role("button", name="Tampilkan").click()
    await expect(page.locator("tbody")).to_contain_text("Tidak ada percakapan menunggu di "
                                                        "Kantor Cabang Malang")
    await page.select_option("#cabang", "Kantor Wilayah Jawa Timur")
    await page.get_by_role("button", name="Tampilkan").click()
    await page.get_by_role("link", name=re.compile("#1 Buka")).click()
    await expect(page.locator(".msg.pekerja").first).to_contain_text("mau bicara dengan petugas")
    await page.get_by_role("button", name="Ambil percakapan").click()
    await expect(page.locator(".notice.ok")).to_contain_text("Percakapan Anda ambil")
    await page.fill("#text", "Halo Bu Siti, saya Budi dari kantor cabang. Ada yang bisa dibantu?")
    await page.get_by_role("button", name="Kirim balasan").click()
    await expect(page.locator(".notice.ok")).to_contain_text("Balasan terkirim")
    delivered = await sent.wait_for("sendMessage", 3)
    assert delivered[2].params["chat_id"] == TG_CHAT
    assert delivered[2].params["text"].startswith("Halo Bu Siti, saya Budi")

    # While staff hold it the bot stays silent: the message reaches the console, nothing goes out.
    # The page follows the conversation by itself: the worker's message shows without a reload.
    await telegram_says(server, 900003, "klaim JHT saya belum cair pak")
    await expect(page.locator(".msg.pekerja").last).to_contain_text("belum cair", timeout=20_000)
    assert len(sent.of("sendMessage")) == 3
    await screenshot(page, "percakapan-detail")
    await page.set_viewport_size({"width": 1366, "height": 900})
    await screenshot(page, "percakapan-detail")
    await page.get_by_role("button", name="Selesai, kembalikan ke bot").click()
    await expect(page.locator(".notice.ok")).to_contain_text("kembali ke bot")
    told = await sent.wait_for("sendMessage", 4)
    assert "sudah selesai" in told[3].params["text"]
    await telegram_says(server, 900004, "brp iuran bpjs tk buat ojol")
    answered = await sent.wait_for("sendMessage", 5)
    assert "Rp" in answered[4].params["text"]  # the bot answers again
    await page.goto(f"{server}/admin/percakapan?status=closed")
    await screenshot(page, "percakapan")

    # A lead goes from baru to terdaftar, and the dashboard's funnel counts it.
    for text in ["mau didata", "ya setuju", "Siti Aminah", "pedagang pasar",
                 "Kel. Ketabang, Kec. Genteng", "081234567890"]:
        await ask(server, text)
    await page.goto(f"{server}/admin/leads")
    await expect(page.locator("a[href='tel:+6281234567890']")).to_be_visible()
    await page.locator("[data-lead-status]").first.select_option("terdaftar")
    await page.get_by_role("button", name="Simpan").first.click()
    await expect(page.locator(".notice.ok")).to_contain_text("Tindak lanjut prospek tersimpan")
    await expect(page.locator(".follow-up small").first).to_contain_text("terdaftar · budi")
    await screenshot(page, "prospek")
    await page.goto(f"{server}/admin/")
    await expect(page.locator("#prospek-wilayah [data-area-registered]").first).to_have_text("1")
    await expect(page.locator("#tindak-lanjut")).to_contain_text("Terdaftar")  # no campaign: apart
    await screenshot(page, "dasbor")
    await page.set_viewport_size({"width": 390, "height": 844})
    for name, path in (("prospek", "/admin/leads"), ("dasbor", "/admin/")):
        await page.goto(server + path)
        await screenshot(page, name)

    # Another worker asks for a person while staff are on the dashboard: the badge shows it.
    await expect(menu.locator(".badge")).to_have_count(0)
    await telegram_says(server, 900005, "mau bicara dengan petugas", chat=5111222444)
    await telegram_says(server, 900006, "/setuju", chat=5111222444)
    await sent.wait_for("sendMessage", 7)
    await expect(menu.locator(".badge")).to_have_text("1", timeout=25_000)
    await page.close()
