"""Put jobs the transport lost back on track. A batch job: it commits per batch, and says so.

- ``in_progress`` without a heartbeat for ``stale_after``: the worker died. Requeue the job, or
  fail it once it has used up ``max_attempts`` (a job that kills its worker every time must not
  loop). Committed before anything is sent, so the nudges below find the requeued jobs.
- ``queued``, but never sent or sent long ago: send the nudge again (the claim makes duplicates
  harmless), then record the sends in one commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from videogen.database import utcnow
from videogen.videos import jobs
from videogen.videos.dispatch import mark_dispatched
from videogen.videos.tables import Video, VideoStatus

log = logging.getLogger(__name__)

# The API sends a new job's nudge right after its commit; the reconciler leaves it that long.
FIRST_SEND_GRACE = timedelta(seconds=1)


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
    """One round of recovery; ``dispatch(video_id, model)`` sends a nudge and says if it went."""
    now = now or utcnow()
    report = ReconcileReport()

    stale = session.execute(
        select(Video.id, Video.attempts).where(
            Video.status == VideoStatus.IN_PROGRESS, Video.heartbeat_at < now - stale_after
        )
    ).all()
    for video_id, attempts in stale:
        if attempts >= max_attempts:
            message = f"the worker running this job stopped responding {attempts} times"
            if jobs.fail(session, video_id, "worker_lost", message):
                report.failed.append(video_id)
        elif jobs.requeue(session, video_id):
            report.requeued.append(video_id)
    session.commit()  # batch 1: the recovered jobs (and their webhook events)

    lost = session.execute(
        select(Video.id, Video.model).where(
            Video.status == VideoStatus.QUEUED,
            (Video.dispatched_at.is_(None)) | (Video.dispatched_at < now - redispatch_after),
            Video.created_at < now - FIRST_SEND_GRACE,
        )
    ).all()
    report.redispatched = [video_id for video_id, model in lost if dispatch(video_id, model)]
    if report.redispatched:
        mark_dispatched(session, report.redispatched)
        session.commit()  # batch 2: when each nudge went out
    if report.redispatched or report.requeued or report.failed:
        log.info("reconcile: %s", report)
    return report
