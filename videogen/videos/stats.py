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

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from videogen.videos.tables import ACTIVE_STATUSES, RAN_PREDICATE, Video, VideoStatus


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
    workers_seen: tuple[str, ...]  # sorted worker names (host:pid) that ran or ended a job in the window
    running_videos: tuple[str, ...]  # oldest first


def queue_report(session: Session, served_models: Sequence[str], now: datetime, window: timedelta) -> list[ModelQueue]:
    """Every served model's queue (zeros when idle), then any other model's that has active jobs.

    A worker is *seen* when, within ``window`` before ``now``, it wrote the heartbeat of a job it
    is running or ended a job it ran (completed or failed it, or saw it cancelled). The database is
    the only source, so a worker that ran nothing in the window is not seen, however ready it is;
    nothing asks the broker.

    Four statements whatever the number of jobs, each a range of an index: ``job_stats``' two, the
    running jobs (``ix_videos_status_model``: as many as there are busy workers) and the jobs that
    ended in the window (``ix_videos_finished``).
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
    for model, worker in session.execute(_recently_finished(since)):
        if worker is not None:  # always, by the index's predicate; the column is nullable
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


def _recently_finished(since: datetime) -> Select[str, str | None]:
    """(model, worker) of the jobs a worker ended (completed, failed, or saw cancelled) at or after
    ``since``: a range of ``ix_videos_finished``, as long as the window's jobs, whatever the history."""
    return select(Video.model, Video.worker).where(RAN_PREDICATE, Video.completed_at >= since).distinct()
