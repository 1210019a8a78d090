"""Telling GPU workers that a job is waiting: a nudge on its model's queue, after the commit.

A job is a row before any message about it exists, so the nudge for a new (or resumed) job is
registered with ``after_commit`` and sent once the row is visible to workers. ``dispatched_at``
records when a nudge last went out; the reconciler re-sends the nudges of queued jobs that never
got one or whose nudge looks lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from videogen import broker
from videogen.database import after_commit, session_scope, utcnow
from videogen.settings import Settings
from videogen.videos.tables import Video


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


def _send_and_record(settings: Settings, jobs: list[tuple[str, str]]) -> None:
    sent = [video_id for video_id, model in jobs if dispatch_generation(settings, video_id, model)]
    if sent:
        with session_scope(settings.database_url) as session:
            mark_dispatched(session, sent)
