"""Put jobs the transport lost back on track. A batch job: it commits per batch, and says so.

- ``in_progress`` without a heartbeat for ``stale_after``: the worker died. Requeue the job, or
  fail it once it has used up ``max_attempts`` (a job that kills its worker every time must not
  loop). Committed before anything is sent, so the nudges below find the requeued jobs.
- ``queued``, but never sent (the broker refused the nudge, or the process that made the job does
  not send nudges): send it, oldest first and at most ``UNSENT_BATCH`` a round,
  then record the sends in one commit. Nudges that were sent and then lost (a flushed broker) are
  re-sent when the broker's queue is found empty while jobs wait
  (``videogen.videos.dispatch.resend_lost_nudges``): a job that merely waits long, behind a long
  queue, is never sent twice.
- Last, the files the abandoned attempts left behind are deleted (best effort: storage being down
  must not hold up recovery, and the next attempt's worker deletes earlier attempts' files too).

Finding lost jobs (``find_lost_jobs``) and acting on one (``recover``) are separate steps because
they are separate moments: between them another replica may requeue the job and a worker claim
it again. ``recover`` therefore only acts on the attempt and the heartbeat it was given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from videogen.database import utcnow
from videogen.storage import Storage
from videogen.videos import jobs
from videogen.videos.assets import delete_attempts
from videogen.videos.dispatch import mark_dispatched
from videogen.videos.tables import UNSENT_PREDICATE, Video, VideoStatus

log = logging.getLogger(__name__)

# The API sends a new job's nudge right after its commit; the reconciler leaves it that long.
FIRST_SEND_GRACE = timedelta(seconds=1)
# Never-sent jobs nudged per round: a round stays short however many piled up in an outage.
UNSENT_BATCH = 1000


@dataclass(frozen=True)
class LostJob:
    """A running job whose worker looks dead, as the reconciler read it."""

    video_id: str
    attempt: int
    heartbeat_at: datetime


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
    stale_after: timedelta,
    max_attempts: int,
    now: datetime | None = None,
    storage: Storage | None = None,
) -> ReconcileReport:
    """One round of recovery; ``dispatch(video_id, model)`` sends a nudge and says if it went.
    With ``storage``, the files of the attempts it gave up on are deleted at the end."""
    now = now or utcnow()
    report = ReconcileReport()

    abandoned: list[tuple[str, range]] = []  # each recovered job's attempts whose files are orphans
    for lost in find_lost_jobs(session, now=now, stale_after=stale_after):
        outcome = recover(session, lost, max_attempts=max_attempts)
        if outcome == "failed":
            report.failed.append(lost.video_id)
            abandoned.append((lost.video_id, range(1, lost.attempt + 1)))
        elif outcome == "requeued":
            report.requeued.append(lost.video_id)
            abandoned.append((lost.video_id, range(lost.attempt, lost.attempt + 1)))
    session.commit()  # batch 1: the recovered jobs (and their webhook events)

    unsent = session.execute(
        jobs.runnable_jobs()
        .add_columns(Video.model)
        .where(UNSENT_PREDICATE, Video.created_at < now - FIRST_SEND_GRACE)
        .order_by(Video.created_at)  # the order of ix_videos_unsent, which holds these jobs only
        .limit(UNSENT_BATCH)
    ).all()
    report.redispatched = [video_id for video_id, model in unsent if dispatch(video_id, model)]
    if report.redispatched:
        mark_dispatched(session, report.redispatched)
        session.commit()  # batch 2: when each nudge went out

    if storage is not None:
        for video_id, attempts in abandoned:
            delete_attempts(storage, video_id, attempts)
    if report.redispatched or report.requeued or report.failed:
        log.info("reconcile: %s", report)
    return report


def find_lost_jobs(session: Session, *, now: datetime, stale_after: timedelta) -> list[LostJob]:
    """Running jobs without a heartbeat for ``stale_after``: their workers look dead."""
    rows = session.execute(
        select(Video.id, Video.attempts, Video.heartbeat_at).where(
            Video.status == VideoStatus.IN_PROGRESS, Video.heartbeat_at < now - stale_after
        )
    ).all()
    # heartbeat_at is never NULL for a running job (the claim sets it); the WHERE above ensures it.
    return [LostJob(video_id, attempt, heartbeat_at) for video_id, attempt, heartbeat_at in rows if heartbeat_at]


def recover(session: Session, lost: LostJob, *, max_attempts: int) -> Literal["requeued", "failed"] | None:
    """Requeue a lost job, or fail it once it has used up ``max_attempts``; None if it has moved on
    since it was read (requeued by another replica and claimed again, heart-beaten, finished). The
    caller commits."""
    if lost.attempt >= max_attempts:
        message = f"the worker running this job stopped responding {lost.attempt} times"
        failed = jobs.fail(
            session, lost.video_id, "worker_lost", message, attempt=lost.attempt, silent_since=lost.heartbeat_at
        )
        return "failed" if failed else None
    if jobs.requeue(session, lost.video_id, attempt=lost.attempt, silent_since=lost.heartbeat_at):
        return "requeued"
    return None
