"""Numbers about jobs for the metrics endpoint and the operator's queue (``GET /v1/admin/queue``),
read from the database when asked: the database is the truth, so they stay right across API
restarts and replicas.

Every served model gets a number for every active status even when it has no job: an idle
deployment reports 0, which a dashboard draws and an autoscaler acts on, where a series that is
missing says "no data" and scales nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CompoundSelect, func, select, union
from sqlalchemy.orm import Session

from videogen.videos.tables import ACTIVE_STATUSES, HAS_FILES_PREDICATE, Video, VideoStatus


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


@dataclass(frozen=True)
class ModelQueue:
    """One model's queue as the operator sees it (``GET /v1/admin/queue``, ``videogen queue``)."""

    model: str
    served: bool  # in VIDEOGEN_MODELS; False for a model no longer served that still has active jobs
    queued: int
    running: int
    oldest_queued_seconds: float  # 0 when none is queued
    workers_seen: tuple[str, ...]  # sorted worker names (host:pid) that wrote a heartbeat in the window
    running_videos: tuple[str, ...]  # oldest first


def queue_report(session: Session, served_models: Sequence[str], now: datetime, window: timedelta) -> list[ModelQueue]:
    """Every served model's queue (zeros when idle), then any other model's that has active jobs.

    A worker is *seen* when it wrote a job's heartbeat within ``window`` before ``now``: claiming a
    job, every beat while running it and completing it write one (a failing run's last beat is at
    most a heartbeat interval before it ends). The database is the only source, so a worker that
    ran nothing in the window is not seen, however ready it is; nothing asks the broker.

    Four statements whatever the number of jobs, each a range of an existing index: ``job_stats``'
    two, the running jobs (``ix_videos_status_model``: as many as there are busy workers) and the
    finished jobs whose worker beat in the window (``_recently_beaten``).
    """
    stats = job_stats(session, served_models, now)
    since = now - window
    running: dict[str, list[str]] = {}
    seen: dict[str, set[str]] = {}
    for model, video_id, worker, heartbeat_at in session.execute(
        select(Video.model, Video.id, Video.worker, Video.heartbeat_at)
        .where(Video.status == VideoStatus.IN_PROGRESS)
        .order_by(Video.id)
    ):
        running.setdefault(model, []).append(video_id)
        if worker is not None and heartbeat_at is not None and heartbeat_at >= since:
            seen.setdefault(model, set()).add(worker)
    for model, worker in session.execute(_recently_beaten(since)):
        seen.setdefault(model, set()).add(worker)
    others = {model for (_, model), count in stats.active.items() if count} | set(running)
    models = [*served_models, *sorted(others - set(served_models))]
    return [
        ModelQueue(
            model=model,
            served=model in served_models,
            queued=stats.active.get((VideoStatus.QUEUED, model), 0),
            running=len(running.get(model, ())),  # the ids' own count, so the two always agree
            oldest_queued_seconds=stats.oldest_queued_seconds.get(model, 0.0),
            workers_seen=tuple(sorted(seen.get(model, ()))),
            running_videos=tuple(running.get(model, ())),
        )
        for model in models
    ]


def _recently_beaten(since: datetime) -> CompoundSelect[str, str]:
    """(model, worker) of finished jobs whose worker wrote their heartbeat at or after ``since``.

    No index holds heartbeats, so each branch reads a range of one that bounds it: completed jobs
    from the stored files by expiry (``ix_videos_files_expire``: a job completed at or after
    ``since`` expires after it, retention being positive, and keeps its files until then), failed
    and cancelled jobs from ``ix_videos_status_model``. The completed jobs, the bulk of the table,
    are read only as far back as their retention.
    """
    beaten = (Video.worker.is_not(None), Video.heartbeat_at >= since)
    completed = select(Video.model, Video.worker).where(
        HAS_FILES_PREDICATE, Video.expires_at >= since, Video.status == VideoStatus.COMPLETED, *beaten
    )
    ended = select(Video.model, Video.worker).where(
        Video.status.in_([VideoStatus.FAILED, VideoStatus.CANCELLED]), *beaten
    )
    return union(completed, ended)
