"""The job state machine, kept in the database.

::

    queued ──claim──▶ in_progress ──▶ completed
      │                 │  │
      │                 │  └────────▶ failed
      │                 └─(lost worker, attempts left)─▶ queued
      └──────cancel─────┴───────────▶ cancelled

Every transition is one conditional ``UPDATE ... WHERE status IN (...)``. Whoever's update matches
the row wins; everyone else sees ``False`` and backs off. That is what makes duplicate broker
messages, racing cancels and two reconcilers harmless without locks. The winner also records the
webhook event of the new state in the same transaction (``videogen.webhooks``), so every state a
client can be told about is told exactly when it is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from videogen import webhooks
from videogen.orm import Organization, OrganizationStatus, Video, VideoStatus, utcnow

log = logging.getLogger(__name__)

Q, P, C, F, X = (
    VideoStatus.QUEUED,
    VideoStatus.IN_PROGRESS,
    VideoStatus.COMPLETED,
    VideoStatus.FAILED,
    VideoStatus.CANCELLED,
)

ALLOWED_TRANSITIONS: dict[VideoStatus, frozenset[VideoStatus]] = {
    Q: frozenset({P, X, F}),
    P: frozenset({C, F, X, Q}),
    C: frozenset(),
    F: frozenset(),
    X: frozenset(),
}


class IllegalTransitionError(ValueError):
    pass


def transition(
    session: Session,
    video_id: str,
    to: VideoStatus,
    *,
    expected: Iterable[VideoStatus],
    attempt: int | None = None,
    **values: Any,
) -> bool:
    """Move ``video_id`` to ``to`` if it is currently in one of ``expected`` (and, for a worker,
    still in the ``attempt`` it claimed); True if it moved."""
    expected = frozenset(expected)
    for source in expected:
        if to not in ALLOWED_TRANSITIONS[source]:
            raise IllegalTransitionError(f"{source} -> {to} is not a job transition")
    conditions = [Video.id == video_id, Video.status.in_([s.value for s in expected])]
    if attempt is not None:
        conditions.append(Video.attempts == attempt)
    result = session.execute(
        update(Video).where(*conditions).values(status=to.value, **values).execution_options(synchronize_session=False)
    )
    moved = result.rowcount == 1  # type: ignore[attr-defined]
    if moved and to in webhooks.EVENT_FOR_STATUS:
        # The outbox: the event and its deliveries commit, or roll back, with the change itself.
        webhooks.record_video_event(session, video_id, webhooks.EVENT_FOR_STATUS[to])
    return moved


def _runs_before(video: Video) -> Any:
    """Queued jobs that a worker takes before ``video``: higher priority, then older."""
    return (Video.priority > video.priority) | ((Video.priority == video.priority) & (Video.id < video.id))


def claim_next(session: Session, model: str, worker: str, attempts: int = 8) -> str | None:
    """Claim the job a worker of ``model`` should run now, or None if none is runnable.

    The broker message only says "a job for this model is waiting"; which job runs is decided
    here: the highest priority first, then the oldest, skipping suspended organizations. This
    makes priorities exact on any broker (the filesystem transport has none, Redis only emulates
    them) and keeps lost or duplicated messages harmless. Racing workers simply try the next one.
    """
    runnable = (
        select(Video.id)
        .join(Organization, Organization.id == Video.organization_id)
        .where(
            Video.status == Q.value,
            Video.model == model,
            Video.deleted_at.is_(None),
            Organization.status == OrganizationStatus.ACTIVE.value,
        )
        .order_by(Video.priority.desc(), Video.id.asc())
    )
    for candidate in session.scalars(runnable.limit(attempts)).all():
        if claim(session, candidate, worker):
            return candidate
    return None


def claim(session: Session, video_id: str, worker: str) -> bool:
    """A worker takes a queued job. Only one claim per attempt can succeed."""
    now = utcnow()
    return transition(
        session,
        video_id,
        P,
        expected={Q},
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        progress=0,
        attempts=Video.attempts + 1,
    )


def heartbeat(session: Session, video_id: str, attempt: int, progress: int) -> bool:
    """Record that the worker is alive and how far it got. False means the job was cancelled
    (or requeued after this worker looked dead) and the worker should stop."""
    result = session.execute(
        update(Video)
        .where(Video.id == video_id, Video.status == P.value, Video.attempts == attempt)
        .values(heartbeat_at=utcnow(), progress=progress)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def complete(
    session: Session,
    video_id: str,
    *,
    attempt: int,
    video_key: str,
    thumbnail_key: str,
    video_bytes: int,
    retention: timedelta,
) -> bool:
    now = utcnow()
    return transition(
        session,
        video_id,
        C,
        expected={P},
        attempt=attempt,
        progress=100,
        completed_at=now,
        expires_at=now + retention,
        video_key=video_key,
        thumbnail_key=thumbnail_key,
        video_bytes=video_bytes,
        heartbeat_at=now,
    )


def fail(session: Session, video_id: str, code: str, message: str, *, attempt: int | None = None) -> bool:
    return transition(
        session,
        video_id,
        F,
        expected={P},
        attempt=attempt,
        completed_at=utcnow(),
        error_code=code,
        error_message=message[:2000],
    )


def cancel(session: Session, video_id: str) -> bool:
    """Cancel a queued or running job. A running worker notices at its next heartbeat."""
    return transition(session, video_id, X, expected={Q, P}, completed_at=utcnow())


def mark_dispatched(session: Session, video_id: str) -> None:
    session.execute(
        update(Video)
        .where(Video.id == video_id)
        .values(dispatched_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def queue_position(session: Session, video: Video) -> int | None:
    """1 for the next job a worker of this model will take, while the video is queued."""
    if video.status != Q:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Video)
        .where(Video.status == Q.value, Video.model == video.model, _runs_before(video))
    )
    return int(ahead or 0) + 1


@dataclass
class ReconcileReport:
    redispatched: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    webhooks_resent: list[str] = field(default_factory=list)


def reconcile(
    session: Session,
    *,
    dispatch: Callable[[str, str], bool],
    redispatch_after: timedelta,
    stale_after: timedelta,
    max_attempts: int,
    now: datetime | None = None,
) -> ReconcileReport:
    """Find jobs the transport lost and put them back on track.

    - queued, but never sent or sent long ago: send again (the claim makes duplicates harmless);
    - in_progress without a heartbeat for ``stale_after``: the worker died. Requeue it, or fail it
      once it has used up ``max_attempts`` (a job that kills its worker every time must not loop).
    """
    now = now or utcnow()
    report = ReconcileReport()

    stale = session.execute(
        select(Video.id, Video.model, Video.attempts).where(
            Video.status == P.value, Video.heartbeat_at < now - stale_after
        )
    ).all()
    for video_id, _model, attempts in stale:
        if attempts >= max_attempts:
            if fail(
                session, video_id, "worker_lost", f"the worker running this job stopped responding {attempts} times"
            ):
                report.failed.append(video_id)
        elif transition(session, video_id, Q, expected={P}, worker=None, dispatched_at=None, progress=0):
            report.requeued.append(video_id)
    session.commit()

    lost = session.execute(
        select(Video.id, Video.model).where(
            Video.status == Q.value,
            (Video.dispatched_at.is_(None)) | (Video.dispatched_at < now - redispatch_after),
            Video.created_at < now - timedelta(seconds=1),  # leave the API's own first send alone
        )
    ).all()
    for video_id, model in lost:
        if dispatch(video_id, model):
            mark_dispatched(session, video_id)
            session.commit()
            report.redispatched.append(video_id)
    if report.redispatched or report.requeued or report.failed:
        log.info("reconcile: %s", report)
    return report
