"""A fake WhatsApp Cloud (Graph) API: a real HTTP server on 127.0.0.1, in a background thread.

It answers like the Cloud API, under a version prefix (`WHATSAPP_API_BASE_URL` = `http://127.0.0.1:<port>/v21.0`):
- `POST /{phone-number-id}/messages`: records the message and answers `{"messages": [{"id": "wamid.…"}]}`;
  a `{"status": "read", "message_id": …}` body is recorded as a read receipt (`{"success": true}`). Messages
  breaking the Cloud API's limits (text 4,096; interactive body 1,024; 1–3 buttons with unique titles of
  ≤ 20 characters and ids ≤ 256; ≤ 10 list rows with titles ≤ 24, descriptions ≤ 72, ids ≤ 200; a list
  button label ≤ 20) are refused with error 131009, as the real API does; a `template` message needs a name
  from `templates` (else 132001), its language code, and body parameters of 1-1,024 characters without line
  breaks, tabs or more than 4 spaces in a row (else 132018);
- `GET /{media-id}`: the media's info (`url`, `mime_type`, hex `sha256`, `file_size`);
- `GET /media-files/{media-id}`: the bytes, only with the bearer token.
Every call needs `Authorization: Bearer <token>` (else 401, error 190). `fail(code)` makes the next sends
fail with a Cloud API error (131047, 130429, 131056, 500 ...).

Also here: builders of webhook bodies in the Cloud API's shape, and `signed` / `post_webhook` to sign a body
with the app secret (`X-Hub-Signature-256`) and POST it to the service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

TOKEN = "EAAG-fake-access-token-0123456789"
PHONE_NUMBER_ID = "1122334455667"
DISPLAY_PHONE_NUMBER = "6281100001111"
APP_SECRET = "fake-app-secret-0123456789abcdef"
VERIFY_TOKEN = "fake-verify-token-42"
API_VERSION = "v21.0"

# Error responses of the Cloud API, by code: (HTTP status, title).
ERRORS: dict[int, tuple[int, str]] = {
    131047: (400, "Re-engagement message"),
    130429: (400, "Rate limit hit"),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit"),
    131009: (400, "Parameter value is not valid"),
    132001: (404, "Template name does not exist in the translation"),
    132018: (400, "There was an issue with the parameters in your template"),
    131026: (400, "Message Undeliverable"),
    100: (400, "Invalid parameter"),
    190: (401, "Invalid OAuth access token"),
    131000: (500, "Something went wrong"),
    500: (500, "Internal server error"),
}


@dataclass(frozen=True)
class Sent:
    """One message the connector sent."""

    to: str
    body: dict[str, Any]
    wamid: str

    @property
    def type(self) -> str:
        return str(self.body.get("type"))

    @property
    def text(self) -> str:
        """What the citizen reads: the text, or the body of an interactive message."""
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if self.type == "template":
            return " ".join(self.template_parameters)
        return ""

    @property
    def template_parameters(self) -> list[str]:
        """The texts of a template message's body parameters."""
        if self.type != "template":
            return []
        components = self.body["template"].get("components", [])
        body = next((c for c in components if c.get("type") == "body"), {})
        return [str(p.get("text")) for p in body.get("parameters", [])]

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(title, id) of the reply buttons or list rows."""
        if self.type != "interactive":
            return []
        interactive = self.body["interactive"]
        action = interactive.get("action", {})
        if interactive["type"] == "button":
            return [(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
        if interactive["type"] == "list":
            return [(r["title"], r["id"]) for s in action["sections"] for r in s["rows"]]
        return []

    @property
    def interactive_type(self) -> str | None:
        return str(self.body["interactive"]["type"]) if self.type == "interactive" else None


@dataclass
class Failure:
    code: int
    retry_after: str | None = None
    after: int = 0  # sends that succeed before this failure


@dataclass
class StoredMedia:
    content: bytes
    mime_type: str


@dataclass
class FakeGraphApi:
    token: str = TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    url: str = ""  # the value of WHATSAPP_API_BASE_URL
    sent: list[Sent] = field(default_factory=list)
    read_receipts: list[str] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # sends the fake answered with an error
    media: dict[str, StoredMedia] = field(default_factory=dict)
    # Approved message templates: name -> language codes it is approved in.
    templates: dict[str, set[str]] = field(default_factory=lambda: {"pemberitahuan_layanan": {"id"}})
    media_downloads: list[str] = field(default_factory=list)
    unauthorized: int = 0
    retry_after_header: str | None = None  # of the send being answered (sends run under `lock`)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one send at a time
    _failures: list[Failure] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: threading.Condition = field(default_factory=threading.Condition)

    # --- test control ---

    def reset(self) -> None:
        with self._changed:
            self.sent.clear()
            self.read_receipts.clear()
            self.refused.clear()
            self.media.clear()
            self.media_downloads.clear()
            self.unauthorized = 0
            self._failures.clear()
            self.templates = {"pemberitahuan_layanan": {"id"}}
            self._ids = itertools.count(1)  # the first message after a reset is wamid.FAKE000001
            self._changed.notify_all()

    def fail(self, code: int, times: int = 1, retry_after: str | None = None, after: int = 0) -> None:
        """The next `times` sends (after `after` that succeed) fail with Cloud API error `code`;
        `retry_after`: the value of a Retry-After header sent with the error."""
        with self._changed:
            self._failures.extend(Failure(code, retry_after, after if i == 0 else 0) for i in range(times))

    def add_media(self, media_id: str, content: bytes, mime_type: str = "image/jpeg") -> str:
        """Registers a file; returns its SHA-256 as a webhook announces it (base64)."""
        self.media[media_id] = StoredMedia(content, mime_type)
        return base64.b64encode(hashlib.sha256(content).digest()).decode()

    def sent_to(self, to: str) -> list[Sent]:
        with self._changed:
            return [message for message in self.sent if message.to == to]

    def wait_for(self, predicate: Callable[[FakeGraphApi], Any], timeout: float = 30.0) -> Any:
        """Waits until `predicate(self)` is truthy (sends come from the service's background workers)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"condition not met in {timeout} s; sent: {self.sent!r}")
                self._changed.wait(remaining)

    # --- Graph API ---

    def authorized(self, header: str | None) -> bool:
        ok = header == f"Bearer {self.token}"
        if not ok:
            with self._changed:
                self.unauthorized += 1
        return ok

    def post_message(self, phone_number_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if phone_number_id != self.phone_number_id:
            return error(100, "Unsupported post request: unknown phone number id")
        if body.get("messaging_product") != "whatsapp":
            return error(100, "messaging_product must be whatsapp")
        self.retry_after_header = None
        if body.get("status") == "read":
            with self._changed:
                self.read_receipts.append(str(body.get("message_id")))
                self._changed.notify_all()
            return 200, {"success": True}
        failure = None
        with self._changed:
            if self._failures and self._failures[0].after > 0:
                self._failures[0].after -= 1
            elif self._failures:
                failure = self._failures.pop(0)
        problem = limit_violation(body)
        template_error = self.template_error(body)
        if template_error is not None and failure is None and problem is None:
            with self._changed:
                self.refused.append(body)
                self._changed.notify_all()
            return error(*template_error)
        if failure is not None or problem is not None:
            with self._changed:
                self.refused.append(body)
                self._changed.notify_all()
            if failure is not None:
                self.retry_after_header = failure.retry_after
                return error(failure.code)
            return error(131009, problem)
        to = str(body.get("to"))
        wamid = wamid_number(next(self._ids))
        with self._changed:
            self.sent.append(Sent(to, body, wamid))
            self._changed.notify_all()
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        }

    def template_error(self, body: dict[str, Any]) -> tuple[int, str] | None:
        """Why a template message would be refused (error code, details), or None."""
        if body.get("type") != "template":
            return None
        template = body.get("template", {})
        name, language = template.get("name"), template.get("language", {}).get("code")
        if language not in self.templates.get(str(name), set()):
            return 132001, f"template {name!r} not approved in {language!r}"
        for component in template.get("components", []):
            for parameter in component.get("parameters", []):
                text = str(parameter.get("text", ""))
                if not 0 < len(text) <= 1024 or "\n" in text or "\t" in text or "     " in text:
                    return (
                        132018,
                        "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
                    )
        return None

    def media_info(self, media_id: str) -> tuple[int, dict[str, Any]]:
        stored = self.media.get(media_id)
        if stored is None:
            return error(100, "Unsupported get request: unknown media id")
        return 200, {
            "messaging_product": "whatsapp",
            "url": f"{self.url}/media-files/{media_id}",
            "mime_type": stored.mime_type,
            "sha256": hashlib.sha256(stored.content).hexdigest(),
            "file_size": str(len(stored.content)),
            "id": media_id,
        }

    def media_content(self, media_id: str) -> bytes | None:
        with self._changed:
            self.media_downloads.append(media_id)
            self._changed.notify_all()
        stored = self.media.get(media_id)
        return stored.content if stored else None


def wamid_number(n: int) -> str:
    """The wamid the fake gives the n-th message it accepts after a reset."""
    return f"wamid.FAKE{n:06d}"


def error(code: int, details: str | None = None) -> tuple[int, dict[str, Any]]:
    status, title = ERRORS.get(code, (400, "Error"))
    body: dict[str, Any] = {
        "error": {
            "message": f"({code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or title},
            "fbtrace_id": "AbCdEfGh",
        }
    }
    return status, body


def limit_violation(body: dict[str, Any]) -> str | None:
    """What breaks the Cloud API's limits in a message body, or None."""
    kind = body.get("type")
    if kind == "text":
        text = str(body.get("text", {}).get("body", ""))
        return None if 0 < len(text) <= 4096 else f"text of {len(text)} characters"
    if kind == "image":
        return None if body.get("image", {}).get("link") or body.get("image", {}).get("id") else "no image"
    if kind == "template":
        return None  # checked against the approved templates by FakeGraphApi.template_error
    if kind != "interactive":
        return f"unsupported type {kind!r}"
    interactive = body.get("interactive", {})
    text = str(interactive.get("body", {}).get("text", ""))
    if not 0 < len(text) <= 1024:
        return f"interactive body of {len(text)} characters"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = action.get("buttons", [])
        titles = [b["reply"]["title"] for b in buttons]
        ids = [b["reply"]["id"] for b in buttons]
        if not 1 <= len(buttons) <= 3:
            return f"{len(buttons)} buttons"
        if any(not 0 < len(t) <= 20 for t in titles) or len(set(titles)) != len(titles):
            return f"button titles {titles!r}"
        if any(not 0 < len(i) <= 256 for i in ids) or len(set(ids)) != len(ids):
            return "button ids"
        return None
    if interactive.get("type") == "list":
        rows = [row for section in action.get("sections", []) for row in section.get("rows", [])]
        if not 0 < len(str(action.get("button", ""))) <= 20:
            return "list button label"
        if not 1 <= len(rows) <= 10:
            return f"{len(rows)} rows"
        if any(not 0 < len(r["title"]) <= 24 or len(r.get("description", "")) > 72 for r in rows):
            return "row title or description"
        ids = [r["id"] for r in rows]
        if any(not 0 < len(i) <= 200 for i in ids) or len(set(ids)) != len(ids):
            return "row ids"
        return None
    if interactive.get("type") == "location_request_message":
        return None if action.get("name") == "send_location" else "location request action"
    return f"interactive type {interactive.get('type')!r}"


def _handler(fake: FakeGraphApi) -> type[BaseHTTPRequestHandler]:
    prefix = f"/{API_VERSION}/"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(
            self,
            status: int,
            body: Any,
            content_type: str = "application/json",
            retry_after: str | None = None,
        ) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(data)

        def _path(self) -> list[str] | None:
            path = urlsplit(self.path).path
            if not path.startswith(prefix):
                return None
            return [part for part in path[len(prefix) :].split("/") if part]

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = self._path()
            if not fake.authorized(self.headers.get("Authorization")):
                self._reply(*error(190))
                return
            if parts is None or len(parts) != 2 or parts[1] != "messages":
                self._reply(*error(100, "unknown path"))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._reply(*error(100, "body is not JSON"))
                return
            with fake.lock:
                status, answer = fake.post_message(parts[0], body if isinstance(body, dict) else {})
                retry_after = fake.retry_after_header
            self._reply(status, answer, retry_after=retry_after)

        def do_GET(self) -> None:
            parts = self._path()
            if not fake.authorized(self.headers.get("Authorization")):
                self._reply(*error(190))
                return
            if parts and len(parts) == 2 and parts[0] == "media-files":
                content = fake.media_content(parts[1])
                if content is None:
                    self._reply(404, b"Not Found", "text/plain")
                else:
                    self._reply(200, content, "application/octet-stream")
                return
            if parts is None or len(parts) != 1:
                self._reply(*error(100, "unknown path"))
                return
            self._reply(*fake.media_info(parts[0]))

    return Handler


class FakeGraphApiServer:
    """Runs a FakeGraphApi on a free loopback port in a background thread."""

    def __init__(self, token: str = TOKEN, phone_number_id: str = PHONE_NUMBER_ID) -> None:
        self.fake = FakeGraphApi(token=token, phone_number_id=phone_number_id)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.fake.url = f"http://{host!s}:{port}/{API_VERSION}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-graph-api", daemon=True)

    def __enter__(self) -> FakeGraphApi:
        self._thread.start()
        return self.fake

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- webhooks, as Meta sends them ---


def envelope(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    sender: str | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id},
    }
    if sender is not None:
        value["contacts"] = [{"profile": {"name": "Warga"}, "wa_id": sender}]
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def message(sender: str, wamid: str, kind: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
        **extra,
    }


def text_message(sender: str, wamid: str, text: str) -> dict[str, Any]:
    return message(sender, wamid, "text", {"body": text})


def reply_message(sender: str, wamid: str, sent: Sent, reply_id: str) -> dict[str, Any]:
    """The citizen tapping the button or list row `reply_id` of the bot message `sent`."""
    reply_type = "button_reply" if sent.interactive_type == "button" else "list_reply"
    title = next(title for title, id_ in sent.choices if id_ == reply_id)
    return message(
        sender,
        wamid,
        "interactive",
        {"type": reply_type, reply_type: {"id": reply_id, "title": title}},
        context={"from": DISPLAY_PHONE_NUMBER, "id": sent.wamid},
    )


def image_message(
    sender: str, wamid: str, media_id: str, sha256: str, caption: str | None = None
) -> dict[str, Any]:
    content = {"mime_type": "image/jpeg", "sha256": sha256, "id": media_id}
    if caption is not None:
        content["caption"] = caption
    return message(sender, wamid, "image", content)


def location_message(sender: str, wamid: str, latitude: float, longitude: float) -> dict[str, Any]:
    return message(sender, wamid, "location", {"latitude": latitude, "longitude": longitude})


def status(wamid: str, state: str, recipient: str, error_code: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if error_code is not None:
        item["errors"] = [{"code": error_code, "title": ERRORS.get(error_code, (400, "Error"))[1]}]
    return item


def signed(body: dict[str, Any] | bytes, app_secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """The raw bytes of a webhook body and the headers Meta sends with it (signature included)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    digest = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def post_webhook(
    service_url: str, body: dict[str, Any] | bytes, app_secret: str = APP_SECRET
) -> httpx.Response:
    """Signs `body` and POSTs it to the service's /webhooks/whatsapp, as Meta does."""
    raw, headers = signed(body, app_secret)
    return httpx.post(f"{service_url}/webhooks/whatsapp", content=raw, headers=headers, timeout=30)
