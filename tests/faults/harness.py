"""Fault injection on a real stack: the bot service as a subprocess, its own PostgreSQL, a fake Bot API and a
fake Rasa, all on loopback.

A `Stack` runs the service (uvicorn, Telegram on, webhook mode) against a PostgreSQL instance the harness
starts itself (`initdb` into a temporary directory on a free port, as the `postgres` user when run as root),
the fake Telegram Bot API of the connector tests (with time-based 429/500 storms) and the fake Rasa of the
service tests (answering "jawaban: <text>"). A `Driver` plays Telegram: it posts the updates in order at a
steady rate and, like Telegram, keeps retrying an update the service did not acknowledge. `outcome` reads
what the fake Bot API received: every update answered exactly once, in order per chat, and when the last
answer came. Used by tests/faults and benchmarks/faults.py.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.gateway.gateway import SERVICE_UNAVAILABLE_REPLY
from tests.connectors.telegram import fake_bot_api
from tests.connectors.telegram.fake_bot_api import FakeBotApi
from tests.service import fake_rasa
from tests.service.fake_rasa import DEFAULT_TURN, FakeRasa, latest_message

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "fault-injection-webhook-secret-0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ANSWER_PREFIX = "jawaban: "
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- fakes ---------------------------------------------------------------------------------------------------


class EchoRasa(FakeRasa):
    """Answers every text with "jawaban: <text>", so each reply names the update it answers."""

    def turn(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.mode != "ok":
            return super().turn(body)
        sender, message = str(body.get("sender")), str(body.get("message"))
        with self._lock:
            self.webhook_calls.append(body)
        self.latest_messages[sender] = latest_message(message, DEFAULT_TURN, body.get("metadata") or {})
        return 200, [{"recipient_id": sender, "text": ANSWER_PREFIX + message}]


@dataclass(frozen=True)
class Storm:
    start: float  # monotonic
    end: float
    status: int
    retry_after: int | None = None


@dataclass(frozen=True)
class Sent:
    at: float  # monotonic
    chat_id: str
    text: str


class StormBotApi(FakeBotApi):
    """The fake Bot API, with sendMessage refused during storms (429 with retry_after, 500)."""

    def __init__(self) -> None:
        super().__init__()
        self.storms: list[Storm] = []
        self.sent: list[Sent] = []
        self.refused = 0

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage":
            now = time.monotonic()
            for storm in self.storms:
                if storm.start <= now < storm.end:
                    with self._changed:
                        self.refused += 1
                    return storm.status, _error_body(storm)
        status, body = super().handle(method, params)
        if method == "sendMessage" and status == 200:
            with self._changed:
                self.sent.append(Sent(time.monotonic(), str(params.get("chat_id")), str(params.get("text"))))
        return status, body


def _error_body(storm: Storm) -> dict[str, Any]:
    if storm.status == 429:
        return {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {storm.retry_after}",
            "parameters": {"retry_after": storm.retry_after},
        }
    return {"ok": False, "error_code": storm.status, "description": "Internal Server Error"}


@contextlib.contextmanager
def serving(fake: Any, handler: Any, name: str) -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(fake))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    fake.url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


# --- PostgreSQL ------------------------------------------------------------------------------------------------


class Postgres:
    """A PostgreSQL server of its own (initdb into a temporary directory), to crash and restart at will."""

    def __init__(self) -> None:
        bins = sorted(glob.glob(PG_BIN_GLOB))
        if not bins:
            raise RuntimeError(f"no PostgreSQL server binaries under {PG_BIN_GLOB}")
        self.bin = Path(bins[-1])
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="layanan-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self._user, "--"] if self._user else []
        return subprocess.run([*prefix, *command], check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> Postgres:
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chmod(self.root, 0o755)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def crash(self) -> None:
        """Stop at once, as a crash would (no shutdown checkpoint; connections are cut)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def scalar(url: str, query: str) -> Any:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar()
    finally:
        engine.dispose()


# --- the service -----------------------------------------------------------------------------------------------


class Service:
    """The bot service as a real process (uvicorn), to be killed with SIGKILL and started again."""

    def __init__(self, database_url: str, bot_api: FakeBotApi, rasa: FakeRasa, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "RASA_URL": rasa.url,
            "RASA_TIMEOUT_SECONDS": "5",
            "TELEGRAM_BOT_TOKEN": bot_api.token,
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TELEGRAM_API_BASE_URL": bot_api.url,
            "TELEGRAM_MODE": "webhook",
            "ATTACHMENTS_DIR": str(workdir / "attachments"),
            "LOG_LEVEL": "WARNING",
            "INBOUND_RATE_LIMIT": "1000",
            "NO_PROXY": "*",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.workdir / f"service-{self.starts}.log", "wb")  # noqa: SIM115 (the process owns it)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bot.api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"service exited with {self.process.returncode}; see {self.workdir}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=2, trust_env=False).status_code == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError("service not healthy in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no hand-back; claims stay as they were."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_text(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.workdir.glob("service-*.log"))
        )


# --- Telegram's side: updates and the webhook --------------------------------------------------------------


@dataclass(frozen=True)
class Update:
    update_id: int
    chat_id: int
    number: int  # position in its chat
    text: str

    def body(self) -> dict[str, Any]:
        return {
            "update_id": self.update_id,
            "message": {
                "message_id": 10_000 + self.update_id,
                "from": {"id": self.chat_id, "is_bot": False, "first_name": "Warga"},
                "chat": {"id": self.chat_id, "type": "private"},
                "date": int(time.time()),
                "text": self.text,
            },
        }


def make_updates(count: int, chats: int, first_id: int = 1, tag: str = "pesan") -> list[Update]:
    """`count` updates spread round-robin over `chats` chats (each text names its chat and position)."""
    updates = []
    for index in range(count):
        chat = 5_550_000 + index % chats
        number = index // chats
        updates.append(Update(first_id + index, chat, number, f"{tag} {chat}-{number}"))
    return updates


@dataclass
class Driver:
    """Posts updates to the webhook in order at `rate` per second; an update the service does not
    acknowledge (down, 5xx) is posted again every `retry_seconds`, before the ones after it (as Telegram)."""

    service: Service
    updates: list[Update]
    rate: float
    retry_seconds: float = 0.5
    posted_at: dict[int, float] = field(default_factory=dict)
    redeliveries: int = 0
    started_at: float = 0.0
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Driver:
        self._thread = threading.Thread(target=self._run, name="telegram-driver", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("updates still not acknowledged")

    def stop(self) -> None:
        self._stop.set()

    def due_by(self, moment: float) -> list[Update]:
        """The updates Telegram had for the service by `moment` (the backlog of a fault ending then)."""
        return [u for i, u in enumerate(self.updates) if self.started_at + i / self.rate <= moment]

    def _run(self) -> None:
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            start = self.started_at = time.monotonic()
            for index, update in enumerate(self.updates):
                due = start + index / self.rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                while not self._stop.is_set():
                    try:
                        response = client.post(
                            self.service.url + "/webhooks/telegram",
                            json=update.body(),
                            headers={SECRET_HEADER: WEBHOOK_SECRET},
                        )
                        if response.status_code == 200:
                            self.posted_at[update.update_id] = time.monotonic()
                            break
                    except httpx.HTTPError:
                        pass
                    self.redeliveries += 1
                    time.sleep(self.retry_seconds)


# --- what the citizens got -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    updates: int
    answered: int  # updates with at least one answer
    duplicates: int  # answers beyond the first
    lost: int
    out_of_order: int  # chats whose answers came in another order than their updates
    apologies: int
    last_answer_at: float | None

    def recovery_after(self, moment: float) -> float | None:
        return None if self.last_answer_at is None else max(self.last_answer_at - moment, 0.0)


def outcome(bot_api: StormBotApi, updates: list[Update]) -> Outcome:
    with bot_api._changed:
        sent = list(bot_api.sent)
    answers: dict[str, list[Sent]] = {}
    apologies = 0
    for item in sent:
        if item.text.startswith(ANSWER_PREFIX):
            answers.setdefault(item.text[len(ANSWER_PREFIX) :], []).append(item)
        elif item.text == SERVICE_UNAVAILABLE_REPLY:
            apologies += 1
    answered = sum(1 for update in updates if update.text in answers)
    duplicates = sum(len(answers.get(update.text, [])) - 1 for update in updates if update.text in answers)
    out_of_order = 0
    for chat in {update.chat_id for update in updates}:
        expected = [u.text for u in updates if u.chat_id == chat]
        got = [item.text[len(ANSWER_PREFIX) :] for item in sent if item.chat_id == str(chat)]
        firsts = list(dict.fromkeys(text for text in got if text in expected))
        if firsts != [text for text in expected if text in firsts]:
            out_of_order += 1
    wanted = {update.text for update in updates}
    times = [item.at for text, items in answers.items() if text in wanted for item in items]
    return Outcome(
        updates=len(updates),
        answered=answered,
        duplicates=duplicates,
        lost=len(updates) - answered,
        out_of_order=out_of_order,
        apologies=apologies,
        last_answer_at=max(times) if times else None,
    )


def all_answered_at(bot_api: StormBotApi, updates: list[Update]) -> float | None:
    """When the last of `updates` got its (first) answer; None if one has none."""
    with bot_api._changed:
        sent = list(bot_api.sent)
    first: dict[str, float] = {}
    for item in sent:
        if item.text.startswith(ANSWER_PREFIX):
            first.setdefault(item.text[len(ANSWER_PREFIX) :], item.at)
    times = [first.get(update.text) for update in updates]
    return (
        None if any(at is None for at in times) else max((at for at in times if at is not None), default=None)
    )


def wait_answered(bot_api: StormBotApi, updates: list[Update], timeout: float) -> Outcome:
    """Wait until every update has an answer (or `timeout`), then a moment more to catch duplicates."""
    deadline = time.monotonic() + timeout
    result = outcome(bot_api, updates)
    while result.lost and time.monotonic() < deadline:
        time.sleep(0.25)
        result = outcome(bot_api, updates)
    time.sleep(1.5)
    return outcome(bot_api, updates)


@dataclass
class Stack:
    """Fakes, a migrated database on the harness's PostgreSQL, and the service process."""

    postgres: Postgres
    workdir: Path
    database: str
    bot_api: StormBotApi = field(default_factory=StormBotApi)
    rasa: EchoRasa = field(default_factory=EchoRasa)
    service: Service | None = None
    database_url: str = ""
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> Stack:
        from bot import migrations

        self._stack.enter_context(serving(self.bot_api, fake_bot_api._handler, "fake-bot-api"))
        self._stack.enter_context(serving(self.rasa, fake_rasa._handler, "fake-rasa"))
        self.database_url = self.postgres.create_database(self.database)
        migrations.upgrade(self.database_url)
        self.service = Service(self.database_url, self.bot_api, self.rasa, self.workdir)
        self.service.start()
        self.service.wait_ready()
        return self

    def __exit__(self, *_: object) -> None:
        if self.service is not None:
            self.service.stop()
        self._stack.close()

    def count(self, query: str) -> int:
        return int(scalar(self.database_url, query) or 0)
