"""Telling GPU workers that a job is waiting: a nudge on its model's queue, after the commit.

A job is a row before any message about it exists, so the nudge for a new (or resumed) job is
registered with ``after_commit`` and sent once the row is visible to workers. ``dispatched_at``
records when a nudge last went out; the reconciler re-sends the nudges of queued jobs that never
got one or whose nudge looks lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from videogen import broker
from videogen.database import after_commit, session_scope, utcnow
from videogen.settings import Settings
from videogen.videos import jobs
from videogen.videos.tables import Video

log = logging.getLogger(__name__)

# A nudge sent less than this long ago may still be on its way into the broker's queue.
NUDGE_GRACE = timedelta(seconds=2)


def dispatch_generation(settings: Settings, video_id: str, model: str) -> bool:
    """Nudge a worker of ``model`` now; False if the broker could not take it (sent again later)."""
    return broker.send(settings, broker.GENERATE_TASK, video_id, broker.queue_for_model(model))


def mark_dispatched(session: Session, video_ids: Sequence[str]) -> None:
    session.execute(
        update(Video)
        .where(Video.id.in_(list(video_ids)))
        .values(dispatched_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def dispatch_after_commit(session: Session, jobs: Sequence[tuple[str, str]]) -> None:
    """Nudge workers about ``jobs`` (``(video_id, model)`` pairs) once this transaction commits,
    if this process sends nudges (``videogen.broker.enable``)."""
    settings = broker.enabled_settings()
    if settings is None or not jobs:
        return
    pending = list(jobs)
    after_commit(session, lambda: _send_and_record(settings, pending))


def resend_lost_nudges(
    session: Session,
    settings: Settings,
    *,
    depth: Callable[[str], int | None],
    grace: timedelta = NUDGE_GRACE,
    now: datetime | None = None,
) -> list[str]:
    """Re-send the nudges a broker has lost, model by model, as soon as it is seen to have lost them.

    Every runnable queued job should have a nudge waiting in its model's queue (a worker that is
    running a job holds that job's message, not another's). A queue that holds fewer messages than
    there are such jobs, counting only jobs nudged more than ``grace`` ago so that a nudge still on
    its way is not counted as lost, was flushed or restarted empty: the difference is sent again,
    for the jobs that ``claim_next`` will take first. ``depth(queue)`` is None when the broker
    cannot be asked, and then nothing is sent. A batch job: it records the sends and commits.
    """
    now = now or utcnow()
    waiting = session.execute(
        jobs.runnable_jobs()
        .add_columns(Video.model)
        .where((Video.dispatched_at.is_(None)) | (Video.dispatched_at < now - grace))
        .order_by(Video.priority.desc(), Video.id.asc())
    ).all()
    by_model: dict[str, list[str]] = {}
    for video_id, model in waiting:
        by_model.setdefault(model, []).append(video_id)
    sent: list[str] = []
    for model, video_ids in by_model.items():
        held = depth(broker.queue_for_model(model))
        if held is None or held >= len(video_ids):
            continue
        sent += [v for v in video_ids[: len(video_ids) - held] if dispatch_generation(settings, v, model)]
    if sent:
        mark_dispatched(session, sent)
        session.commit()
        log.info("the broker had lost %d nudges; sent them again", len(sent))
    return sent


def _send_and_record(settings: Settings, jobs: list[tuple[str, str]]) -> None:
    sent = [video_id for video_id, model in jobs if dispatch_generation(settings, video_id, model)]
    if sent:
        with session_scope(settings.database_url) as session:
            mark_dispatched(session, sent)
