"""A real HTTP server that receives webhooks in tests, the way a client's receiver would.

Each test registers a path with a behaviour (``Script``), then reads back what arrived there.
It listens on 127.0.0.2: loopback, so it never leaves the machine, but not 127.0.0.1, so the
service under test can allow exactly this address while 127.0.0.1 stays forbidden (SSRF tests).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.2"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Script:
    """What the receiver answers on one path: ``fail_first`` answers of ``fail_status`` (or, with
    ``hang``, no answer at all for ``hang_seconds``), then ``status``."""

    status: int = 200
    fail_first: int = 0
    fail_status: int = 503
    hang: bool = False
    hang_seconds: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)
    calls: int = 0


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripts: dict[str, Script] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.server = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, script: Script | None = None, host: str = HOST) -> str:
        """A fresh path on this receiver that answers as ``script`` says."""
        path = f"/hooks/{secrets.token_hex(6)}"
        self.scripts[path] = script or Script()
        return f"http://{host}:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def requests(self, url: str) -> list[Received]:
        path = "/" + url.split("/", 3)[3]
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, url: str, count: int = 1, timeout: float = 180.0) -> list[Received]:
        """The requests that arrived at ``url`` once there are ``count`` of them. Deliveries follow
        jobs and retries in other processes, so the deadline is generous: it only bounds failure."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests(url)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise TimeoutError(f"{url} received {len(self.requests(url))} requests, expected {count}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body, time.time()))
                    script = receiver.scripts.get(self.path, Script(status=404))
                    script.calls += 1
                    failing = script.calls <= script.fail_first
                if failing and script.hang:
                    receiver._stopping.wait(script.hang_seconds)
                    return
                self.send_response(script.fail_status if failing else script.status)
                for name, value in script.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        return Handler
