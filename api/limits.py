"""Bounds on what one API process takes on: request bodies, requests in flight, and the last
resort for errors nobody mapped.

Pure ASGI middleware, because each of these must act before FastAPI does anything with a request:

- ``BodyLimit`` refuses a body larger than its route allows as it arrives (413), whether or not the
  client declared a length, so no route (the unauthenticated ones included) ever buffers more than
  its limit. Starlette has no body limit of its own, and uvicorn's ``--limit-concurrency`` counts
  connections, not bytes.
- ``ConcurrencyLimit`` admits at most ``max_in_flight`` requests into the application; the rest wait
  on an ``asyncio.Semaphore``, holding no thread and no database connection, for a bounded time,
  then get a 503 with ``Retry-After``. A request holds its slot until its response starts, or until
  it gives the slot back itself (``release_request_slot``) to wait for something on the event loop.
  The database pool is sized from the same number (``videogen.database.PoolBounds``), which is
  what makes a pool lock-up impossible by construction. Liveness (``/healthz``) and readiness
  (``/readyz``) skip the queue: they must answer while the process is saturated.
- ``LastResort`` turns an exception no handler mapped into our error format *without* re-raising
  it, so uvicorn keeps the keep-alive connection (Starlette's own ``ServerErrorMiddleware``
  re-raises, and the client sees the connection drop).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from videogen.errors import RequestTooLargeError, ServiceUnavailableError, VideogenError

log = logging.getLogger(__name__)

# Paths that must answer however busy the process is: they hold no slot and wait for none.
UNQUEUED_PATHS = frozenset({"/healthz", "/readyz"})
# The scope's key for the callable that gives a request's slot back (``release_request_slot``).
REQUEST_SLOT = "videogen.release_request_slot"


def release_request_slot(scope: Scope) -> None:
    """Give the request's ``ConcurrencyLimit`` slot back now, before its response: for a request
    whose unit of work is done and that only waits from here on, on the event loop, holding no
    thread and no connection (an event stream, ``Prefer: wait``). Idempotent; a no-op outside the
    limit."""
    release = scope.get(REQUEST_SLOT)
    if callable(release):
        release()


async def send_error(send: Send, error: VideogenError) -> None:
    """Answer with ``error`` in our error format (for middleware, which runs outside FastAPI)."""
    body = json.dumps(error_body(error), separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit // 1024} KiB."


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body passes its limit mid-stream. An ``HTTPException``
    because FastAPI re-raises those from its body reader (anything else it turns into a 400)."""

    def __init__(self, limit: int):
        super().__init__(413, _too_large(limit))
        self.limit = limit


class BodyLimit:
    """Refuse bodies larger than ``limit_for(scope)`` bytes, before and while they arrive."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await send_error(send, RequestTooLargeError(_too_large(limit)))
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, bounded_receive, send)


class ConcurrencyLimit:
    """At most ``max_in_flight`` requests inside the application; a bounded, timed queue for the rest."""

    def __init__(self, app: ASGIApp, max_in_flight: int, max_queued: int, queue_timeout: float):
        self.app = app
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self._slots = asyncio.Semaphore(max_in_flight)
        self._queued = 0

    def _busy(self, why: str) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"The server is busy ({why}); try again shortly.", code="server_busy", retry_after=2
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNQUEUED_PATHS:
            await self.app(scope, receive, send)
            return
        if self._slots.locked():
            if self._queued >= self.max_queued:
                await send_error(send, self._busy("too many requests are waiting"))
                return
            self._queued += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self.queue_timeout)
            except TimeoutError:
                await send_error(send, self._busy(f"no request slot freed within {self.queue_timeout:g} s"))
                return
            finally:
                self._queued -= 1
        else:
            await self._slots.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._slots.release()

        # An endpoint that has done its work but will wait before it answers (``Prefer: wait``, an
        # event stream) gives its slot back early, through ``release_request_slot``.
        scope[REQUEST_SLOT] = release

        async def releasing_send(message: Message) -> None:
            # The request's unit of work has committed and closed before its response starts; what
            # follows (streaming a download) needs no slot, so a slow reader cannot hold one.
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, releasing_send)
        finally:
            release()


class LastResort:
    """Answer any exception that escaped every handler with our error format and keep the
    connection; ``classify`` says which exceptions are outages (503) rather than bugs (500)."""

    def __init__(self, app: ASGIApp, classify: Callable[[BaseException], VideogenError]):
        self.app = app
        self.classify = classify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            # The client hung up while its body was being read (a load generator stopping, a
            # browser tab closed): nobody is left to answer, and nothing went wrong here.
            log.debug("%s %s: the client disconnected before its request was read", scope.get("method"), scope["path"])
        except Exception as exc:  # noqa: BLE001 - this is the one place that answers for everything
            error = self.classify(exc)
            if error.status_code >= 500 and not isinstance(error, ServiceUnavailableError):
                log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            else:
                log.warning("%s %s: %s (%s)", scope.get("method"), scope.get("path"), error.message, type(exc).__name__)
            if started:
                raise  # the response is half sent: all that is left is to drop the connection
            await send_error(send, error)


def body_limit_for(default: int, larger: dict[tuple[str, str], int]) -> Callable[[Scope], int]:
    """The body limit of a request: ``larger[(method, path)]`` where a route allows more, else ``default``."""

    def limit_for(scope: Scope) -> int:
        return larger.get((scope.get("method", ""), scope["path"]), default)

    return limit_for
