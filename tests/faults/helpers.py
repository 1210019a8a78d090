"""What every fault test checks, and the tools to check it.

During a fault the API may refuse work, but only in a way a client can act on: no 5xx other than
503, and a 503 carries ``Retry-After`` and OpenAI's error format. Liveness (``GET /healthz``)
answers within ``LIVENESS_BOUND`` all along. Every request gets an answer within a bound (a hung
dependency must not hang the client). Waits poll conditions with generous deadlines.
"""

from __future__ import annotations

import email.utils
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.faults.services import FaultStack, Row
from tests.stack import wait_until

T = TypeVar("T")

# Liveness must answer within this, whatever is down.
LIVENESS_BOUND = 1.0
# A request that depends on a server that is down or hung answers (maybe 503) within this.
DEGRADED_BOUND = 10.0
# How long jobs get to finish once the fault is over: "within seconds" on a loaded 2-core machine,
# far below REDISPATCH_AFTER_SECONDS (600), so only a prompt recovery passes.
RECOVERY_DEADLINE = 60.0
# Jobs queued behind others (several tiny renders one after the other) get this long.
BACKLOG_DEADLINE = 120.0


# --- answers --------------------------------------------------------------------------------------


def assert_error_format(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code", "request_id"}, body
    assert body["error"]["message"], body
    return body["error"]  # type: ignore[no-any-return]


def assert_unavailable(response: httpx.Response) -> None:
    """A 503 a client can act on: when to retry, and why, in the error format."""
    assert response.status_code == 503, f"{response.status_code}: {response.text[:500]}"
    retry_after = response.headers.get("retry-after")
    assert retry_after, f"503 without Retry-After: {response.headers}"
    assert retry_after.isdigit() or email.utils.parsedate_to_datetime(retry_after), retry_after
    assert_error_format(response)


def assert_acceptable(response: httpx.Response, what: str = "") -> None:
    """No 5xx but 503 (and that one well-formed)."""
    if response.status_code >= 500:
        assert response.status_code == 503, f"{what}: {response.status_code} {response.text[:500]}"
        assert_unavailable(response)


@dataclass
class Answer:
    """One request during a fault: what came back (or the error instead), and how long it took."""

    what: str
    seconds: float
    response: httpx.Response | None = None
    error: BaseException | None = None

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    def describe(self) -> str:
        if self.response is None:
            return f"{self.what}: no answer after {self.seconds:.1f}s ({self.error!r})"
        return f"{self.what}: {self.response.status_code} after {self.seconds:.1f}s {self.response.text[:300]}"


def timed(client: httpx.Client, method: str, url: str, what: str | None = None, **kwargs: Any) -> Answer:
    began = time.monotonic()
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        return Answer(what or f"{method} {url}", time.monotonic() - began, error=exc)
    return Answer(what or f"{method} {url}", time.monotonic() - began, response=response)


def assert_answered(answers: Iterable[Answer], within: float, statuses: Iterable[int] | None = None) -> list[Answer]:
    """Each request was answered within ``within`` seconds, acceptably, and (if given) with one of
    ``statuses`` (503s always allowed when ``statuses`` names 503)."""
    answers = list(answers)
    allowed = set(statuses) if statuses is not None else None
    problems = []
    for answer in answers:
        if answer.response is None or answer.seconds > within:
            problems.append(answer.describe())
            continue
        if answer.response.status_code >= 500 and answer.response.status_code != 503:
            problems.append(answer.describe())
        elif answer.response.status_code == 503:
            try:
                assert_unavailable(answer.response)
            except AssertionError as exc:
                problems.append(f"{answer.describe()}: {exc}")
        if allowed is not None and answer.response.status_code not in allowed:
            problems.append(answer.describe())
    assert not problems, f"{len(problems)} of {len(answers)} answers are wrong (bound {within}s):\n" + "\n".join(
        problems[:20]
    )
    return answers


def concurrently(calls: list[Callable[[], T]], workers: int | None = None) -> list[T]:
    """Run ``calls`` at once (one thread each unless ``workers`` says otherwise), in order."""
    with ThreadPoolExecutor(max_workers=workers or len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


# --- liveness -------------------------------------------------------------------------------------


@dataclass
class LivenessWatch:
    """Polls ``GET /healthz`` in the background while a fault lasts; ``assert_alive`` then checks
    that every probe answered 200 within ``LIVENESS_BOUND``."""

    root_url: str
    interval: float = 0.25
    samples: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LivenessWatch:
        self._thread = threading.Thread(target=self._run, name="liveness-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self) -> None:
        # A fresh connection per probe, as a load balancer's health check makes.
        while not self._stop.is_set():
            with httpx.Client(timeout=5 * LIVENESS_BOUND) as client:
                self.samples.append(timed(client, "GET", f"{self.root_url}/healthz", what="GET /healthz"))
            self._stop.wait(self.interval)

    def wait_samples(self, count: int) -> None:
        """Wait until ``count`` more probes have been made (a fault window measured in probes)."""
        target = len(self.samples) + count
        wait_until(lambda: len(self.samples) >= target, 60, interval=0.05, message=f"{count} liveness probes")

    def assert_alive(self) -> None:
        assert len(self.samples) >= 3, f"only {len(self.samples)} liveness probes were made"
        bad = [s for s in self.samples if s.status != 200 or s.seconds > LIVENESS_BOUND]
        assert not bad, (
            f"{len(bad)} of {len(self.samples)} liveness probes failed or took over {LIVENESS_BOUND}s:\n"
            + "\n".join(s.describe() for s in bad[:10])
        )


# --- jobs, as the database has them ---------------------------------------------------------------


def wait_rows(
    fault: FaultStack, ids: list[str], predicate: Callable[[Row], bool], timeout: float, what: str
) -> dict[str, Row]:
    """The jobs' rows once ``predicate`` holds for every one (polled in the database)."""
    last: dict[str, Row] = {}

    def check() -> dict[str, Row] | None:
        nonlocal last
        last = fault.rows(ids)
        return last if len(last) == len(ids) and all(predicate(r) for r in last.values()) else None

    try:
        return wait_until(check, timeout, interval=0.25, message=what)  # type: ignore[no-any-return]
    except TimeoutError as exc:
        states = {r.id: (r.status, r.attempts) for r in last.values()}
        raise AssertionError(f"{exc}; jobs (status, attempts): {states}") from None


def completed(row: Row) -> bool:
    return row.status == "completed"


def started(row: Row) -> bool:
    return row.started_at is not None or row.status in ("completed", "failed", "cancelled")


def assert_ran_once(rows: dict[str, Row]) -> None:
    """Every job completed on its first attempt: nothing was lost, nothing rendered twice."""
    wrong = {r.id: (r.status, r.attempts) for r in rows.values() if r.status != "completed" or r.attempts != 1}
    assert not wrong, f"jobs not completed exactly once (status, attempts): {wrong}"


# --- the API process ------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (VmRSS, in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Streamed:
    """What happened to a body streamed at the server."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    sent_bytes: int
    seconds: float
    stopped_because: str

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def stream_chunked_body(
    url: str,
    headers: dict[str, str],
    prefix: bytes,
    total_bytes: int,
    filler: bytes = b"a",
    chunk_bytes: int = 1 << 20,
    deadline: float = 60.0,
    abort: Callable[[int], str | None] | None = None,
) -> Streamed:
    """POST a body of ``total_bytes`` with ``Transfer-Encoding: chunked`` (no Content-Length, so
    the server cannot refuse it by its declared size), generated as it goes: ``prefix`` then
    ``filler`` repeated. Sending stops as soon as the server answers (the answer is then read), or
    when ``abort(sent_bytes)`` returns a reason (checked between chunks), or at ``deadline``.

    A raw socket rather than an HTTP client: clients send the whole body before they read, and a
    server that answers early and closes would look like a broken pipe instead of an answer.
    """
    parts = httpx.URL(url)
    host, port = parts.host, parts.port or 80
    began = time.monotonic()
    sock = socket.create_connection((host, port), timeout=10)
    try:
        head = [f"POST {parts.raw_path.decode()} HTTP/1.1", f"Host: {host}:{port}", "Transfer-Encoding: chunked"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.setblocking(False)
        filler_chunk = (filler * (chunk_bytes // len(filler) + 1))[:chunk_bytes]
        sent = 0
        pending = b""
        finished_sending = False
        reason = "the server answered"
        checks = 0
        while True:
            if time.monotonic() - began > deadline:
                reason = f"no answer within {deadline}s"
                break
            readable, writable, _ = select.select([sock], [] if finished_sending else [sock], [], 0.5)
            if readable:
                break
            if not writable:
                continue
            if not pending:
                if sent >= total_bytes:
                    pending = b"0\r\n\r\n"
                    finished_sending = True
                else:
                    data = prefix if sent == 0 else filler_chunk[: total_bytes - sent]
                    sent += len(data)
                    pending = f"{len(data):x}\r\n".encode() + data + b"\r\n"
                    checks += 1
                    if abort is not None and checks % 4 == 0 and (why := abort(sent)):
                        reason = why
                        return Streamed(None, {}, b"", sent, time.monotonic() - began, reason)
            try:
                pending = pending[sock.send(pending) :]
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                reason = "the server closed the connection"
                break
        if reason != "the server answered" and reason != "the server closed the connection":
            return Streamed(None, {}, b"", sent, time.monotonic() - began, reason)
        status, response_headers, body = _read_response(sock, timeout=10)
        return Streamed(status, response_headers, body, sent, time.monotonic() - began, reason)
    finally:
        sock.close()


def _read_response(sock: socket.socket, timeout: float) -> tuple[int | None, dict[str, str], bytes]:
    sock.setblocking(True)
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
        if b"\r\n\r\n" not in data:
            return None, {}, data
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0") or 0)
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            body += piece
        return status, headers, body
    except (TimeoutError, ConnectionResetError, OSError):
        return None, {}, data
