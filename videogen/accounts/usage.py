"""Usage per organization, computed from the videos table (so restarts never reset it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from videogen.accounts.standing import start_of_utc_day
from videogen.accounts.tables import Organization
from videogen.accounts.tiers import Tier
from videogen.database import utcnow
from videogen.errors import InvalidRequestError
from videogen.videos.tables import UNBILLED_STATUSES, Video, VideoStatus

MAX_DAYS = 92


@dataclass
class UsageBucket:
    date: str
    model: str
    jobs: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    video_seconds: float = 0.0  # rendered seconds of jobs that count against the quota
    gpu_seconds: float = 0.0  # the GPU's busy time for the jobs, whatever their end (``Video.gpu_seconds``)


@dataclass
class UsageReport:
    organization_id: str
    tier: str
    start_date: str
    end_date: str
    data: list[UsageBucket] = field(default_factory=list)
    today_video_seconds: float = 0.0
    daily_quota: float = 0.0


def usage_report(session: Session, org: Organization, tier: Tier, start: date | None, end: date | None) -> UsageReport:
    today = utcnow().date()
    end = end or today
    if not date.min + timedelta(days=MAX_DAYS) <= end < date.max:  # the range's arithmetic stays in the calendar
        raise InvalidRequestError(
            f"end_date must be between {date.min + timedelta(days=MAX_DAYS)} and {date.max - timedelta(days=1)}.",
            param="end_date",
        )
    start = start or end - timedelta(days=29)
    if start > end or (end - start).days >= MAX_DAYS:
        raise InvalidRequestError(
            f"start_date must not be after end_date, and the range must be at most {MAX_DAYS} days.",
            param="start_date",
        )
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    rows = session.execute(
        select(Video.created_at, Video.model, Video.status, Video.duration_seconds, Video.gpu_seconds).where(
            Video.organization_id == org.id, Video.created_at >= since, Video.created_at < until
        )
    ).all()

    buckets: dict[tuple[str, str], UsageBucket] = defaultdict(lambda: UsageBucket(date="", model=""))
    for created_at, model, status, seconds, gpu_seconds in rows:
        day = created_at.astimezone(UTC).date().isoformat()
        bucket = buckets[(day, model)]
        bucket.date, bucket.model = day, model
        bucket.jobs += 1
        if status == VideoStatus.COMPLETED:
            bucket.completed += 1
        elif status == VideoStatus.FAILED:
            bucket.failed += 1
        elif status == VideoStatus.CANCELLED:
            bucket.cancelled += 1
        if status.is_billed:
            bucket.video_seconds += seconds
        bucket.gpu_seconds += gpu_seconds or 0.0

    day_start = start_of_utc_day(utcnow())
    today_seconds = sum(
        seconds for created_at, _, status, seconds, _ in rows if created_at >= day_start and status.is_billed
    )
    return UsageReport(
        organization_id=org.id,
        tier=tier.name,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        data=sorted(buckets.values(), key=lambda b: (b.date, b.model)),
        today_video_seconds=today_seconds
        if start <= today <= end
        else billed_video_seconds(session, org.id, day_start),
        daily_quota=tier.video_seconds_per_day,
    )


def billed_video_seconds(session: Session, organization_id: str, since: datetime) -> float:
    """Rendered seconds (``VideoParameters.rendered_seconds``, the videos' ``duration_seconds``)
    of the organization's jobs created since ``since`` that count against its quota (failed and
    cancelled jobs do not)."""
    used = session.scalar(
        select(func.coalesce(func.sum(Video.duration_seconds), 0.0)).where(
            Video.organization_id == organization_id,
            Video.created_at >= since,
            Video.status.not_in(UNBILLED_STATUSES),
        )
    )
    return float(used or 0)
