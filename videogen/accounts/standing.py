"""An organization's standing against its tier: its active jobs and the seconds it was billed today.

Admission needs both exactly, under concurrency, on every submission. Counted from the videos table
they cost as much as the organization has jobs (an organization with 10,000 queued jobs paid a
10,000-row count and sum per submission), so they are kept on the organization's row instead,
beside the lock admission takes anyway, and moved in the same transactions as the jobs: ``take``
(admission: lock and read in one statement), ``count_admitted`` (the new job; or both at once,
``take_and_count``) and ``count_ended`` (``videogen.videos.jobs.transition``, when a job ends). The
videos table stays the record (usage reports read it); these are its running totals, which the
migration that added them computed from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from videogen.accounts.tables import Organization


def start_of_utc_day(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Standing:
    active_jobs: int  # queued or in progress
    billed_seconds_today: float  # of the jobs submitted today (UTC), failed and cancelled ones excepted


def take(session: Session, organization_id: str, now: datetime) -> Standing:
    """Lock the organization's row for this transaction (its submissions are admitted one at a time,
    on PostgreSQL and SQLite alike) and read its standing, in one statement."""
    active, day, seconds = session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(admission_seq=Organization.admission_seq + 1)
        .returning(Organization.active_jobs, Organization.usage_day, Organization.usage_day_seconds)
        .execution_options(synchronize_session=False)
    ).one()
    return Standing(active, seconds if day == start_of_utc_day(now) else 0.0)


def take_and_count(session: Session, organization_id: str, seconds: float, now: datetime) -> Standing:
    """``take`` and ``count_admitted`` in one statement, for a job whose row is already written: the
    organization's standing *before* it (the counts are moved at once, so a caller that refuses the
    job must roll the transaction back)."""
    today = start_of_utc_day(now)
    active, seconds_today = session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(
            admission_seq=Organization.admission_seq + 1,
            active_jobs=Organization.active_jobs + 1,
            usage_day=today,
            usage_day_seconds=case((Organization.usage_day == today, Organization.usage_day_seconds), else_=0.0)
            + seconds,
        )
        .returning(Organization.active_jobs, Organization.usage_day_seconds)
        .execution_options(synchronize_session=False)
    ).one()
    return Standing(active - 1, seconds_today - seconds)


def count_admitted(session: Session, organization_id: str, standing: Standing, seconds: float, now: datetime) -> None:
    """One more active job, billed ``seconds`` today; ``standing`` is what ``take`` read under the
    lock this transaction still holds."""
    session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(
            active_jobs=standing.active_jobs + 1,
            usage_day=start_of_utc_day(now),
            usage_day_seconds=standing.billed_seconds_today + seconds,
        )
        .execution_options(synchronize_session=False)
    )


def count_ended(
    session: Session, organization_id: str, *, submitted_at: datetime, seconds: float, billed: bool
) -> None:
    """A job of the organization ended: one active job fewer, and a failed or cancelled one gives
    its ``seconds`` back if it was submitted on the day being counted."""
    values: dict[str, object] = {"active_jobs": Organization.active_jobs - 1}
    if not billed:
        values["usage_day_seconds"] = case(
            (Organization.usage_day == start_of_utc_day(submitted_at), Organization.usage_day_seconds - seconds),
            else_=Organization.usage_day_seconds,
        )
    session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )
