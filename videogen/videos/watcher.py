"""Live status for any number of clients at a cost that does not grow with them: one watcher per
API process.

A client that follows a video (``GET /v1/videos/{id}/events``, or a request with ``Prefer: wait``)
must not cost a database connection or a thread while it waits: a thousand of them would exhaust
both, and a thousand pollers would hammer the database. So the clients of a process subscribe here,
to a video id (once the API has checked that the video is theirs), and **one** asyncio task reads
every watched video for all of them: every ``poll_interval`` seconds, while anyone is subscribed,
it runs one round in one worker thread on one pooled connection, given back when the round ends:

1. the columns that change while a job lives (status, progress, phase, denoising step, estimated
   completion, deletion, and what ranks it in its queue) of every watched id, ``WHERE id IN (...)``
   in chunks of ``CHUNK`` ids, and the queue positions of the queued ones (``QueuePositions``, as a
   list page reads them: a short scan per model);
2. only for the videos whose state changed since the last round: their whole rows, made into the
   video object exactly as ``GET /v1/videos/{id}`` answers it (one JSON text, shared by every
   subscriber of that video).

So the database sees ``ceil(watched / CHUNK)`` small reads a round (plus the queue heads and the
changed rows), however many clients watch, and several clients watching one video share it. A
round that fails (the database is down) is logged and tried again next round; subscriptions stay.

Every state has an id, ``state_id``: readable, and the same on every replica (it is made of the
video's own values), so a client that reconnects to any replica with the last id it saw can be told
"nothing new" or get the current state at once. Queue positions deep in a queue come from each
process's snapshot of it (``videogen.videos.queue_positions``) and may differ between replicas for
a few seconds; near the head of the queue they are exact everywhere.

The watcher lives on the event loop of its process; nothing here is thread-safe except the round
itself, which only reads the database and ``QueuePositions`` (which locks what it shares).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from videogen.database import get_sessionmaker
from videogen.errors import ServiceUnavailableError
from videogen.videos.objects import VideoObject, shown_phase, to_video_object, unix
from videogen.videos.queue_positions import QueuePositions
from videogen.videos.service import describe
from videogen.videos.tables import Video, VideoStatus

log = logging.getLogger(__name__)

# Ids per ``WHERE id IN (...)``: well under SQLite's 999 bound parameters and PostgreSQL's 65535,
# and one index probe each.
CHUNK = 500
# The state id of a video that is gone (deleted by its owner, or its row removed).
DELETED = "deleted"

WATCHER_ROUNDS = Counter(
    "videogen_watcher_rounds",
    "Rounds of the API process's video watcher (one every EVENTS_POLL_INTERVAL_SECONDS while anyone watches), "
    "by outcome (ok, failed).",
    ["outcome"],
)
WATCHER_QUERIES = Counter(
    "videogen_watcher_queries",
    "SQL statements the video watcher ran for all of its subscribers together: the change reads, the queue "
    "heads and the rows that changed.",
)


def state_id(
    status: VideoStatus,
    phase: str | None,
    progress: int,
    denoising_step: int | None,
    queue_position: int | None,
    estimated_completion_at: int | None,
) -> str:
    """The id of a video's visible state, e.g. ``in_progress.denoising.42.3.-.1767225600``: what
    changes while a job lives, dot-separated (``-`` for none). ``phase`` as the video object shows it."""
    parts = (status.value, phase, progress, denoising_step, queue_position, estimated_completion_at)
    return ".".join("-" if part is None else str(part) for part in parts)


def state_id_of(video: VideoObject) -> str:
    return state_id(
        video.status,
        video.phase,
        video.progress,
        video.denoising_step,
        video.queue_position,
        video.estimated_completion_at,
    )


@dataclass(frozen=True)
class Snapshot:
    """A watched video's state at one moment: its object and that object's JSON (None once the
    video is deleted), and the state's id."""

    video_id: str
    state_id: str
    video: VideoObject | None
    json: str | None

    @property
    def deleted(self) -> bool:
        return self.video is None

    @property
    def terminal(self) -> bool:
        """Nothing will change any more: the job ended, or the video is gone."""
        return self.video is None or self.video.status.is_terminal

    @classmethod
    def of(cls, video: VideoObject) -> Snapshot:
        return cls(video.id, state_id_of(video), video, video.model_dump_json())

    @classmethod
    def gone(cls, video_id: str) -> Snapshot:
        return cls(video_id, DELETED, None, None)


class Subscription:
    """One client's view of a watched video: the latest snapshot the watcher has for it, and a
    wake-up when another arrives. Use it as a context manager: leaving it unsubscribes."""

    def __init__(self, watcher: VideoWatcher, snapshot: Snapshot):
        self.watcher = watcher
        self.video_id = snapshot.video_id
        self.latest = snapshot
        self.closed = False  # the watcher stopped (the process is shutting down)
        self._changed = asyncio.Event()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.watcher._unsubscribe(self)

    def _offer(self, snapshot: Snapshot) -> None:
        self.latest = snapshot
        self._changed.set()

    def _close(self) -> None:
        self.closed = True
        self._changed.set()

    async def next(self, after: str | None, timeout: float) -> Snapshot | None:
        """The latest snapshot if its state id is not ``after``; else the next one to arrive within
        ``timeout`` seconds. None on timeout, or at once if the watcher has stopped (``closed``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            if self.latest.state_id != after:
                return self.latest
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return None
        return None


@dataclass
class _Entry:
    """A watched video: its subscribers, and the state id of the latest snapshot handed to them
    (None: unknown, so the next round hands the current one to all of them)."""

    subscribers: set[Subscription]
    known: str | None


# What a round reads of every watched video: what changes while a job lives, and what ranks it in
# its queue (``QueuePositions`` needs model, priority and status).
_CHANGES = select(
    Video.id,
    Video.status,
    Video.progress,
    Video.phase,
    Video.denoising_step,
    Video.estimated_completion_at,
    Video.deleted_at,
    Video.model,
    Video.priority,
)


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


class _CountingStatements:
    """Counts the statements a session runs (the round's own figure for ``WATCHER_QUERIES``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any, **__: Any) -> None:
        self.count += 1


class VideoWatcher:
    """The API process's one reader of watched videos (see the module's docstring)."""

    def __init__(
        self,
        database_url: str,
        positions: QueuePositions,
        *,
        poll_interval: float = 1.0,
        max_subscriptions: int = 2000,
    ):
        self.database_url = database_url
        self.positions = positions
        self.poll_interval = poll_interval
        self.max_subscriptions = max_subscriptions
        self._entries: dict[str, _Entry] = {}
        self._subscriptions = 0
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    # --- for the API's routes ---------------------------------------------------------------------

    def snapshot(self, session: Session, video: Video) -> Snapshot:
        """``video`` as its owner sees it now (``service.describe``), for a route to start from and
        to subscribe with (in the request's worker thread)."""
        return Snapshot.of(describe(session, video, self.positions))

    @property
    def subscriptions(self) -> int:
        return self._subscriptions

    @property
    def watched(self) -> int:
        """Videos watched now (several subscribers of one video count once)."""
        return len(self._entries)

    def check_room(self) -> None:
        """A 503 ``server_busy`` if a subscription made now would be refused (a route asks before it
        does anything the client could not simply repeat)."""
        if self._stopped:
            raise ServiceUnavailableError("The server is shutting down; try again shortly.", code="server_busy")
        if self._subscriptions >= self.max_subscriptions:
            raise ServiceUnavailableError(
                f"The server is busy (it is following {self.max_subscriptions} videos for clients already); "
                "try again shortly.",
                code="server_busy",
                retry_after=5,
            )

    def subscribe(self, snapshot: Snapshot) -> Subscription:
        """Follow ``snapshot``'s video from that state on (the caller has checked that the video is
        the client's). At most ``max_subscriptions`` at once: beyond, a 503 ``server_busy``."""
        self.check_room()
        subscription = Subscription(self, snapshot)
        entry = self._entries.get(snapshot.video_id)
        if entry is None:
            self._entries[snapshot.video_id] = _Entry({subscription}, snapshot.state_id)
        else:
            entry.subscribers.add(subscription)
            if entry.known != snapshot.state_id:
                # The newcomer read the video at another moment than the last round did: which is
                # newer is unknown, so the next round hands the current state to everyone (each
                # subscriber skips a state it has already seen).
                entry.known = None
        self._subscriptions += 1
        self._ensure_running()
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        entry = self._entries.get(subscription.video_id)
        if entry is None or subscription not in entry.subscribers:
            return
        entry.subscribers.discard(subscription)
        self._subscriptions -= 1
        if not entry.subscribers:
            del self._entries[subscription.video_id]

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="video-watcher")

    def open(self) -> None:
        """Take subscriptions again after a ``stop`` (an application whose lifespan starts again)."""
        self._stopped = False

    async def stop(self) -> None:
        """Close every subscription (their streams end, their waits answer now) and stop the task;
        the process is shutting down, so later subscriptions are refused."""
        self.close()
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def close(self) -> None:
        """``stop`` without waiting for the task (from a signal handler): every subscription is
        closed at once."""
        self._stopped = True
        for entry in self._entries.values():
            for subscription in entry.subscribers:
                subscription._close()
        self._entries.clear()
        self._subscriptions = 0

    # --- the rounds ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        # A round every poll_interval (or back to back if one takes longer), not interval + round.
        loop = asyncio.get_running_loop()
        due = loop.time() + self.poll_interval
        while self._entries and not self._stopped:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due = max(due + self.poll_interval, loop.time())
            await self.round()

    async def round(self) -> None:
        """One round now: read what changed, hand it to the subscribers (also the loop's step)."""
        known = {video_id: entry.known for video_id, entry in self._entries.items()}
        if not known:
            return
        try:
            # A thread of the loop's own executor, not the requests' pool: busy requests don't delay it.
            changed = await asyncio.to_thread(self._read, known)
        except Exception:  # noqa: BLE001 - the next round tries again; the streams stay open
            WATCHER_ROUNDS.labels(outcome="failed").inc()
            log.warning("the video watcher could not read %d watched videos; retrying", len(known), exc_info=True)
            return
        WATCHER_ROUNDS.labels(outcome="ok").inc()
        for snapshot in changed:
            entry = self._entries.get(snapshot.video_id)
            if entry is None:  # every subscriber left during the round
                continue
            entry.known = snapshot.state_id
            for subscription in entry.subscribers:
                subscription._offer(snapshot)

    def _read(self, known: dict[str, str | None]) -> list[Snapshot]:
        """The snapshots of the videos of ``known`` whose state id is not the one given (a worker
        thread; one pooled connection, given back at the end)."""
        counter = _CountingStatements()
        session = get_sessionmaker(self.database_url)()
        event.listen(session, "do_orm_execute", counter)
        try:
            rows = [
                row for chunk in _chunks(list(known)) for row in session.execute(_CHANGES.where(Video.id.in_(chunk)))
            ]
            # Unsaved rows carrying what ranking needs, so the queue positions of every queued video
            # are read together, as for a list page (never added to the session).
            queued = [
                Video(id=row.id, model=row.model, priority=row.priority, status=row.status)
                for row in rows
                if row.status == VideoStatus.QUEUED and row.deleted_at is None
            ]
            ranks = self.positions.of(session, queued) if queued else {}
            found: dict[str, str] = {}
            for row in rows:
                if row.deleted_at is not None:
                    continue
                found[row.id] = state_id(
                    row.status,
                    shown_phase(row.status, row.phase),
                    row.progress,
                    row.denoising_step,
                    ranks.get(row.id),
                    unix(row.estimated_completion_at),
                )
            changed = [video_id for video_id, state in known.items() if found.get(video_id, DELETED) != state]
            snapshots = [Snapshot.gone(video_id) for video_id in changed if video_id not in found]
            for chunk in _chunks([video_id for video_id in changed if video_id in found]):
                for video in session.scalars(select(Video).where(Video.id.in_(chunk))):
                    if video.deleted_at is not None:
                        snapshots.append(Snapshot.gone(video.id))
                    else:
                        snapshots.append(Snapshot.of(to_video_object(video, queue_position=ranks.get(video.id))))
            return snapshots
        finally:
            session.close()
            WATCHER_QUERIES.inc(counter.count)
