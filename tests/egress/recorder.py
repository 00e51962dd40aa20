"""A loopback HTTP(S) proxy that records every request sent through it and refuses them all.

Processes under test get `HTTP_PROXY`/`HTTPS_PROXY` pointing here (with `NO_PROXY` for loopback), so any
attempt to reach the internet — telemetry, error reports, a model hub, a font — shows up in `attempts`
instead of leaving the machine.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class EgressRecorder:
    attempts: list[str] = field(default_factory=list)  # "CONNECT host:443", "GET http://host/path"
    _server: socketserver.ThreadingTCPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def environment(self) -> dict[str, str]:
        """Proxy variables that send everything but loopback traffic to this recorder."""
        return {
            "HTTP_PROXY": self.url,
            "HTTPS_PROXY": self.url,
            "http_proxy": self.url,
            "https_proxy": self.url,
            "NO_PROXY": "127.0.0.1,localhost,::1",
            "no_proxy": "127.0.0.1,localhost,::1",
        }

    def __enter__(self) -> EgressRecorder:
        recorder = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(8192).decode("latin-1").strip()
                if line:
                    method, _, rest = line.partition(" ")
                    with recorder._lock:
                        recorder.attempts.append(f"{method} {rest.rpartition(' ')[0] or rest}")
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
