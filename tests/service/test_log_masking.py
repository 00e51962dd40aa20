"""Personal data never reaches a log line in clear: real code paths (httpx, uvicorn's access log, the CLI)
log through the masking the entry points install; citizens appear as keyed hashes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from bot import cli
from bot.api.app import create_app
from bot.log_masking import mask_log_text, sender_label, sender_tag
from bot.settings import Settings, get_settings
from tests.service.fake_rasa import FakeRasa

PHONE = "6281234567890"
NIK = "3201010101900001"
HASH_KEY = "Tz8Yb2Nq5Wc1Xm7Lr4Vk0Hs9Pd3Jf6Gg_Ae-Ui"
TOKEN = "Xq3v9Zr1Lk8Tn2Wb7Yc5Hd4Jf6Mg0Ps-Qa_Re"


def service_settings(database_url: str, tmp_path: Path, **extra: str) -> Settings:
    values = {"service_token": TOKEN, "log_hash_key": HASH_KEY, "attachments_dir": str(tmp_path / "a")}
    return Settings(_env_file=None, database_url=database_url, **(values | extra))


def test_text_masking_covers_every_shape_of_personal_data() -> None:
    line = (
        f"GET /conversations/whatsapp:{PHONE}/tracker, whatsapp%3A{PHONE}, telegram:123456789, "
        f"/api/v1/reporters/web/abc-123/tickets?x=1, /api/v1/chat/abc-123/updates, ?channel=web&sender_id=abc-123, "
        f"NIK {NIK} / 3201 0101 0190 0001, hp +62 812-3456-7890 atau 0812 3456 7890, budi.santoso@mail.com"
    )
    masked = mask_log_text(line)
    for clear in (PHONE, "123456789", "abc-123", NIK, "3201 0101", "3456-7890", "3456 7890", "budi.santoso"):
        assert clear not in masked
    assert masked.count(sender_tag(PHONE)) == 2  # the same citizen is recognisable in both forms
    assert masked.count(sender_tag("abc-123")) == 3
    assert f"telegram:{sender_tag('123456789')}" in masked
    assert "whatsapp:%s" in mask_log_text("from whatsapp:%s")  # a format string keeps its placeholders


async def test_httpx_request_lines_name_the_sender_by_its_hash(
    fresh_log_masking: None,
    sqlite_url: str,
    tmp_path: Path,
    fake_rasa: FakeRasa,
    caplog: pytest.LogCaptureFixture,
) -> None:
    create_app(service_settings(sqlite_url, tmp_path))  # installs the masking with LOG_HASH_KEY
    caplog.set_level(logging.INFO, logger="httpx")
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(f"{fake_rasa.url}/conversations/whatsapp:{PHONE}/tracker")
    assert response.status_code < 500
    request_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(request_lines) == 1
    assert PHONE not in caplog.text
    assert f"/conversations/{sender_label('whatsapp', PHONE)}/tracker" in request_lines[0]


def test_the_sender_hash_is_keyed_by_log_hash_key(
    fresh_log_masking: None, sqlite_url: str, tmp_path: Path
) -> None:
    create_app(service_settings(sqlite_url, tmp_path))
    first = sender_tag(PHONE)
    create_app(service_settings(sqlite_url, tmp_path, log_hash_key="another-" + HASH_KEY))
    assert sender_tag(PHONE) != first
    assert len(first) == 13 and first.startswith("~")


@pytest.fixture
def uvicorn_logging() -> Iterator[None]:
    """uvicorn's own logging configuration for the test; the loggers are given back as they were."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    before = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in names
    }
    yield
    for name, (handlers, propagate) in before.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def test_uvicorn_access_log_hides_sender_ids(
    fresh_log_masking: None,
    uvicorn_logging: None,
    sqlite_url: str,
    tmp_path: Path,
    fake_rasa: FakeRasa,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The access log as `bot serve` writes it: uvicorn's default configuration (its own handler on
    uvicorn.access, which does not propagate to the root) and the app built by create_app."""
    app = create_app(service_settings(sqlite_url, tmp_path, rasa_url=fake_rasa.url))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=LOGGING_CONFIG, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, trust_env=False) as client:
            lookup = client.get(
                "/api/v1/tickets/ADU-23456789", params={"channel": "whatsapp", "sender_id": PHONE}
            )
            listing = client.get(f"/api/v1/reporters/whatsapp/{PHONE}/tickets")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert (lookup.status_code, listing.status_code) == (404, 200)
    output = capfd.readouterr()
    access = [line for line in (output.out + output.err).splitlines() if "/api/v1/" in line]
    assert len(access) == 2, output
    assert PHONE not in output.out + output.err
    tag = sender_tag(PHONE)
    assert f"sender_id={tag}" in access[0] and " 404" in access[0]
    assert f"/api/v1/reporters/whatsapp/{tag}/tickets" in access[1] and " 200" in access[1]


def test_the_cli_masks_its_log_lines(
    fresh_log_masking: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LOG_HASH_KEY", HASH_KEY)
    get_settings.cache_clear()
    try:
        assert cli.main(["db", "upgrade"]) == 0
    finally:
        get_settings.cache_clear()
    logging.getLogger("bot.cli").warning("reply to telegram:%s failed (NIK %s)", "123456789", NIK)
    assert "123456789" not in caplog.text and NIK not in caplog.text
    assert sender_label("telegram", "123456789") in caplog.text
