"""Telling GPU workers that a job is waiting: a nudge on its model's queue, after the commit.

A job is a row before any message about it exists, so the nudge for a new (or resumed) job is
registered with ``after_commit`` and sent once the row is visible to workers. ``dispatched_at``
records when a nudge last went out. It is written in the job's own transaction, as if the send had
already happened, which spares every submission a second transaction; a send that then fails
clears it again. The reconciler sends the nudges of queued jobs that never got one, and re-sends
those a broker lost (``resend_lost_nudges``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from videogen import broker
from videogen.database import after_commit, session_scope, utcnow
from videogen.settings import Settings
from videogen.videos import jobs
from videogen.videos.tables import Video, VideoStatus

log = logging.getLogger(__name__)

# A nudge sent less than this long ago may still be on its way into the broker's queue.
NUDGE_GRACE = timedelta(seconds=2)


def dispatch_generation(settings: Settings, video_id: str, model: str) -> bool:
    """Nudge a worker of ``model`` now; False if the broker could not take it (sent again later)."""
    return broker.send(settings, broker.GENERATE_TASK, video_id, broker.queue_for_model(model))


# Built once, on the table: every submission runs it.
_videos = cast(Table, Video.__table__)
_MARK_DISPATCHED = (
    update(_videos)
    .where(_videos.c.id.in_(bindparam("video_ids", expanding=True)))
    .values(dispatched_at=bindparam("now"))
)


def mark_dispatched(session: Session, video_ids: Sequence[str]) -> None:
    session.execute(_MARK_DISPATCHED, {"video_ids": list(video_ids), "now": utcnow()})


def sends_nudges() -> bool:
    """Whether this process nudges workers when a transaction commits (``videogen.broker.enable``):
    a new job's row may then be written as already nudged (``send_after_commit``)."""
    return broker.enabled_settings() is not None


def dispatch_after_commit(session: Session, jobs: Sequence[tuple[str, str]]) -> None:
    """Nudge workers about ``jobs`` (``(video_id, model)`` pairs) once this transaction commits,
    if this process sends nudges; recorded as sent in this transaction."""
    if sends_nudges() and jobs:
        mark_dispatched(session, [video_id for video_id, _ in jobs])
        send_after_commit(session, jobs)


def send_after_commit(session: Session, jobs: Sequence[tuple[str, str]]) -> None:
    """Nudge workers about ``jobs`` once this transaction commits, if this process sends nudges;
    for rows this transaction already wrote as nudged (``dispatched_at``, see ``sends_nudges``)."""
    settings = broker.enabled_settings()
    if settings is None or not jobs:
        return
    pending = list(jobs)
    after_commit(session, lambda: _send(settings, pending))


# Nudges re-sent per model and round once a broker is seen to have lost them.
LOST_BATCH = 1000


def resend_lost_nudges(
    session: Session,
    settings: Settings,
    *,
    depth: Callable[[str], int | None],
    grace: timedelta = NUDGE_GRACE,
    batch: int = LOST_BATCH,
    now: datetime | None = None,
) -> list[str]:
    """Re-send the nudges a broker has lost, model by model, as soon as they are missed.

    Every runnable queued job should have a nudge waiting in its model's queue. Nudges only wake
    workers (any nudge makes a worker claim the best job), so lost ones are missed only when the
    queue is *empty* while runnable jobs nudged more than ``grace`` ago are still queued (a nudge
    on its way is not taken for lost): a flushed or restarted broker, or a queue drained of the
    nudges that survived a partial loss. Then up to ``batch`` jobs are nudged again, those
    ``claim_next`` takes first. A queue that still holds nudges is left alone: its workers have
    work, and whatever it lost is made up once it drains. So a round costs one broker call per model
    served and, only for an empty queue, one short read of the queue index; never a count of the
    queue. ``depth(queue)`` is None when the broker cannot be asked, and then nothing is sent. A
    batch job: it records the sends and commits.
    """
    now = now or utcnow()
    nudged = (Video.dispatched_at.is_not(None)) & (Video.dispatched_at < now - grace)
    sent: list[str] = []
    for model in settings.models:
        if depth(broker.queue_for_model(model)) != 0:
            continue
        lost = session.scalars(jobs.runnable_jobs(model).where(nudged).order_by(*jobs.QUEUE_ORDER).limit(batch)).all()
        sent += [v for v in lost if dispatch_generation(settings, v, model)]
    if sent:
        mark_dispatched(session, sent)
        session.commit()
        log.info("the broker had lost %d nudges; sent them again", len(sent))
    return sent


def _send(settings: Settings, jobs: list[tuple[str, str]]) -> None:
    """Send the nudges of a committed transaction; those the broker refused are marked unsent, for
    the reconciler's next round."""
    refused = [video_id for video_id, model in jobs if not dispatch_generation(settings, video_id, model)]
    if refused:
        with session_scope(settings.database_url) as session:
            session.execute(
                update(Video)
                .where(Video.id.in_(refused), Video.status == VideoStatus.QUEUED)
                .values(dispatched_at=None)
                .execution_options(synchronize_session=False)
            )
