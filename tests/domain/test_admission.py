"""Admission (``videogen.videos.admission``): what a tier never allows, how many jobs an
organization may have at once and per day, and ``Idempotency-Key`` replays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.domain.factories import count, make_key, make_org, make_tier, make_video, race, reloaded, tiny_params
from videogen.accounts.tables import ApiKey, Organization
from videogen.accounts.tiers import Tier
from videogen.accounts.usage import start_of_utc_day
from videogen.database import utcnow
from videogen.errors import ConflictError, PermissionDeniedError, QuotaExceededError, RateLimitError
from videogen.videos import jobs
from videogen.videos.admission import CONCURRENCY_RETRY_AFTER_SECONDS, Admission, admit, check_tier
from videogen.videos.parameters import VideoParameters
from videogen.videos.tables import IdempotencyKey, Video, VideoStatus

TTL = timedelta(hours=24)


@pytest.fixture
def org(session: Session) -> Organization:
    return make_org(session)


@pytest.fixture
def api_key(session: Session, org: Organization) -> ApiKey:
    key = make_key(session, org).api_key
    session.commit()
    return key


def submit(
    session: Session,
    api_key: ApiKey,
    tier: Tier,
    *,
    params: VideoParameters | None = None,
    key: str | None = None,
    fingerprint: str = "fp-1",
    **param_overrides: Any,
) -> Admission:
    """One admission in its own committed transaction, as one API request does it."""
    try:
        admission = admit(
            session,
            api_key=api_key,
            tier=tier,
            params=params or tiny_params(**param_overrides),
            idempotency_key=key,
            fingerprint=fingerprint,
            idempotency_ttl=TTL,
        )
    except Exception:
        session.rollback()
        raise
    session.commit()
    return admission


# --- the job's row -------------------------------------------------------------------------------


def test_an_admitted_job_is_queued_with_the_tiers_priority_and_retention(session: Session, api_key: ApiKey) -> None:
    tier = make_tier(priority=7, retention_hours=48)
    params = tiny_params(seconds="2", size="256x144", fps=12, metadata={"customer": "42"})

    admission = submit(session, api_key, tier, params=params)

    assert admission.replayed is False
    video = reloaded(session, admission.video)
    assert (video.status, video.organization_id, video.api_key_id) == (
        VideoStatus.QUEUED,
        api_key.organization_id,
        api_key.id,
    )
    assert (video.priority, video.retention_hours) == (7, 48)
    assert (video.seconds, video.duration_seconds, video.size, video.fps) == ("2", 2.0, "256x144", 12)
    assert (video.num_frames, video.seed, video.metadata_) == (params.num_frames, params.seed, {"customer": "42"})
    assert video.attempts == 0 and video.dispatched_at is None


# --- concurrency ---------------------------------------------------------------------------------


def test_an_organization_at_its_concurrency_limit_is_told_to_retry_later(
    session: Session, org: Organization, api_key: ApiKey
) -> None:
    tier = make_tier(max_concurrent_jobs=2)
    make_video(session, org, status=VideoStatus.QUEUED)
    make_video(session, org, status=VideoStatus.IN_PROGRESS)
    session.commit()

    with pytest.raises(RateLimitError) as refused:
        submit(session, api_key, tier)

    assert (refused.value.status_code, refused.value.code) == (429, "concurrency_limit_exceeded")
    assert refused.value.headers["Retry-After"] == str(CONCURRENCY_RETRY_AFTER_SECONDS)
    assert count(session, Video) == 2


def test_jobs_below_the_concurrency_limit_are_admitted_up_to_it(session: Session, api_key: ApiKey) -> None:
    tier = make_tier(max_concurrent_jobs=3)
    for _ in range(3):
        submit(session, api_key, tier)

    with pytest.raises(RateLimitError):
        submit(session, api_key, tier)
    assert count(session, Video) == 3


@pytest.mark.parametrize("ending", ["complete", "fail", "cancel"])
def test_a_job_that_ends_frees_its_slot(session: Session, api_key: ApiKey, ending: str) -> None:
    tier = make_tier(max_concurrent_jobs=1)
    first = submit(session, api_key, tier).video
    with pytest.raises(RateLimitError):
        submit(session, api_key, tier)

    assert jobs.claim(session, first.id, "gpu-1")
    if ending == "complete":
        assert jobs.complete(
            session, first.id, attempt=1, video_key="k", thumbnail_key="t", video_bytes=1, retention=TTL
        )
    elif ending == "fail":
        assert jobs.fail(session, first.id, "oom", "out of memory", attempt=1)
    else:
        assert jobs.cancel(session, first.id)
    session.commit()

    assert submit(session, api_key, tier).replayed is False


def test_other_organizations_jobs_do_not_count_against_the_limit(session: Session, api_key: ApiKey) -> None:
    tier = make_tier(max_concurrent_jobs=1)
    other = make_org(session)
    make_video(session, other)
    make_video(session, other, status=VideoStatus.IN_PROGRESS)
    session.commit()

    assert submit(session, api_key, tier).video.status == VideoStatus.QUEUED


def test_concurrent_requests_against_the_limit_admit_exactly_the_limit(
    new_session: Callable[[], Session], api_key: ApiKey
) -> None:
    tier = make_tier(max_concurrent_jobs=3)
    requests = [new_session() for _ in range(10)]

    results = race(len(requests), lambda i: submit(requests[i], api_key, tier))

    assert sum(isinstance(r, Admission) for r in results) == 3
    assert all(isinstance(r, Admission | RateLimitError) for r in results), results
    assert count(requests[0], Video) == 3


# --- the daily quota -----------------------------------------------------------------------------


def test_a_request_that_would_exceed_the_daily_quota_is_refused(
    session: Session, org: Organization, api_key: ApiKey
) -> None:
    tier = make_tier(video_seconds_per_day=5)
    make_video(session, org, status=VideoStatus.COMPLETED, seconds=4)
    session.commit()

    with pytest.raises(QuotaExceededError) as refused:
        submit(session, api_key, tier, seconds="2")

    assert (refused.value.status_code, refused.value.type, refused.value.code) == (
        429,
        "insufficient_quota",
        "quota_exceeded",
    )
    seconds_to_midnight = (start_of_utc_day(utcnow()) + timedelta(days=1) - utcnow()).total_seconds()
    assert abs(refused.value.retry_after - seconds_to_midnight) <= 5
    assert count(session, Video) == 1


def test_a_request_that_uses_exactly_the_rest_of_the_quota_is_admitted(
    session: Session, org: Organization, api_key: ApiKey
) -> None:
    tier = make_tier(video_seconds_per_day=5)
    make_video(session, org, status=VideoStatus.COMPLETED, seconds=3)
    session.commit()

    assert submit(session, api_key, tier, seconds="2").video.status == VideoStatus.QUEUED
    with pytest.raises(QuotaExceededError):
        submit(session, api_key, tier, seconds="1")


@pytest.mark.parametrize("status", [VideoStatus.FAILED, VideoStatus.CANCELLED])
def test_failed_and_cancelled_jobs_do_not_count_against_the_quota(
    session: Session, org: Organization, api_key: ApiKey, status: VideoStatus
) -> None:
    tier = make_tier(video_seconds_per_day=5)
    make_video(session, org, status=status, seconds=4)
    session.commit()

    assert submit(session, api_key, tier, seconds="2").video.status == VideoStatus.QUEUED


@pytest.mark.parametrize("status", [VideoStatus.QUEUED, VideoStatus.IN_PROGRESS, VideoStatus.COMPLETED])
def test_queued_running_and_completed_jobs_count_against_the_quota(
    session: Session, org: Organization, api_key: ApiKey, status: VideoStatus
) -> None:
    tier = make_tier(video_seconds_per_day=5)
    make_video(session, org, status=status, seconds=4)
    session.commit()

    with pytest.raises(QuotaExceededError):
        submit(session, api_key, tier, seconds="2")


def test_yesterdays_jobs_do_not_count_against_todays_quota(
    session: Session, org: Organization, api_key: ApiKey
) -> None:
    tier = make_tier(video_seconds_per_day=5)
    yesterday = start_of_utc_day(utcnow()) - timedelta(minutes=1)
    make_video(session, org, status=VideoStatus.COMPLETED, seconds=5, created_at=yesterday)
    session.commit()

    assert submit(session, api_key, tier, seconds="2").video.status == VideoStatus.QUEUED


def test_the_quota_is_per_organization(session: Session, api_key: ApiKey) -> None:
    tier = make_tier(video_seconds_per_day=5)
    make_video(session, make_org(session), status=VideoStatus.COMPLETED, seconds=5)
    session.commit()

    assert submit(session, api_key, tier, seconds="2").video.status == VideoStatus.QUEUED


# --- idempotency ---------------------------------------------------------------------------------


def test_a_retried_request_with_the_same_key_gets_the_same_video(session: Session, api_key: ApiKey) -> None:
    tier = make_tier()
    first = submit(session, api_key, tier, key="retry-1", fingerprint="fp-a")

    again = submit(session, api_key, tier, key="retry-1", fingerprint="fp-a")

    assert (again.replayed, again.video.id) == (True, first.video.id)
    assert count(session, Video) == 1
    assert count(session, IdempotencyKey) == 1


def test_a_request_retried_concurrently_with_one_key_creates_one_video(
    new_session: Callable[[], Session], api_key: ApiKey
) -> None:
    tier = make_tier()
    requests = [new_session() for _ in range(8)]

    results = race(len(requests), lambda i: submit(requests[i], api_key, tier, key="retry-1"))

    admissions = [r for r in results if isinstance(r, Admission)]
    assert len(admissions) == len(requests), results
    assert len({a.video.id for a in admissions}) == 1
    assert sorted(a.replayed for a in admissions) == [False] + [True] * 7
    assert count(requests[0], Video) == 1


def test_a_replay_is_answered_even_at_the_concurrency_limit(session: Session, api_key: ApiKey) -> None:
    tier = make_tier(max_concurrent_jobs=1)
    first = submit(session, api_key, tier, key="retry-1")

    again = submit(session, api_key, tier, key="retry-1")

    assert (again.replayed, again.video.id) == (True, first.video.id)


def test_a_key_reused_for_a_different_request_is_a_conflict(session: Session, api_key: ApiKey) -> None:
    tier = make_tier()
    first = submit(session, api_key, tier, key="retry-1", fingerprint="fp-a")

    with pytest.raises(ConflictError) as refused:
        submit(session, api_key, tier, key="retry-1", fingerprint="fp-b")

    assert (refused.value.status_code, refused.value.code, refused.value.param) == (
        409,
        "idempotency_key_reused",
        "Idempotency-Key",
    )
    assert count(session, Video) == 1
    assert reloaded(session, first.video).status == VideoStatus.QUEUED


def test_an_expired_key_may_be_used_for_a_new_request(session: Session, api_key: ApiKey) -> None:
    tier = make_tier()
    first = submit(session, api_key, tier, key="retry-1", fingerprint="fp-a")
    session.execute(update(IdempotencyKey).values(created_at=utcnow() - TTL - timedelta(minutes=1)))
    session.commit()

    second = submit(session, api_key, tier, key="retry-1", fingerprint="fp-b")

    assert second.replayed is False and second.video.id != first.video.id
    assert count(session, Video) == 2
    [stored] = session.scalars(select(IdempotencyKey)).all()
    assert (stored.video_id, stored.request_hash) == (second.video.id, "fp-b")


def test_the_same_key_in_two_organizations_makes_two_videos(session: Session, api_key: ApiKey) -> None:
    tier = make_tier()
    other_key = make_key(session, make_org(session)).api_key
    session.commit()

    mine = submit(session, api_key, tier, key="retry-1")
    theirs = submit(session, other_key, tier, key="retry-1")

    assert theirs.replayed is False and theirs.video.id != mine.video.id


def test_a_refused_request_does_not_consume_its_key(session: Session, org: Organization, api_key: ApiKey) -> None:
    make_video(session, org, status=VideoStatus.COMPLETED, seconds=5)
    session.commit()
    with pytest.raises(QuotaExceededError):
        submit(session, api_key, make_tier(video_seconds_per_day=5), key="retry-1")

    admitted = submit(session, api_key, make_tier(), key="retry-1")

    assert admitted.replayed is False
    assert count(session, IdempotencyKey) == 1


# --- the tier ------------------------------------------------------------------------------------


def test_a_model_outside_the_tier_is_not_allowed() -> None:
    with pytest.raises(PermissionDeniedError) as refused:
        check_tier(make_tier(models=["hunyuanvideo"]), tiny_params())
    assert (refused.value.status_code, refused.value.code, refused.value.param) == (
        403,
        "model_not_allowed",
        "model",
    )


@pytest.mark.parametrize(
    ("tier_limit", "request_overrides", "param"),
    [
        ({"max_seconds": 1.5}, {"seconds": "2"}, "seconds"),
        ({"max_size": "128x128"}, {"size": "256x256"}, "size"),
        ({"max_size": "256x144"}, {"size": "256x256"}, "size"),
        ({"max_steps": 10}, {"num_inference_steps": 11}, "num_inference_steps"),
    ],
    ids=["seconds", "size-area", "size-side", "steps"],
)
def test_a_request_beyond_the_tiers_limits_is_refused_with_the_limit_named(
    tier_limit: dict[str, Any], request_overrides: dict[str, Any], param: str
) -> None:
    with pytest.raises(PermissionDeniedError) as refused:
        check_tier(make_tier(**tier_limit), tiny_params(**request_overrides))
    assert (refused.value.code, refused.value.param) == ("tier_limit", param)


@pytest.mark.parametrize(
    ("tier_limit", "request_overrides"),
    [
        ({"max_seconds": 2}, {"seconds": "2"}),
        ({"max_size": "256x144"}, {"size": "256x144"}),
        ({"max_size": "256x144"}, {"size": "144x256"}),
        ({"max_steps": 10}, {"num_inference_steps": 10}),
        ({"models": ["hunyuanvideo-tiny"]}, {}),
    ],
    ids=["seconds", "size", "size-rotated", "steps", "model"],
)
def test_a_request_at_the_tiers_limits_is_allowed(
    tier_limit: dict[str, Any], request_overrides: dict[str, Any]
) -> None:
    check_tier(make_tier(**tier_limit), tiny_params(**request_overrides))  # raises if refused


# --- the standing admission reads: kept with the jobs' own transitions -----------------------------


def standing_of(session: Session, org: Organization) -> tuple[int, float]:
    session.expire_all()
    row = session.get(Organization, org.id)
    assert row is not None
    return row.active_jobs, row.usage_day_seconds


def test_a_job_that_ends_frees_its_place_and_a_failed_one_its_seconds(
    session: Session, org: Organization, api_key: ApiKey
) -> None:
    tier = make_tier(max_concurrent_jobs=2, video_seconds_per_day=6)
    first, second = (submit(session, api_key, tier, seconds="2").video for _ in range(2))
    with pytest.raises(RateLimitError):
        submit(session, api_key, tier, seconds="2")

    assert jobs.claim(session, first.id, "gpu-1")
    assert jobs.complete(session, first.id, attempt=1, video_key="v", thumbnail_key="t", video_bytes=1, retention=TTL)
    session.commit()
    third = submit(session, api_key, tier, seconds="2").video  # first's place
    assert standing_of(session, org) == (2, pytest.approx(6.0))

    assert jobs.claim(session, second.id, "gpu-1")
    assert jobs.fail(session, second.id, "boom", "it failed")
    assert jobs.cancel(session, third.id)
    session.commit()
    assert standing_of(session, org) == (0, pytest.approx(2.0))  # only the completed job is billed
    submit(session, api_key, tier, seconds="4")  # so 4 s more fit in the day's 6...
    with pytest.raises(QuotaExceededError):
        submit(session, api_key, tier, seconds="2")  # ...and not a second more


def test_the_standing_is_what_the_videos_table_says(session: Session, org: Organization, api_key: ApiKey) -> None:
    """The counters are running totals of the videos table: after any mix of outcomes they match a
    count of the rows (what the migration that introduced them computed)."""
    tier = make_tier(max_concurrent_jobs=100, video_seconds_per_day=1000)
    videos = [submit(session, api_key, tier, seconds="1").video for _ in range(8)]
    for video in videos[:5]:
        assert jobs.claim(session, video.id, "gpu-1")
    jobs.complete(session, videos[0].id, attempt=1, video_key="v", thumbnail_key="t", video_bytes=1, retention=TTL)
    jobs.fail(session, videos[1].id, "boom", "it failed")
    jobs.cancel(session, videos[2].id)
    jobs.cancel(session, videos[5].id)
    jobs.requeue(session, videos[3].id, attempt=1, silent_since=utcnow())
    assert not jobs.cancel(session, videos[0].id)  # already over: counted once
    session.commit()

    rows = session.scalars(select(Video).where(Video.organization_id == org.id)).all()
    active = sum(v.status.is_active for v in rows)
    billed = sum(v.duration_seconds for v in rows if v.status.is_billed)
    assert standing_of(session, org) == (active, pytest.approx(billed))
