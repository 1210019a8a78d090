"""``GET /v1/videos/{id}/events``: a video's live status as server-sent events (the HTML standard's
``text/event-stream``), fed by the process's one ``VideoWatcher``.

The wire format (the web console and any client rely on it)::

    retry: 2000

    event: video.updated
    id: in_progress.denoising.42.3.-.1767225600
    data: {"id": "video_...", "object": "video", "status": "in_progress", ...}

    : keep-alive

    event: video.completed
    id: completed.-.100.-.-.-
    data: {...}

- The first event, sent at once, is the current state; then one event per change. ``data`` is the
  video object exactly as ``GET /v1/videos/{id}`` answers it, on one line.
- ``event`` is ``video.updated`` while the job lives, then ``video.completed``, ``video.failed`` or
  ``video.cancelled``, after which the server closes the stream; a video deleted meanwhile ends it
  with ``video.deleted`` and ``{"id": ..., "object": "video.deleted", "deleted": true}``.
- ``id`` is the state's id (``videogen.videos.watcher.state_id``), the same on every replica: a
  client that reconnects with ``Last-Event-ID`` is sent only what it has not seen (nothing until
  the next change if it saw the current state; a ``204`` if that was the final one, which tells an
  ``EventSource`` to stop reconnecting).
- A comment every ``EVENTS_KEEPALIVE_SECONDS`` keeps proxies from closing a quiet stream, and the
  stream ends after ``EVENTS_MAX_STREAM_SECONDS`` so that load balancers can rebalance (the client
  reconnects with its ``Last-Event-ID`` and misses nothing).

A stream holds no request slot, thread or connection while it is open: it gives its slot back
(``api.limits.release_request_slot``) and waits on its subscription on the event loop. A client that
hangs up is noticed at once (its ``http.disconnect``), not at the next write.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import TypeVar

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.limits import release_request_slot, send_error
from api.metrics import EVENT_STREAMS_OPEN
from api.schemas import VideoDeleted
from videogen.errors import ServiceUnavailableError
from videogen.videos.tables import VideoStatus
from videogen.videos.watcher import Snapshot, Subscription, VideoWatcher

T = TypeVar("T")

# How long an EventSource waits before it reconnects, in milliseconds (the stream's first line).
RETRY_MILLISECONDS = 2000
EVENT_STREAM = "text/event-stream"
_END_EVENTS = {
    VideoStatus.COMPLETED: "video.completed",
    VideoStatus.FAILED: "video.failed",
    VideoStatus.CANCELLED: "video.cancelled",
}


def event_type(snapshot: Snapshot) -> str:
    if snapshot.video is None:
        return "video.deleted"
    return _END_EVENTS.get(snapshot.video.status, "video.updated")


def encode_event(snapshot: Snapshot) -> bytes:
    """One event: its type, the state's id and the object as one line of JSON."""
    data = snapshot.json if snapshot.json is not None else VideoDeleted(id=snapshot.video_id).model_dump_json()
    return f"event: {event_type(snapshot)}\nid: {snapshot.state_id}\ndata: {data}\n\n".encode()


KEEPALIVE = b": keep-alive\n\n"


async def disconnected(receive: Receive) -> None:
    """Returns when the client has hung up (everything it sent before that is read and dropped)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(receive: Receive, work: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
    """Run ``work`` until it is done or the client hangs up, whichever comes first:
    ``(True, None)`` if the client left, else ``(False, its result)``."""
    result: T | None = None
    left = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal left
            await disconnected(receive)
            left = True
            group.cancel_scope.cancel()

        group.start_soon(watch)
        result = await work()
        group.cancel_scope.cancel()
    return left, None if left else result


class EventStream(StreamingResponse):
    """The event stream of one video, from ``snapshot`` (what the route read, tenancy checked) on.

    A ``StreamingResponse`` for its headers (no Content-Length) and for FastAPI; it writes its own
    body: the subscription is made when the response starts, and a full watcher is a 503 then."""

    def __init__(
        self,
        watcher: VideoWatcher,
        snapshot: Snapshot,
        last_event_id: str | None,
        *,
        keepalive_seconds: float,
        max_seconds: float,
    ):
        super().__init__((), media_type=EVENT_STREAM, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.watcher = watcher
        self.snapshot = snapshot
        self.last_event_id = last_event_id
        self.keepalive_seconds = keepalive_seconds
        self.max_seconds = max_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        release_request_slot(scope)
        try:
            subscription = self.watcher.subscribe(self.snapshot)
        except ServiceUnavailableError as error:
            await send_error(send, error)
            return
        with subscription, EVENT_STREAMS_OPEN.track_inprogress():
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            left, _ = await unless_disconnected(receive, lambda: self._stream(send, subscription))
        if not left:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream(self, send: Send, subscription: Subscription) -> None:
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + self.max_seconds

        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        # At once: the reconnection delay, and the current state unless the client has seen it.
        current = await subscription.next(self.last_event_id, 0)
        await write(f"retry: {RETRY_MILLISECONDS}\n\n".encode() + (encode_event(current) if current else b""))
        if current is not None and current.terminal:
            return
        seen = self.last_event_id if current is None else current.state_id
        while not subscription.closed and (remaining := ends_at - loop.time()) > 0:
            snapshot = await subscription.next(seen, min(self.keepalive_seconds, remaining))
            if snapshot is not None:
                await write(encode_event(snapshot))
                if snapshot.terminal:
                    return
                seen = snapshot.state_id
            elif not subscription.closed and loop.time() < ends_at:
                await write(KEEPALIVE)


def end_streams_on_signals(watcher: VideoWatcher) -> Callable[[], None]:
    """Close every stream and wait as soon as the process is told to stop (SIGTERM, SIGINT), so
    that the server's graceful shutdown, which waits for open connections, is not held up by
    streams that would otherwise last an hour. The server's own handler (uvicorn's) still runs,
    after ours. Returns the function that puts the previous handlers back.

    Only where the server handles those signals in Python, on this (the main) thread: elsewhere
    (a test client's thread) nothing changes, and the lifespan's shutdown closes the watcher."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Callable[[int, FrameType | None], object]] = {}

    def handler(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(watcher.close)  # on the loop: the watcher is not thread-safe
        previous[sig](sig, frame)

    for sig in (signal.SIGTERM, signal.SIGINT):
        current = signal.getsignal(sig)
        if callable(current):
            previous[sig] = current
            signal.signal(sig, handler)

    def restore() -> None:
        for sig, former in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, former)

    return restore
