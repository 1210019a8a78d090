"""Where each queued video stands in its model's queue, at a cost that does not grow with the queue.

A video's ``queue_position`` is its rank in the order ``jobs.claim_next`` takes jobs: the runnable
jobs of its model ahead of it (higher priority, then older), plus one. Counted exactly, that is a
COUNT over the jobs ahead, and neither PostgreSQL nor SQLite counts an index range in less than its
length: with 50,000 jobs queued a poll deep in the queue pays milliseconds, and a list page pays it
once per item. So the rank comes in two precisions, both from the queue index
(``ix_videos_queue``, which holds queued jobs only):

- **Near the head** (the first ``exact_within`` jobs, 100 by default), where a client watches the
  number tick down, it is exact: one short index scan of the head of the model's queue per request
  (a list page included), however many of the page's videos are near the head.
- **Deeper**, it comes from a snapshot of the whole queue's order, by binary search. The snapshot
  is one index-only scan (about 1 ms per 1,000 queued jobs, most of it in Python, and 50 bytes a
  job), refreshed in the background when a poll deep in the queue finds it older than
  ``max_age_seconds`` (5 s by default) while the stale one keeps answering, so no request waits
  for it (only the very first, in a process that has none). Deep in the queue the rank may be off
  by the jobs that started, left or arrived in those seconds; it is never computed per item.

A process that nobody polls deep in a queue refreshes nothing. The state is per process and per
model, and only ever read for ranking: the database stays the source of truth.

No library keeps an order-statistic index over SQL rows, hence this module.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, Integer, bindparam
from sqlalchemy.orm import Session

from videogen.videos import jobs
from videogen.videos.tables import Video, VideoStatus

log = logging.getLogger(__name__)

QueueKey = tuple[int, str]  # (-priority, id): ascending is the order in which workers take jobs


def queue_key(priority: int, video_id: str) -> QueueKey:
    return (-priority, video_id)


@dataclass(frozen=True)
class _Snapshot:
    taken_at: float  # time.monotonic()
    keys: list[QueueKey]  # sorted: the model's runnable queue when it was taken

    def rank(self, key: QueueKey) -> int:
        """1 + the jobs of the snapshot that run before ``key``."""
        return bisect_left(self.keys, key) + 1


class QueuePositions:
    """Queue positions for one process: exact near the head, from a recent snapshot deeper down."""

    def __init__(self, *, exact_within: int = 100, max_age_seconds: float = 5.0) -> None:
        self.exact_within = exact_within
        self.max_age_seconds = max_age_seconds
        self._snapshots: dict[str, _Snapshot] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def of(self, session: Session, videos: Iterable[Video]) -> dict[str, int]:
        """The positions of those of ``videos`` that are queued, by video id (at most one query per
        model among them, usually none)."""
        by_model: dict[str, list[Video]] = {}
        for video in videos:
            if video.status == VideoStatus.QUEUED:
                by_model.setdefault(video.model, []).append(video)
        positions: dict[str, int] = {}
        for model, queued in by_model.items():
            positions.update(self._positions_in(session, model, queued))
        return positions

    def position(self, session: Session, video: Video) -> int | None:
        """``video``'s position, or None when it is not queued."""
        return self.of(session, [video]).get(video.id)

    # --- the two precisions ---------------------------------------------------------------------

    def _positions_in(self, session: Session, model: str, queued: Sequence[Video]) -> dict[str, int]:
        # The head is read twice as deep as the exact range: a job that the snapshot placed near the
        # head is still found in it after as many jobs again arrived ahead of it since.
        head_length = 2 * self.exact_within
        keys = {video.id: queue_key(video.priority, video.id) for video in queued}
        snapshot = self._snapshot(session, model)
        ranks = {video_id: snapshot.rank(key) for video_id, key in keys.items()}
        if any(rank > head_length for rank in ranks.values()):
            # Only a position read from the snapshot needs it fresh: near the head, the head says.
            fresh = self._fresh(session, model, snapshot)
            if fresh is not snapshot:  # read just now (a max age of 0): rank again
                ranks = {video_id: fresh.rank(key) for video_id, key in keys.items()}
        positions = {video_id: rank for video_id, rank in ranks.items() if rank > head_length}
        near = [video_id for video_id, rank in ranks.items() if rank <= head_length]
        if near:
            head = _read_queue(session, model, head_length)
            whole_queue = len(head) < head_length
            for video_id in near:
                ahead = bisect_left(head, keys[video_id])
                exact = whole_queue or ahead < len(head)
                positions[video_id] = ahead + 1 if exact else max(ranks[video_id], len(head) + 1)
        return positions

    def _snapshot(self, session: Session, model: str) -> _Snapshot:
        """The model's snapshot as it is (read now if this process has none)."""
        with self._lock:
            snapshot = self._snapshots.get(model)
        return snapshot if snapshot is not None else self._take(session, model)

    def _fresh(self, session: Session, model: str, snapshot: _Snapshot) -> _Snapshot:
        """``snapshot``, or a fresher one: if it is older than ``max_age_seconds`` a new one is read
        in the background while it keeps answering (with a max age of 0: read now)."""
        if time.monotonic() - snapshot.taken_at <= self.max_age_seconds:
            return snapshot
        if self.max_age_seconds == 0:
            return self._take(session, model)
        with self._lock:
            if model not in self._refreshing:
                self._refreshing.add(model)
                # A daemon thread per refresh (at most one per model at a time): nothing to shut down.
                refresh = threading.Thread(
                    target=self._refresh, args=(session.get_bind(), model), name="queue-snapshot", daemon=True
                )
                refresh.start()
        return snapshot

    def _take(self, session: Session, model: str) -> _Snapshot:
        snapshot = _Snapshot(time.monotonic(), _read_queue(session, model))
        with self._lock:
            current = self._snapshots.get(model)
            if current is None or current.taken_at < snapshot.taken_at:
                self._snapshots[model] = snapshot
        return snapshot

    def _refresh(self, bind: object, model: str) -> None:
        try:
            assert isinstance(bind, Engine)
            with Session(bind) as session:
                self._take(session, model)
        except Exception:  # noqa: BLE001 - the stale snapshot keeps answering; the next poll retries
            log.warning("could not refresh the queue snapshot of %s", model, exc_info=True)
        finally:
            with self._lock:
                self._refreshing.discard(model)


# Built once (a poll of a queued video runs one of them): the model's queue in the order workers
# take it, all of it or its head. Both are scans of ``ix_videos_queue``.
_QUEUE = jobs.runnable_jobs(bindparam("model")).with_only_columns(Video.priority, Video.id).order_by(*jobs.QUEUE_ORDER)
_QUEUE_HEAD = _QUEUE.limit(bindparam("limit", type_=Integer))


def _read_queue(session: Session, model: str, limit: int | None = None) -> list[QueueKey]:
    """The model's runnable queue in the order workers take it (its first ``limit`` jobs)."""
    if limit is None:
        rows = session.execute(_QUEUE, {"model": model}).all()
    else:
        rows = session.execute(_QUEUE_HEAD, {"model": model, "limit": limit}).all()
    return [queue_key(priority, video_id) for priority, video_id in rows]
