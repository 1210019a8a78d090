"""The job state machine, kept in the database.

::

    queued ──claim──▶ in_progress ──▶ completed
      │                 │  │
      │                 │  └────────▶ failed
      │                 └─(lost worker, attempts left)─▶ queued
      └──────cancel─────┴───────────▶ cancelled

Every transition is one conditional ``UPDATE ... WHERE status IN (...)``. Whoever's update matches
the row wins; everyone else sees ``False`` and backs off. That is what makes duplicate broker
messages, racing cancels and two reconcilers harmless without locks. Moves decided on an earlier
read (the reconciler's "this worker is dead") also name what they read, the attempt and its last
heartbeat, so they change nothing once the job has moved on since. The winner also records the
webhook event of the new state in the same transaction (``videogen.webhooks.events``), so every state a
client can be told about is told exactly when it is committed. A job that ends is likewise taken
off its organization's standing (``videogen.accounts.standing``) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Select, select, update
from sqlalchemy.orm import Session

from videogen.accounts import standing
from videogen.accounts.tables import Organization, OrganizationStatus
from videogen.database import rows_affected, utcnow
from videogen.videos.phases import Phase
from videogen.videos.tables import QUEUED_PREDICATE, TERMINAL_STATUSES, Video, VideoStatus
from videogen.webhooks import events

ALLOWED_TRANSITIONS: dict[VideoStatus, frozenset[VideoStatus]] = {
    VideoStatus.QUEUED: frozenset({VideoStatus.IN_PROGRESS, VideoStatus.CANCELLED, VideoStatus.FAILED}),
    VideoStatus.IN_PROGRESS: frozenset(
        {VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED, VideoStatus.QUEUED}
    ),
    VideoStatus.COMPLETED: frozenset(),
    VideoStatus.FAILED: frozenset(),
    VideoStatus.CANCELLED: frozenset(),
}


# What a running job's heartbeat keeps up to date, cleared by every move out of ``in_progress``.
LIVE_CLEARED: dict[str, Any] = {"phase": None, "denoising_step": None, "estimated_completion_at": None}


@dataclass(frozen=True)
class LiveState:
    """What a worker reports of a running job at each heartbeat (``videogen.videos.phases``)."""

    progress: int
    phase: Phase
    denoising_step: int | None = None
    estimated_completion_at: datetime | None = None


class IllegalTransitionError(ValueError):
    """A programming error: the code asked for a move the state machine does not have."""


def transition(
    session: Session,
    video_id: str,
    to: VideoStatus,
    *,
    expected: Iterable[VideoStatus],
    attempt: int | None = None,
    silent_since: datetime | None = None,
    **values: Any,
) -> bool:
    """Move ``video_id`` to ``to`` if it is currently in one of ``expected`` (and, for a worker,
    still in the ``attempt`` it claimed; for the reconciler, has not heart-beaten after
    ``silent_since``, the heartbeat it judged stale); True if it moved."""
    sources = frozenset(expected)
    for source in sources:
        if to not in ALLOWED_TRANSITIONS[source]:
            raise IllegalTransitionError(f"{source} -> {to} is not a job transition")
    conditions = [Video.id == video_id, Video.status.in_(sources)]
    if attempt is not None:
        conditions.append(Video.attempts == attempt)
    if silent_since is not None:
        conditions.append(Video.heartbeat_at <= silent_since)
    if to != VideoStatus.IN_PROGRESS:
        values = {**LIVE_CLEARED, **values}  # a job that ends or waits again is doing nothing now
    change = update(Video).where(*conditions).values(status=to, **values).execution_options(synchronize_session=False)
    if to.is_terminal:
        # The job ends: its organization has one active job fewer (and a failed or cancelled job
        # bills nothing), counted in this transaction (``videogen.accounts.standing``).
        ended = session.execute(
            change.returning(Video.organization_id, Video.created_at, Video.duration_seconds)
        ).one_or_none()
        moved = ended is not None
        if ended is not None:
            organization_id, submitted_at, seconds = ended
            standing.count_ended(
                session, organization_id, submitted_at=submitted_at, seconds=seconds, billed=to.is_billed
            )
    else:
        moved = rows_affected(session.execute(change)) == 1
    if moved and to in events.EVENT_FOR_STATUS:
        # The outbox: the event and its deliveries commit, or roll back, with the change itself.
        events.record_video_event(session, video_id, events.EVENT_FOR_STATUS[to])
    return moved


def claim_next(session: Session, model: str, worker: str, attempts: int = 8) -> str | None:
    """Claim the job a worker of ``model`` should run now, or None if none is runnable.

    The broker message only says "a job for this model is waiting"; which job runs is decided
    here: the highest priority first, then the oldest, skipping suspended organizations. This
    makes priorities exact on any broker (the filesystem transport has none, Redis only emulates
    them) and keeps lost or duplicated messages harmless. Racing workers simply try the next one.
    """
    runnable = runnable_jobs(model).order_by(*QUEUE_ORDER).limit(attempts)
    for candidate in session.scalars(runnable).all():
        if claim(session, candidate, worker):
            return candidate
    return None


def claim(session: Session, video_id: str, worker: str) -> bool:
    """A worker takes a queued job. Only one claim per attempt can succeed."""
    now = utcnow()
    return transition(
        session,
        video_id,
        VideoStatus.IN_PROGRESS,
        expected={VideoStatus.QUEUED},
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        progress=0,
        attempts=Video.attempts + 1,
        phase=Phase.LOADING,  # the worker's first move: its model, loaded or (normally) already warm
        denoising_step=None,
        estimated_completion_at=None,
        timings=None,
        gpu_seconds=None,
    )


def heartbeat(session: Session, video_id: str, attempt: int, live: LiveState) -> bool:
    """Record that the worker is alive, how far it got and what it is doing. False means the job
    was cancelled (or requeued after this worker looked dead) and the worker should stop."""
    result = session.execute(
        update(Video)
        .where(Video.id == video_id, Video.status == VideoStatus.IN_PROGRESS, Video.attempts == attempt)
        .values(
            heartbeat_at=utcnow(),
            progress=live.progress,
            phase=live.phase,
            denoising_step=live.denoising_step,
            estimated_completion_at=live.estimated_completion_at,
        )
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result) == 1


def complete(
    session: Session,
    video_id: str,
    *,
    attempt: int,
    video_key: str,
    thumbnail_key: str,
    video_bytes: int,
    spritesheet_key: str | None = None,
    retention: timedelta,
    timings: dict[str, float | None] | None = None,
) -> bool:
    now = utcnow()
    return transition(
        session,
        video_id,
        VideoStatus.COMPLETED,
        expected={VideoStatus.IN_PROGRESS},
        attempt=attempt,
        progress=100,
        completed_at=now,
        expires_at=now + retention,
        video_key=video_key,
        thumbnail_key=thumbnail_key,
        spritesheet_key=spritesheet_key,
        video_bytes=video_bytes,
        heartbeat_at=now,
        timings=timings,
        gpu_seconds=_gpu_seconds(timings),
    )


def fail(
    session: Session,
    video_id: str,
    code: str,
    message: str,
    *,
    attempt: int | None = None,
    silent_since: datetime | None = None,
    timings: dict[str, float | None] | None = None,
) -> bool:
    """End a running job as failed. A worker names its ``attempt`` (and what the run took, when it
    got that far); the reconciler failing a lost worker's job names the attempt and the heartbeat
    it read as well (see ``requeue``)."""
    recorded = {} if timings is None else {"timings": timings, "gpu_seconds": _gpu_seconds(timings)}
    return transition(
        session,
        video_id,
        VideoStatus.FAILED,
        expected={VideoStatus.IN_PROGRESS},
        attempt=attempt,
        silent_since=silent_since,
        completed_at=utcnow(),
        error_code=code,
        error_message=message[:2000],
        **recorded,
    )


def requeue(session: Session, video_id: str, *, attempt: int, silent_since: datetime) -> bool:
    """Put a job whose worker stopped responding back in the queue, for another attempt.

    Only if it is still the ``attempt`` that was judged lost and has not heart-beaten after
    ``silent_since`` (the heartbeat read): a reconciler acting on a read that another replica's
    requeue and a new claim have since overtaken must not requeue the fresh attempt, and a worker
    that was merely slow and has beaten again keeps its job.
    """
    return transition(
        session,
        video_id,
        VideoStatus.QUEUED,
        expected={VideoStatus.IN_PROGRESS},
        attempt=attempt,
        silent_since=silent_since,
        worker=None,
        dispatched_at=None,
        progress=0,
    )


def record_run(session: Session, video_id: str, *, attempt: int, timings: dict[str, float | None]) -> bool:
    """Keep what a run took on a job that has already ended without it (cancelled mid-run: the
    GPU was busy for it until the run stopped), unless a later attempt has taken the job."""
    result = session.execute(
        update(Video)
        .where(Video.id == video_id, Video.attempts == attempt, Video.status.in_(TERMINAL_STATUSES))
        .values(timings=timings, gpu_seconds=_gpu_seconds(timings))
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result) == 1


def _gpu_seconds(timings: dict[str, float | None] | None) -> float | None:
    """The run's GPU time, kept in a column of its own beside ``timings`` so usage can sum it."""
    return None if timings is None else timings.get("gpu_seconds")


def attempt_of(session: Session, video_id: str) -> tuple[VideoStatus, int] | None:
    """The job's status and attempt number now (None if the row is gone): how a worker whose
    heartbeat or completion was refused tells "cancelled" from "superseded by a requeue"."""
    row = session.execute(select(Video.status, Video.attempts).where(Video.id == video_id)).one_or_none()
    return None if row is None else (row.status, row.attempts)


def cancel(session: Session, video_id: str) -> bool:
    """Cancel a queued or running job. A running worker notices at its next heartbeat."""
    return transition(
        session,
        video_id,
        VideoStatus.CANCELLED,
        expected={VideoStatus.QUEUED, VideoStatus.IN_PROGRESS},
        completed_at=utcnow(),
    )


# The order in which workers take queued jobs: the highest priority first, then the oldest (ids sort
# by creation). ``ix_videos_queue`` holds queued jobs in exactly this order.
QUEUE_ORDER = (Video.priority.desc(), Video.id.asc())


def runnable_jobs(model: str | BindParameter[str] | None = None) -> Select[str]:
    """Queued jobs that a worker may take (of ``model``, or of every model): not deleted, their
    organization active."""
    query = select(Video.id).where(
        # The queue index's own predicate, as SQL text, so that both databases see that it applies.
        QUEUED_PREDICATE,
        Video.organization_id.not_in(
            select(Organization.id).where(Organization.status != OrganizationStatus.ACTIVE).scalar_subquery()
        ),
    )
    return query if model is None else query.where(Video.model == model)
