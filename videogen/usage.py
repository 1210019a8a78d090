"""Usage per organization, computed from the videos table (so restarts never reset it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from videogen.admission import NOT_BILLED, start_of_utc_day
from videogen.orm import Organization, Video, utcnow
from videogen.tiers import Tier

MAX_DAYS = 92


@dataclass
class UsageBucket:
    date: str
    model: str
    jobs: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    video_seconds: float = 0.0  # requested seconds of jobs that count against the quota


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
    start = start or end - timedelta(days=29)
    if start > end or (end - start).days >= MAX_DAYS:
        from videogen.errors import InvalidRequestError

        raise InvalidRequestError(
            f"start_date must not be after end_date, and the range must be at most {MAX_DAYS} days.",
            param="start_date",
        )
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    rows = session.execute(
        select(Video.created_at, Video.model, Video.status, Video.duration_seconds).where(
            Video.organization_id == org.id, Video.created_at >= since, Video.created_at < until
        )
    ).all()

    buckets: dict[tuple[str, str], UsageBucket] = defaultdict(lambda: UsageBucket(date="", model=""))
    for created_at, model, status, seconds in rows:
        day = created_at.astimezone(UTC).date().isoformat()
        bucket = buckets[(day, model)]
        bucket.date, bucket.model = day, model
        bucket.jobs += 1
        if status in ("completed", "failed", "cancelled"):
            setattr(bucket, status, getattr(bucket, status) + 1)
        if status not in NOT_BILLED:
            bucket.video_seconds += seconds

    day_start = start_of_utc_day(utcnow())
    today_seconds = sum(
        seconds for created_at, _, status, seconds in rows if created_at >= day_start and status not in NOT_BILLED
    )
    return UsageReport(
        organization_id=org.id,
        tier=tier.name,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        data=sorted(buckets.values(), key=lambda b: (b.date, b.model)),
        today_video_seconds=today_seconds if start <= today <= end else _today_seconds(session, org.id),
        daily_quota=tier.video_seconds_per_day,
    )


def _today_seconds(session: Session, org_id: str) -> float:
    rows = session.execute(
        select(Video.duration_seconds).where(
            Video.organization_id == org_id,
            Video.created_at >= start_of_utc_day(utcnow()),
            Video.status.not_in(NOT_BILLED),
        )
    ).scalars()
    return float(sum(rows))
