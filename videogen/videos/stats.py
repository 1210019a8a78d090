"""Numbers about jobs for the metrics endpoint, read from the database at scrape time: the
database is the truth, so they stay right across API restarts and replicas.

Every served model gets a number for every active status even when it has no job: an idle
deployment reports 0, which a dashboard draws and an autoscaler acts on, where a series that is
missing says "no data" and scales nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from videogen.videos.tables import ACTIVE_STATUSES, Video, VideoStatus


@dataclass(frozen=True)
class JobStats:
    # (status, model) -> jobs, for every active status of every served model (0 when none), and of
    # any other model that still has active jobs (one no longer served, say).
    active: dict[tuple[VideoStatus, str], int]
    # model -> age in seconds of its oldest queued job, 0 when none is queued.
    oldest_queued_seconds: dict[str, float]


def job_stats(session: Session, served_models: Sequence[str], now: datetime) -> JobStats:
    active = {(status, model): 0 for model in served_models for status in ACTIVE_STATUSES}
    for status, model, count in session.execute(
        select(Video.status, Video.model, func.count())
        .where(Video.status.in_(ACTIVE_STATUSES))
        .group_by(Video.status, Video.model)
    ):
        active[(status, model)] = count
    oldest = dict.fromkeys(served_models, 0.0)
    for model, created_at in session.execute(
        select(Video.model, func.min(Video.created_at)).where(Video.status == VideoStatus.QUEUED).group_by(Video.model)
    ):  # min() keeps the column's type, so created_at is aware on SQLite too (UTCDateTime)
        oldest[model] = max(0.0, (now - created_at).total_seconds())
    return JobStats(active=active, oldest_queued_seconds=oldest)
