"""A fake Telegram Bot API: a real HTTP server on 127.0.0.1, in a background thread.

It answers like the Bot API (`{"ok": true, "result": ...}` / `{"ok": false, "error_code": ...}`):
`POST /bot<token>/<method>` with form-encoded, multipart or JSON parameters for getMe, sendMessage,
sendPhoto, answerCallbackQuery, getFile, setWebhook, deleteWebhook, setMyCommands and getUpdates (a long
poll over queued updates), and `GET /file/bot<token>/<path>` serving registered file bytes.

Every call is recorded. `fail(method, ...)` makes the next calls of a method fail (429 with `retry_after`,
403 blocked, 400, 500) or `hang` (for timeouts).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOKEN = "123456:TEST-token_for-the-fake"
BOT_ID = 7000000001
LONG_POLL_LIMIT_SECONDS = 10.0


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    hang_seconds: float = 0.0
    after: int = 0  # calls of the method that succeed before this failure


@dataclass
class StoredFile:
    file_id: str
    path: str
    content: bytes


@dataclass
class FakeBotApi:
    token: str = TOKEN
    url: str = ""  # base URL, the value of TELEGRAM_API_BASE_URL
    calls: list[Call] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    file_downloads: list[str] = field(default_factory=list)
    hide_file_sizes: bool = False  # getFile without file_size, to test the streaming size cap
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _changed: threading.Condition = field(default_factory=threading.Condition)

    # --- test control ---

    def reset(self) -> None:
        with self._changed:
            self.calls.clear()
            self.files.clear()
            self.updates.clear()
            self.webhook.clear()
            self.file_downloads.clear()
            self._failures.clear()
            self.hide_file_sizes = False
            self._changed.notify_all()

    def fail(
        self,
        method: str,
        error_code: int = 429,
        description: str = "Too Many Requests: retry after 1",
        retry_after: int | None = None,
        times: int = 1,
        hang_seconds: float = 0.0,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` fail (after `after` calls that succeed)."""
        body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        with self._changed:
            self._failures.setdefault(method, []).extend(
                Failure(error_code, body, hang_seconds, after if i == 0 else 0) for i in range(times)
            )

    def add_file(self, file_id: str, content: bytes, path: str | None = None) -> None:
        self.files[file_id] = StoredFile(file_id, path or f"photos/{file_id}.jpg", content)

    def push_update(self, update: dict[str, Any]) -> None:
        with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def calls_of(self, method: str) -> list[Call]:
        with self._changed:
            return [call for call in self.calls if call.method == method]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        return [
            str(call.params.get("text", ""))
            for call in self.calls_of("sendMessage")
            if chat_id is None or str(call.params.get("chat_id")) == str(chat_id)
        ]

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> Any:
        """Waits until `predicate(self)` is truthy (a send may come from a background worker)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"condition not met in {timeout} s; calls: {self.calls!r}")
                self._changed.wait(remaining)

    # --- Bot API ---

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._changed:
            self.calls.append(Call(method, params))
            self._changed.notify_all()
            failures = self._failures.get(method)
            failure = None
            if failures and failures[0].after > 0:
                failures[0].after -= 1
            elif failures:
                failure = failures.pop(0)
        if failure is not None:
            if failure.hang_seconds:
                time.sleep(failure.hang_seconds)
            return failure.status, failure.body
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        result = handler(params)
        if isinstance(result, tuple):
            return result
        return 200, {"ok": True, "result": result}

    def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Layanan Pengaduan", "username": "pengaduan_bot"}

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        return {
            "message_id": next(self._message_ids),
            "from": self._api_getMe(params),
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            **content,
        }

    def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text.strip():
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return 400, {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: BUTTON_DATA_INVALID",
                    }
        return self._message(params, text=text)

    def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        size = {"file_id": "sent-photo", "file_unique_id": "sent", "width": 1, "height": 1}
        return self._message(params, photo=[size])

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    def _api_getFile(self, params: dict[str, Any]) -> Any:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
        answer: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": f"u-{stored.file_id}",
            "file_path": stored.path,
        }
        if not self.hide_file_sizes:
            answer["file_size"] = len(stored.content)
        return answer

    def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook.clear()
        self.webhook.update(params)
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook.clear()
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook.get("url"):
            return 409, {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: can't use getUpdates method while webhook is active",
            }
        offset = int(params.get("offset", 0))
        timeout = min(float(params.get("timeout", 0)), LONG_POLL_LIMIT_SECONDS)
        deadline = time.monotonic() + timeout
        with self._changed:
            # Like Telegram: asking from `offset` confirms (forgets) every earlier update.
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                pending = list(self.updates)
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0:
                    return pending
                self._changed.wait(remaining)

    def file_content(self, path: str) -> bytes | None:
        with self._changed:
            self.file_downloads.append(path)
            self._changed.notify_all()
        return next((f.content for f in self.files.values() if f.path == path), None)


def _parse_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query))
    if content_type.startswith("application/json") and body:
        params.update(json.loads(body))
        return params
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                params[str(name)] = part.get_content()
    elif body:
        params.update(parse_qsl(body.decode()))
    # PTB sends structured parameters (reply_markup, allowed_updates, commands) as JSON strings.
    for key, value in list(params.items()):
        if isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _handler(fake: FakeBotApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a long poll cancelled on shutdown, a timeout test)

        def _split(self) -> tuple[str, str, str] | None:
            url = urlsplit(self.path)
            for prefix in ("/file/bot", "/bot"):
                if url.path.startswith(prefix):
                    token, _, rest = url.path[len(prefix) :].partition("/")
                    return prefix, token, rest
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = self._split()
            if parts is None or parts[0] != "/bot":
                self._reply(404, b'{"ok": false, "error_code": 404, "description": "Not Found"}')
                return
            _, token, method = parts
            if token != fake.token:
                self._reply(401, b'{"ok": false, "error_code": 401, "description": "Unauthorized"}')
                return
            params = _parse_params(self.headers.get("Content-Type", ""), body, urlsplit(self.path).query)
            status, answer = fake.handle(method, params)
            self._reply(status, json.dumps(answer).encode())

        do_GET_api = do_POST

        def do_GET(self) -> None:
            parts = self._split()
            if parts is not None and parts[0] == "/bot":
                self.do_GET_api()
                return
            if parts is None or parts[1] != fake.token:
                self._reply(404, b"Not Found", "text/plain")
                return
            content = fake.file_content(parts[2])
            if content is None:
                self._reply(404, b"Not Found", "text/plain")
                return
            self._reply(200, content, "application/octet-stream")

    return Handler


class FakeBotApiServer:
    """Runs a FakeBotApi on a free loopback port in a background thread."""

    def __init__(self, token: str = TOKEN) -> None:
        self.fake = FakeBotApi(token=token)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.fake.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True)

    def __enter__(self) -> FakeBotApi:
        self._thread.start()
        return self.fake

    def __exit__(self, *_: object) -> None:
        with self.fake._changed:
            self.fake.updates.clear()
            self.fake._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
