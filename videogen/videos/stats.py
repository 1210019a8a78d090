"""Numbers about jobs for the metrics endpoint, read from the database at scrape time: the
database is the truth, so they stay right across API restarts and replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from videogen.videos.tables import ACTIVE_STATUSES, Video, VideoStatus


@dataclass(frozen=True)
class JobStats:
    active: list[tuple[VideoStatus, str, int]]  # (status, model, jobs) of queued and running jobs
    oldest_queued: list[tuple[str, datetime]]  # (model, created_at of its oldest queued job)


def job_stats(session: Session) -> JobStats:
    active = session.execute(
        select(Video.status, Video.model, func.count())
        .where(Video.status.in_(ACTIVE_STATUSES))
        .group_by(Video.status, Video.model)
    ).all()
    oldest = session.execute(
        select(Video.model, func.min(Video.created_at)).where(Video.status == VideoStatus.QUEUED).group_by(Video.model)
    ).all()
    return JobStats(
        active=[(status, model, count) for status, model, count in active],
        oldest_queued=[(model, created_at) for model, created_at in oldest],
    )
