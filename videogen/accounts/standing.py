"""An organization's standing against its tier: its active jobs and the seconds it was billed today.

Admission needs both exactly, under concurrency, on every submission. Counted from the videos table
they cost as much as the organization has jobs (an organization with 10,000 queued jobs paid a
10,000-row count and sum per submission), so they are kept on the organization's row instead,
beside the lock admission takes anyway, and moved in the same transactions as the jobs: ``take``
(admission: lock and read in one statement), ``count_admitted`` (the new job; or both at once,
``take_and_count``) and ``count_ended`` (``videogen.videos.jobs.transition``, when a job ends). The
videos table stays the record (usage reports read it); these are its running totals, which the
migration that added them computed from it.

The statements are built once, on the table rather than the mapped class: they run in every
submission and at the end of every job, and building an ORM statement costs more than running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Float, Table, bindparam, case, update
from sqlalchemy.orm import Session

from videogen.accounts.tables import Organization

_table = cast(Table, Organization.__table__)
_organizations = _table.c
_this_organization = update(_table).where(_organizations.id == bindparam("organization_id"))
_counted_today = _organizations.usage_day == bindparam("today")
_seconds = bindparam("seconds", type_=Float)

_TAKE = _this_organization.values(admission_seq=_organizations.admission_seq + 1).returning(
    _organizations.active_jobs, _organizations.usage_day, _organizations.usage_day_seconds
)
_TAKE_AND_COUNT = _this_organization.values(
    admission_seq=_organizations.admission_seq + 1,
    active_jobs=_organizations.active_jobs + 1,
    usage_day=bindparam("today"),
    usage_day_seconds=case((_counted_today, _organizations.usage_day_seconds), else_=0.0) + _seconds,
).returning(_organizations.active_jobs, _organizations.usage_day_seconds)
_COUNT_ADMITTED = _this_organization.values(
    active_jobs=bindparam("active_jobs"), usage_day=bindparam("today"), usage_day_seconds=_seconds
)
_COUNT_ENDED = _this_organization.values(active_jobs=_organizations.active_jobs - 1)
_COUNT_ENDED_UNBILLED = _this_organization.values(
    active_jobs=_organizations.active_jobs - 1,
    usage_day_seconds=case(
        (_counted_today, _organizations.usage_day_seconds - _seconds), else_=_organizations.usage_day_seconds
    ),
)


def start_of_utc_day(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Standing:
    active_jobs: int  # queued or in progress
    billed_seconds_today: float  # of the jobs submitted today (UTC), failed and cancelled ones excepted


def take(session: Session, organization_id: str, now: datetime) -> Standing:
    """Lock the organization's row for this transaction (its submissions are admitted one at a time,
    on PostgreSQL and SQLite alike) and read its standing, in one statement."""
    active, day, seconds = session.execute(_TAKE, {"organization_id": organization_id}).one()
    return Standing(active, seconds if day == start_of_utc_day(now) else 0.0)


def take_and_count(session: Session, organization_id: str, seconds: float, now: datetime) -> Standing:
    """``take`` and ``count_admitted`` in one statement, for a job whose row is already written: the
    organization's standing *before* it (the counts are moved at once, so a caller that refuses the
    job must roll the transaction back)."""
    params = {"organization_id": organization_id, "today": start_of_utc_day(now), "seconds": seconds}
    active, seconds_today = session.execute(_TAKE_AND_COUNT, params).one()
    return Standing(active - 1, seconds_today - seconds)


def count_admitted(session: Session, organization_id: str, standing: Standing, seconds: float, now: datetime) -> None:
    """One more active job, billed ``seconds`` today; ``standing`` is what ``take`` read under the
    lock this transaction still holds."""
    session.execute(
        _COUNT_ADMITTED,
        {
            "organization_id": organization_id,
            "active_jobs": standing.active_jobs + 1,
            "today": start_of_utc_day(now),
            "seconds": standing.billed_seconds_today + seconds,
        },
    )


def count_ended(
    session: Session, organization_id: str, *, submitted_at: datetime, seconds: float, billed: bool
) -> None:
    """A job of the organization ended: one active job fewer, and a failed or cancelled one gives
    its ``seconds`` back if it was submitted on the day being counted."""
    if billed:
        session.execute(_COUNT_ENDED, {"organization_id": organization_id})
        return
    params = {"organization_id": organization_id, "today": start_of_utc_day(submitted_at), "seconds": seconds}
    session.execute(_COUNT_ENDED_UNBILLED, params)
